"""One replication chapter in one call: run a dataset's grid, summarise it, draw it, time it.

The replication chapters of the book (Liang & Zhang 2020, Sec. 4: Figures 1-3 and 5) all do
the same five things: build the grid ``model x balancer x proportion x seed`` of one dataset
from the current profile (:func:`bmtl_edu.experiments.make_grid`), run it resumably into a
results file (:func:`bmtl_edu.experiments.run_grid`), average over seeds
(:func:`bmtl_edu.summary.summarize`), count BMTL's wins, ties and losses
(:func:`bmtl_edu.summary.win_tie_loss`) and draw the paper's figure (:mod:`bmtl_edu.plots`).
:func:`run_replication` does exactly that and returns a :class:`Replication`, so that each
chapter stays thin and every chapter runs the same code in the quick and the full profile.

Where results go: ``$BMTL_RESULTS`` if set, else ``results/`` at the root of a source
checkout (git-ignored), else ``./results``. The file is ``<dataset>-<profile>.jsonl``, the same
name the command line (``python -m bmtl_edu.replicate --out results``) writes, so a notebook
and the CLI resume each other's runs. Delete the file to recompute from scratch.

:func:`time_full_size_run` measures a few full-size training steps and one evaluation and
projects the wall time of a run, and of a whole grid, in the full profile.
"""
from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bmtl_edu.experiments import RunSpec, make_grid, run_grid, run_one
from bmtl_edu.profiles import Profile, get_profile
from bmtl_edu.summary import summarize, win_tie_loss

RESULTS_ENV = "BMTL_RESULTS"
EXECUTORS = ("auto", "serial", "pool")
# Spawning a worker costs about this many seconds (it imports torch): "auto" starts the pool only
# when the runs left would take several times that serially.
POOL_STARTUP_S = 5.0
SYNTHETIC_MARK = "(synthetic stand-in)"

__all__ = ["Replication", "run_replication", "results_dir", "results_path", "time_full_size_run",
           "FullSizeTiming", "format_duration", "summary_markdown", "wtl_markdown",
           "check_summary", "RESULTS_ENV"]


def results_dir() -> Path:
    """Folder of result files: ``$BMTL_RESULTS``, else ``<checkout>/results``, else ``./results``."""
    env = os.environ.get(RESULTS_ENV, "").strip()
    if env:
        return Path(env)
    root = Path(__file__).resolve().parents[1]
    if (root / "pyproject.toml").is_file():  # a source checkout: keep results beside the book
        return root / "results"
    return Path.cwd() / "results"


def results_path(dataset: str, profile: Profile | str | None = None,
                 out_dir: str | os.PathLike | None = None) -> Path:
    """``<out_dir>/<dataset>-<profile>.jsonl``, the file the CLI writes too.

    When the real data are absent the runs use the synthetic stand-in and go to
    ``<dataset>-<profile>-synthetic.jsonl`` instead: a grid resumed after the real data
    arrive must not reuse stand-in results (a run's key does not depend on the data).
    """
    from bmtl_edu.data import real_data_present
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    kind = "" if real_data_present(dataset) else "-synthetic"
    return Path(out_dir if out_dir is not None else results_dir()) / f"{dataset}-{prof.name}{kind}.jsonl"


@contextmanager
def _torch_threads(n: int):
    """Run with ``n`` torch threads, then restore: tiny matrices on 2 cores are ~8x slower with 2."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def format_duration(seconds: float) -> str:
    """``42 s``, ``3.5 min``, ``7.2 h`` or ``3.1 days``."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a duration must be a finite number >= 0, got {seconds!r}")
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _label(name: str, kind: str) -> str:
    from bmtl_edu.plots import balancer_label, model_label
    return model_label(name) if kind == "model" else balancer_label(name)


