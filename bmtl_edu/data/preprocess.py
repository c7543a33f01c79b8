"""Feature and target scaling with training-set statistics only (no test leakage)."""
from __future__ import annotations

import numpy as np

_EPS = 1e-8


def fit_standardizer(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations of X (n, d) or (n,); a zero std becomes 1."""
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    std = np.where(std > _EPS, std, 1.0)
    return mean, std


def apply_standardizer(X: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return ((np.asarray(X, dtype=np.float64) - mean) / std).astype(np.float32)


def l1_normalize_rows(X: np.ndarray) -> np.ndarray:
    """Rows divided by their L1 norm (bag-of-words histograms to frequencies); zero rows stay zero."""
    X = np.asarray(X, dtype=np.float64)
    s = np.abs(X).sum(axis=1, keepdims=True)
    return (X / np.where(s > 0, s, 1.0)).astype(np.float32)
