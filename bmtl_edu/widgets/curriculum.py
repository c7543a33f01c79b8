"""Easy-first (self-paced curriculum, paper Eq. (4)) against BMTL's hard-first weights.

The self-paced task weights of Murugesan & Carbonell (2017), as the paper writes them in
Eq. (4), are ``w_i ∝ exp(-L_i / T)``: the *easier* task (lower loss) gets more weight. BMTL's
normalised weights (problem (9) with ``h = exp(z/T)``) are ``∝ exp(+L_i / T)``: the *harder*
task gets more. Same temperature, opposite sign of the exponent.

The demo has two panels, both computed by the package's balancers
(:class:`~bmtl_edu.balancers.CL`, :class:`~bmtl_edu.balancers.DS`,
:class:`~bmtl_edu.balancers.BMTL`):

* left: each balancer's share of the update per task at the losses the reader sets;
* right: the self-paced schedule — CL's pace parameter ``T`` is multiplied by
  ``anneal_factor`` after every epoch (``CL.end_epoch``), so weights start on the easy
  tasks and spread to the hard ones ("easy to hard"). The losses are held fixed here to
  isolate the schedule; BMTL's shares (dashed) stay on the hard task.
"""
from __future__ import annotations

from typing import Sequence

import ipywidgets as widgets
import numpy as np
import torch

from ..balancers import make_balancer
from ..transforms import Exp
from .base import TASK_COLOURS, FigureDemo

__all__ = ["curriculum_shares", "pace_schedule", "CurriculumDemo", "curriculum_widget"]

#: the balancers of the left panel, in display order
COMPARED = ("cl", "ds", "bmtl")


def _losses(losses) -> torch.Tensor:
    L = torch.as_tensor(np.asarray(losses, dtype=np.float64))
    if L.ndim != 1 or L.numel() == 0:
        raise ValueError(f"losses must be a non-empty 1-D sequence, got shape {tuple(L.shape)}")
    return L


def curriculum_shares(losses: Sequence[float], T: float) -> dict[str, np.ndarray]:
    """Normalised task weights (shares of the update) of CL, DS and BMTL at ``losses``.

    Args:
        losses: per-task losses ``L`` (m values).
        T: the temperature of both CL (Eq. (4)) and BMTL (``h = exp(z/T)``).
    Returns:
        ``{"cl", "ds", "bmtl"}`` -> float64 array (m,) summing to 1.
    """
    L = _losses(losses)
    balancers = {"cl": make_balancer("cl", T=T), "ds": make_balancer("ds"),
                 "bmtl": make_balancer("bmtl", h=Exp(T))}
    out = {}
    for name, bal in balancers.items():
        w = bal.weights(L).numpy()
        out[name] = w / w.sum()
    return out


def pace_schedule(losses: Sequence[float], T: float, anneal_factor: float, epochs: int) -> np.ndarray:
    """CL's weights over ``epochs`` epochs with an annealed pace ``T_e = T * anneal_factor^e``.

    The package's ``CL.end_epoch`` does the annealing; the losses are held at ``losses``.

    Returns:
        float64 array (epochs, m); row ``e`` holds the weights used during epoch ``e``.
    """
    L = _losses(losses)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    cl = make_balancer("cl", T=T, anneal_factor=anneal_factor)
    rows = []
    for _ in range(epochs):
        rows.append(cl.weights(L).numpy())
        cl.end_epoch(L)
    return np.array(rows)


