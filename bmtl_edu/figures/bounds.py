"""Figures of the bounds chapter ("How far can the training loss be trusted?").

Each function draws on a given matplotlib ``Axes`` (or makes its own figure) and returns it, so
the chapter, the static fallback and the widget of :mod:`bmtl_edu.widgets.bounds` share one
drawing code.  Only :mod:`bmtl_edu.bounds`, NumPy and matplotlib are used.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, NullLocator

from bmtl_edu import bounds

# Unicode instead of mathtext in labels: mathtext layout costs ~50 ms per widget redraw.
CURVE_STYLE = {
    "paper": dict(color="C0", lw=2, label="Theorem 3, paper η"),
    "tight": dict(color="C2", lw=2, ls="--", label="exact bounded difference c_h/m"),
    "remark": dict(color="C3", lw=2, ls=":", label="Remark 1 as printed (square dropped)"),
    "lemma": dict(color="C1", lw=1.2, ls="-.", label="Remark 1's Θ(exp(1/(4 n0 T))/√m)"),
}


# Plain tick labels and no minor ticks: mathtext labels of log axes cost ~0.1 s per redraw,
# which would make the widget sluggish.
_PLAIN = FuncFormatter(lambda v, _: f"{v:g}")


def fast_log_axes(ax):
    """Plain-number major ticks and no minor ticks on the log-scaled axes of ``ax``."""
    for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
        if scale == "log":
            axis.set_major_formatter(_PLAIN)
            axis.set_minor_locator(NullLocator())
    return ax


def n0_axis(n0_max: float = 1e5, points: int = 200) -> np.ndarray:
    """Logarithmic grid of sample sizes ``1 .. n0_max`` (rounded to integers, unique)."""
    return np.unique(np.round(np.logspace(0, np.log10(n0_max), points)))


def plot_confidence_vs_n0(ax, T: float, m: int, delta: float, n0_max: float = 1e5,
                          n0_marker: int | None = None, legend: bool = True):
    """Confidence term over n0: paper (Theorem 3), tight, and the two Remark-1 readings."""
    n0 = n0_axis(n0_max)
    curves = {
        "paper": bounds.confidence_term(T, m, n0, delta),
        "tight": bounds.confidence_term(T, m, n0, delta, tight=True),
        "remark": bounds.remark1_confidence(T, m, n0, delta),
        "lemma": bounds.remark1_confidence(T, m, n0, delta, lemma1_form=True),
    }
    for key, y in curves.items():
        ax.loglog(n0, y, **CURVE_STYLE[key])
    if n0_marker is not None:
        ax.axvline(n0_marker, color="0.5", lw=0.8)
        ax.plot([n0_marker], [bounds.confidence_term(T, m, n0_marker, delta)], "o", color="C0")
    ax.set_xlabel("samples per task n0")
    ax.set_ylabel("confidence term")
    ax.set_title(f"T={T:g}, m={m}, δ={delta:g}")
    if legend:
        ax.legend(fontsize=8, loc="lower left")
    return fast_log_axes(ax)


def plot_confidence_small_multiples(T_values=(0.5, 1.0, 5.0, 50.0), m: int = 3, delta: float = 0.05,
                                    n0_max: float = 1e5):
    """One panel per temperature: the static stand-in for the chapter's widget."""
    fig, axes = plt.subplots(1, len(T_values), figsize=(3.2 * len(T_values), 3.0), sharey=False,
                             constrained_layout=True)
    for i, (ax, T) in enumerate(zip(np.atleast_1d(axes), T_values)):
        plot_confidence_vs_n0(ax, T, m, delta, n0_max=n0_max, legend=(i == 0))
    return fig


