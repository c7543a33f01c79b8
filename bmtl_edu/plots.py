"""Figures of the BMTL book.

Replication figures (Liang & Zhang 2020, Sec. 4.2), drawn from :func:`bmtl_edu.summary.summarize` rows:

* :func:`plot_accuracy_vs_proportion` -- Figures 1-3: test accuracy vs training proportion,
  one panel per model, one line per balancer (mean +- std over seeds as error bars).
* :func:`plot_task_losses` -- Figure 4: per-task training losses of one run (the paper: BMTL
  on DMTRL_TT, Office-Home).
* :func:`plot_sarcos_mse` -- Figure 5: SARCOS test MSE, grouped bars per model.

Every function returns a ``matplotlib.figure.Figure`` built without ``pyplot`` (no global
state, no double display in notebooks; ``fig.savefig(path)`` writes it). A figure drawn from
any synthetic stand-in record says ``(synthetic stand-in)`` in its title.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from bmtl_edu.profiles import ALL_BALANCERS, ALL_MODELS

SYNTHETIC_NOTE = "(synthetic stand-in)"
_BALANCER_LABELS = {"ds": "DS", "dwa": "DWA", "max": "Max", "smax": "sMAX", "cl": "CL",
                    "mgda": "MGDA", "bmtl": "BMTL"}
_BALANCER_COLORS = {"ds": "C0", "dwa": "C1", "max": "C2", "smax": "C4", "cl": "C5",
                    "mgda": "C7", "bmtl": "C3"}
_METRIC_LABELS = {"accuracy": "test accuracy", "mse": "test MSE"}


# ----------------------------------------------------------------------------- labels

def model_label(name: str) -> str:
    """Paper spelling of a model name: ``dmtrl_tt`` -> ``DMTRL_TT``."""
    return name.upper()


def balancer_label(name: str) -> str:
    """Paper spelling of a balancer name: ``smax`` -> ``sMAX``."""
    return _BALANCER_LABELS.get(name, name)


def balancer_color(name: str, present: Sequence[str] = ()) -> str:
    """One colour per balancer across all figures (BMTL always the same red)."""
    if name in _BALANCER_COLORS:
        return _BALANCER_COLORS[name]
    extra = [b for b in present if b not in _BALANCER_COLORS]
    spare = ("C6", "C8", "C9")
    return spare[extra.index(name) % len(spare)] if name in extra else "gray"


def dataset_label(name: str) -> str:
    """The registry's title of a dataset, or the name itself."""
    try:
        from bmtl_edu.data import DATASETS
        return DATASETS[name].title
    except (ImportError, KeyError, AttributeError):
        return name


def with_synthetic_note(title: str, items: Sequence[Mapping] | Mapping | bool) -> str:
    """Append ``(synthetic stand-in)`` when any row/record has ``is_synthetic`` True."""
    if isinstance(items, bool):
        synthetic = items
    elif isinstance(items, Mapping):
        synthetic = bool(items.get("is_synthetic"))
    else:
        synthetic = any(bool(r.get("is_synthetic")) for r in items)
    return f"{title} {SYNTHETIC_NOTE}" if synthetic and SYNTHETIC_NOTE not in title else title


def _ordered(names: set, order: Sequence[str]) -> list:
    return sorted(names, key=lambda n: (order.index(n) if n in order else len(order), str(n)))


def _as_rows(rows_or_records: Sequence[Mapping]) -> list[dict]:
    """Accept summary rows, or raw records (summarised on the fly)."""
    rows = list(rows_or_records)
    if not rows:
        raise ValueError("nothing to plot: no rows")
    if "mean" not in rows[0]:
        from bmtl_edu.summary import summarize
        rows = summarize(rows)
    for f in ("model", "balancer", "proportion", "mean"):
        if f not in rows[0]:
            raise KeyError(f"rows need a {f!r} field (rows from bmtl_edu.summary.summarize); "
                           f"got {sorted(rows[0])}")
    return rows


def _one_dataset(rows: list[dict], dataset: str | None) -> tuple[list[dict], str | None]:
    datasets = sorted({r.get("dataset") for r in rows}, key=str)
    if dataset is not None:
        rows = [r for r in rows if r.get("dataset") == dataset]
        if not rows:
            raise ValueError(f"no rows for dataset {dataset!r}; rows have {datasets}")
        return rows, dataset
    if len(datasets) > 1:
        raise ValueError(f"rows mix datasets {datasets}; pass dataset=...")
    return rows, datasets[0]


