"""Live demo of the bounds chapter: sliders over T, m, n0 and delta.

``bound_explorer()`` returns an ipywidgets box; every slider change recomputes the bound
terms (:func:`bound_summary`) and redraws one small figure (:func:`draw_bound_explorer`), which
takes a few tens of milliseconds.  The drawing and the numbers are plain functions, so the
chapter's static fallback and the tests call them without a kernel.
"""
from __future__ import annotations

import html

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display  # ships with ipywidgets

from bmtl_edu import bounds
from bmtl_edu.figures.bounds import plot_bound_terms, plot_confidence_vs_n0


def bound_summary(T: float, m: int, n0: int, delta: float, beta: float = 1.0,
                  rho: float = 1.0) -> dict:
    """The quantities of Theorems 3-5 at one setting (all floats), keyed by name."""
    return {
        "nu": bounds.nu(T),
        "eta (paper)": bounds.eta(T, m, n0),
        "eta (tight)": bounds.eta(T, m, n0, tight=True),
        "confidence (paper)": bounds.confidence_term(T, m, n0, delta),
        "confidence (tight)": bounds.confidence_term(T, m, n0, delta, tight=True),
        "confidence (Remark 1 as printed)": bounds.remark1_confidence(T, m, n0, delta),
        "Thm 5 complexity (paper)": bounds.theorem5_complexity(T, m, beta, rho),
        "Thm 5 complexity (tight)": bounds.theorem5_complexity(T, m, beta, rho, tight=True),
    }


def draw_bound_explorer(T: float, m: int, n0: int, delta: float, beta: float = 1.0,
                        n0_max: float = 1e5):
    """The widget's figure: confidence term over n0 (marker at ``n0``) and the Theorem-5 terms."""
    # Fixed margins: constrained_layout would add ~50 ms to every slider move.
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.4))
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.2, top=0.9, wspace=0.3)
    plot_confidence_vs_n0(ax1, T, m, delta, n0_max=n0_max, n0_marker=n0)
    plot_bound_terms(ax2, T, m, n0, delta, beta=beta)
    return fig


def _summary_html(summary: dict) -> str:
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td style='text-align:right'>{v:.4g}</td></tr>"
                   for k, v in summary.items())
    return f"<table>{rows}</table>"


def bound_explorer(T: float = 50.0, m: int = 3, n0: int = 100, delta: float = 0.05,
                   beta: float = 1.0) -> widgets.Widget:
    """Sliders for T (log scale), m, n0 (log scale) and delta, with the figure and a table.

    Returns:
        an ``ipywidgets.VBox``; display it in a notebook.
    """
    bounds.confidence_term(T, m, n0, delta)  # validates the starting point
    style = {"description_width": "60px"}
    s_T = widgets.FloatLogSlider(value=T, base=10, min=-0.5, max=3, step=0.05,
                                 description="T", style=style, continuous_update=False)
    s_m = widgets.IntSlider(value=m, min=1, max=100, description="m", style=style,
                            continuous_update=False)
    s_n0 = widgets.FloatLogSlider(value=n0, base=10, min=0, max=5, step=0.1,
                                  description="n0", style=style, continuous_update=False,
                                  readout_format=".0f")
    s_delta = widgets.FloatLogSlider(value=delta, base=10, min=-6, max=-0.05, step=0.05,
                                     description="δ", style=style, continuous_update=False,
                                     readout_format=".2g")
    out = widgets.Output()
    table = widgets.HTML()

    def update(*_):
        n0_int = max(1, int(round(s_n0.value)))
        table.value = _summary_html(bound_summary(s_T.value, s_m.value, n0_int, s_delta.value,
                                                  beta))
        with out:
            out.clear_output(wait=True)
            fig = draw_bound_explorer(s_T.value, s_m.value, n0_int, s_delta.value, beta)
            display(fig)
            plt.close(fig)

    for s in (s_T, s_m, s_n0, s_delta):
        s.observe(update, names="value")
    update()
    box = widgets.VBox([widgets.HBox([widgets.VBox([s_T, s_m, s_n0, s_delta]), table]), out])
    box.sliders = {"T": s_T, "m": s_m, "n0": s_n0, "delta": s_delta}  # for tests and notebooks
    box.update = update
    return box
