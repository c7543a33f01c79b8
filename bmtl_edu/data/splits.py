"""Training-proportion splits (SPEC §5) and stratified subsampling.

Classification: per task and per class, ``ceil(count * p)`` examples go to training and the rest
to test (as in the BMTL lab's ``MTDataset_Split``). Regression: a plain random split with
``ceil(n * p)`` training rows. All randomness comes from one seeded NumPy generator.
"""
from __future__ import annotations

import math

import numpy as np


def check_proportion(proportion: float) -> float:
    """``proportion`` as a float, or ValueError unless 0 < proportion < 1."""
    try:
        p = float(proportion)
    except (TypeError, ValueError):
        raise ValueError(f"training proportion must be a number in (0, 1), got {proportion!r}") from None
    if not (0.0 < p < 1.0) or math.isnan(p):
        raise ValueError(f"training proportion must lie strictly between 0 and 1, got {proportion!r}")
    return p


def stratified_split_indices(y: np.ndarray, proportion: float, rng: np.random.Generator
                             ) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) with ``ceil(count_c * p)`` training examples of every class c.

    Args:
        y: (n,) integer labels.
        proportion: training proportion p in (0, 1).
        rng: the generator that shuffles within each class.

    Returns:
        Two sorted int64 index arrays partitioning ``range(n)``.
    """
    p = check_proportion(proportion)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {y.shape}")
    train, test = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(idx.size)]
        k = math.ceil(idx.size * p)
        train.append(idx[:k])
        test.append(idx[k:])
    return np.sort(np.concatenate(train)).astype(np.int64), np.sort(np.concatenate(test)).astype(np.int64)


def random_split_indices(n: int, proportion: float, rng: np.random.Generator
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) of a plain random split with ``ceil(n * p)`` training rows."""
    p = check_proportion(proportion)
    perm = rng.permutation(int(n))
    k = math.ceil(n * p)
    return np.sort(perm[:k]).astype(np.int64), np.sort(perm[k:]).astype(np.int64)


def split_by_proportion(y: np.ndarray, proportion: float, seed: int = 0, *, stratified: bool = True
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Seeded training/test indices for one task (stratified for labels, random for regression).

    Args:
        y: (n,) labels (``stratified=True``) or targets.
        proportion: training proportion in (0, 1) (paper: 0.5, 0.6, 0.7).
        seed: seed of the NumPy generator.
        stratified: per-class ``ceil`` rule (classification) or a plain random split.

    Raises:
        ValueError: proportion outside (0, 1).
    """
    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    if stratified:
        return stratified_split_indices(y, proportion, rng)
    return random_split_indices(len(y), proportion, rng)


def check_max_train(max_train_per_task: int | None) -> int | None:
    if max_train_per_task is None:
        return None
    if isinstance(max_train_per_task, bool) or not isinstance(max_train_per_task, (int, np.integer)) \
            or max_train_per_task < 1:
        raise ValueError(f"max_train_per_task must be a positive integer or None, got {max_train_per_task!r}")
    return int(max_train_per_task)


def stratified_subsample_indices(y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` sorted indices keeping class proportions (largest-remainder quotas per class).

    Returns all indices when ``k >= len(y)``.
    """
    y = np.asarray(y)
    n = y.size
    if k >= n:
        return np.arange(n, dtype=np.int64)
    classes, counts = np.unique(y, return_counts=True)
    exact = counts * (k / n)
    quota = np.floor(exact).astype(int)
    # Ties in the remainders are broken by a random key so that no class is systematically favoured.
    order = np.lexsort((rng.random(classes.size), -(exact - quota)))
    quota[order[: k - quota.sum()]] += 1
    chosen = [np.flatnonzero(y == c)[rng.permutation(cnt)[:q]] for c, cnt, q in zip(classes, counts, quota)]
    return np.sort(np.concatenate(chosen)).astype(np.int64)