def _new_figure(n_panels: int, ncols: int, panel_size=(3.4, 2.8)):
    from matplotlib.figure import Figure
    ncols = max(1, min(ncols, n_panels))
    nrows = math.ceil(n_panels / ncols)
    fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows + 0.6),
                 layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]


# ----------------------------------------------------------------------------- Figures 1-3

def plot_accuracy_vs_proportion(rows: Sequence[Mapping], *, dataset: str | None = None,
                                models: Sequence[str] | None = None,
                                balancers: Sequence[str] | None = None, ncols: int = 4,
                                error_bars: bool = True, mgda_reference: str | None = None,
                                title: str | None = None):
    """Figures 1-3: metric vs training proportion, one panel per model, one line per balancer.

    Args:
        rows: :func:`~bmtl_edu.summary.summarize` rows (or raw records) of one dataset.
        dataset: which dataset, when rows hold several.
        models, balancers: subsets / orders (default: all present, in the paper's order).
        ncols: panels per figure row.
        error_bars: draw +- one std over seeds.
        mgda_reference: MGDA only trains DMTL in the paper (Sec. 4.1); its DMTL curve is
            drawn dashed in the panels of the other models, for reference. ``None``: off.
        title: figure title (default: "<dataset>: <metric> vs training proportion").

    Returns:
        A ``matplotlib.figure.Figure`` with one visible axes per model.
    """
    rows, dataset = _one_dataset(_as_rows(rows), dataset)
    models = list(models) if models is not None else _ordered({r["model"] for r in rows}, ALL_MODELS)
    balancers = (list(balancers) if balancers is not None
                 else _ordered({r["balancer"] for r in rows}, ALL_BALANCERS))
    metric = rows[0].get("metric", "accuracy")
    fig, axes = _new_figure(len(models), ncols)
    colors = {b: balancer_color(b, balancers) for b in balancers}

    def series(model, bal):
        pts = sorted((r["proportion"], r["mean"], r.get("std", 0.0)) for r in rows
                     if r["model"] == model and r["balancer"] == bal)
        return [p for p, _, _ in pts], [m for _, m, _ in pts], [s for _, _, s in pts]

    for ax, model in zip(axes, models):
        for bal in balancers:
            x, y, s = series(model, bal)
            dashed = False
            if not x and bal == "mgda" and mgda_reference and model != mgda_reference:
                x, y, s = series(mgda_reference, bal)
                dashed = True
            if not x:
                continue
            label = balancer_label(bal) + (f" (on {model_label(mgda_reference)})" if dashed else "")
            ax.errorbar([100 * p for p in x], y, yerr=s if error_bars else None,
                        color=colors[bal], linestyle="--" if dashed else "-", marker="o",
                        markersize=3, capsize=2, linewidth=2.2 if bal == "bmtl" else 1.2,
                        label=label)
        ax.set_title(model_label(model), fontsize=10)
        ax.set_xticks([100 * p for p in sorted({r["proportion"] for r in rows})])
        ax.set_xlabel("training proportion (%)")
        ax.set_ylabel(_METRIC_LABELS.get(metric, metric))
        ax.grid(alpha=0.3)
    handles = {}
    for ax in axes:  # one legend for the figure, every balancer once
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(list(handles.values()), list(handles.keys()), loc="outside lower center",
               ncol=min(len(handles), 8), fontsize=8, frameon=False)
    if title is None:
        title = f"{dataset_label(dataset)}: {_METRIC_LABELS.get(metric, metric)} vs training proportion"
    fig.suptitle(with_synthetic_note(title, rows))
    return fig


# ----------------------------------------------------------------------------- Figure 4

def _history_dict(history_or_record: Any) -> tuple[dict, Mapping | None]:
    if hasattr(history_or_record, "to_dict"):
        return history_or_record.to_dict(), None
    if isinstance(history_or_record, Mapping):
        if "history" in history_or_record:
            return dict(history_or_record["history"]), history_or_record
        if "train_loss" in history_or_record:
            return dict(history_or_record), None
    raise ValueError("plot_task_losses needs a History, a History.to_dict() or a result record "
                     f"(with 'history'); got {type(history_or_record).__name__}")


