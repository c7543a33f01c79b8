"""Replicate the paper's experiments from the command line.

Examples::

    python -m bmtl_edu.replicate --dataset office31 --profile quick --out results/ --allow-synthetic
    python -m bmtl_edu.replicate --dataset sarcos --profile full --out results/ --device cuda --workers 4

Writes ``<out>/<dataset>-<profile>.jsonl`` (``...-synthetic.jsonl`` for a stand-in; one record per
run; re-running resumes), prints
mean +- std over seeds per (model, balancer, proportion) and BMTL's wins/ties/losses, and
saves the figure ``<out>/<dataset>-<profile>.png`` (Figures 1-3 style, or Figure 5 style for
a regression dataset).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bmtl_edu.experiments import GridError, RunSpec, make_grid, run_grid, run_one
from bmtl_edu.profiles import PROFILES, get_profile


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bmtl_edu.replicate",
        description="Run a replication grid (model x balancer x training proportion x seed) of "
                    "Liang & Zhang 2020 on one dataset, resumably, then summarise and plot it.")
    p.add_argument("--dataset", required=True, help="dataset registry name, e.g. office31, sarcos")
    p.add_argument("--profile", choices=sorted(PROFILES), default=None,
                   help="run sizes (default: $BMTL_PROFILE, else quick)")
    p.add_argument("--out", default="results", help="output folder (default: results/)")
    p.add_argument("--models", nargs="+", default=None, help="models (default: the profile's grid)")
    p.add_argument("--balancers", nargs="+", default=None,
                   help="balancers (default: the profile's grid)")
    p.add_argument("--proportions", nargs="+", type=float, default=None,
                   help="training proportions (default: the profile's)")
    p.add_argument("--seeds", nargs="+", type=int, default=None, help="seeds (default: the profile's)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: the profile's)")
    p.add_argument("--report", choices=("final", "best_epoch"), default="final",
                   help="metric reported per run: last epoch (default) or best epoch "
                        "(the authors' lab code; model selection on the test set)")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel worker processes (default: min(2, CPUs); 1 runs in-process)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: the trainer's)")
    p.add_argument("--allow-synthetic", action="store_true",
                   help="use a shape-exact synthetic stand-in when the real data are absent "
                        "(results and figures are then labelled so)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _check_dataset(name: str) -> None:
    try:
        from bmtl_edu.data import DATASETS
    except ImportError:  # the registry is checked again when the first run loads data
        return
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; valid names: {', '.join(sorted(DATASETS))}")


def _preflight(spec: RunSpec) -> str | None:
    """Load the data once before starting workers: missing files fail in seconds, not per run."""
    try:
        from bmtl_edu.data import load_dataset
    except ImportError:
        return None
    try:
        load_dataset(spec.dataset, proportion=spec.proportion, seed=spec.seed,
                     allow_synthetic=spec.allow_synthetic,
                     max_train_per_task=spec.max_train_per_task)
    except Exception as e:  # any loader error ends the CLI with its own message
        return f"{type(e).__name__}: {e}"
    return None


def main(argv: Sequence[str] | None = None, *,
         run_fn: Callable[[RunSpec], dict] = run_one) -> int:
    """Entry point; returns the exit status (0 ok, 1 some runs failed, 2 bad arguments).

    ``run_fn`` replaces the per-run function (tests inject a fake one).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    try:
        _check_dataset(args.dataset)
        profile = get_profile(args.profile)
        specs = make_grid(args.dataset, profile, models=args.models, balancers=args.balancers,
                          proportions=args.proportions, seeds=args.seeds, epochs=args.epochs,
                          report=args.report, allow_synthetic=args.allow_synthetic,
                          device=args.device)
    except (KeyError, ValueError) as e:
        parser.error(str(e.args[0] if isinstance(e, KeyError) and e.args else e))

    from bmtl_edu.plots import plot_accuracy_vs_proportion, plot_sarcos_mse
    from bmtl_edu.summary import format_table, summarize, win_tie_loss

    from bmtl_edu.replication import results_path
    out = Path(args.out)
    path = results_path(args.dataset, profile, out)
    stem = path.stem
    executor = "serial" if args.workers == 1 else None
    if run_fn is run_one:
        problem = _preflight(specs[0])
        if problem:
            print(f"error: cannot load {args.dataset!r}: {problem}", file=sys.stderr)
            return 2
    print(f"{len(specs)} runs ({profile.name} profile) -> {path}", flush=True)
    status = 0
    try:
        records = run_grid(specs, path, executor=executor, progress=not args.no_progress,
                           run_fn=run_fn, max_workers=args.workers)
    except GridError as e:
        print(f"error: {e}", file=sys.stderr)
        status = 1
        from bmtl_edu.summary import load_records
        keys = {s.key() for s in specs}
        records = [r for r in load_records(path) if r.get("key") in keys]
    if not records:
        print("no finished runs to summarise", file=sys.stderr)
        return status or 1

    rows = summarize(records)
    synthetic = any(r["is_synthetic"] for r in rows)
    print()
    print(f"{args.dataset}: {rows[0]['metric']} over seeds (report={args.report})"
          + ("  [synthetic stand-in]" if synthetic else ""))
    print(format_table(rows, ["model", "balancer", "proportion", "mean", "std", "n"]))
    if any(r["balancer"] == "bmtl" for r in rows) and len({r["balancer"] for r in rows}) > 1:
        print()
        print("BMTL vs each balancer (win/tie/loss over proportions; beyond one pooled std):")
        print(format_table(win_tie_loss(records), ["model", "balancer", "win", "tie", "loss", "n"]))
    plot = plot_sarcos_mse if rows[0]["metric"] == "mse" else plot_accuracy_vs_proportion
    fig = plot(rows)
    png = out / f"{stem}.png"
    fig.savefig(png, dpi=120)
    print(f"\nfigure: {png}")
    return status


if __name__ == "__main__":
    sys.exit(main())
