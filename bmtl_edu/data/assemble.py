"""From per-task NumPy arrays to a split, subsampled, preprocessed ``MultiTaskData``.

Every source (cache, raw files, stand-ins, toy problems) ends here, so splitting and
preprocessing behave identically for real and synthetic data.

Randomness: the split uses ``default_rng(seed)``; the ``max_train_per_task`` subsample uses an
independent ``default_rng([seed, 1])``, so capping the training set never changes the test set.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .container import MultiTaskData
from .preprocess import apply_standardizer, fit_standardizer, l1_normalize_rows
from .splits import (check_max_train, check_proportion, random_split_indices, stratified_split_indices,
                     stratified_subsample_indices)

PREPROCESSING = (None, "standardize", "l1_zscore")


def build_multitask_data(name: str, task_names: Sequence[str], arrays: Sequence[tuple[np.ndarray, np.ndarray]],
                         *, n_classes: int | None, proportion: float = 0.7, seed: int = 0,
                         max_train_per_task: int | None = None, shared_inputs: bool = False,
                         preprocess: str | None = None, is_synthetic: bool = False,
                         provenance: dict | None = None) -> MultiTaskData:
    """Split every task by ``proportion`` and return tensors.

    Args:
        name: dataset name.
        task_names: one per task.
        arrays: per-task ``(X (n_i, d), y (n_i,))``; with ``shared_inputs`` all X are the same rows.
        n_classes: classes (labels must be 0-based) or ``None`` for regression.
        proportion: training proportion in (0, 1); classification uses the per-class ceil rule.
        seed: split seed.
        max_train_per_task: cap on training samples per task (stratified, seeded), or None.
        shared_inputs: one random row split shared by all tasks (SARCOS).
        preprocess: ``None``; ``"standardize"`` (z-score X, and each regression target, with
            training statistics); ``"l1_zscore"`` (L1-normalise rows, then z-score features with
            the pooled training rows of all tasks).
        is_synthetic: mark the result synthetic.
        provenance: merged into the result's provenance, with the split settings added.

    Raises:
        ValueError: bad proportion / cap / preprocessing name, or inconsistent arrays.
    """
    p = check_proportion(proportion)
    cap = check_max_train(max_train_per_task)
    if preprocess not in PREPROCESSING:
        raise ValueError(f"unknown preprocessing {preprocess!r}; valid: {PREPROCESSING}")
    if len(task_names) != len(arrays):
        raise ValueError(f"{len(task_names)} task names for {len(arrays)} tasks")
    rng = np.random.default_rng(seed)
    sub_rng = np.random.default_rng([int(seed), 1])

    split_idx: list[tuple[np.ndarray, np.ndarray]] = []
    if shared_inputs:
        n = len(arrays[0][0])
        if any(len(X) != n for X, _ in arrays):
            raise ValueError("shared_inputs=True needs the same number of rows in every task")
        tr, te = random_split_indices(n, p, rng)
        if cap is not None and cap < len(tr):
            tr = np.sort(tr[sub_rng.permutation(len(tr))[:cap]])
        split_idx = [(tr, te)] * len(arrays)
    else:
        for X, y in arrays:
            if n_classes is None:
                tr, te = random_split_indices(len(y), p, rng)
                if cap is not None and cap < len(tr):
                    tr = np.sort(tr[sub_rng.permutation(len(tr))[:cap]])
            else:
                tr, te = stratified_split_indices(np.asarray(y), p, rng)
                if cap is not None:
                    tr = tr[stratified_subsample_indices(np.asarray(y)[tr], cap, sub_rng)]
            split_idx.append((tr, te))

    Xtr = [np.asarray(X)[tr] for (X, _), (tr, _) in zip(arrays, split_idx)]
    Xte = [np.asarray(X)[te] for (X, _), (_, te) in zip(arrays, split_idx)]
    ytr = [np.asarray(y)[tr] for (_, y), (tr, _) in zip(arrays, split_idx)]
    yte = [np.asarray(y)[te] for (_, y), (_, te) in zip(arrays, split_idx)]

    prov = dict(provenance or {})
    prov.update({"proportion": p, "split_seed": int(seed), "max_train_per_task": cap,
                 "preprocess": preprocess})
    if preprocess == "l1_zscore":
        Xtr = [l1_normalize_rows(X) for X in Xtr]
        Xte = [l1_normalize_rows(X) for X in Xte]
    if preprocess in ("standardize", "l1_zscore"):
        # Shared inputs: the training rows are the same for every task, so pooling = task 0's rows.
        mean, std = fit_standardizer(Xtr[0] if shared_inputs else np.concatenate(Xtr))
        Xtr = [apply_standardizer(X, mean, std) for X in Xtr]
        Xte = [apply_standardizer(X, mean, std) for X in Xte]
    if preprocess == "standardize" and n_classes is None:
        stats = [fit_standardizer(y) for y in ytr]
        ytr = [apply_standardizer(y, m, s) for y, (m, s) in zip(ytr, stats)]
        yte = [apply_standardizer(y, m, s) for y, (m, s) in zip(yte, stats)]
        # Kept so that errors can be reported in the raw units (torque) as well.
        prov["target_mean"] = [float(m) for m, _ in stats]
        prov["target_std"] = [float(s) for _, s in stats]

    ydt = torch.float32 if n_classes is None else torch.int64

    def tensors(Xs, ys):
        out, cache = [], {}
        for X, y in zip(Xs, ys):
            if shared_inputs and "X" in cache:
                Xt = cache["X"]  # the same tensor object for every task: shared inputs stay shared
            else:
                Xt = cache["X"] = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
            out.append((Xt, torch.from_numpy(np.ascontiguousarray(y)).to(ydt)))
        return out

    return MultiTaskData(name=name, task_names=list(task_names), train=tensors(Xtr, ytr),
                         test=tensors(Xte, yte), n_classes=n_classes, is_synthetic=is_synthetic,
                         provenance=prov, shared_inputs=shared_inputs)
