"""SHA-256 digests of data files, computed once per (path, size, mtime) in a process."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

_DIGESTS: dict[tuple[str, int, int], str] = {}
_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file; repeated calls on an unchanged file are free (in-process cache)."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                h.update(chunk)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


class ChecksumError(ValueError):
    """A file's content is not the expected one (corrupted, truncated or a different version)."""


def verify_sha256(path: str | os.PathLike, expected: str | None, *, size: int | None = None,
                  fix: str = "") -> None:
    """Check a file against its known size and digest.

    Args:
        path: the file.
        expected: hex digest, or ``None`` to skip the digest (unknown upstream).
        size: expected size in bytes, or ``None``.
        fix: the command or step that gets a good copy, quoted in the error.

    Raises:
        FileNotFoundError: the file is absent.
        ChecksumError: size or digest differ (the message names the file, both digests and the fix).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"missing data file {p}" + (f"; fetch it with: {fix}" if fix else ""))
    hint = f" Delete it and fetch it again: {fix}" if fix else " Delete it and fetch it again."
    actual_size = p.stat().st_size
    if size is not None and actual_size != size:
        raise ChecksumError(f"{p} has {actual_size:,} bytes, expected {size:,} (truncated or corrupted)."
                            + hint)
    if expected is not None:
        digest = sha256_file(p)
        if digest != expected.lower():
            raise ChecksumError(f"{p} fails its sha256 check: got {digest}, expected {expected} "
                                f"(corrupted, truncated or a different version)." + hint)
