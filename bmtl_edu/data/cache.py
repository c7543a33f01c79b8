"""The feature cache: the ONE writer and the ONE reader of prepared datasets.

Layout under the data root (``BMTL_DATA``)::

    cache/<dataset>/manifest.json     written last: a cache without it does not exist
    cache/<dataset>/<task>.npz        X float32 (n_i, d), y int64 (n_i,) or float32 (n_i,)
    cache/<dataset>/shared.npz        shared-input datasets: X (n, d) once, Y (n, m)

The manifest records the format version, task names, classes, shapes, provenance and the sha256
of every array file, so a truncated or edited file is refused on reading. ``data_scripts/``
(feature extraction, SARCOS preparation, .mat import) write only through :func:`write_cache`.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .checksums import ChecksumError, sha256_file

FORMAT = "bmtl_edu-feature-cache"
VERSION = 1
MANIFEST = "manifest.json"


def cache_dir(root: str | os.PathLike, dataset: str) -> Path:
    """Directory of ``dataset``'s cache under the data root."""
    return Path(root) / "cache" / dataset


def has_cache(root: str | os.PathLike, dataset: str) -> bool:
    return (cache_dir(root, dataset) / MANIFEST).is_file()


@dataclass
class CachedDataset:
    """Arrays read back from the cache (NumPy; the loader turns them into a ``MultiTaskData``)."""

    dataset: str
    task_names: list[str]
    arrays: list[tuple[np.ndarray, np.ndarray]]
    n_classes: int | None
    shared_inputs: bool
    provenance: dict = field(default_factory=dict)
    manifest_path: Path | None = None


def _atomic_write_bytes(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_task_name(name: str) -> str:
    if not name or not all(ch.isalnum() or ch in "_-" for ch in name) or name == "shared":
        raise ValueError(f"task name {name!r} must be non-empty letters, digits, '_' or '-' (and not 'shared')")
    return name


def write_cache(root: str | os.PathLike, dataset: str, task_names: Sequence[str],
                tasks: Sequence[tuple[np.ndarray, np.ndarray]], *, n_classes: int | None,
                provenance: dict | None = None, shared_inputs: bool = False) -> Path:
    """Write a dataset's per-task arrays and manifest (atomically; the manifest last).

    Args:
        root: data root.
        dataset: dataset name (a directory name, e.g. ``"office31"``).
        task_names: one name per task.
        tasks: per-task ``(X, y)``; X (n_i, d), y (n_i,) integer labels in [0, n_classes) or
            float targets when ``n_classes`` is None. With ``shared_inputs`` every X must be equal.
        n_classes: number of classes, ``None`` for regression.
        provenance: JSON-serialisable description (source files, digests, backbone, seeds).
        shared_inputs: store X once (SARCOS).

    Returns:
        Path of the manifest.

    Raises:
        ValueError: inconsistent shapes, labels out of range, non-finite values.
    """
    names = [_check_task_name(str(n)) for n in task_names]
    if len(names) != len(tasks) or not names:
        raise ValueError(f"{len(names)} task names for {len(tasks)} tasks")
    if len(set(names)) != len(names):
        raise ValueError(f"task names must be unique, got {names}")
    clean = []
    for name, (X, y) in zip(names, tasks):
        X = np.asarray(X, dtype=np.float32)
        y = np.asarray(y)
        if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
            raise ValueError(f"task {name}: expected X (n, d) and y (n,), got {X.shape} and {y.shape}")
        if not np.isfinite(X).all():
            raise ValueError(f"task {name}: X contains NaN or infinite values")
        if n_classes is None:
            y = y.astype(np.float32)
            if not np.isfinite(y).all():
                raise ValueError(f"task {name}: targets contain NaN or infinite values")
        else:
            if not np.issubdtype(y.dtype, np.integer) and not np.all(y == np.round(y)):
                raise ValueError(f"task {name}: class labels must be integers")
            y = y.astype(np.int64)
            if len(y) and (y.min() < 0 or y.max() >= n_classes):
                raise ValueError(f"task {name}: labels must lie in [0, {n_classes}), got [{y.min()}, {y.max()}]")
        clean.append((X, y))
    dims = {X.shape[1] for X, _ in clean}
    if len(dims) != 1:
        raise ValueError(f"all tasks must share one input dimension, got {sorted(dims)}")

    d = cache_dir(root, dataset)
    d.mkdir(parents=True, exist_ok=True)
    (d / MANIFEST).unlink(missing_ok=True)  # the cache is invalid until the new manifest lands
    files = {}
    if shared_inputs:
        X0 = clean[0][0]
        if any(X.shape != X0.shape or not np.array_equal(X, X0) for X, _ in clean):
            raise ValueError("shared_inputs=True but the tasks' X differ")
        Y = np.stack([y for _, y in clean], axis=1)
        entries = [("shared", {"X": X0, "Y": Y})]
    else:
        entries = [(n, {"X": X, "y": y}) for n, (X, y) in zip(names, clean)]
    for key, arrs in entries:
        path = d / f"{key}.npz"
        _atomic_write_bytes(path, lambda f, a=arrs: np.savez(f, **a))
        files[key] = {"file": path.name, "sha256": sha256_file(path), "bytes": path.stat().st_size,
                      "shapes": {k: list(v.shape) for k, v in arrs.items()},
                      "dtypes": {k: str(v.dtype) for k, v in arrs.items()}}
    manifest = {"format": FORMAT, "version": VERSION, "dataset": dataset, "task_names": names,
                "n_classes": n_classes, "shared_inputs": bool(shared_inputs), "in_dim": int(dims.pop()),
                "task_sizes": [int(len(y)) for _, y in clean], "files": files,
                "provenance": provenance or {}}
    text = json.dumps(manifest, indent=2, sort_keys=True, default=_json_default)
    _atomic_write_bytes(d / MANIFEST, lambda f: f.write(text.encode()))
    return d / MANIFEST


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"provenance value of type {type(o).__name__} is not JSON-serialisable")