def plot_bound_terms(ax, T: float, m: int, n0: int, delta: float, beta: float = 1.0,
                     rho: float = 1.0):
    """Bar chart of the Theorem-5 terms (complexity, confidence) in the paper and tight forms."""
    labels = ["complexity\n(paper)", "complexity\n(tight)", "confidence\n(paper)",
              "confidence\n(tight)"]
    values = [bounds.theorem5_complexity(T, m, beta, rho),
              bounds.theorem5_complexity(T, m, beta, rho, tight=True),
              bounds.confidence_term(T, m, n0, delta),
              bounds.confidence_term(T, m, n0, delta, tight=True)]
    ax.bar(range(4), values, color=["C0", "C2", "C0", "C2"], alpha=0.8)
    ax.set_xticks(range(4))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("added to R̂_h")
    ax.set_title(f"Theorem 5 terms (β={beta:g}, ρ={rho:g})")
    return fast_log_axes(ax)


def plot_lemma1(ax, x: np.ndarray):
    """Lemma 1: ``(e^x - 1)/x`` against ``e^{x/2}`` and their gap (log-log)."""
    x = np.asarray(x, dtype=float)
    ax.loglog(x, np.expm1(x) / x, color="C0", lw=2, label=r"$(e^x-1)/x$")
    ax.loglog(x, np.exp(x / 2), color="C3", ls="--", lw=2, label=r"$e^{x/2}$")
    ax.loglog(x, bounds.lemma1_gap(x), color="C2", lw=1.2, label="gap")
    ax.loglog(x, x ** 2 / 24, color="0.5", ls=":", label=r"$x^2/24$")
    ax.set_xlabel("x")
    ax.legend(fontsize=8)
    ax.set_title("Lemma 1")
    return ax


def plot_gap_vs_n0(ax, sim: dict, T_index: int = -1, trivial: float = 1.0):
    """Empirical gap ``mean R_i - mean R^_i`` (all trials) and Theorem-4 bound gaps over n0.

    ``sim`` is the dict of :func:`bmtl_edu.bound_simulation.simulate_gaps`.
    """
    n0 = sim["n0_grid"]
    T = sim["T_grid"][T_index]
    emp = sim["mean_true"][:, T_index] - sim["mean_train"][:, T_index]     # (n_n0, trials)
    for k in range(emp.shape[1]):
        ax.plot(n0, emp[:, k], color="0.6", lw=0.6, alpha=0.6)
    ax.plot(n0, emp.mean(axis=1), "k-o", ms=3, label="empirical gap (each run, mean)")
    for key, color, name in (("thm4_paper", "C0", "paper"), ("thm4_tight", "C2", "tight")):
        gap = sim[key][:, T_index] - sim["mean_train"][:, T_index]
        ax.plot(n0, gap.max(axis=1), color=color, lw=2, label=f"Theorem 4+5 bound gap ({name})")
    ax.axhline(trivial, color="C3", lw=0.8, ls=":", label="trivial (losses ≤ 1)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("samples per task n0")
    ax.set_ylabel(r"$\bar R - \bar{\hat R}$")
    ax.set_title(f"T={T:g}")
    return ax


def plot_theorem4_vs_T(ax, empirical_risks, rademacher: float, n0: int, delta: float,
                       T_grid=None, rho: float = 1.0):
    """Theorem 4's right-hand side over T, with its T -> infinity limit (both forms)."""
    T_grid = np.logspace(-1.3, 4, 120) if T_grid is None else np.asarray(T_grid, dtype=float)
    for tight, color, name in ((False, "C0", "paper"), (True, "C2", "tight")):
        rhs = [bounds.theorem4_rhs(empirical_risks, rademacher, T, n0, delta, rho, tight)
               for T in T_grid]
        ax.semilogx(T_grid, rhs, color=color, lw=2, label=f"Theorem 4 ({name})")
        ax.axhline(bounds.theorem4_limit(empirical_risks, rademacher, n0, delta, rho, tight),
                   color=color, ls=":", lw=1, label=f"T→∞ limit ({name})")
    ax.axhline(float(np.mean(empirical_risks)), color="k", lw=0.8, label="mean training risk")
    ax.set_xlabel("T")
    ax.set_ylabel("bound on the mean risk")
    ax.legend(fontsize=8)
    return ax