def summary_markdown(rows: Sequence[Mapping], title: str = "", digits: int = 3) -> str:
    """Mean +- std over seeds: one line per (model, balancer), one column per proportion.

    The best mean of each (model, proportion) column block is bold. A title gets
    ``(synthetic stand-in)`` appended when any row is synthetic.
    """
    rows = list(rows)
    if not rows:
        raise ValueError("no summary rows to tabulate")
    from bmtl_edu.plots import with_synthetic_note
    props = sorted({r["proportion"] for r in rows})
    metric = rows[0]["metric"]
    higher = metric != "mse"
    cell = {(r["model"], r["balancer"], r["proportion"]): r for r in rows}
    models = list(dict.fromkeys(r["model"] for r in rows))
    balancers = list(dict.fromkeys(r["balancer"] for r in rows))
    best = {}
    for mo in models:
        for p in props:
            vals = [cell[(mo, b, p)]["mean"] for b in balancers if (mo, b, p) in cell]
            if vals:
                best[(mo, p)] = max(vals) if higher else min(vals)
    head = ["model", "balancer", *[f"{100 * p:g}% ({metric}, n={_n(rows, p)})" for p in props]]
    lines = []
    if title:
        lines += [f"**{with_synthetic_note(title, rows)}**", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for mo in models:
        for b in balancers:
            cells = []
            for p in props:
                r = cell.get((mo, b, p))
                if r is None:
                    cells.append("")
                    continue
                s = f"{r['mean']:.{digits}f} ± {r['std']:.{digits}f}"
                cells.append(f"**{s}**" if r["mean"] == best[(mo, p)] else s)
            lines.append(f"| {_label(mo, 'model')} | {_label(b, 'balancer')} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _n(rows: Sequence[Mapping], p: float) -> str:
    ns = sorted({r["n"] for r in rows if r["proportion"] == p})
    return "/".join(map(str, ns))


def wtl_markdown(wtl_rows: Sequence[Mapping], title: str = "", synthetic: bool = False) -> str:
    """BMTL's wins/ties/losses: one line per other balancer, one column per model, cells ``W/T/L``."""
    wtl_rows = list(wtl_rows)
    if not wtl_rows:
        raise ValueError("no win/tie/loss rows to tabulate")
    from bmtl_edu.plots import with_synthetic_note
    models = list(dict.fromkeys(r["model"] for r in wtl_rows))
    balancers = list(dict.fromkeys(r["balancer"] for r in wtl_rows))
    cell = {(r["model"], r["balancer"]): r for r in wtl_rows}
    head = ["BMTL vs", *[_label(m, "model") for m in models], "total W/T/L"]
    lines = []
    if title:
        lines += [f"**{with_synthetic_note(title, synthetic)}**", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for b in balancers:
        cells, tot = [], [0, 0, 0]
        for m in models:
            r = cell.get((m, b))
            if r is None:
                cells.append("")
                continue
            cells.append(f"{r['win']}/{r['tie']}/{r['loss']}")
            tot = [tot[0] + r["win"], tot[1] + r["tie"], tot[2] + r["loss"]]
        lines.append(f"| {_label(b, 'balancer')} | " + " | ".join(cells) + f" | {tot[0]}/{tot[1]}/{tot[2]} |")
    return "\n".join(lines)


def check_summary(records: Sequence[Mapping], rows: Sequence[Mapping]) -> int:
    """Recompute every summary row from the raw records; raise AssertionError on a mismatch.

    Returns:
        The number of rows checked.
    """
    checked = 0
    for r in rows:
        vals = [float(x["value"]) for x in records
                if (x["dataset"], x["model"], x["balancer"], x["proportion"])
                == (r["dataset"], r["model"], r["balancer"], r["proportion"])]
        if len(vals) != r["n"]:
            raise AssertionError(f"row {r['model']}/{r['balancer']}/{r['proportion']}: n={r['n']} "
                                 f"but {len(vals)} records")
        if not math.isclose(r["mean"], float(np.mean(vals)), rel_tol=1e-12, abs_tol=1e-12):
            raise AssertionError(f"row {r['model']}/{r['balancer']}/{r['proportion']}: mean "
                                 f"{r['mean']} != {np.mean(vals)}")
        sd = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
        if not math.isclose(r["std"], sd, rel_tol=1e-9, abs_tol=1e-12):
            raise AssertionError(f"row {r['model']}/{r['balancer']}/{r['proportion']}: std "
                                 f"{r['std']} != {sd}")
        checked += 1
    return checked


@dataclass
class Replication:
    """A finished (or resumed) grid of one dataset and what a chapter shows about it.

    Attributes:
        dataset: registry name.
        profile: the :class:`~bmtl_edu.profiles.Profile` that sized the grid.
        specs: the grid, ordered model, balancer, proportion, seed.
        records: one record per spec (same order), see :func:`~bmtl_edu.experiments.record_from_history`.
        path: the results file.
        n_new: runs done by this call (the rest were found in ``path``).
        wall_s, cpu_s: wall-clock and this process's CPU seconds of this call (workers' CPU
            time is in ``worker_cpu_s``).
        executor: ``"serial"`` or ``"pool"`` (what this call used).
    """

    dataset: str
    profile: Profile
    specs: list[RunSpec]
    records: list[dict]
    path: Path
    n_new: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    worker_cpu_s: float = 0.0
    executor: str = "serial"
    rows: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.rows and self.records:
            self.rows = summarize(self.records)

    @property
    def is_synthetic(self) -> bool:
        """True when any record came from a synthetic stand-in."""
        return any(bool(r.get("is_synthetic")) for r in self.records)

    @property
    def metric(self) -> str:
        return self.records[0]["metric"] if self.records else "accuracy"

    @property
    def title(self) -> str:
        """The dataset's title, marked ``(synthetic stand-in)`` when it is one."""
        from bmtl_edu.plots import dataset_label, with_synthetic_note
        return with_synthetic_note(dataset_label(self.dataset), self.is_synthetic)

    def wtl(self) -> list[dict]:
        """BMTL vs each balancer, per model (:func:`bmtl_edu.summary.win_tie_loss`)."""
        return win_tie_loss(self.records)

    def seconds_per_run(self) -> float:
        """Median training wall time of one run, from the records (device and load included)."""
        times = [float(r["wall_time"]) for r in self.records if "wall_time" in r]
        if not times:
            raise ValueError("no record has a wall_time")
        return float(np.median(times))

    def figure(self, **kwargs: Any):
        """The paper's figure of this dataset: Figures 1-3 (accuracy) or Figure 5 (SARCOS MSE)."""
        from bmtl_edu.plots import plot_accuracy_vs_proportion, plot_sarcos_mse
        if self.metric == "mse":
            return plot_sarcos_mse(self.rows, **kwargs)
        return plot_accuracy_vs_proportion(self.rows, **kwargs)

    def summary_markdown(self, digits: int = 3) -> str:
        return summary_markdown(self.rows, f"{self.title}: test {self.metric}, mean ± std over seeds "
                                f"({self.profile.name} profile)", digits)

    def wtl_markdown(self) -> str:
        return wtl_markdown(self.wtl(), f"{self.title}: BMTL's wins/ties/losses over the training "
                            "proportions (margin: one pooled std over seeds)", self.is_synthetic)

    def record(self, model: str, balancer: str, proportion: float | None = None,
               seed: int | None = None) -> dict:
        """The first record of a cell (default: the largest proportion, the first seed)."""
        props = sorted({r["proportion"] for r in self.records})
        p = props[-1] if proportion is None else proportion
        for r in self.records:
            if (r["model"], r["balancer"], r["proportion"]) == (model, balancer, p) \
                    and (seed is None or r["seed"] == seed):
                return r
        raise KeyError(f"no record for model={model!r}, balancer={balancer!r}, proportion={p}, "
                       f"seed={seed}; models {sorted({r['model'] for r in self.records})}, "
                       f"balancers {sorted({r['balancer'] for r in self.records})}, proportions {props}")


def run_replication(dataset: str, profile: Profile | str | None = None, *,
                    out_dir: str | os.PathLike | None = None, executor: str = "auto",
                    max_workers: int = 2, progress: bool = False,
                    allow_synthetic: bool = True, **grid_kwargs: Any) -> Replication:
    """Run (or resume) the replication grid of ``dataset`` in a profile and summarise it.

    Args:
        dataset: registry name (``office31, officehome, imageclef, sarcos, office_caltech10``).
        profile: a Profile, its name, or ``None`` (``BMTL_PROFILE``, default quick).
        out_dir: folder of the results file (default :func:`results_dir`).
        executor: ``"serial"`` (in-process, one torch thread), ``"pool"`` (``max_workers``
            spawned processes, one torch thread each), or ``"auto"``: time the first run left
            in-process, then use the pool for the rest when they would take more than about
            three worker start-ups serially (and there are 2+ CPUs), else stay serial.
        max_workers: pool size.
        progress: a progress bar over the grid.
        allow_synthetic: use the marked stand-in when the real data are absent.
        **grid_kwargs: passed to :func:`~bmtl_edu.experiments.make_grid` (e.g. ``models``,
            ``report``); MGDA runs on every model by default, unlike the paper.

    Returns:
        A :class:`Replication` with one record per spec.

    Raises:
        ValueError: an unknown executor. Grid errors come from ``make_grid`` / ``run_grid``.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    specs = make_grid(dataset, prof, allow_synthetic=allow_synthetic, **grid_kwargs)
    path = results_path(dataset, prof, out_dir)
    done = _done_keys(path)
    todo = [s for k, s in {s.key(): s for s in specs}.items() if k not in done]
    import resource
    child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        # the records carry is_synthetic; one warning per run would bury the chapter
        warnings.filterwarnings("ignore", message=".*SYNTHETIC.*")
        if executor == "auto":
            executor = "serial"
            if todo and (os.cpu_count() or 1) >= 2:
                # time the second of two runs here (the first pays one-off warm-up costs; both
                # are stored, so nothing is lost), then decide
                with _torch_threads(1):
                    run_grid(todo[:1], path, executor="serial", progress=False)
                    t1 = time.perf_counter()
                    run_grid(todo[1:2], path, executor="serial", progress=False)
                left = (len(todo) - 2) * (time.perf_counter() - t1)
                if left > 2 * POOL_STARTUP_S * max(1, max_workers // 2) + POOL_STARTUP_S:
                    executor = "pool"
        if executor == "serial":
            with _torch_threads(1):
                records = run_grid(specs, path, executor="serial", progress=progress)
        else:
            records = run_grid(specs, path, executor=None, progress=progress,
                               max_workers=max_workers, run_fn=run_one)
    child1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker_cpu = (child1.ru_utime + child1.ru_stime) - (child0.ru_utime + child0.ru_stime)
    return Replication(dataset=dataset, profile=prof, specs=specs, records=records, path=path,
                       n_new=len(todo), wall_s=time.perf_counter() - t0,
                       cpu_s=time.process_time() - c0, worker_cpu_s=worker_cpu, executor=executor)


def _done_keys(path: Path) -> set[str]:
    if not path.exists():
        return set()
    from bmtl_edu.experiments import read_jsonl
    recs, _ = read_jsonl(path)
    return {r["key"] for r in recs if isinstance(r.get("key"), str)}


@dataclass(frozen=True)
class FullSizeTiming:
    """Measured cost of full-size training, and what it projects.

    Attributes:
        dataset, model, balancer, hidden, device: what was timed.
        step_s: seconds of one training iteration (one mini-batch per task).
        eval_s: seconds of one evaluation of the test split.
        iterations_per_epoch: ``ceil(max_i n_i / batch)`` at the full data size.
        epochs: the full profile's epochs.
        grid_runs: runs of this dataset's full grid.
    """

    dataset: str
    model: str
    balancer: str
    hidden: int
    device: str
    step_s: float
    eval_s: float
    iterations_per_epoch: int
    epochs: int
    grid_runs: int

    @property
    def epoch_s(self) -> float:
        return self.iterations_per_epoch * self.step_s + self.eval_s

    @property
    def run_s(self) -> float:
        """Projected seconds of one full-profile run."""
        return self.epochs * self.epoch_s

    @property
    def grid_s(self) -> float:
        """Projected seconds of this dataset's full grid, run one after another."""
        return self.grid_runs * self.run_s

    def describe(self) -> str:
        return (f"{self.model.upper()} + {self.balancer.upper()} on {self.dataset} (hidden {self.hidden}, "
                f"{self.device}): {1e3 * self.step_s:.0f} ms per iteration x {self.iterations_per_epoch} "
                f"iterations + {self.eval_s:.2f} s evaluation = {self.epoch_s:.1f} s per epoch; "
                f"{self.epochs} epochs = {format_duration(self.run_s)} per run; "
                f"{self.grid_runs} runs = {format_duration(self.grid_s)} for the full grid")


def time_full_size_run(dataset: str = "office31", model: str = "dmtl", balancer: str = "bmtl", *,
                       profile: Profile | str = "full", steps: int = 4, repeats: int = 2,
                       batch_size: int = 32,
                       device: str | None = None, allow_synthetic: bool = True) -> FullSizeTiming:
    """Time a few full-size training iterations and one evaluation; project the full grid.

    The data are the full profile's (largest training proportion, no cap) and the model has
    the full profile's hidden width. ``fit`` runs one epoch on ``steps * batch_size`` training
    samples per task (so the epoch is ``steps`` iterations) while the test split keeps its full
    size; the evaluation is timed on its own and subtracted. Timed with one torch thread (as in
    each worker of the grid's process pool), best of ``repeats``. The projection assumes every
    run costs what this (model, balancer) costs: MGDA (one backward pass per task) and the
    tensor models cost more, so read it as a lower bound.

    Returns:
        A :class:`FullSizeTiming`.
    """
    import torch

    from bmtl_edu.balancers import make_balancer
    from bmtl_edu.data import load_dataset
    from bmtl_edu.models import make_model
    from bmtl_edu.train import evaluate, fit

    for name, v in (("steps", steps), ("repeats", repeats)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    p = max(prof.proportions)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*SYNTHETIC.*")
        full = load_dataset(dataset, proportion=p, seed=0, allow_synthetic=allow_synthetic,
                            max_train_per_task=None)
        small = load_dataset(dataset, proportion=p, seed=0, allow_synthetic=allow_synthetic,
                             max_train_per_task=steps * batch_size)
    iters_full = math.ceil(max(len(X) for X, _ in full.train) / batch_size)
    iters_small = math.ceil(max(len(X) for X, _ in small.train) / batch_size)
    # one torch thread, as in each worker of a grid's process pool; the best of `repeats`
    # timings, since a busy machine only ever makes a run slower
    with torch.random.fork_rng(devices=[]), _torch_threads(1):
        torch.manual_seed(0)
        net = make_model(model, in_dim=full.in_dim, n_tasks=full.n_tasks, out_dim=full.out_dim,
                         hidden=prof.hidden)
        if device is not None:
            net.to(device)
        fit(net, make_balancer(balancer), small, epochs=1, batch_size=batch_size, progress=False)  # warm-up
        t_fit = t_eval = math.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            fit(net, make_balancer(balancer), small, epochs=1, batch_size=batch_size, progress=False)
            t_fit = min(t_fit, time.perf_counter() - t0)
            t0 = time.perf_counter()
            evaluate(net, small)
            t_eval = min(t_eval, time.perf_counter() - t0)
    step = max(t_fit - t_eval, 0.0) / iters_small
    grid = make_grid(dataset, prof, allow_synthetic=allow_synthetic)
    dev = str(next(net.parameters()).device)
    return FullSizeTiming(dataset=dataset, model=model, balancer=balancer, hidden=prof.hidden,
                          device=dev, step_s=step, eval_s=t_eval, iterations_per_epoch=iters_full,
                          epochs=prof.epochs, grid_runs=len(grid))
