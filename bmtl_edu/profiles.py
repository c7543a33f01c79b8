"""Run sizes: one switch, ``BMTL_PROFILE``, decides how big every experiment is.

``quick`` (the default) keeps every notebook of the book under a minute on two CPU cores;
``full`` is the paper's protocol (Liang & Zhang 2020, Sec. 4.1) and is meant for a GPU.
Nothing else in the project hard-codes an epoch count, a number of repeats, a training
proportion or a data size: chapters, experiments and tests ask :func:`get_profile`.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace

ENV_VAR = "BMTL_PROFILE"

ALL_MODELS = ("dmtl", "dmtrl_tucker", "dmtrl_tt", "dmtrl_laf",
              "tnrmtl_tucker", "tnrmtl_tt", "tnrmtl_laf", "mrn")
ALL_BALANCERS = ("ds", "dwa", "max", "smax", "cl", "mgda", "bmtl")


@dataclass(frozen=True)
class Profile:
    """Sizes handed out to every experiment.

    Attributes:
        name: ``"quick"`` or ``"full"``.
        epochs: training epochs of one run on a paper dataset.
        seeds: the random repeats (the paper uses 5).
        proportions: training proportions of each task's data (paper: 50/60/70 %).
        max_train_per_task: cap on training samples per task (``None``: all of them).
        toy_epochs: epochs for the toy problems of the teaching chapters.
        toy_samples: samples per task of the toy problems.
        hidden: width of the shared hidden layer (paper: 600).
        grid_models: models a replication grid runs.
        grid_balancers: balancers a replication grid runs.
        bound_trials: Monte Carlo repeats of the bounds chapter's simulations.
    """

    name: str
    epochs: int
    seeds: tuple[int, ...]
    proportions: tuple[float, ...]
    max_train_per_task: int | None
    toy_epochs: int
    toy_samples: int
    hidden: int
    grid_models: tuple[str, ...]
    grid_balancers: tuple[str, ...]
    bound_trials: int

    def to_dict(self) -> dict:
        return asdict(self)

    def replace(self, **changes) -> "Profile":
        """A copy with some fields changed (e.g. fewer epochs for a test)."""
        return replace(self, **changes)


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        name="quick",
        epochs=4,
        seeds=(0, 1),
        proportions=(0.5, 0.7),
        max_train_per_task=120,
        toy_epochs=30,
        toy_samples=200,
        hidden=64,
        # two models (the baseline and Figure 4's DMTRL_TT) keep each replication chapter
        # under a minute on 2 CPU cores; the full profile runs all eight
        grid_models=("dmtl", "dmtrl_tt"),
        grid_balancers=ALL_BALANCERS,
        bound_trials=20,
    ),
    "full": Profile(
        name="full",
        epochs=100,
        seeds=(0, 1, 2, 3, 4),
        proportions=(0.5, 0.6, 0.7),
        max_train_per_task=None,
        toy_epochs=200,
        toy_samples=1000,
        hidden=600,
        grid_models=ALL_MODELS,
        grid_balancers=ALL_BALANCERS,
        bound_trials=500,
    ),
}


def get_profile(name: str | None = None) -> Profile:
    """The profile named ``name``, or the one ``BMTL_PROFILE`` selects (default ``quick``).

    Raises:
        ValueError: for an unknown profile name, listing the valid ones.
    """
    if name is None:
        name = os.environ.get(ENV_VAR, "quick").strip() or "quick"
    key = name.lower()
    if key not in PROFILES:
        raise ValueError(
            f"unknown profile {name!r} (from {ENV_VAR} or the argument); "
            f"valid profiles: {', '.join(sorted(PROFILES))}")
    return PROFILES[key]
