"""DWA's temperature: how ``T`` turns loss-descent rates into task weights.

Dynamic Weight Average (Liu et al. 2019; paper Sec. 2.2) gives task ``i`` at epoch ``e``
the weight ``w_i = m softmax(r / T)_i`` with ``r_i = Lbar_i(e-1) / Lbar_i(e-2)``. The
demo sets the descent ratios ``r_i`` and ``T`` by sliders and asks the package's
:class:`~bmtl_edu.balancers.dwa.DWA` (through ``end_epoch`` and ``weights``) for the
weights: left, the weights at the chosen ``T``; right, the weights over a range of ``T``.
"""
from __future__ import annotations

from typing import Sequence

import ipywidgets as widgets
import numpy as np
import torch

from ..balancers import make_balancer
from .base import TASK_COLOURS, FigureDemo

__all__ = ["DWADemo", "dwa_weights", "dwa_widget"]


def dwa_weights(ratios: Sequence[float], T: float) -> np.ndarray:
    """DWA's weights for descent ratios ``r`` at temperature ``T`` (shape (m,), sum m).

    Feeds the package's DWA the epoch means ``L(e-2) = 1`` and ``L(e-1) = r`` and returns
    ``Balancer.weights``; the formula is not repeated here.
    """
    r = torch.as_tensor(np.asarray(ratios, dtype=np.float64))
    if r.ndim != 1 or len(r) == 0 or not bool(torch.isfinite(r).all()) or bool((r <= 0).any()):
        raise ValueError(f"ratios must be a non-empty 1-D sequence of positive numbers, got {list(ratios)}")
    bal = make_balancer("dwa", T=T)
    bal.end_epoch(torch.ones_like(r))
    bal.end_epoch(r)
    return bal.weights(r).numpy()


class DWADemo(FigureDemo):
    """Sliders: the descent ratios ``r_i`` and ``T`` (log scale)."""

    def __init__(self, ratios: Sequence[float] = (0.7, 0.9, 1.05), T: float = 2.0,
                 T_range: tuple[float, float] = (0.05, 100.0), n_grid: int = 25):
        ratios = [float(r) for r in ratios]
        if not (1 <= len(ratios) <= len(TASK_COLOURS)):
            raise ValueError(f"between 1 and {len(TASK_COLOURS)} tasks, got {len(ratios)}")
        dwa_weights(ratios, T)  # validates
        lo, hi = T_range
        if not (0 < lo < hi):
            raise ValueError(f"T_range must satisfy 0 < low < high, got {T_range}")
        self.m = len(ratios)
        self.T_grid = np.geomspace(lo, hi, n_grid)
        controls = {f"r{i}": widgets.FloatSlider(value=r, min=0.5, max=1.5, step=0.01,
                                                 description=f"r_{i + 1}")
                    for i, r in enumerate(ratios)}
        controls["T"] = widgets.FloatLogSlider(value=T, base=10, min=np.log10(lo), max=np.log10(hi),
                                               step=0.02, description="T")
        super().__init__(controls, figsize=(8.0, 3.2))

    def setup(self) -> None:
        self.ax_bar, self.ax_T = self.fig.subplots(1, 2)
        m = self.m
        self.bars = self.ax_bar.bar(np.arange(m), np.ones(m), color=TASK_COLOURS[:m])
        self.ax_bar.axhline(1.0, color="k", lw=0.8, ls=":")
        self.ax_bar.set_xticks(np.arange(m), [f"task {i + 1}" for i in range(m)])
        self.ax_bar.set_ylim(0, m)
        self.ax_bar.set_ylabel("DWA weight $w_i$ (sum m)")
        self.ax_bar.set_title("weights at the chosen T")
        self.lines = [self.ax_T.plot(self.T_grid, np.ones_like(self.T_grid), color=TASK_COLOURS[i],
                                     label=f"task {i + 1}")[0] for i in range(m)]
        self.vline = self.ax_T.axvline(1.0, color="k", lw=0.8)
        self.ax_T.set_xscale("log")
        self.ax_T.set_ylim(0, m)
        self.ax_T.set_xlabel("temperature T")
        self.ax_T.set_ylabel("$w_i$")
        self.ax_T.set_title("weights over T (large T: all 1)")
        self.ax_T.legend(fontsize=8)
        self.dynamic(*self.bars, *self.lines, self.vline)

    def draw(self, **values) -> None:
        ratios = [values[f"r{i}"] for i in range(self.m)]
        T = values["T"]
        w = dwa_weights(ratios, T)
        for bar, v in zip(self.bars, w):
            bar.set_height(v)
        curves = np.stack([dwa_weights(ratios, t) for t in self.T_grid])
        for i, line in enumerate(self.lines):
            line.set_ydata(curves[:, i])
        self.vline.set_xdata([T, T])
        self.caption = (f"DWA: T = {T:.2f}, descent ratios r = (" + ", ".join(f"{r:.2f}" for r in ratios)
                        + "), weights w = (" + ", ".join(f"{v:.2f}" for v in w) + ")")
        self.state = {"ratios": ratios, "T": T, "weights": w, "curves": curves}


def dwa_widget(ratios: Sequence[float] = (0.7, 0.9, 1.05), T: float = 2.0, **kwargs) -> widgets.VBox:
    """The live DWA demo (``ipywidgets.VBox``; ``.demo`` is the :class:`DWADemo`).

    Args:
        ratios: initial descent ratios ``Lbar_i(e-1)/Lbar_i(e-2)``, one slider per task.
        T: initial temperature (paper of DWA: 2).
        **kwargs: ``T_range``, ``n_grid`` of :class:`DWADemo`.
    """
    return DWADemo(ratios, T, **kwargs).widget