def plot_task_losses(history_or_record: Any, *, task_names: Sequence[str] | None = None,
                     show_weights: bool = False, logy: bool = False, title: str | None = None):
    """Figure 4: per-task training losses over epochs (one line per task).

    Args:
        history_or_record: a ``History``, its ``to_dict()``, or a result record.
        task_names: legend labels (default: the history's / record's task names).
        show_weights: add a second panel with the balancer's per-task weights dJ/dL_i.
        logy: logarithmic loss axis.
        title: figure title (default: from the record's model/balancer/dataset when known).

    Returns:
        A ``matplotlib.figure.Figure``.
    """
    hist, record = _history_dict(history_or_record)
    losses = hist.get("train_loss") or []
    if not losses or not losses[0]:
        raise ValueError("the history has no training losses to plot")
    m = len(losses[0])
    epochs = list(hist.get("epochs") or range(len(losses)))
    names = (task_names or hist.get("task_names") or (record or {}).get("task_names")
             or [f"task {t + 1}" for t in range(m)])
    if len(names) != m:
        raise ValueError(f"{len(names)} task names for {m} tasks")
    panels = 2 if show_weights else 1
    fig, axes = _new_figure(panels, panels, panel_size=(4.6, 3.2))
    for t in range(m):
        axes[0].plot(epochs, [row[t] for row in losses], marker="o", markersize=3, label=names[t])
    from matplotlib.ticker import MaxNLocator
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("training loss")
    if logy:
        axes[0].set_yscale("log")
    axes[0].legend(fontsize=8)
    axes[0].grid(alpha=0.3)
    if show_weights:
        w = hist.get("weights") or []
        if not w:
            raise ValueError("show_weights=True but the history has no weights")
        for t in range(m):
            axes[1].plot(epochs[:len(w)], [row[t] for row in w], marker="o", markersize=3,
                         label=names[t])
        axes[1].set_xlabel("epoch")
        axes[1].set_ylabel("weight dJ/dL_i")
        axes[1].grid(alpha=0.3)
    if title is None:
        if record is not None and "model" in record:
            title = (f"{balancer_label(record['balancer'])} on {model_label(record['model'])}, "
                     f"{dataset_label(record['dataset'])}: per-task training loss")
        else:
            title = "per-task training loss"
    synthetic = bool((record or {}).get("is_synthetic") or hist.get("is_synthetic"))
    fig.suptitle(with_synthetic_note(title, synthetic))
    return fig


# ----------------------------------------------------------------------------- Figure 5

def plot_sarcos_mse(rows: Sequence[Mapping], *, dataset: str | None = None,
                    models: Sequence[str] | None = None,
                    balancers: Sequence[str] | None = None, title: str | None = None):
    """Figure 5: test MSE per model (groups) and balancer (bars), +- std over seeds.

    One panel per training proportion present in ``rows`` (the paper plots one).

    Returns:
        A ``matplotlib.figure.Figure``.
    """
    rows, dataset = _one_dataset(_as_rows(rows), dataset)
    models = list(models) if models is not None else _ordered({r["model"] for r in rows}, ALL_MODELS)
    balancers = (list(balancers) if balancers is not None
                 else _ordered({r["balancer"] for r in rows}, ALL_BALANCERS))
    props = sorted({r["proportion"] for r in rows})
    metric = rows[0].get("metric", "mse")
    cell = {(r["model"], r["balancer"], r["proportion"]): r for r in rows}
    fig, axes = _new_figure(len(props), len(props), panel_size=(max(4.0, 1.1 * len(models) + 1), 3.2))
    width = 0.8 / max(1, len(balancers))
    for ax, p in zip(axes, props):
        for j, bal in enumerate(balancers):
            xs, ys, es = [], [], []
            for i, model in enumerate(models):
                r = cell.get((model, bal, p))
                if r is not None:
                    xs.append(i - 0.4 + width * (j + 0.5))
                    ys.append(r["mean"])
                    es.append(r.get("std", 0.0))
            if xs:
                ax.bar(xs, ys, width=width, yerr=es, capsize=2, color=balancer_color(bal, balancers),
                       label=balancer_label(bal))
        ax.set_xticks(range(len(models)), [model_label(mm) for mm in models],
                      rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(_METRIC_LABELS.get(metric, metric))
        ax.set_title(f"training proportion {100 * p:g}%", fontsize=10)
        ax.grid(alpha=0.3, axis="y")
    handles = dict(zip(*reversed(axes[0].get_legend_handles_labels())))
    fig.legend(list(handles.values()), list(handles.keys()), loc="outside lower center",
               ncol=min(len(handles), 8), fontsize=8, frameon=False)
    if title is None:
        title = f"{dataset_label(dataset)}: {_METRIC_LABELS.get(metric, metric)} per model and balancer"
    fig.suptitle(with_synthetic_note(title, rows))
    return fig


__all__ = ["plot_accuracy_vs_proportion", "plot_task_losses", "plot_sarcos_mse",
           "with_synthetic_note", "model_label", "balancer_label", "balancer_color", "dataset_label",
           "SYNTHETIC_NOTE"]
