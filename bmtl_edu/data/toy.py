"""Small synthetic multi-task problems whose tasks differ in difficulty by explicit knobs.

The teaching chapters and widgets regenerate these live, so generation is pure NumPy and takes
about a millisecond for a few hundred samples.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .assemble import build_multitask_data
from .container import MultiTaskData
from .splits import check_proportion

# How far each task's class means / weight vector drift from the shared ones, relative to
# their scale: small enough that tasks are related (sharing helps), large enough to differ.
TASK_DRIFT = 0.25


def _per_task(value, n_tasks: int, name: str, *, default, low: float = 0.0, integer: bool = False
              ) -> tuple:
    """Broadcast a scalar or check a per-task sequence of length ``n_tasks``."""
    if value is None:
        value = default
    if np.isscalar(value):
        value = [value] * n_tasks
    value = list(value)
    if len(value) != n_tasks:
        raise ValueError(f"{name} must be a number or a sequence of {n_tasks} values (one per task), "
                         f"got {len(value)} values")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                or not math.isfinite(v) or v < low:
            raise ValueError(f"{name} values must be finite numbers >= {low}, got {v!r}")
        if integer and int(v) != v:
            raise ValueError(f"{name} values must be integers, got {v!r}")
    return tuple(int(v) for v in value) if integer else tuple(float(v) for v in value)


def make_toy_problem(n_tasks: int = 3, n_samples: int | None = None, dim: int = 2,
                     n_classes: int | None = 2, noise: float | Sequence[float] | None = None,
                     sizes: Sequence[int] | None = None, scale: float | Sequence[float] | None = None,
                     overlap: float | Sequence[float] = 0.0, proportion: float = 0.7,
                     seed: int = 0) -> MultiTaskData:
    """A multi-task problem whose tasks are related but differ in difficulty.

    Classification: class c of task t is Gaussian around ``mu_c + delta_{t,c}`` with std
    ``noise[t]``; the shared means ``mu_c`` lie at radius ``2 * (1 - overlap[t])`` (on a circle
    when ``dim == 2``), so higher noise or overlap gives a harder task (lower Bayes accuracy).
    Inputs are multiplied by ``scale[t]`` (changes optimisation speed, not the Bayes error).

    Regression: x ~ N(0, I), y = scale[t] * (x.w_t + 0.5 sin(2 x.w_t) + noise[t] * eps) with
    w_t = w + drift; ``scale`` makes losses differ in magnitude (the SARCOS situation), ``noise``
    sets the irreducible error. ``overlap`` is ignored.

    Args:
        n_tasks: number of tasks m.
        n_samples: samples per task when ``sizes`` is None (default: the profile's ``toy_samples``).
        dim: input dimension (2 for plots).
        n_classes: classes per task, or ``None`` for regression.
        noise: per-task (or one) noise std; default ``linspace(0.4, 1.2, m)`` (classification) or
            ``linspace(0.1, 0.5, m)`` (regression).
        sizes: per-task sample counts (overrides ``n_samples``).
        scale: per-task scale; default 1.
        overlap: per-task (or one) class overlap in [0, 1]; 1 makes the classes indistinguishable.
        proportion: training proportion in (0, 1).
        seed: seeds the data and the split.

    Returns:
        ``MultiTaskData`` with ``is_synthetic=True`` and the knobs in ``provenance``.

    Raises:
        ValueError: for any out-of-range knob (message names it).
    """
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, (int, np.integer)) or n_tasks < 1:
        raise ValueError(f"n_tasks must be a positive integer, got {n_tasks!r}")
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    if n_classes is not None and (isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer))
                                  or n_classes < 2):
        raise ValueError(f"n_classes must be an integer >= 2, or None for regression; got {n_classes!r}")
    check_proportion(proportion)
    if sizes is None:
        if n_samples is None:
            from ..profiles import get_profile
            n_samples = get_profile().toy_samples
        sizes = _per_task(n_samples, n_tasks, "n_samples", default=None, low=2, integer=True)
    else:
        sizes = _per_task(sizes, n_tasks, "sizes", default=None, low=2, integer=True)
    regression = n_classes is None
    noise = _per_task(noise, n_tasks, "noise",
                      default=list(np.linspace(0.1, 0.5, n_tasks) if regression
                                   else np.linspace(0.4, 1.2, n_tasks)) if n_tasks > 1
                      else (0.3 if regression else 0.8))
    scale = _per_task(scale, n_tasks, "scale", default=1.0, low=1e-12)
    overlap = _per_task(overlap, n_tasks, "overlap", default=0.0)
    if any(o > 1 for o in overlap):
        raise ValueError(f"overlap values must lie in [0, 1], got {overlap}")

    rng = np.random.default_rng(seed)
    arrays = []
    if regression:
        w = rng.standard_normal(dim) / math.sqrt(dim)
        for t in range(n_tasks):
            wt = w + TASK_DRIFT * rng.standard_normal(dim) / math.sqrt(dim)
            X = rng.standard_normal((sizes[t], dim))
            s = X @ wt
            y = scale[t] * (s + 0.5 * np.sin(2 * s) + noise[t] * rng.standard_normal(sizes[t]))
            arrays.append((X.astype(np.float32), y.astype(np.float32)))
    else:
        C = int(n_classes)
        if dim == 2:
            ang = 2 * np.pi * np.arange(C) / C
            dirs = np.stack([np.cos(ang), np.sin(ang)], axis=1)
        else:
            dirs = rng.standard_normal((C, dim))
            dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        for t in range(n_tasks):
            radius = 2.0 * (1.0 - overlap[t])
            means = radius * (dirs + TASK_DRIFT * rng.standard_normal((C, dim)) / math.sqrt(dim))
            y = rng.permutation(np.arange(sizes[t]) % C)
            X = means[y] + noise[t] * rng.standard_normal((sizes[t], dim))
            arrays.append(((scale[t] * X).astype(np.float32), y.astype(np.int64)))
    prov = {"source": "make_toy_problem (synthetic)", "kind": "toy", "n_tasks": int(n_tasks),
            "dim": int(dim), "n_classes": n_classes, "noise": list(noise), "sizes": list(sizes),
            "scale": list(scale), "overlap": list(overlap), "seed": int(seed)}
    return build_multitask_data("toy", [f"task{t + 1}" for t in range(n_tasks)], arrays,
                                n_classes=None if regression else int(n_classes), proportion=proportion,
                                seed=seed, is_synthetic=True, provenance=prov)
