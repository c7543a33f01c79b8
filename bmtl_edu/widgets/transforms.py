"""The loss transformations ``h`` of BMTL and the Theorem-1 checker, live.

BMTL (Liang & Zhang 2020, problem (8)) minimises ``sum_i h(L_i) + r(Theta)``; by problem (9)
task ``i`` is weighted by ``h'(L_i)``. Theorem 1 asks ``h(0) >= 0``, ``h'(0) >= 0`` and both
``h`` and ``h'`` increasing, and (wrongly, SPEC §4.8) concludes strong convexity.

The demo plots ``h``, ``h'`` and ``h''`` of a family the reader picks and prints
:func:`bmtl_edu.transforms.check_theorem1`'s report beside them:

* ``exp``: ``exp(z / T)`` (the paper's choice) — satisfies everything, strongly convex.
* ``polynomial``: ``c_1 z + c_2 z^2 + c_3 z^3`` — satisfies Theorem 1 when some ``c_k > 0``
  with ``k >= 2``; strongly convex only when ``c_2 > 0`` (``z + z^3`` is the counter-example).
* ``identity``: ``z`` (the direct sum) — ``h'`` is constant, not strictly increasing.
* ``log1p``: ``log(1 + z)`` — increasing but concave: ``h'`` decreases, the wrong way round
  (an easy task would get the larger weight).

Everything is a closed form on a 2,001-point grid, so one change costs a few milliseconds
plus the PNG rendering.
"""
from __future__ import annotations

from typing import Callable

import ipywidgets as widgets
import numpy as np
import torch

from ..transforms import Exp, Identity, Polynomial, Theorem1Report, Transform, check_theorem1
from .base import FigureDemo

__all__ = ["FAMILIES", "CONDITIONS", "make_transform", "TransformDemo", "transform_widget"]

FAMILIES = ("exp", "polynomial", "identity", "log1p")


def _log1p(z: torch.Tensor) -> torch.Tensor:
    return torch.log1p(z)


_log1p.__name__ = "log1p"


def make_transform(family: str, T: float = 50.0, c1: float = 1.0, c2: float = 0.0,
                   c3: float = 1.0) -> Transform | Callable:
    """The transformation ``h`` of ``family`` (see the module docstring).

    Args:
        family: one of :data:`FAMILIES`.
        T: temperature of ``exp`` (> 0).
        c1, c2, c3: coefficients of ``polynomial`` (>= 0, not all zero).
    Returns:
        A :class:`~bmtl_edu.transforms.Transform`, or a plain torch callable for ``log1p``
        (which :func:`~bmtl_edu.transforms.check_theorem1` differentiates by autograd).
    Raises:
        KeyError: unknown family (the message lists the valid ones).
        ValueError: invalid ``T`` or coefficients (from the transform's constructor).
    """
    if family not in FAMILIES:
        raise KeyError(f"unknown family {family!r}; valid: {', '.join(FAMILIES)}")
    if family == "exp":
        return Exp(T)
    if family == "polynomial":
        return Polynomial([0.0, c1, c2, c3])
    if family == "identity":
        return Identity()
    return _log1p


