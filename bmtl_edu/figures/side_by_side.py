"""All seven balancers on one problem: per-task loss curves and weights over time.

The idea of the paper's Figure 4 (per-task training losses under BMTL) extended to every
balancer of Sec. 4: the same model, initialisation, data and mini-batch streams, only the
balancer changes. Top row: each task's mean training loss per epoch; bottom row: each task's
*share* of the update, ``w_i / sum_j w_j`` with ``w_i`` the balancer's mean weight
``dJ/dL_i`` over the epoch (``History.weights``), so that balancers whose weights live on
different scales (BMTL's ``exp(L/T)/T`` is about ``1/T``) can be compared.

:func:`train_side_by_side` runs the training (sizes from the profile), :func:`plot_side_by_side`
draws the final figure and :func:`side_by_side_jshtml` the same figure revealed epoch by
epoch as a JavaScript animation (the static fallback of the HTML book).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..balancers import make_balancer
from ..models import make_model
from ..profiles import ALL_BALANCERS, get_profile
from ..train import History, fit, seed_everything
from ..widgets.base import TASK_COLOURS
from .animation import jshtml

__all__ = ["ALL_BALANCERS", "LABELS", "train_side_by_side", "weight_shares", "SideBySideFigure",
           "plot_side_by_side", "side_by_side_jshtml"]

LABELS = {"ds": "DS", "dwa": "DWA", "max": "Max", "smax": "sMAX", "cl": "CL", "mgda": "MGDA",
          "bmtl": "BMTL"}


def train_side_by_side(data, names: Sequence[str] = ALL_BALANCERS, *, model: str = "dmtl",
                       hidden: int | None = None, epochs: int | None = None, seed: int = 0,
                       lr: float = 0.02, balancer_kwargs: Mapping[str, Mapping] | None = None,
                       model_kwargs: Mapping | None = None, record_steps: bool = False,
                       ) -> dict[str, History]:
    """Train one model per balancer from the same initialisation; return their histories.

    Args:
        data: a :class:`~bmtl_edu.data.MultiTaskData` (e.g. ``make_toy_problem(...)``).
        names: balancer registry names.
        model: model registry name (``make_model``).
        hidden: hidden width (default: the profile's ``hidden``).
        epochs: epochs per run (default: the profile's ``toy_epochs``).
        seed: seeds the initialisation (identical for every balancer) and the batches.
        lr: Adam's initial learning rate (paper: 0.02).
        balancer_kwargs: name -> constructor arguments (e.g. ``{"bmtl": {"h": Exp(1.0)}}``).
        model_kwargs: extra options of the model.
        record_steps: also record per-iteration losses and weights.
    Returns:
        name -> :class:`~bmtl_edu.train.History`, in the order of ``names``.
    Raises:
        KeyError: unknown balancer name or ``balancer_kwargs`` for a balancer not trained.
    """
    names = tuple(names)
    if not names:
        raise ValueError("names must list at least one balancer")
    kwargs = dict(balancer_kwargs or {})
    unknown = sorted(set(kwargs) - set(names))
    if unknown:
        raise KeyError(f"balancer_kwargs for balancers not trained: {unknown}; trained: {list(names)}")
    profile = get_profile()
    hidden = profile.hidden if hidden is None else hidden
    epochs = profile.toy_epochs if epochs is None else epochs
    balancers = {name: make_balancer(name, **kwargs.get(name, {})) for name in names}  # fail early
    out = {}
    for name, bal in balancers.items():
        seed_everything(seed)  # same initial weights for every balancer
        net = make_model(model, data.in_dim, data.n_tasks, data.out_dim, hidden=hidden,
                         **dict(model_kwargs or {}))
        out[name] = fit(net, bal, data, epochs=epochs, lr=lr, seed=seed, progress=False,
                        record_steps=record_steps)
    return out


def weight_shares(history: History) -> np.ndarray:
    """Per-epoch shares ``w_i / sum_j w_j`` of the balancer's weights: shape (epochs, m)."""
    w = np.asarray(history.weights, dtype=np.float64)
    if w.ndim != 2 or w.size == 0:
        raise ValueError("the history has no recorded weights")
    s = w.sum(axis=1, keepdims=True)
    return np.divide(w, s, out=np.full_like(w, np.nan), where=s > 0)


class SideBySideFigure:
    """A (2, n) grid of panels for ``n`` histories; :meth:`draw` reveals epochs ``0..e``."""

    def __init__(self, histories: Mapping[str, History], *, title: str | None = None,
                 panel_size: tuple[float, float] = (2.1, 2.0), dpi: int = 80):
        if not histories:
            raise ValueError("histories must not be empty")
        self.histories = dict(histories)
        self.names = list(self.histories)
        self.losses = {k: np.asarray(h.train_loss, dtype=np.float64) for k, h in self.histories.items()}
        self.shares = {k: weight_shares(h) for k, h in self.histories.items()}
        shapes = {v.shape for v in self.losses.values()}
        if len(shapes) != 1:
            raise ValueError(f"all histories need the same (epochs, tasks) shape, got {sorted(shapes)}")
        self.n_epochs, self.m = shapes.pop()
        n = len(self.names)
        self.fig = Figure(figsize=(panel_size[0] * n + 0.6, 2 * panel_size[1] + 0.8), dpi=dpi,
                          layout="constrained")
        axes = self.fig.subplots(2, n, sharex=True, sharey="row", squeeze=False)
        lo = min(float(np.nanmin(v)) for v in self.losses.values())
        hi = max(float(np.nanmax(v)) for v in self.losses.values())
        self.loss_lines, self.share_lines = {}, {}
        epochs = np.arange(self.n_epochs)
        for j, name in enumerate(self.names):
            top, bottom = axes[0, j], axes[1, j]
            top.set_title(LABELS.get(name, name), fontsize=11)
            top.set_yscale("log")
            top.set_ylim(max(lo, 1e-6) / 1.5, hi * 1.5)
            bottom.set_ylim(-0.03, 1.03)
            bottom.set_xlim(0, max(self.n_epochs - 1, 1))
            bottom.set_xlabel("epoch")
            self.loss_lines[name] = [top.plot(epochs, self.losses[name][:, i], color=TASK_COLOURS[i],
                                              lw=1.5, label=f"task {i + 1}")[0] for i in range(self.m)]
            self.share_lines[name] = [bottom.plot(epochs, self.shares[name][:, i], color=TASK_COLOURS[i],
                                                  lw=1.5)[0] for i in range(self.m)]
        axes[0, 0].set_ylabel("training loss (log)")
        axes[1, 0].set_ylabel("share of the update")
        axes[0, 0].legend(fontsize=7, loc="lower left")
        self.axes = axes
        self.title = title
        self.fig.suptitle(title or "", fontsize=11)

    def draw(self, epoch: int) -> None:
        """Show epochs ``0..epoch`` of every curve."""
        e = int(np.clip(epoch, 0, self.n_epochs - 1)) + 1
        x = np.arange(e)
        for name in self.names:
            for i in range(self.m):
                self.loss_lines[name][i].set_data(x, self.losses[name][:e, i])
                self.share_lines[name][i].set_data(x, self.shares[name][:e, i])
        self.fig.suptitle(f"{self.title + ' — ' if self.title else ''}epoch {e - 1}", fontsize=11)


def plot_side_by_side(histories: Mapping[str, History], *, title: str | None = None, **kwargs) -> Figure:
    """The final (all epochs) side-by-side figure; display it with ``IPython.display.display``."""
    sbs = SideBySideFigure(histories, title=title, **kwargs)
    sbs.draw(sbs.n_epochs - 1)
    return sbs.fig


def side_by_side_jshtml(histories: Mapping[str, History], *, n_frames: int = 10, interval: int = 500,
                        title: str | None = None, **kwargs) -> str:
    """The side-by-side figure revealed epoch by epoch: HTML with a JavaScript slider.

    Args:
        histories: name -> History (same number of epochs and tasks).
        n_frames: number of frames (evenly spaced epochs, the last one included).
        interval: milliseconds per frame when playing.
    Returns:
        HTML (wrap in ``IPython.display.HTML``).
    """
    if isinstance(n_frames, bool) or not isinstance(n_frames, int) or n_frames < 1:
        raise ValueError(f"n_frames must be a positive integer, got {n_frames!r}")
    sbs = SideBySideFigure(histories, title=title, **kwargs)
    frames = sorted({int(round(v)) for v in np.linspace(0, sbs.n_epochs - 1, n_frames)})
    return jshtml(sbs.fig, sbs.draw, frames, interval=interval)
