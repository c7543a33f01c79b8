"""Multi-task models of the BMTL paper and the registry ``make_model`` (SPEC §2).

The paper's eight names: ``dmtl``, ``dmtrl_tucker``, ``dmtrl_tt``, ``dmtrl_laf``,
``tnrmtl_tucker``, ``tnrmtl_tt``, ``tnrmtl_laf``, ``mrn``; plus ``linear`` (the multi-task
linear model of Theorem 5, used by the bounds chapter).
"""
from __future__ import annotations

import inspect
from functools import partial
from typing import Callable

from .base import DEFAULT_REG, MultiTaskNet
from .dmtl import DMTL
from .dmtrl import DMTRL, FACTORIZATIONS, n_factor_parameters
from .linear import MultiTaskLinear
from .mrn import MRN, mode_scatter, mrn_penalty
from .tnrmtl import TNRMTL

__all__ = ["MultiTaskNet", "DMTL", "DMTRL", "TNRMTL", "MRN", "MultiTaskLinear", "MODELS",
           "PAPER_MODELS", "make_model", "mrn_penalty", "mode_scatter", "n_factor_parameters",
           "FACTORIZATIONS", "DEFAULT_REG"]

#: registry name -> constructor ``(in_dim, n_tasks, out_dim, **options)``.
MODELS: dict[str, Callable[..., MultiTaskNet]] = {
    "dmtl": DMTL,
    "dmtrl_tucker": partial(DMTRL, factorization="tucker"),
    "dmtrl_tt": partial(DMTRL, factorization="tt"),
    "dmtrl_laf": partial(DMTRL, factorization="laf"),
    "tnrmtl_tucker": partial(TNRMTL, norm="tucker"),
    "tnrmtl_tt": partial(TNRMTL, norm="tt"),
    "tnrmtl_laf": partial(TNRMTL, norm="laf"),
    "mrn": MRN,
    "linear": MultiTaskLinear,
}

PAPER_MODELS = ("dmtl", "dmtrl_tucker", "dmtrl_tt", "dmtrl_laf",
                "tnrmtl_tucker", "tnrmtl_tt", "tnrmtl_laf", "mrn")


def _options_of(ctor: Callable) -> set[str]:
    fixed = set(ctor.keywords) if isinstance(ctor, partial) else set()
    target = ctor.func if isinstance(ctor, partial) else ctor
    params = inspect.signature(target).parameters
    return {n for n in params if n not in {"self", "in_dim", "n_tasks", "out_dim", "hidden"}} - fixed


def make_model(name: str, in_dim: int, n_tasks: int, out_dim: int, hidden: int = 600,
               **options) -> MultiTaskNet:
    """Build the model registered as ``name`` (case-insensitive).

    Args:
        name: one of ``MODELS``.
        in_dim, n_tasks, out_dim: d, m and outputs per task (C, or 1 for regression).
        hidden: shared hidden width (ignored by ``linear``, which has no hidden layer).
        **options: constructor options of that model (e.g. ``reg``, ``eps``, ``gamma``).

    Raises:
        KeyError: unknown ``name`` (the message lists the valid names).
        ValueError: invalid sizes or an option the model does not take.
    """
    key = str(name).lower()
    if key not in MODELS:
        raise KeyError(f"unknown model {name!r}; valid: {', '.join(MODELS)}")
    ctor = MODELS[key]
    valid = _options_of(ctor)
    unknown = sorted(set(options) - valid)
    if unknown:
        raise ValueError(f"model {key!r} does not take option(s) {unknown}; valid: {sorted(valid)}")
    if key == "linear":
        return ctor(in_dim, n_tasks, out_dim, **options)
    return ctor(in_dim, n_tasks, out_dim, hidden=hidden, **options)
