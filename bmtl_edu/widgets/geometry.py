"""MGDA's min-norm problem in two dimensions (paper problem (6); Sener & Koltun 2018).

Each task's gradient on the shared parameters is a 2-D arrow ``g_t`` the reader sets by
length and angle. MGDA looks for the point of the convex hull of the arrows closest to the
origin,

    v* = sum_t alpha*_t g_t,   alpha* = argmin_{alpha in simplex} || sum_t alpha_t g_t ||^2,

and steps along ``-v*``. The demo draws the hull, ``v*`` (from the package's exact solver),
the supporting line ``{x : x . v* = ||v*||^2}`` that separates the hull from the origin
(every ``g_t`` lies on its far side: the KKT condition ``g_t . v* >= ||v*||^2``), and the
first ``k`` Frank-Wolfe iterates of the paper's Algorithm 2 (the package's
:func:`~bmtl_edu.balancers.min_norm.frank_wolfe`). When the origin is inside the hull,
``v* = 0``: no direction decreases every task's loss, the point is Pareto-stationary.
"""
from __future__ import annotations

import math
from typing import Sequence

import ipywidgets as widgets
import numpy as np

from ..balancers.min_norm import exact, frank_wolfe, kkt_gap
from .base import TASK_COLOURS, FigureDemo

__all__ = ["gradients_from_polar", "min_norm_geometry", "MinNormDemo", "min_norm_widget"]

#: below this ||v*|| (relative to the longest gradient) the point counts as Pareto-stationary
STATIONARY_RTOL = 1e-9


def gradients_from_polar(norms: Sequence[float], angles_deg: Sequence[float]) -> np.ndarray:
    """Stack 2-D vectors of the given lengths and angles (degrees): shape (m, 2)."""
    r = np.asarray(norms, dtype=np.float64)
    a = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    if r.ndim != 1 or r.shape != a.shape or r.size == 0:
        raise ValueError(f"norms and angles_deg must be 1-D of equal length >= 1, got shapes "
                         f"{r.shape} and {a.shape}")
    if not (np.isfinite(r).all() and np.isfinite(a).all()) or (r < 0).any():
        raise ValueError(f"norms must be finite and >= 0 and angles finite, got {r.tolist()}, "
                         f"{np.rad2deg(a).tolist()}")
    return np.stack([r * np.cos(a), r * np.sin(a)], axis=1)


def min_norm_geometry(grads, fw_steps: int = 0) -> dict:
    """Min-norm point of the hull of ``grads`` (m, d) and the Frank-Wolfe path to it.

    Args:
        grads: the task gradients, array-like of shape (m, d).
        fw_steps: number of Frank-Wolfe iterates to return (uniform start, paper Alg. 2).
    Returns:
        dict with ``alpha`` (m,) and ``point`` (d,) of the exact solution, ``norm2``
        (``||v*||^2``), ``kkt_gap`` (certificate, ~0 at the optimum), ``stationary`` (origin
        in the hull), ``fw_alpha`` (fw_steps+1, m) and ``fw_points`` (fw_steps+1, d)
        (row 0 is the uniform start), ``fw_norm2`` (fw_steps+1,).
    Raises:
        ValueError: on a bad shape, non-finite entries or a negative ``fw_steps``.
    """
    G = np.asarray(grads, dtype=np.float64)
    if G.ndim != 2 or G.shape[0] == 0:
        raise ValueError(f"grads must have shape (m, d) with m >= 1, got {G.shape}")
    if not np.isfinite(G).all():
        raise ValueError("grads contain nan/inf")
    if isinstance(fw_steps, bool) or not isinstance(fw_steps, (int, np.integer)) or fw_steps < 0:
        raise ValueError(f"fw_steps must be an integer >= 0, got {fw_steps!r}")
    M = G @ G.T
    alpha = exact(M)
    point = alpha @ G
    norm2 = float(point @ point)
    m = G.shape[0]
    # iterate k of Algorithm 2 is frank_wolfe with max_iter=k and no early stop
    path = [np.full(m, 1.0 / m)] + [frank_wolfe(M, max_iter=k, tol=0.0) for k in range(1, fw_steps + 1)]
    fw_alpha = np.array(path)
    fw_points = fw_alpha @ G
    scale = float(np.max(np.diag(M))) if m else 0.0
    return {"alpha": alpha, "point": point, "norm2": norm2, "kkt_gap": kkt_gap(M, alpha),
            "stationary": norm2 <= STATIONARY_RTOL * max(scale, 1e-300),
            "fw_alpha": fw_alpha, "fw_points": fw_points,
            "fw_norm2": np.einsum("kd,kd->k", fw_points, fw_points)}


