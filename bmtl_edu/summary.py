"""Aggregate result records: mean +- std over seeds, and BMTL's wins/ties/losses.

The paper (Liang & Zhang 2020, Sec. 4.2) repeats every setting five times and plots the
average test accuracy (Figures 1-3) or MSE (Figure 5). :func:`summarize` computes those
averages with their sample standard deviations; :func:`win_tie_loss` condenses a grid into
how often the reference balancer (BMTL) beats each other balancer by more than the noise.
Plain Python + NumPy: no pandas dependency.
"""
from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from bmtl_edu.experiments import read_jsonl
from bmtl_edu.profiles import ALL_BALANCERS, ALL_MODELS

DEFAULT_BY = ("dataset", "model", "balancer", "proportion")
HIGHER_IS_BETTER = {"accuracy": True, "mse": False}
_ORDER = {"model": ALL_MODELS, "balancer": ALL_BALANCERS}


def load_records(path: str | os.PathLike) -> list[dict]:
    """Records of a results file, or of every ``*.jsonl`` in a folder (e.g. shards of a grid).

    Read-only: a truncated last line (an interrupted write) and corrupt lines are skipped
    with a ``RuntimeWarning``; a record whose ``key`` was already seen is dropped with a warning.

    Raises:
        FileNotFoundError: ``path`` does not exist or a folder holds no ``*.jsonl`` file.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise FileNotFoundError(f"no *.jsonl results file in folder {path}")
    elif path.exists():
        files = [path]
    else:
        raise FileNotFoundError(f"results file {path} does not exist")
    out, seen, dups = [], set(), 0
    for f in files:
        recs, info = read_jsonl(f)
        if info["truncated_tail"]:
            warnings.warn(f"{f}: the last line is truncated ({info['truncated_tail']} bytes, an "
                          "interrupted write); skipped it", RuntimeWarning, stacklevel=2)
        if info["bad_lines"]:
            warnings.warn(f"{f}: skipped corrupt line(s) {info['bad_lines'][:10]}",
                          RuntimeWarning, stacklevel=2)
        for r in recs:
            k = r.get("key")
            if k is not None and k in seen:
                dups += 1
                continue
            seen.add(k)
            out.append(r)
    if dups:
        warnings.warn(f"{path}: dropped {dups} duplicate record(s) (same run key)",
                      RuntimeWarning, stacklevel=2)
    return out


def _sort_key(by: Sequence[str], group: tuple) -> tuple:
    """Models and balancers in the paper's order, everything else by value."""
    out = []
    for name, v in zip(by, group):
        order = _ORDER.get(name)
        if order is not None:
            out.append((order.index(v) if v in order else len(order), str(v)))
        else:
            out.append((0, v) if isinstance(v, (int, float)) else (1, str(v)))
    return tuple(out)


def summarize(records: Iterable[Mapping], by: Sequence[str] = DEFAULT_BY,
              value: str = "value") -> list[dict]:
    """Mean and standard deviation of ``value`` over the records of each group.

    Args:
        records: result records (see :func:`bmtl_edu.experiments.record_from_history`).
        by: the fields that define a group (default: one row per dataset, model, balancer and
            proportion, i.e. the mean over seeds).
        value: the record field to aggregate (``"value"``: the reported task-mean metric).

    Returns:
        Rows ``{**group, "metric", "mean", "std", "n", "seeds", "is_synthetic"}`` with
        ``std`` the sample standard deviation (ddof=1) when n > 1 and 0 when n == 1;
        ``is_synthetic`` is True when any record of the group came from a stand-in.

    Raises:
        KeyError: a record lacks a ``by`` field or ``value``.
        ValueError: one group mixes metrics (e.g. accuracy and mse).
    """
    by = tuple(by)
    groups: dict[tuple, list[Mapping]] = {}
    for i, r in enumerate(records):
        missing = [f for f in (*by, value) if f not in r]
        if missing:
            raise KeyError(f"record {i} has no field(s) {missing}; it has {sorted(r)[:20]}")
        groups.setdefault(tuple(r[f] for f in by), []).append(r)
    rows = []
    for g in sorted(groups, key=lambda g: _sort_key(by, g)):
        recs = groups[g]
        metrics = {r.get("metric") for r in recs}
        if len(metrics) > 1:
            raise ValueError(f"group {dict(zip(by, g))} mixes metrics {sorted(map(str, metrics))}")
        vals = np.array([float(r[value]) for r in recs], dtype=np.float64)
        n = len(vals)
        rows.append({**dict(zip(by, g)), "metric": metrics.pop(), "mean": float(vals.mean()),
                     "std": float(vals.std(ddof=1)) if n > 1 else 0.0, "n": n,
                     "seeds": sorted(r["seed"] for r in recs if "seed" in r),
                     "is_synthetic": any(bool(r.get("is_synthetic")) for r in recs)})
    return rows


