""""What weight does each task get now?" for every balancer, driven by per-task loss sliders.

Every balancing strategy of the paper reduces, at one step, to a weight ``w_i = dJ/dL_i``
per task (problems (2), (3), (4), (6), (9) of Liang & Zhang 2020). This demo asks each
balancer of :mod:`bmtl_edu.balancers` for ``Balancer.weights(losses, grads)`` at the loss
values the reader sets, and draws them side by side. It is reused by chapters 2-4 (and
any later chapter) with a subset of balancers.

Two balancers need more than the current losses:

* DWA looks at the losses of the two previous epochs: the demo feeds it
  ``previous_losses`` as epoch ``e-2`` and the sliders as epoch ``e-1``.
* MGDA looks only at per-task gradients (``grads``, fixed 2-D vectors here): its weights
  do not move with the sliders, which is the point to notice.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import ipywidgets as widgets
import numpy as np
import torch

from ..balancers import make_balancer
from ..transforms import Exp
from .base import TASK_COLOURS, FigureDemo

__all__ = ["ALL_BALANCERS", "BalancerWeightsDemo", "balancer_weights", "balancer_weights_widget",
           "default_grads"]

ALL_BALANCERS = ("ds", "dwa", "max", "smax", "cl", "mgda", "bmtl")

def default_grads(n_tasks: int) -> list[torch.Tensor]:
    """Fixed per-task gradients for MGDA: 2-D vectors spread over 150 degrees, norms 1..2.

    Returns:
        ``n_tasks`` float64 tensors of shape (2,).
    """
    angles = np.linspace(0.0, np.deg2rad(150.0), n_tasks)
    norms = np.linspace(1.0, 2.0, n_tasks)
    return [torch.tensor([r * np.cos(a), r * np.sin(a)], dtype=torch.float64)
            for r, a in zip(norms, angles)]


def _build(name: str, kwargs: Mapping, T_bmtl: float | None):
    kw = dict(kwargs)
    if name == "bmtl" and T_bmtl is not None:
        kw.setdefault("h", Exp(T_bmtl))
    return make_balancer(name, **kw)


def balancer_weights(losses: Sequence[float], names: Sequence[str] = ALL_BALANCERS, *,
                     previous_losses: Sequence[float] | None = None,
                     grads: Sequence[torch.Tensor] | None = None,
                     balancer_kwargs: Mapping[str, Mapping] | None = None,
                     T_bmtl: float | None = None, normalise: bool = True) -> dict[str, np.ndarray]:
    """Each balancer's weights ``dJ/dL_i`` at ``losses``, from its own ``Balancer.weights``.

    Args:
        losses: the per-task losses ``L`` (m values).
        names: balancer registry names.
        previous_losses: DWA's epoch ``e-2`` losses (default: ``losses``, i.e. ratios 1).
        grads: MGDA's per-task gradients (default :func:`default_grads`).
        balancer_kwargs: name -> constructor arguments.
        T_bmtl: temperature of BMTL's ``h = exp(z/T)`` (default: the balancer's own, 50).
        normalise: divide each balancer's weights by their sum (the share of the update).
    Returns:
        name -> float64 array of shape (m,).
    """
    L = torch.as_tensor(np.asarray(losses, dtype=np.float64))
    if L.ndim != 1 or len(L) == 0:
        raise ValueError(f"losses must be a non-empty 1-D sequence, got shape {tuple(L.shape)}")
    m = len(L)
    prev = L if previous_losses is None else torch.as_tensor(np.asarray(previous_losses, dtype=np.float64))
    if prev.shape != L.shape:
        raise ValueError(f"previous_losses has shape {tuple(prev.shape)}, losses {tuple(L.shape)}")
    grads = default_grads(m) if grads is None else list(grads)
    if len(grads) != m:
        raise ValueError(f"grads has {len(grads)} entries for {m} tasks")
    kwargs = balancer_kwargs or {}
    unknown = sorted(set(kwargs) - set(names))
    if unknown:
        raise KeyError(f"balancer_kwargs for balancers not shown: {unknown}; shown: {list(names)}")
    out = {}
    for name in names:
        bal = _build(name, kwargs.get(name, {}), T_bmtl)
        if name == "dwa":
            # DWA's weights at epoch e use the mean losses of epochs e-1 and e-2
            bal.end_epoch(prev)
            bal.end_epoch(L)
        w = bal.weights(L, grads=grads if bal.needs_grads else None).double().numpy()
        if normalise:
            s = w.sum()
            w = w / s if s > 0 else w
        out[name] = w
    return out


class BalancerWeightsDemo(FigureDemo):
    """Grouped bars: one group per balancer, one bar per task (see the module docstring)."""

    def __init__(self, names: Sequence[str] = ALL_BALANCERS, losses: Sequence[float] = (0.5, 2.0, 4.0),
                 *, loss_max: float = 6.0, previous_losses: Sequence[float] | None = None,
                 grads: Sequence[torch.Tensor] | None = None,
                 balancer_kwargs: Mapping[str, Mapping] | None = None, T_bmtl: float = 50.0,
                 normalise: bool = True, title: str | None = None):
        names = tuple(names)
        if not names:
            raise ValueError("names must list at least one balancer")
        losses = [float(v) for v in losses]
        if not (1 <= len(losses) <= len(TASK_COLOURS)):
            raise ValueError(f"between 1 and {len(TASK_COLOURS)} tasks, got {len(losses)}")
        if not (loss_max > 0) or any(not (0 <= v <= loss_max) for v in losses):
            raise ValueError(f"losses {losses} must lie in [0, loss_max={loss_max}]")
        self.names = names
        self.m = len(losses)
        self.previous_losses = list(losses) if previous_losses is None else list(previous_losses)
        self.grads = grads
        self.balancer_kwargs = dict(balancer_kwargs or {})
        # validate names and kwargs once, with the package's own error messages
        balancer_weights(losses, names, previous_losses=self.previous_losses, grads=grads,
                         balancer_kwargs=self.balancer_kwargs)
        controls = {f"L{i}": widgets.FloatSlider(value=v, min=0.0, max=loss_max, step=0.05,
                                                 description=f"L_{i + 1}", continuous_update=True)
                    for i, v in enumerate(losses)}
        if "bmtl" in names:
            controls["T_bmtl"] = widgets.FloatLogSlider(value=T_bmtl, base=10, min=-1, max=2.5,
                                                        step=0.05, description="BMTL T")
        controls["normalise"] = widgets.Checkbox(value=normalise, description="normalise (sum 1)")
        super().__init__(controls, figsize=(7.5, 3.4), title=title)

    def setup(self) -> None:
        ax = self.ax = self.fig.subplots()
        n, m = len(self.names), self.m
        width = 0.8 / m
        self.bars = []
        for i in range(m):
            x = np.arange(n) - 0.4 + width * (i + 0.5)
            self.bars.append(ax.bar(x, np.zeros(n), width, color=TASK_COLOURS[i], label=f"task {i + 1}"))
        ax.set_xticks(np.arange(n), [s.upper() if s != "smax" else "sMAX" for s in self.names])
        ax.set_xlabel("balancer")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        ax.set_title("what weight does each task get now?")
        self.dynamic(*[b for bars in self.bars for b in bars])
        self._ylim = None

    def draw(self, **values) -> None:
        losses = [values[f"L{i}"] for i in range(self.m)]
        normalise = values["normalise"]
        w = balancer_weights(losses, self.names, previous_losses=self.previous_losses, grads=self.grads,
                             balancer_kwargs=self.balancer_kwargs, T_bmtl=values.get("T_bmtl"),
                             normalise=normalise)
        for i, bars in enumerate(self.bars):
            for bar, name in zip(bars, self.names):
                bar.set_height(w[name][i])
        top = max(float(v.max()) for v in w.values())
        ylim = (0.0, 1.0 if normalise else 1.15 * max(top, 1e-3))
        if ylim != self._ylim:
            self.ax.set_ylim(*ylim)
            self.ax.set_ylabel("share of the update" if normalise else r"weight $\partial J/\partial L_i$")
            self._ylim = ylim
            self.invalidate()
        self.caption = "task weights at L = (" + ", ".join(f"{v:.2f}" for v in losses) + ")" + (
            f", BMTL T = {values['T_bmtl']:.2f}" if "T_bmtl" in values else "")
        self.state = {"losses": losses, "weights": w}


def balancer_weights_widget(names: Sequence[str] = ALL_BALANCERS, losses: Sequence[float] = (0.5, 2.0, 4.0),
                            **kwargs) -> widgets.VBox:
    """The live demo (an ``ipywidgets.VBox``; its ``.demo`` is the :class:`BalancerWeightsDemo`).

    Args:
        names: balancers to show (registry names).
        losses: initial per-task losses (one slider each).
        **kwargs: see :class:`BalancerWeightsDemo` (``loss_max``, ``previous_losses``,
            ``grads``, ``balancer_kwargs``, ``T_bmtl``, ``normalise``, ``title``).
    """
    return BalancerWeightsDemo(names, losses, **kwargs).widget
