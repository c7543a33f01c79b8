"""DMTRL's factorisations of a head tensor: rank, reconstruction error and parameter count.

DMTRL (Yang & Hospedales 2017; SPEC §2.2) stacks the task heads into ``W`` (hidden x C x m,
task axis last) and replaces it by a Tucker, tensor-train (TT) or last-axis-flattening (LAF)
factorisation whose ranks come from the relative-error rule ``rank = #{sigma_k > eps sigma_1}``,
the task-mode rank capped by ``max_task_rank``. The demo lets the reader choose the
factorisation, ``eps`` and the cap and shows (left) the singular-value spectrum of the
task-mode unfolding with the kept values coloured, (middle) the relative reconstruction error
and (right) the number of factor parameters of the three factorisations over ``eps``.

Every number comes from the package's own :meth:`bmtl_edu.models.DMTRL.decompose_` (the code
that initialises a DMTRL model), not from a second implementation. The curves over ``eps`` are
precomputed at construction for every cap (a few hundred decompositions of a small tensor, each
1-2 ms; ~0.6 s in all); one slider change does a single decomposition and moves artists.
"""
from __future__ import annotations

import math
from contextlib import contextmanager

import ipywidgets as widgets
import numpy as np
import torch
from torch import Tensor

from ..models.dmtrl import DMTRL, FACTORIZATIONS
from ..models.tensor import unfold
from .base import FigureDemo

__all__ = ["FactorisationDemo", "factorisation_widget", "head_factorisation", "related_heads"]

_COLOURS = {"tucker": "tab:blue", "tt": "tab:orange", "laf": "tab:green"}
_LABELS = {"tucker": "Tucker", "tt": "TT", "laf": "LAF"}


def related_heads(n_tasks: int = 4, n_classes: int = 6, hidden: int = 48, n_shared: int = 2,
                  noise: float = 0.08, seed: int = 2) -> Tensor:
    """Heads of related tasks: ``W_t = sum_k c[t, k] A_k + noise * E_t``, shape (m, C, hidden).

    ``A_k`` (C, hidden) are ``n_shared`` common patterns and ``E_t`` task-specific noise, all
    with i.i.d. N(0, 1/hidden) entries (the scale of a default-initialised head); ``c`` is
    N(0, 1). With small ``noise`` the task-mode unfolding has ``n_shared`` large singular
    values and ``m - n_shared`` small ones (defaults: sigma_k / sigma_1 = 1, 0.37, 0.024,
    0.021). float64, DMTL's layout ``head_weight[t]``.
    """
    for name, v in {"n_tasks": n_tasks, "n_classes": n_classes, "hidden": hidden, "n_shared": n_shared}.items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite non-negative float, got {noise!r}")
    g = torch.Generator().manual_seed(int(seed))
    s = 1.0 / math.sqrt(hidden)
    A = s * torch.randn(n_shared, n_classes, hidden, generator=g, dtype=torch.float64)
    c = torch.randn(n_tasks, n_shared, generator=g, dtype=torch.float64)
    E = s * torch.randn(n_tasks, n_classes, hidden, generator=g, dtype=torch.float64)
    return torch.einsum("tk,kch->tch", c, A) + noise * E


def _check_heads(W: Tensor) -> Tensor:
    if not isinstance(W, Tensor) or W.dim() != 3:
        got = tuple(W.shape) if isinstance(W, Tensor) else type(W).__name__
        raise ValueError(f"W must be a 3-D tensor of stacked heads (m, C, hidden), got {got}")
    if not torch.isfinite(W).all():
        raise ValueError("W contains NaN or inf")
    if float(W.abs().max()) == 0.0:
        raise ValueError("W is all zeros: nothing to factorise")
    return W.detach().to("cpu", torch.float64)


_DECOMPOSERS: dict[tuple, DMTRL] = {}


@contextmanager
def _one_thread():
    # SVDs of a few-thousand-entry tensor: on a busy machine a second intra-op thread adds
    # 100+ ms of hand-off waits to a ~1 ms computation, so the live path runs on one thread.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _decomposer(factorization: str, m: int, C: int, H: int) -> DMTRL:
    if factorization not in FACTORIZATIONS:
        raise KeyError(f"unknown factorization {factorization!r}; valid: {', '.join(FACTORIZATIONS)}")
    key = (factorization, m, C, H)
    if key not in _DECOMPOSERS:
        if len(_DECOMPOSERS) > 32:  # a notebook trying many shapes must not hoard models
            _DECOMPOSERS.clear()
        _DECOMPOSERS[key] = DMTRL(1, m, C, hidden=H, factorization=factorization).double()
    return _DECOMPOSERS[key]