def pooled_std(s1: float, n1: int, s2: float, n2: int) -> float:
    """sqrt(((n1-1) s1^2 + (n2-1) s2^2) / (n1 + n2 - 2)); 0 when both groups have one run."""
    dof = n1 + n2 - 2
    if dof <= 0:
        return 0.0
    return math.sqrt(((n1 - 1) * s1 ** 2 + (n2 - 1) * s2 ** 2) / dof)


def win_tie_loss(records: Iterable[Mapping], reference: str = "bmtl") -> list[dict]:
    """How often ``reference`` beats each other balancer, per (dataset, model).

    Rule: at every training proportion where both balancers have results, let
    d = mean_ref - mean_other (accuracy; the sign is flipped for MSE, so d > 0 always means
    the reference is better) and s = the pooled standard deviation of the two groups over
    seeds (:func:`pooled_std`). It is a **win** if d > s, a **loss** if d < -s, else a **tie**.
    One pooled std is a deliberately loose noise band (not a significance test): with
    5 seeds it flags differences an eye would also see on the paper's figures.

    Returns:
        Rows ``{dataset, model, balancer, win, tie, loss, n}`` (n = proportions compared),
        one per other balancer that shares at least one proportion with the reference.

    Raises:
        ValueError: no record uses the reference balancer.
    """
    rows = summarize(records)
    if not any(r["balancer"] == reference for r in rows):
        found = sorted({r["balancer"] for r in rows})
        raise ValueError(f"no record uses the reference balancer {reference!r}; found {found}")
    cell = {(r["dataset"], r["model"], r["balancer"], r["proportion"]): r for r in rows}
    out: dict[tuple, dict] = {}
    for (ds, model, bal, p), r in cell.items():
        if bal == reference or (ds, model, reference, p) not in cell:
            continue
        ref = cell[(ds, model, reference, p)]
        sign = 1.0 if HIGHER_IS_BETTER.get(ref["metric"], True) else -1.0
        d = sign * (ref["mean"] - r["mean"])
        s = pooled_std(ref["std"], ref["n"], r["std"], r["n"])
        o = out.setdefault((ds, model, bal), {"dataset": ds, "model": model, "balancer": bal,
                                              "win": 0, "tie": 0, "loss": 0, "n": 0})
        o["win" if d > s else "loss" if d < -s else "tie"] += 1
        o["n"] += 1
    return [out[k] for k in sorted(out, key=lambda k: _sort_key(("dataset", "model", "balancer"), k))]


def format_table(rows: Sequence[Mapping], columns: Sequence[str] | None = None,
                 floatfmt: str = ".4f") -> str:
    """A plain-text table of rows (as printed by ``python -m bmtl_edu.replicate``)."""
    rows = list(rows)
    if not rows:
        return "(no rows)"
    if columns is None:
        columns = [c for c in rows[0] if c not in ("seeds",)]
    def cell(col, v):
        if isinstance(v, float):
            # a proportion reads better as 0.5 than as 0.5000
            return format(v, "g") if col == "proportion" else format(v, floatfmt)
        return str(v)
    body = [[cell(c, r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(b[i]) for b in body)) for i, c in enumerate(columns)]
    line = lambda vals: "  ".join(v.rjust(w) for v, w in zip(vals, widths))
    return "\n".join([line(columns), line(["-" * w for w in widths]), *map(line, body)])


__all__ = ["load_records", "summarize", "win_tie_loss", "pooled_std", "format_table",
           "DEFAULT_BY", "HIGHER_IS_BETTER"]
