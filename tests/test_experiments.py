"""Tests of the experiment runner, the summary helpers, the replication figures and the CLI.

The grid machinery is tested with an injected fake run function, so these tests do not
depend on the trainer; one end-to-end test runs a tiny real grid when the pieces exist.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from bmtl_edu.experiments import (MGDA_MODELS, GridError, RunSpec, _FileLock, make_grid, read_jsonl,
                                  record_from_history, run_grid)
from bmtl_edu.profiles import get_profile

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- fakes

def fake_value(spec: RunSpec) -> float:
    """A deterministic 'accuracy' that depends on every grid axis."""
    h = int(hashlib.sha256(spec.key().encode()).hexdigest()[:8], 16) / 16 ** 8
    return 0.5 + 0.1 * spec.proportion + 0.05 * (spec.balancer == "bmtl") + 0.01 * h


def fake_run(spec: RunSpec) -> dict:
    """Stand-in for run_one: a two-task History without training."""
    v = fake_value(spec)
    hist = {"epochs": list(range(spec.epochs)), "eval_epochs": list(range(spec.epochs)),
            "metric": "accuracy", "seed": spec.seed, "task_names": ["a", "b"],
            "train_loss": [[2.0 / (e + 1), 1.0 / (e + 1)] for e in range(spec.epochs)],
            "weights": [[1.0, 1.0] for _ in range(spec.epochs)],
            "test_metric": [[v - 0.01 * (spec.epochs - 1 - e), v + 0.01 * (spec.epochs - 1 - e)]
                            for e in range(spec.epochs)]}
    return record_from_history(spec, hist, is_synthetic=spec.allow_synthetic, wall_time=0.0,
                               device="cpu", task_names=["a", "b"])


class Counting:
    """Serial run function that counts its calls and can interrupt or fail on demand."""

    def __init__(self, interrupt_after: int | None = None, fail_balancer: str | None = None):
        self.calls: list[str] = []
        self.interrupt_after = interrupt_after
        self.fail_balancer = fail_balancer

    def __call__(self, spec: RunSpec) -> dict:
        if self.interrupt_after is not None and len(self.calls) == self.interrupt_after:
            raise KeyboardInterrupt  # what Ctrl-C / a dying parent looks like in-process
        self.calls.append(spec.key())
        if spec.balancer == self.fail_balancer:
            raise RuntimeError("boom")
        return fake_run(spec)


def tiny_specs(n_seeds: int = 3, balancers=("ds", "bmtl"), props=(0.5, 0.7), epochs=2,
               synthetic=False) -> list[RunSpec]:
    return [RunSpec(dataset="toy", model="dmtl", balancer=b, proportion=p, seed=s, epochs=epochs,
                    hidden=4, allow_synthetic=synthetic)
            for b in balancers for p in props for s in range(n_seeds)]


def file_keys(path: Path) -> list[str]:
    return [json.loads(line)["key"] for line in path.read_text().splitlines() if line]


# ----------------------------------------------------------------------------- RunSpec / grid

def test_runspec_key_is_sha256_of_canonical_json():
    s = RunSpec("office31", "dmtl", "bmtl", 0.7, 1, 3, balancer_kwargs={"T": 50, "a": 1})
    d = dict(dataset="office31", model="dmtl", balancer="bmtl", proportion=0.7, seed=1, epochs=3,
             hidden=600, max_train_per_task=None, balancer_kwargs={"a": 1, "T": 50},
             model_kwargs={}, lr=0.02, batch_size=32, report="final", allow_synthetic=False)
    expected = hashlib.sha256(json.dumps(d, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert s.key() == expected
    # kwargs order and device do not change identity; any real field does
    assert RunSpec("office31", "dmtl", "bmtl", 0.7, 1, 3, balancer_kwargs={"a": 1, "T": 50},
                   device="cuda").key() == expected
    assert RunSpec("office31", "dmtl", "bmtl", 0.7, 2, 3, balancer_kwargs={"T": 50, "a": 1}).key() != expected
    assert RunSpec.from_dict(s.to_dict()) == s
    hash(s)  # frozen and hashable even with kwargs


@pytest.mark.parametrize("change, word", [
    (dict(proportion=1.0), "proportion"), (dict(proportion=0), "proportion"),
    (dict(epochs=0), "epochs"), (dict(seed=-1), "seed"), (dict(report="best"), "report"),
    (dict(lr=float("nan")), "lr"), (dict(model=""), "model"),
    (dict(balancer_kwargs={"T": object()}), "balancer_kwargs"),
    (dict(max_train_per_task=0), "max_train_per_task")])
def test_runspec_rejects_bad_fields(change, word):
    kw = dict(dataset="d", model="dmtl", balancer="ds", proportion=0.5, seed=0, epochs=1)
    kw.update(change)
    with pytest.raises(ValueError, match=word):
        RunSpec(**kw)


def test_make_grid_follows_profile_and_runs_mgda_on_every_model():
    prof = get_profile("quick")
    specs = make_grid("office31", prof)
    n_models, n_bal = len(prof.grid_models), len(prof.grid_balancers)
    per_cell = len(prof.proportions) * len(prof.seeds)
    assert len(specs) == n_models * n_bal * per_cell
    assert len({s.key() for s in specs}) == len(specs)
    assert {s.epochs for s in specs} == {prof.epochs}
    assert {s.hidden for s in specs} == {prof.hidden}
    assert {s.max_train_per_task for s in specs} == {prof.max_train_per_task}
    assert {s.model for s in specs if s.balancer == "mgda"} == set(prof.grid_models)
    # the paper's restriction (MGDA on DMTL only, Sec. 4.1) stays one argument away
    paper = make_grid("office31", prof, mgda_models=MGDA_MODELS)
    assert {s.model for s in paper if s.balancer == "mgda"} == {"dmtl"}
    assert len(paper) == (n_models * n_bal - (n_models - 1)) * per_cell
    small = make_grid("sarcos", "quick", models=["dmtl"], balancers=["bmtl"], seeds=[3],
                      proportions=[0.6], epochs=1, balancer_kwargs={"bmtl": {"T": 10}})
    assert len(small) == 1 and small[0].balancer_kwargs == (("T", 10),) and small[0].seed == 3


def test_make_grid_unknown_names():
    with pytest.raises(KeyError, match="valid"):
        make_grid("office31", "quick", models=["nope"])
    with pytest.raises(KeyError, match="bmtl"):
        make_grid("office31", "quick", balancers=["nope"])
    with pytest.raises(ValueError, match="seeds"):
        make_grid("office31", "quick", seeds=[])


# ----------------------------------------------------------------------------- run_grid

def test_run_grid_writes_one_line_per_run_and_resumes(tmp_path):
    specs = tiny_specs()
    out = tmp_path / "sub" / "r.jsonl"
    fn = Counting()
    recs = run_grid(specs, out, executor="serial", progress=False, run_fn=fn)
    assert [r["key"] for r in recs] == [s.key() for s in specs]
    assert sorted(file_keys(out)) == sorted(s.key() for s in specs)
    assert len(fn.calls) == len(specs)
    r0 = recs[0]
    for f in ("spec", "is_synthetic", "version", "seed", "wall_time", "hostname",
              "torch_version", "device", "history", "value", "per_task"):
        assert f in r0, f
    assert math.isclose(r0["value"], fake_value(specs[0]))
    # same grid again: nothing runs, same records come back
    again = Counting()
    recs2 = run_grid(specs + specs[:2], out, executor="serial", progress=False, run_fn=again)
    assert again.calls == [] and [r["key"] for r in recs2] == [s.key() for s in specs + specs[:2]]
    # a bigger grid runs only what is new
    more = tiny_specs(n_seeds=4)
    run_grid(more, out, executor="serial", progress=False, run_fn=again)
    assert len(again.calls) == len(more) - len(specs)
    assert sorted(file_keys(out)) == sorted(s.key() for s in more)


def test_kill_and_resume_in_process(tmp_path):
    specs = tiny_specs()
    out = tmp_path / "r.jsonl"
    first = Counting(interrupt_after=5)
    with pytest.raises(KeyboardInterrupt):
        run_grid(specs, out, executor="serial", progress=False, run_fn=first)
    assert file_keys(out) == first.calls == [s.key() for s in specs[:5]]
    before = out.read_bytes()
    second = Counting()
    recs = run_grid(specs, out, executor="serial", progress=False, run_fn=second)
    assert second.calls == [s.key() for s in specs[5:]]  # nothing finished is redone
    assert out.read_bytes().startswith(before)             # nothing finished is lost
    keys = file_keys(out)
    assert len(keys) == len(set(keys)) == len(specs)
    assert len(recs) == len(specs)


KILL_SCRIPT = r"""
import sys, time
sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
from bmtl_edu.experiments import run_grid
from test_experiments import fake_run, tiny_specs
def slow(spec):
    time.sleep(0.03)
    return fake_run(spec)