def _check_eps(eps: float) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (float, int)) or not 0.0 < float(eps) < 1.0:
        raise ValueError(f"eps must be a float in (0, 1), got {eps!r}")
    return float(eps)


def _check_cap(cap: int, m: int) -> int:
    if isinstance(cap, bool) or not isinstance(cap, (int, np.integer)) or not 1 <= cap <= m:
        raise ValueError(f"max_task_rank must be an int in [1, {m}], got {cap!r}")
    return int(cap)


def head_factorisation(W: Tensor, factorization: str = "tucker", eps: float = 0.1,
                       max_task_rank: int | None = None) -> dict:
    """Decompose stacked heads ``W`` (m, C, hidden) as a DMTRL model would (SPEC §2.2).

    Args:
        W: stacked heads in DMTL's layout (m, C, hidden), e.g. ``DMTL.head_weight``.
        factorization: ``"tucker"``, ``"tt"`` or ``"laf"``.
        eps: relative-error rank rule, in (0, 1).
        max_task_rank: cap on the task-mode rank (``None``: DMTRL's default ``max(1, m - 1)``).

    Returns:
        ``{"ranks", "n_params" (factor parameters, biases excluded), "n_free" (m*C*hidden),
        "rel_error" (||W - W_hat||_F / ||W||_F), "task_rank"}``.
    """
    W = _check_heads(W)
    m, C, H = W.shape
    model = _decomposer(factorization, m, C, H)
    # a fresh DMTRL per call would decompose its random init too: reuse one, set its options
    model.eps = _check_eps(eps)
    model.max_task_rank = max(1, m - 1) if max_task_rank is None else _check_cap(max_task_rank, m)
    with _one_thread(), torch.no_grad():
        ranks = model.decompose_(W.permute(2, 1, 0), None)  # DMTRL wants (hidden, C, m)
        W_hat = model.head_weights()
        err = float(torch.linalg.norm(W - W_hat) / torch.linalg.norm(W))
    return {"ranks": ranks, "n_params": model.n_factor_parameters(), "n_free": m * C * H,
            "rel_error": err, "task_rank": ranks[-1]}