def _curves(h, z: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``h``, ``h'``, ``h''`` on the grid ``z`` (exact for Transforms, autograd otherwise)."""
    if isinstance(h, Transform):
        return tuple(t.numpy() for t in (h(z), h.derivative(z), h.second_derivative(z)))
    x = z.clone().requires_grad_(True)
    v = h(x)
    (d1,) = torch.autograd.grad(v.sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x)
    return v.detach().numpy(), d1.detach().numpy(), d2.numpy()


#: the rows of the condition panel: Theorem 1's requirements, then its (claimed) consequences
CONDITIONS = ("h(0) >= 0", "h'(0) >= 0", "h non-decreasing", "h' non-decreasing",
              "h' strictly increasing", "convex", "strongly convex")


class TransformDemo(FigureDemo):
    """Panels ``h``, ``h'``, ``h''`` and a pass/fail panel of the Theorem-1 check.

    The check is :func:`bmtl_edu.transforms.check_theorem1` on ``[0, z max]``. ``state``
    holds ``report`` (the :class:`~bmtl_edu.transforms.Theorem1Report`), ``h`` and the
    per-condition booleans ``passed`` (in :data:`CONDITIONS` order).
    """

    def __init__(self, family: str = "exp", T: float = 1.0, c1: float = 1.0, c2: float = 0.0,
                 c3: float = 1.0, upper: float = 4.0, *, n_points: int = 2001, title: str | None = None):
        make_transform(family, T, c1, c2, c3)  # validates with the package's own messages
        if isinstance(upper, bool) or not isinstance(upper, (int, float)) or not 0.5 <= upper <= 10:
            raise ValueError(f"upper must be a number in [0.5, 10], got {upper!r}")
        if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 3:
            raise ValueError(f"n_points must be an integer >= 3, got {n_points!r}")
        self.n_points = n_points
        controls = {
            "family": widgets.Dropdown(options=FAMILIES, value=family, description="h family"),
            "T": widgets.FloatLogSlider(value=T, base=10, min=-1, max=2, step=0.05, description="exp: T"),
            "c1": widgets.FloatSlider(value=c1, min=0.0, max=2.0, step=0.05, description="poly: c1"),
            "c2": widgets.FloatSlider(value=c2, min=0.0, max=2.0, step=0.05, description="poly: c2"),
            "c3": widgets.FloatSlider(value=c3, min=0.0, max=2.0, step=0.05, description="poly: c3"),
            "upper": widgets.FloatSlider(value=upper, min=0.5, max=10.0, step=0.5, description="z max"),
        }
        super().__init__(controls, figsize=(10.5, 3.2), title=title)

    def setup(self) -> None:
        axes = self.fig.subplots(1, 4, width_ratios=[1, 1, 1, 0.9])
        self.axes = axes[:3]
        self.lines = []
        titles = ("h(z) / max|h|", "h'(z) / max|h'|: task weight", "h''(z) / max|h''|")
        for ax, label in zip(self.axes, titles):
            (line,) = ax.plot([], [], lw=2, color="tab:purple")
            ax.axhline(0.0, color="grey", lw=0.6)
            ax.set_xlim(0.0, 10.0)
            ax.set_ylim(-1.08, 1.08)
            ax.set_xlabel("loss z")
            ax.set_title(label, fontsize=10)
            self.lines.append(line)
        ax = self.check_ax = axes[3]
        n = len(CONDITIONS)
        ax.set_xlim(-0.5, 0.5)
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_yticks(range(n), CONDITIONS, fontsize=8)
        ax.yaxis.tick_right()
        ax.set_xticks([])
        ax.axhline(4.5, color="grey", lw=0.8, ls=":")
        ax.set_title("Theorem 1 check", fontsize=10)
        self.ok_marks = ax.scatter([], [], marker="o", s=70, color="tab:green", label="holds")
        self.bad_marks = ax.scatter([], [], marker="X", s=80, color="tab:red", label="fails")
        self.dynamic(*self.lines, self.ok_marks, self.bad_marks)

    def draw(self, family: str, T: float, c1: float, c2: float, c3: float, upper: float) -> None:
        try:
            h = make_transform(family, T, c1, c2, c3)
        except ValueError as err:  # e.g. all polynomial coefficients zero
            for line in self.lines:
                line.set_data([], [])
            self.ok_marks.set_offsets(np.empty((0, 2)))
            self.bad_marks.set_offsets(np.empty((0, 2)))
            self.caption = f"invalid h: {err}"
            self.state = {"h": None, "report": None, "passed": None}
            return
        z = torch.linspace(0.0, float(upper), self.n_points, dtype=torch.float64)
        curves = _curves(h, z)
        # each curve is scaled to max |y| = 1 so that the axes never change (re-rendering
        # them would cost more than the rest of the update); the caption gives the scales
        scales = []
        for line, y in zip(self.lines, curves):
            s = float(np.max(np.abs(y)))
            scales.append(s)
            line.set_data(z.numpy(), y / s if s > 0 else y)
        report: Theorem1Report = check_theorem1(h, upper=float(upper), n_points=self.n_points)
        passed = [report.conditions[c] for c in CONDITIONS[:5]] + [report.convex, report.strongly_convex]
        ok = np.array([[0.0, i] for i, p in enumerate(passed) if p]).reshape(-1, 2)
        bad = np.array([[0.0, i] for i, p in enumerate(passed) if not p]).reshape(-1, 2)
        self.ok_marks.set_offsets(ok)
        self.bad_marks.set_offsets(bad)
        # short enough for one line above the figure in the static fallback
        self.caption = (f"{report.h_name}: Theorem 1 requirements {'hold' if report.ok else 'FAIL'}; "
                        f"strongly convex: {'yes' if report.strongly_convex else 'no'}; scales: "
                        f"|h| {scales[0]:.3g}, |h'| {scales[1]:.3g}, |h''| {scales[2]:.3g}")
        self.state = {"h": h, "report": report, "passed": passed, "h_values": curves[0],
                      "scales": scales}


def transform_widget(family: str = "exp", T: float = 1.0, **kwargs) -> widgets.VBox:
    """The live demo (an ``ipywidgets.VBox``; its ``.demo`` is the :class:`TransformDemo`).

    Args:
        family: initial family, one of :data:`FAMILIES`.
        T: initial temperature of ``exp``.
        **kwargs: ``c1``, ``c2``, ``c3``, ``upper``, ``n_points``, ``title``.
    """
    return TransformDemo(family, T, **kwargs).widget