run_grid(tiny_specs(n_seeds=40), {out!r}, executor="serial", progress=False, run_fn=slow)
"""


def test_kill_and_resume_after_sigkill(tmp_path):
    out = tmp_path / "r.jsonl"
    script = KILL_SCRIPT.format(root=str(ROOT), tests=str(ROOT / "tests"), out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while time.time() < deadline and (not out.exists() or out.read_bytes().count(b"\n") < 10):
        if proc.poll() is not None:
            pytest.fail("grid subprocess ended early: " + proc.stderr.read().decode()[-2000:])
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    specs = tiny_specs(n_seeds=40)
    survived, info = read_jsonl(out)
    assert 10 <= len(survived) < len(specs)
    fn = Counting()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a kill mid-write leaves a torn line
        run_grid(specs, out, executor="serial", progress=False, run_fn=fn)
    keys = file_keys(out)
    assert len(keys) == len(set(keys)) == len(specs)
    assert {r["key"] for r in survived}.isdisjoint(fn.calls)
    assert len(fn.calls) == len(specs) - len(survived)


def test_truncated_last_line_is_reported_and_repaired(tmp_path):
    specs = tiny_specs()
    out = tmp_path / "r.jsonl"
    run_grid(specs[:4], out, executor="serial", progress=False, run_fn=fake_run)
    good = out.read_bytes()
    torn = json.dumps(fake_run(specs[4])).encode()[:57]  # half of the 5th record, no newline
    out.write_bytes(good + torn)
    records, info = read_jsonl(out)
    assert len(records) == 4 and info["truncated_tail"] == len(torn)
    fn = Counting()
    with pytest.warns(RuntimeWarning, match="truncated"):
        recs = run_grid(specs, out, executor="serial", progress=False, run_fn=fn)
    assert fn.calls == [s.key() for s in specs[4:]]  # the torn run is done again
    assert out.read_bytes().startswith(good)
    lines = out.read_text().splitlines()
    assert all(json.loads(line) for line in lines)
    assert len(lines) == len(set(file_keys(out))) == len(specs) == len(recs)


def test_failed_run_does_not_stop_the_grid(tmp_path):
    specs = tiny_specs()
    out = tmp_path / "r.jsonl"
    with pytest.raises(GridError, match="boom") as exc:
        run_grid(specs, out, executor="serial", progress=False, run_fn=Counting(fail_balancer="bmtl"))
    n_bmtl = sum(s.balancer == "bmtl" for s in specs)
    assert len(exc.value.failures) == n_bmtl
    assert len(file_keys(out)) == len(specs) - n_bmtl
    with pytest.warns(RuntimeWarning, match="failed"):
        recs = run_grid(specs, out, executor="serial", progress=False,
                        run_fn=Counting(fail_balancer="bmtl"), on_error="warn")
    assert len(recs) == len(specs) - n_bmtl
    retry = Counting()
    run_grid(specs, out, executor="serial", progress=False, run_fn=retry)
    assert len(retry.calls) == n_bmtl


class MapOnly:
    """An executor with only ``map`` (like some pool APIs)."""

    def __init__(self):
        self.used = False

    def map(self, fn, items):
        self.used = True
        return map(fn, items)


def test_map_only_executor_and_lock(tmp_path):
    specs = tiny_specs(n_seeds=1)
    out = tmp_path / "r.jsonl"
    ex = MapOnly()
    recs = run_grid(specs, out, executor=ex, progress=False, run_fn=fake_run)
    assert ex.used and len(recs) == len(specs)
    with pytest.raises(ValueError, match="executor"):
        run_grid(tiny_specs(n_seeds=2), out, executor=object(), progress=False, run_fn=fake_run)


def test_a_second_grid_on_the_same_file_waits_then_skips_what_finished(tmp_path):
    import threading
    specs = tiny_specs(n_seeds=1)
    out = tmp_path / "r.jsonl"
    run_grid(specs, out, executor="serial", progress=False, run_fn=fake_run)
    held = _FileLock(out).__enter__()          # another process's grid, still writing
    threading.Timer(0.3, held.__exit__, args=(None, None, None)).start()
    calls = []
    start = time.monotonic()
    with pytest.warns(UserWarning, match="another run_grid"):
        recs = run_grid(specs, out, executor="serial", progress=False,
                        run_fn=lambda s: calls.append(s) or fake_run(s))
    assert time.monotonic() - start >= 0.25   # it waited for the lock
    assert calls == [] and len(recs) == len(specs) == len(file_keys(out))


def test_default_process_pool(tmp_path):
    specs = tiny_specs(n_seeds=2)
    out = tmp_path / "r.jsonl"
    recs = run_grid(specs, out, progress=False, run_fn=fake_run, max_workers=2)
    assert [r["key"] for r in recs] == [s.key() for s in specs]
    assert sorted(file_keys(out)) == sorted(s.key() for s in specs)


def test_record_reports_final_or_best_epoch():
    hist = {"epochs": [0, 1, 2], "eval_epochs": [0, 1, 2], "metric": "accuracy",
            "train_loss": [[1, 1]] * 3, "weights": [[1, 1]] * 3,
            "test_metric": [[0.5, 0.7], [0.8, 0.9], [0.6, 0.6]]}
    final = record_from_history(RunSpec("d", "dmtl", "ds", 0.5, 0, 3), hist, is_synthetic=False,
                                wall_time=1.0, device="cpu")
    best = record_from_history(RunSpec("d", "dmtl", "ds", 0.5, 0, 3, report="best_epoch"), hist,
                               is_synthetic=True, wall_time=1.0, device="cpu")
    assert math.isclose(final["value"], 0.6) and final["epoch"] == 2
    assert math.isclose(best["value"], 0.85) and best["epoch"] == 1 and best["per_task"] == [0.8, 0.9]
    mse = dict(hist, metric="mse", test_metric=[[0.5, 0.7], [0.8, 0.9], [0.4, 0.6]])
    best_mse = record_from_history(RunSpec("d", "dmtl", "ds", 0.5, 0, 3, report="best_epoch"), mse,
                                   is_synthetic=False, wall_time=1.0, device="cpu")
    assert math.isclose(best_mse["value"], 0.5) and best_mse["epoch"] == 2


# ----------------------------------------------------------------------------- summary

def _rec(model, bal, p, seed, value, metric="accuracy", synthetic=False, dataset="d"):
    return {"key": f"{dataset}{model}{bal}{p}{seed}", "dataset": dataset, "model": model,
            "balancer": bal, "proportion": p, "seed": seed, "value": value, "metric": metric,
            "is_synthetic": synthetic}


def test_summarize_mean_std_n():
    from bmtl_edu.summary import summarize
    recs = [_rec("dmtl", "bmtl", 0.5, s, v) for s, v in enumerate([0.5, 0.7, 0.6])]
    recs += [_rec("dmtl", "ds", 0.5, 0, 0.4, synthetic=True)]
    recs += [_rec("dmtl", "ds", 0.7, s, v) for s, v in enumerate([0.2, 0.4])]
    rows = summarize(recs)
    cells = {(r["balancer"], r["proportion"]): r for r in rows}
    assert len(rows) == 3
    assert math.isclose(cells[("bmtl", 0.5)]["mean"], 0.6)
    assert math.isclose(cells[("bmtl", 0.5)]["std"], 0.1)       # sqrt((0.01+0.01+0)/2)
    assert cells[("bmtl", 0.5)]["n"] == 3 and cells[("bmtl", 0.5)]["seeds"] == [0, 1, 2]
    assert cells[("ds", 0.5)]["std"] == 0.0 and cells[("ds", 0.5)]["n"] == 1
    assert cells[("ds", 0.5)]["is_synthetic"] and not cells[("bmtl", 0.5)]["is_synthetic"]
    assert math.isclose(cells[("ds", 0.7)]["std"], math.sqrt(0.02))  # ddof=1 of (0.2, 0.4)
    # the paper's order: ds before bmtl
    assert [r["balancer"] for r in rows if r["proportion"] == 0.5] == ["ds", "bmtl"]
    by_model = summarize(recs, by=("model",))
    assert len(by_model) == 1 and by_model[0]["n"] == 6
    with pytest.raises(KeyError, match="proportion"):
        summarize([{"dataset": "d", "model": "m", "balancer": "b", "value": 1}])
    with pytest.raises(ValueError, match="mixes metrics"):
        summarize([_rec("dmtl", "ds", 0.5, 0, 1.0), _rec("dmtl", "ds", 0.5, 1, 1.0, metric="mse")])


def test_win_tie_loss_rule():
    from bmtl_edu.summary import pooled_std, win_tie_loss
    assert math.isclose(pooled_std(0.1, 3, math.sqrt(0.02), 2), math.sqrt((2 * 0.01 + 0.02) / 3))
    recs = []
    # p=0.5: bmtl (0.7, 0.9) mean 0.8 std 0.1414; ds (0.5, 0.7) mean 0.6 std 0.1414: d=0.2 > s -> win
    # p=0.6: bmtl (0.6, 0.8) mean 0.7; ds (0.6, 0.7) mean 0.65, s=sqrt((0.02+0.005)/2)=0.1118 -> tie
    # p=0.7: bmtl (0.50, 0.52) mean 0.51; ds (0.80, 0.82) mean 0.81, s=0.01414 -> loss
    for p, b_vals, d_vals in [(0.5, (0.7, 0.9), (0.5, 0.7)), (0.6, (0.6, 0.8), (0.6, 0.7)),
                              (0.7, (0.50, 0.52), (0.80, 0.82))]:
        recs += [_rec("dmtl", "bmtl", p, s, v) for s, v in enumerate(b_vals)]
        recs += [_rec("dmtl", "ds", p, s, v) for s, v in enumerate(d_vals)]
    rows = win_tie_loss(recs)
    assert rows == [{"dataset": "d", "model": "dmtl", "balancer": "ds", "win": 1, "tie": 1,
                     "loss": 1, "n": 3}]
    # for MSE lower is better: the same numbers swap wins and losses
    mse = [dict(r, metric="mse") for r in recs]
    assert (win_tie_loss(mse)[0]["win"], win_tie_loss(mse)[0]["loss"]) == (1, 1)
    only_bmtl_better = [dict(r, value=r["value"] + (1.0 if r["balancer"] == "bmtl" else 0))
                        for r in recs]
    assert win_tie_loss(only_bmtl_better)[0]["win"] == 3
    with pytest.raises(ValueError, match="reference"):
        win_tie_loss(recs, reference="cl")


def test_load_records_file_and_folder(tmp_path):
    from bmtl_edu.summary import load_records
    specs = tiny_specs(n_seeds=2)
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    run_grid(specs[:5], a, executor="serial", progress=False, run_fn=fake_run)
    run_grid(specs[3:], b, executor="serial", progress=False, run_fn=fake_run)
    assert len(load_records(a)) == 5
    with pytest.warns(RuntimeWarning, match="duplicate"):
        both = load_records(tmp_path)
    assert sorted(r["key"] for r in both) == sorted(s.key() for s in specs)
    b.write_bytes(b.read_bytes() + b'{"key": "x", "val')
    with pytest.warns(RuntimeWarning, match="truncated"):
        assert len(load_records(b)) == len(specs) - 3
    with pytest.raises(FileNotFoundError):
        load_records(tmp_path / "missing.jsonl")


# ----------------------------------------------------------------------------- plots

def test_accuracy_figure_panels_lines_and_synthetic_title():
    from bmtl_edu.plots import SYNTHETIC_NOTE, plot_accuracy_vs_proportion
    from bmtl_edu.summary import summarize
    recs = [_rec(m, b, p, s, 0.5 + p / 10 + s / 100, dataset="office31")
            for m in ("dmtl", "mrn") for b in ("ds", "bmtl") for p in (0.5, 0.6, 0.7) for s in (0, 1)]
    recs += [_rec("dmtl", "mgda", p, 0, 0.6, dataset="office31") for p in (0.5, 0.7)]
    fig = plot_accuracy_vs_proportion(summarize(recs), mgda_reference="dmtl")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["DMTL", "MRN"]
    assert len(axes[0].containers) == 3 and len(axes[1].containers) == 3  # MGDA dashed on MRN
    assert SYNTHETIC_NOTE not in fig.get_suptitle()
    recs[0]["is_synthetic"] = True
    fig = plot_accuracy_vs_proportion(recs, mgda_reference=None)  # raw records are summarised
    assert SYNTHETIC_NOTE in fig.get_suptitle()
    assert len([ax for ax in fig.axes if ax.get_visible()][1].containers) == 2


def test_task_loss_and_sarcos_figures(tmp_path):
    from bmtl_edu.plots import SYNTHETIC_NOTE, plot_sarcos_mse, plot_task_losses
    rec = fake_run(RunSpec("officehome", "dmtrl_tt", "bmtl", 0.5, 0, 4, allow_synthetic=True))
    fig = plot_task_losses(rec, show_weights=True)
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 2
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [2.0, 1.0, 2 / 3, 0.5])
    assert SYNTHETIC_NOTE in fig.get_suptitle() and "DMTRL_TT" in fig.get_suptitle()
    with pytest.raises(ValueError, match="History"):
        plot_task_losses([1, 2])
    recs = [_rec(m, b, 0.7, s, 1.0 + s, metric="mse", dataset="sarcos")
            for m in ("dmtl", "tnrmtl_tt") for b in ("ds", "bmtl", "cl") for s in (0, 1)]
    fig = plot_sarcos_mse(recs)
    bars = [p for p in fig.axes[0].patches]
    assert len(bars) == 6 and all(math.isclose(p.get_height(), 1.5) for p in bars)
    fig.savefig(tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 0


# ----------------------------------------------------------------------------- CLI

def test_cli_tiny_grid(tmp_path, capsys):
    from bmtl_edu.replicate import main
    out = tmp_path / "res"
    argv = ["--dataset", "office31", "--profile", "quick", "--out", str(out),
            "--models", "dmtl", "mrn", "--balancers", "ds", "bmtl", "--seeds", "0", "1",
            "--epochs", "2", "--workers", "1", "--no-progress", "--allow-synthetic"]
    assert main(argv, run_fn=fake_run) == 0
    text = capsys.readouterr().out
    prof = get_profile("quick")
    n = 2 * 2 * len(prof.proportions) * 2
    assert len(file_keys(out / "office31-quick-synthetic.jsonl")) == n  # stand-in results apart
    assert (out / "office31-quick-synthetic.png").stat().st_size > 0
    assert "synthetic stand-in" in text and "win" in text
    # one summary line per (model, balancer, proportion)
    assert sum(line.strip().startswith(("dmtl", "mrn")) for line in text.splitlines()) \
        == 4 * len(prof.proportions) + 2
    fn = Counting()
    assert main(argv, run_fn=fn) == 0 and fn.calls == []  # resumed: nothing to do


def test_cli_help_and_bad_arguments(capsys):
    from bmtl_edu.replicate import main
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    text = capsys.readouterr().out
    assert e.value.code == 0 and "--dataset" in text and "--allow-synthetic" in text
    assert "python -m bmtl_edu.replicate" in text
    with pytest.raises(SystemExit) as e:
        main(["--dataset", "office31", "--models", "nope"])
    assert e.value.code == 2 and "nope" in capsys.readouterr().err


# ----------------------------------------------------------------------------- end to end

def test_end_to_end_tiny_real_grid(tmp_path, monkeypatch):
    from bmtl_edu.experiments import run_one
    from bmtl_edu.summary import summarize
    monkeypatch.setenv("BMTL_DATA", str(tmp_path / "no-data-here"))  # forces the stand-in
    specs = make_grid("office31", "quick", models=["dmtl"], balancers=["ds", "bmtl"],
                      proportions=[0.5], seeds=[0], epochs=2, hidden=8, max_train_per_task=20,
                      allow_synthetic=True)
    out = tmp_path / "r.jsonl"
    recs = run_grid(specs, out, executor="serial", progress=False, run_fn=run_one)
    assert len(recs) == 2 and all(r["is_synthetic"] for r in recs)
    for r in recs:
        assert r["metric"] == "accuracy" and 0.0 <= r["value"] <= 1.0
        assert len(r["history"]["train_loss"]) == 2 and len(r["per_task"]) == 3
        assert r["device"] == "cpu" and r["torch_version"]
    again = run_one(specs[1])  # seeded: the same run gives the same numbers
    assert again["history"]["test_metric"] == recs[1]["history"]["test_metric"]
    assert len(summarize(recs)) == 2


def test_end_to_end_real_sarcos_run(tmp_path):
    from bmtl_edu.experiments import run_one
    root = os.environ.get("BMTL_DATA")
    if not root or not (Path(root) / "sarcos" / "sarcos_inv_test.mat").exists():
        if os.environ.get("BMTL_REQUIRE_REAL_DATA") == "1":
            pytest.fail("real data required (BMTL_REQUIRE_REAL_DATA=1) but BMTL_DATA has no SARCOS file")
        pytest.skip("no real SARCOS file under BMTL_DATA")
    spec = make_grid("sarcos", "quick", models=["dmtl"], balancers=["bmtl"], proportions=[0.5],
                     seeds=[0], epochs=2, hidden=8, max_train_per_task=50)[0]
    rec = run_grid([spec], tmp_path / "s.jsonl", executor="serial", progress=False, run_fn=run_one)[0]
    assert rec["is_synthetic"] is False and rec["metric"] == "mse"
    assert len(rec["per_task"]) == 7 and all(v >= 0 for v in rec["per_task"])
    # BMTL weights h'(L_i) = exp(L_i/T)/T: a task with a larger loss got a larger weight
    loss, w = rec["history"]["train_loss"][0], rec["history"]["weights"][0]
    assert np.argmax(loss) == np.argmax(w)
