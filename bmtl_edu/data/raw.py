"""Readers of the public raw files in the data root's layout (that of ``../shared/data``).

Each reader verifies the file's known size/digest first, then its shapes, and returns NumPy
arrays with 0-based labels.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .checksums import verify_sha256
from .matfiles import read_mat
from .registry import SARCOS_N_POINTS, SARCOS_SAMPLE_SEED, SARCOS_TEST, SARCOS_TRAIN, RawFile

SARCOS_INPUTS = 21
SARCOS_TARGETS = 7


def check_raw_file(root: str | os.PathLike, raw: RawFile, fix: str) -> Path:
    """Path of a raw file after its size/digest check (FileNotFoundError / ChecksumError naming ``fix``)."""
    path = Path(root) / raw.path
    verify_sha256(path, raw.sha256, size=raw.size, fix=fix)
    return path


def read_sarcos(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (n, 21) and torques (n, 7) of a GPML SARCOS file (train or test split).

    The single variable is named after the file (``sarcos_inv`` / ``sarcos_inv_test``);
    columns 0-20 are inputs, 21-27 the joint torques.
    """
    mat = read_mat(path)
    if len(mat) != 1:
        raise ValueError(f"{path}: expected one matrix, found variables {sorted(mat)}")
    (key, A), = mat.items()
    if A.ndim != 2 or A.shape[1] != SARCOS_INPUTS + SARCOS_TARGETS:
        raise ValueError(f"{path}: variable {key!r} has shape {A.shape}, expected (n, 28)")
    A = np.asarray(A, dtype=np.float64)
    if not np.isfinite(A).all():
        raise ValueError(f"{path}: contains NaN or infinite values")
    return A[:, :SARCOS_INPUTS], A[:, SARCOS_INPUTS:]


def sample_sarcos_rows(n_rows: int, n: int = SARCOS_N_POINTS, seed: int = SARCOS_SAMPLE_SEED) -> np.ndarray:
    """The book's documented SARCOS sample: ``n`` distinct rows drawn by ``default_rng(seed)``, sorted."""
    if n > n_rows:
        raise ValueError(f"cannot sample {n} rows from a file of {n_rows}")
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=n, replace=False))


def find_sarcos_file(root: str | os.PathLike) -> RawFile | None:
    """The paper's training file if present, else the offline test file, else ``None``."""
    for raw in (SARCOS_TRAIN, SARCOS_TEST):
        if (Path(root) / raw.path).is_file():
            return raw
    return None


def read_surf_domain(path: str | os.PathLike, n_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Office-Caltech-10 SURF file: ``fts`` (n, 800) as float32 and ``labels`` 1..10 as 0-based int64."""
    mat = read_mat(path, keys=("fts", "labels"))
    X, y = np.asarray(mat["fts"], dtype=np.float32), np.asarray(mat["labels"]).reshape(-1)
    return X, _zero_based_labels(path, X, y, n_classes)


def read_fc7_domain(path: str | os.PathLike, n_classes: int = 31, in_dim: int = 4096
                    ) -> tuple[np.ndarray, np.ndarray]:
    """A domain's fc7 file (MAT v5 or v7.3): ``fts`` (n, 4096) float32, ``labels`` 1..C to 0-based int64.

    Features stored transposed (4096, n) are recognised by their 4096 rows and flipped.
    """
    mat = read_mat(path, keys=("fts", "labels"))
    X, y = np.asarray(mat["fts"], dtype=np.float32), np.asarray(mat["labels"]).reshape(-1)
    if X.ndim == 2 and X.shape[0] == in_dim and X.shape[1] != in_dim:
        X = X.T
    if X.ndim != 2 or X.shape[1] != in_dim:
        raise ValueError(f"{path}: fts has shape {X.shape}, expected (n, {in_dim})")
    return np.ascontiguousarray(X), _zero_based_labels(path, X, y, n_classes)


def _zero_based_labels(path, X: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    if len(y) != len(X):
        raise ValueError(f"{path}: {len(X)} feature rows but {len(y)} labels")
    if not np.isfinite(X).all():
        raise ValueError(f"{path}: features contain NaN or infinite values")
    if len(y) and (y.min() < 1 or y.max() > n_classes or np.any(y != np.round(y))):
        raise ValueError(f"{path}: labels must be integers 1..{n_classes}, got range [{y.min()}, {y.max()}]")
    return (y - 1).astype(np.int64)