class FactorisationDemo(FigureDemo):
    """Controls: the factorisation, ``eps`` (log scale) and the task-rank cap."""

    def __init__(self, W: Tensor | None = None, factorization: str = "tucker", eps: float = 0.1,
                 max_task_rank: int | None = None, eps_range: tuple[float, float] = (1e-3, 0.9),
                 n_grid: int = 20):
        W = related_heads() if W is None else _check_heads(W)
        if factorization not in FACTORIZATIONS:
            raise KeyError(f"unknown factorization {factorization!r}; valid: {', '.join(FACTORIZATIONS)}")
        lo, hi = eps_range
        if not 0 < lo < hi < 1:
            raise ValueError(f"eps_range must satisfy 0 < low < high < 1, got {eps_range}")
        if not lo <= eps <= hi:
            raise ValueError(f"eps must lie in eps_range {eps_range}, got {eps!r}")
        self.W = W
        self.m, self.C, self.H = W.shape
        if max_task_rank is None:
            max_task_rank = max(1, self.m - 1)
        max_task_rank = _check_cap(max_task_rank, self.m)
        # task-mode unfolding of the task-last tensor (hidden, C, m): an (m, C*hidden) matrix
        s = torch.linalg.svdvals(unfold(W.permute(2, 1, 0), 2))
        self.task_spectrum = (s / s[0]).numpy()
        self.eps_grid = np.geomspace(lo, hi, n_grid)
        # curves[cap][fact] = (errors, params) over eps_grid: one lookup per slider change
        self.curves = {cap: {f: np.array([[r["rel_error"], r["n_params"]] for r in
                                          (head_factorisation(W, f, float(e), cap) for e in self.eps_grid)]).T
                             for f in FACTORIZATIONS}
                       for cap in range(1, self.m + 1)}
        self._pmax = max(max(c[f][1].max() for f in FACTORIZATIONS) for c in self.curves.values())
        controls = {
            "factorization": widgets.ToggleButtons(options=[(_LABELS[f], f) for f in FACTORIZATIONS],
                                                   value=factorization, description="factorisation"),
            "eps": widgets.FloatLogSlider(value=eps, base=10, min=np.log10(lo), max=np.log10(hi),
                                          step=0.02, description="eps"),
            "max_task_rank": widgets.IntSlider(value=max_task_rank, min=1, max=self.m,
                                               description="task-rank cap"),
        }
        super().__init__(controls, figsize=(10.0, 3.3))

    def setup(self) -> None:
        self.ax_s, self.ax_e, self.ax_p = self.fig.subplots(1, 3)
        k = np.arange(1, self.m + 1)
        self.bars = self.ax_s.bar(k, self.task_spectrum, color="lightgray", edgecolor="k")
        self.eps_hline = self.ax_s.axhline(0.1, color="tab:red", ls="--", lw=1.2)
        self.cap_vline = self.ax_s.axvline(self.m + 0.5, color="k", ls=":", lw=1.2)
        self.ax_s.set_yscale("log")
        self.ax_s.set_ylim(min(self.task_spectrum.min(), self.eps_grid[0]) / 2, 2.0)
        self.ax_s.set_xticks(k)
        self.ax_s.set_xlabel("k")
        self.ax_s.set_ylabel(r"$\sigma_k / \sigma_1$")
        self.ax_s.set_title("task-mode spectrum (red: eps, dotted: cap)", fontsize=9)
        self.err_lines, self.par_lines = {}, {}
        for f in FACTORIZATIONS:
            self.err_lines[f], = self.ax_e.plot(self.eps_grid, np.zeros_like(self.eps_grid),
                                                color=_COLOURS[f], label=_LABELS[f])
            self.par_lines[f], = self.ax_p.plot(self.eps_grid, np.zeros_like(self.eps_grid),
                                                color=_COLOURS[f], label=_LABELS[f])
        self.err_dot, = self.ax_e.plot([0.1], [0.0], "o", color="k", ms=7)
        self.par_dot, = self.ax_p.plot([0.1], [0.0], "o", color="k", ms=7)
        self.ax_p.axhline(self.m * self.C * self.H, color="gray", ls="--", lw=1, label="free heads")
        for ax in (self.ax_e, self.ax_p):
            ax.set_xscale("log")
            ax.set_xlabel("eps")
            ax.legend(fontsize=8)
        self.ax_e.set_ylim(-0.02, 1.0)
        self.ax_e.set_ylabel(r"$\|W-\hat W\|_F / \|W\|_F$")
        self.ax_e.set_title("relative reconstruction error", fontsize=9)
        self.ax_p.set_ylim(0, 1.1 * max(self._pmax, self.m * self.C * self.H))
        self.ax_p.set_ylabel("factor parameters")
        self.ax_p.set_title(f"parameters (head {self.H}x{self.C}x{self.m})", fontsize=9)
        self.dynamic(*self.bars, self.eps_hline, self.cap_vline, *self.err_lines.values(),
                     *self.par_lines.values(), self.err_dot, self.par_dot)

    def draw(self, **values) -> None:
        f, eps, cap = values["factorization"], float(values["eps"]), int(values["max_task_rank"])
        res = head_factorisation(self.W, f, eps, cap)
        for i, bar in enumerate(self.bars):
            bar.set_facecolor(_COLOURS[f] if i < res["task_rank"] else "lightgray")
        self.eps_hline.set_ydata([eps, eps])
        self.cap_vline.set_xdata([cap + 0.5, cap + 0.5])
        for g in FACTORIZATIONS:
            err, par = self.curves[cap][g]
            self.err_lines[g].set_ydata(err)
            self.par_lines[g].set_ydata(par)
            lw = 2.5 if g == f else 1.0
            self.err_lines[g].set_linewidth(lw)
            self.par_lines[g].set_linewidth(lw)
        self.err_dot.set_data([eps], [res["rel_error"]])
        self.par_dot.set_data([eps], [res["n_params"]])
        self.caption = (f"{_LABELS[f]}, eps = {eps:.3g}, task-rank cap = {cap}: ranks {res['ranks']}, "
                        f"{res['n_params']:,} factor parameters vs {res['n_free']:,} free, "
                        f"relative error {res['rel_error']:.3f}")
        self.state = {"factorization": f, "eps": eps, "max_task_rank": cap, **res}


def factorisation_widget(W: Tensor | None = None, factorization: str = "tucker", eps: float = 0.1,
                         max_task_rank: int | None = None, **kwargs) -> widgets.VBox:
    """The live DMTRL factorisation demo (``ipywidgets.VBox``; ``.demo`` is the :class:`FactorisationDemo`).

    Args:
        W: stacked heads (m, C, hidden); default :func:`related_heads` (4 tasks, 2 shared patterns).
        factorization, eps, max_task_rank: initial control values (cap default ``max(1, m - 1)``).
        **kwargs: ``eps_range``, ``n_grid`` of :class:`FactorisationDemo`.
    """
    return FactorisationDemo(W, factorization, eps, max_task_rank, **kwargs).widget