def read_cache(root: str | os.PathLike, dataset: str, *, fix: str = "") -> CachedDataset:
    """Read a dataset written by :func:`write_cache`, verifying digests and shapes.

    Args:
        root: data root.
        dataset: dataset name.
        fix: command that rebuilds the cache, quoted in error messages.

    Raises:
        FileNotFoundError: no manifest (the cache was never completed).
        ChecksumError: an array file's digest differs from the manifest (corrupted/truncated).
        ValueError: unreadable manifest or arrays, or shapes that disagree with the manifest.
    """
    d = cache_dir(root, dataset)
    mpath = d / MANIFEST
    again = f" Rebuild it with: {fix}" if fix else ""
    if not mpath.is_file():
        raise FileNotFoundError(f"no feature cache for {dataset!r}: {mpath} is missing." + again)
    try:
        man = json.loads(mpath.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot parse {mpath} ({e}); the cache is damaged." + again) from e
    if man.get("format") != FORMAT or man.get("version") != VERSION:
        raise ValueError(f"{mpath} is not a {FORMAT} v{VERSION} manifest (got {man.get('format')!r} "
                         f"v{man.get('version')!r})." + again)
    names = list(man["task_names"])
    loaded: dict[str, dict[str, np.ndarray]] = {}
    for key, info in man["files"].items():
        path = d / info["file"]
        if not path.is_file():
            raise FileNotFoundError(f"cache file {path} listed in {mpath} is missing." + again)
        digest = sha256_file(path)
        if digest != info["sha256"]:
            raise ChecksumError(f"{path} fails its sha256 check against {mpath}: got {digest}, expected "
                                f"{info['sha256']} (corrupted or truncated)." + again)
        try:
            with np.load(path, allow_pickle=False) as z:
                arrs = {k: z[k] for k in z.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
            raise ValueError(f"cannot read {path} ({e}); the cache is damaged." + again) from e
        for k, shape in info["shapes"].items():
            if k not in arrs or list(arrs[k].shape) != list(shape):
                got = None if k not in arrs else list(arrs[k].shape)
                raise ValueError(f"{path}: array {k!r} has shape {got}, manifest says {shape}." + again)
        loaded[key] = arrs
    shared = bool(man["shared_inputs"])
    if shared:
        X, Y = loaded["shared"]["X"], loaded["shared"]["Y"]
        if Y.shape[1] != len(names):
            raise ValueError(f"{mpath}: {len(names)} tasks but Y has {Y.shape[1]} columns." + again)
        arrays = [(X, Y[:, t]) for t in range(len(names))]
    else:
        missing = [n for n in names if n not in loaded]
        if missing:
            raise ValueError(f"{mpath}: no array file for tasks {missing}." + again)
        arrays = [(loaded[n]["X"], loaded[n]["y"]) for n in names]
    return CachedDataset(dataset=man["dataset"], task_names=names, arrays=arrays, n_classes=man["n_classes"],
                         shared_inputs=shared, provenance=man.get("provenance", {}), manifest_path=mpath)


__all__ = ["write_cache", "read_cache", "has_cache", "cache_dir", "CachedDataset", "ChecksumError"]