class MinNormDemo(FigureDemo):
    """Sliders: length and angle of each of three task gradients, task 3 on/off, FW steps."""

    def __init__(self, norms: Sequence[float] = (1.0, 2.0, 1.5), angles: Sequence[float] = (10.0, 80.0, 150.0),
                 *, three_tasks: bool = True, fw_steps: int = 3, max_norm: float = 3.0,
                 max_fw_steps: int = 25, title: str | None = None):
        norms, angles = list(norms), list(angles)
        if len(norms) != 3 or len(angles) != 3:
            raise ValueError(f"give three norms and three angles, got {len(norms)} and {len(angles)}")
        if not (max_norm > 0) or any(not 0 <= r <= max_norm for r in norms):
            raise ValueError(f"norms {norms} must lie in [0, max_norm={max_norm}]")
        gradients_from_polar(norms, angles)
        if isinstance(fw_steps, bool) or not isinstance(fw_steps, int) or not 0 <= fw_steps <= max_fw_steps:
            raise ValueError(f"fw_steps must be an integer in [0, {max_fw_steps}], got {fw_steps!r}")
        self.max_norm = float(max_norm)
        controls = {}
        for t in range(3):
            controls[f"r{t + 1}"] = widgets.FloatSlider(value=norms[t], min=0.0, max=max_norm, step=0.05,
                                                        description=f"|g{t + 1}|")
            controls[f"a{t + 1}"] = widgets.FloatSlider(value=angles[t], min=-180.0, max=180.0, step=1.0,
                                                        description=f"angle g{t + 1}")
        controls["three"] = widgets.Checkbox(value=three_tasks, description="task 3")
        controls["fw_steps"] = widgets.IntSlider(value=fw_steps, min=0, max=max_fw_steps,
                                                 description="FW steps")
        super().__init__(controls, figsize=(5.6, 5.0), title=title)

    def setup(self) -> None:
        ax = self.ax = self.fig.subplots()
        lim = 1.1 * self.max_norm
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_xlabel("shared-parameter direction 1")
        ax.set_ylabel("shared-parameter direction 2")
        ax.set_title("convex hull of the task gradients and its min-norm point", fontsize=10)
        self.hull = ax.fill([0], [0], color="tab:blue", alpha=0.15, lw=1.5, ec="tab:blue")[0]
        self.arrows = [ax.plot([], [], color=TASK_COLOURS[t], lw=2.5, label=f"$g_{t + 1}$")[0]
                       for t in range(3)]
        self.tips = [ax.plot([], [], "o", color=TASK_COLOURS[t], ms=6)[0] for t in range(3)]
        self.support, = ax.plot([], [], ls="--", color="k", lw=1, label=r"$x\cdot v^*=\|v^*\|^2$")
        self.fw, = ax.plot([], [], "-s", color="tab:purple", ms=4, lw=1, label="Frank-Wolfe iterates")
        self.vec, = ax.plot([], [], color="k", lw=2)
        self.star, = ax.plot([], [], "*", color="k", ms=14, label=r"min-norm point $v^*$")
        self.descent, = ax.plot([], [], color="tab:red", lw=2, ls=":", label=r"MGDA step $-v^*$")
        ax.legend(loc="lower left", fontsize=7, framealpha=0.8)
        self.dynamic(self.hull, *self.arrows, *self.tips, self.support, self.fw, self.vec, self.star,
                     self.descent)

    def draw(self, r1, a1, r2, a2, r3, a3, three, fw_steps) -> None:
        m = 3 if three else 2
        G = gradients_from_polar([r1, r2, r3][:m], [a1, a2, a3][:m])
        geo = min_norm_geometry(G, fw_steps)
        for t in range(3):
            if t < m:
                self.arrows[t].set_data([0.0, G[t, 0]], [0.0, G[t, 1]])
                self.tips[t].set_data([G[t, 0]], [G[t, 1]])
            else:
                self.arrows[t].set_data([], [])
                self.tips[t].set_data([], [])
        # the hull of <= 3 points is the triangle (or segment) through them
        self.hull.set_xy(np.vstack([G, G[:1]]))
        v = geo["point"]
        self.star.set_data([v[0]], [v[1]])
        self.vec.set_data([0.0, v[0]], [0.0, v[1]])
        self.descent.set_data([0.0, -v[0]], [0.0, -v[1]])
        nv = math.sqrt(geo["norm2"])
        if geo["stationary"] or nv == 0.0:
            self.support.set_data([], [])
        else:
            u = np.array([-v[1], v[0]]) / nv  # along the line, perpendicular to v*
            ends = np.array([v - 5 * self.max_norm * u, v + 5 * self.max_norm * u])
            self.support.set_data(ends[:, 0], ends[:, 1])
        pts = geo["fw_points"]
        self.fw.set_data(pts[:, 0], pts[:, 1])
        alpha = ", ".join(f"{a:.2f}" for a in geo["alpha"])
        fw_gap = geo["fw_norm2"][-1] - geo["norm2"]
        # short enough for one line above the figure in the static fallback
        self.caption = (f"α* = ({alpha}), ‖v*‖² = {geo['norm2']:.3f}"
                        + (" (Pareto-stationary)" if geo["stationary"] else "")
                        + f"; FW, {fw_steps} steps: gap {fw_gap:.1e}")
        self.state = {"grads": G, **geo}


def min_norm_widget(norms: Sequence[float] = (1.0, 2.0, 1.5), angles: Sequence[float] = (10.0, 80.0, 150.0),
                    **kwargs) -> widgets.VBox:
    """The live min-norm geometry demo (``ipywidgets.VBox``; ``.demo`` is the :class:`MinNormDemo`).

    Args:
        norms, angles: initial lengths and angles (degrees) of the three task gradients.
        **kwargs: ``three_tasks``, ``fw_steps``, ``max_norm``, ``max_fw_steps``, ``title``.
    """
    return MinNormDemo(norms, angles, **kwargs).widget