class CurriculumDemo(FigureDemo):
    """Sliders: three task losses, the shared temperature ``T`` and CL's anneal factor."""

    def __init__(self, losses: Sequence[float] = (0.5, 1.5, 3.0), T: float = 1.0, anneal: float = 1.3,
                 *, epochs: int = 15, loss_max: float = 5.0, title: str | None = None):
        losses = [float(v) for v in losses]
        if len(losses) != 3:
            raise ValueError(f"the demo shows three tasks, got {len(losses)} losses")
        if not loss_max > 0 or any(not 0 <= v <= loss_max for v in losses):
            raise ValueError(f"losses {losses} must lie in [0, loss_max={loss_max}]")
        curriculum_shares(losses, T)                   # validates T with the package's message
        pace_schedule(losses, T, anneal, 1)            # validates the anneal factor
        self.epochs = epochs
        controls = {f"L{i + 1}": widgets.FloatSlider(value=v, min=0.0, max=loss_max, step=0.05,
                                                     description=f"L_{i + 1}")
                    for i, v in enumerate(losses)}
        controls["T"] = widgets.FloatLogSlider(value=T, base=10, min=-1, max=2, step=0.05, description="T")
        controls["anneal"] = widgets.FloatSlider(value=anneal, min=1.0, max=2.0, step=0.05,
                                                 description="CL anneal")
        super().__init__(controls, figsize=(9.0, 3.4), title=title)

    def setup(self) -> None:
        self.ax_bar, self.ax_pace = self.fig.subplots(1, 2)
        ax = self.ax_bar
        m, width = 3, 0.8 / 3
        self.bars = []
        for i in range(m):
            x = np.arange(len(COMPARED)) - 0.4 + width * (i + 0.5)
            self.bars.append(ax.bar(x, np.zeros(len(COMPARED)), width, color=TASK_COLOURS[i],
                                    label=f"task {i + 1}"))
        ax.set_xticks(range(len(COMPARED)), ["CL, Eq. (4)\neasy first", "DS\nequal", "BMTL, Eq. (9)\nhard first"])
        ax.set_ylim(0, 1)
        ax.set_ylabel("share of the update")
        ax.legend(fontsize=7, loc="upper center", ncols=3)
        ax.set_title("task weights at the current losses", fontsize=10)
        ax = self.ax_pace
        e = np.arange(self.epochs)
        self.pace = [ax.plot(e, np.zeros_like(e, dtype=float), "-o", ms=3, color=TASK_COLOURS[i])[0]
                     for i in range(m)]
        self.bmtl = [ax.plot(e, np.zeros_like(e, dtype=float), "--", lw=1, color=TASK_COLOURS[i])[0]
                     for i in range(m)]
        ax.set_ylim(0, 1)
        ax.set_xlim(-0.5, self.epochs - 0.5)
        ax.set_xlabel("epoch")
        ax.set_ylabel("weight")
        ax.set_title("annealed CL (solid) vs BMTL (dashed)", fontsize=10)
        self.dynamic(*[b for group in self.bars for b in group], *self.pace, *self.bmtl)

    def draw(self, L1, L2, L3, T, anneal) -> None:
        losses = [L1, L2, L3]
        shares = curriculum_shares(losses, T)
        for i, group in enumerate(self.bars):
            for bar, name in zip(group, COMPARED):
                bar.set_height(shares[name][i])
        sched = pace_schedule(losses, T, anneal, self.epochs)
        for i in range(3):
            self.pace[i].set_ydata(sched[:, i])
            self.bmtl[i].set_ydata(np.full(self.epochs, shares["bmtl"][i]))
        easy, hard = int(np.argmin(losses)), int(np.argmax(losses))
        self.caption = (f"T = {T:.3g}: CL gives the easiest task ({easy + 1}) {shares['cl'][easy]:.2f}, "
                        f"BMTL gives the hardest ({hard + 1}) {shares['bmtl'][hard]:.2f}; "
                        f"CL's T after {self.epochs - 1} epochs: {T * anneal ** (self.epochs - 1):.3g}")
        self.state = {"losses": losses, "shares": shares, "schedule": sched}


def curriculum_widget(losses: Sequence[float] = (0.5, 1.5, 3.0), T: float = 1.0, anneal: float = 1.3,
                      **kwargs) -> widgets.VBox:
    """The live curriculum-vs-BMTL demo (``ipywidgets.VBox``; ``.demo`` is the :class:`CurriculumDemo`).

    Args:
        losses: initial losses of the three tasks. T: shared temperature. anneal: CL's factor.
        **kwargs: ``epochs``, ``loss_max``, ``title``.
    """
    return CurriculumDemo(losses, T, anneal, **kwargs).widget
