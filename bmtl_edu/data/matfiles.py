"""Readers of MATLAB .mat files: MAT v5 through SciPy, v7.3 (HDF5) through h5py."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def mat_version(path: str | os.PathLike) -> str:
    """``"7.3"`` for HDF5-based files, ``"5"`` for classic MAT files.

    v7.3 files carry a 512-byte MATLAB text header followed by the HDF5 superblock.
    """
    with open(path, "rb") as f:
        head = f.read(520)
    if head[512:520] == _HDF5_SIGNATURE or head[:8] == _HDF5_SIGNATURE:
        return "7.3"
    return "5"


def read_mat(path: str | os.PathLike, keys: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """Numeric arrays of a .mat file in MATLAB's (row, column) orientation.

    v7.3 datasets are stored column-major, so h5py returns them transposed; they are transposed
    back here so both versions give the same shapes (e.g. ``fts`` as (n, 4096)).

    Args:
        path: the .mat file.
        keys: variables to read (default: all numeric top-level variables).

    Raises:
        FileNotFoundError: no such file.
        ValueError: unreadable file (corrupted or truncated), or a requested key is absent
            (the message lists the keys present).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"missing .mat file {p}")
    try:
        if mat_version(p) == "7.3":
            import h5py
            with h5py.File(p, "r") as f:
                present = [k for k in f.keys() if isinstance(f[k], h5py.Dataset) and not k.startswith("#")]
                wanted = list(keys) if keys is not None else present
                _check_keys(p, wanted, present)
                return {k: np.asarray(f[k][()]).T for k in wanted}
        import scipy.io
        raw = scipy.io.loadmat(p, variable_names=list(keys) if keys is not None else None)
    except (OSError, ValueError, TypeError, KeyError) as e:
        if isinstance(e, ValueError) and "has no variables" in str(e):
            raise
        raise ValueError(f"cannot read {p} as a MATLAB file (corrupted or truncated?): {e}") from e
    present = [k for k, v in raw.items() if not k.startswith("__") and isinstance(v, np.ndarray)]
    wanted = list(keys) if keys is not None else present
    _check_keys(p, wanted, present)
    return {k: raw[k] for k in wanted}


def _check_keys(p: Path, wanted: list[str], present: list[str]) -> None:
    missing = [k for k in wanted if k not in present]
    if missing:
        raise ValueError(f"{p} has no variables {missing}; it holds {sorted(present)}")
