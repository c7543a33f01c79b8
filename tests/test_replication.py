"""Tests of bmtl_edu.replication: grid -> records -> summary / tables / timing.

Runs use a fake run_fn where the numbers matter (the oracle is independent arithmetic) and
a real but tiny grid on the real SARCOS file once (skipped without BMTL_DATA's files).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from bmtl_edu.experiments import make_grid, record_from_history
from bmtl_edu.profiles import get_profile
from bmtl_edu.replication import (FullSizeTiming, Replication, check_summary, format_duration,
                                  results_dir, results_path, run_replication, summary_markdown,
                                  time_full_size_run, wtl_markdown)

QUICK = get_profile("quick")


def fake_record(spec, value_of=None):
    """A record whose value is a known function of the spec (independent oracle)."""
    v = value_of(spec) if value_of else 0.5 + 0.01 * spec.seed
    hist = {"metric": "accuracy", "task_names": ["a", "b"], "seed": spec.seed,
            "epochs": [0, 1], "eval_epochs": [0, 1], "train_loss": [[2.0, 1.0], [1.0, 0.5]],
            "weights": [[1.0, 1.0], [1.0, 1.0]], "test_metric": [[v + 0.1, v + 0.1], [v, v]]}
    return record_from_history(spec, hist, is_synthetic=True, wall_time=0.25, device="cpu")


def records_for(specs, value_of=None):
    return [fake_record(s, value_of) for s in specs]


def test_results_dir_env_and_default(monkeypatch, tmp_path):
    monkeypatch.setenv("BMTL_RESULTS", str(tmp_path / "r"))
    assert results_dir() == tmp_path / "r"
    # no real Office-31 features here: stand-in results are filed apart from real ones
    assert results_path("office31", "quick") == tmp_path / "r" / "office31-quick-synthetic.jsonl"
    assert results_path("office31", "full").name == "office31-full-synthetic.jsonl"
    monkeypatch.delenv("BMTL_RESULTS")
    assert results_dir().name == "results"


def test_check_summary_matches_records_and_detects_tampering():
    specs = make_grid("office31", QUICK, allow_synthetic=True)
    recs = records_for(specs, lambda s: 0.3 + 0.1 * s.seed + 0.01 * len(s.balancer))
    rep = Replication("office31", QUICK, specs, recs, path=None)
    assert check_summary(recs, rep.rows) == len(QUICK.grid_models) * 7 * len(QUICK.proportions)
    # the oracle: the mean over seeds of 0.3 + 0.1 seed + 0.01 len(name)
    row = next(r for r in rep.rows if r["balancer"] == "bmtl")
    assert row["mean"] == pytest.approx(0.3 + 0.1 * np.mean(QUICK.seeds) + 0.04)
    bad = [dict(r) for r in rep.rows]
    bad[0]["mean"] += 1e-6
    with pytest.raises(AssertionError, match="mean"):
        check_summary(recs, bad)
    with pytest.raises(AssertionError, match="records"):
        check_summary(recs[1:], rep.rows)


def test_tables_mark_synthetic_and_count():
    specs = make_grid("office31", QUICK, allow_synthetic=True)
    # bmtl clearly best, ds clearly worst, others equal to bmtl within noise
    value = {"bmtl": 0.8, "ds": 0.2}
    recs = records_for(specs, lambda s: value.get(s.balancer, 0.5) + 0.01 * s.seed)
    rep = Replication("office31", QUICK, specs, recs, path=None)
    assert rep.is_synthetic and "(synthetic stand-in)" in rep.title
    md = rep.summary_markdown()
    assert "(synthetic stand-in)" in md.splitlines()[0]
    assert "**0.805 ± 0.007**" in md  # bmtl's cell is the bold best
    w = rep.wtl_markdown()
    n_props = len(QUICK.proportions)
    ds_line = next(l for l in w.splitlines() if l.startswith("| DS |"))
    total = len(QUICK.grid_models) * n_props
    assert ds_line.endswith(f"| {total}/0/0 |")
    with pytest.raises(ValueError):
        wtl_markdown([])
    with pytest.raises(ValueError):
        summary_markdown([])


def test_run_replication_resumes_with_fake_runs(tmp_path, monkeypatch):
    calls = []

    def fake_run_one(spec):
        calls.append(spec.key())
        return fake_record(spec)

    monkeypatch.setattr("bmtl_edu.replication.run_one", fake_run_one)
    import bmtl_edu.replication as R
    real_run_grid = R.run_grid
    monkeypatch.setattr(R, "run_grid", lambda specs, path, **kw: real_run_grid(
        specs, path, **{**kw, "executor": "serial", "run_fn": fake_run_one}))
    prof = QUICK.replace(grid_models=("dmtl",), seeds=(0, 1), proportions=(0.5, 0.7))
    rep = run_replication("office31", prof, out_dir=tmp_path, executor="serial")
    n = 7 * 2 * 2
    assert len(rep.records) == len(rep.specs) == n == rep.n_new == len(calls)
    assert rep.path == tmp_path / "office31-quick-synthetic.jsonl" and rep.path.exists()
    assert {r["model"] for r in rep.records if r["balancer"] == "mgda"} == {"dmtl"}
    again = run_replication("office31", prof, out_dir=tmp_path, executor="serial")
    assert again.n_new == 0 and len(calls) == n  # resumed: nothing trained twice
    assert [r["key"] for r in again.records] == [r["key"] for r in rep.records]
    with pytest.raises(ValueError, match="executor"):
        run_replication("office31", prof, out_dir=tmp_path, executor="threads")


def test_real_tiny_grid_on_sarcos(tmp_path):
    from bmtl_edu.data import load_dataset
    try:
        load_dataset("sarcos")
    except FileNotFoundError:
        pytest.skip("real SARCOS file not under BMTL_DATA")
    prof = QUICK.replace(epochs=1, seeds=(0, 1), proportions=(0.5, 0.7), grid_models=("dmtl",),
                         grid_balancers=("ds", "bmtl"), hidden=8, max_train_per_task=40)
    rep = run_replication("sarcos", prof, out_dir=tmp_path, executor="auto")
    assert rep.executor == "serial"  # a tiny grid never pays for worker start-up
    assert len(rep.records) == 2 * 2 * 2 and not rep.is_synthetic and rep.metric == "mse"
    check_summary(rep.records, rep.rows)
    fig = rep.figure()
    assert "synthetic" not in fig._suptitle.get_text()
    assert rep.seconds_per_run() > 0
    r = rep.record("dmtl", "bmtl")
    assert r["proportion"] == 0.7 and r["balancer"] == "bmtl"
    with pytest.raises(KeyError, match="balancers"):
        rep.record("dmtl", "max")


def test_full_size_timing_projection_arithmetic():
    ft = FullSizeTiming("office31", "dmtl", "bmtl", 600, "cpu", step_s=0.05, eval_s=0.5,
                        iterations_per_epoch=62, epochs=100, grid_runs=840)
    assert ft.epoch_s == pytest.approx(62 * 0.05 + 0.5)
    assert ft.run_s == pytest.approx(100 * 3.6)
    assert ft.grid_s == pytest.approx(840 * 360)
    assert "840 runs" in ft.describe()


def test_time_full_size_run_small(monkeypatch):
    from bmtl_edu.data import load_dataset
    try:
        load_dataset("sarcos")
    except FileNotFoundError:
        pytest.skip("real SARCOS file not under BMTL_DATA")
    prof = get_profile("full").replace(hidden=16, epochs=3)
    ft = time_full_size_run("sarcos", profile=prof, steps=2, repeats=1)
    # full proportion 0.7 of 2,000 shared points, batch 32 -> ceil(1400 / 32) iterations
    assert ft.iterations_per_epoch == math.ceil(1400 / 32)
    assert ft.grid_runs == len(make_grid("sarcos", prof, allow_synthetic=True))
    assert ft.step_s >= 0 and ft.eval_s > 0 and ft.run_s == pytest.approx(3 * ft.epoch_s)
    with pytest.raises(ValueError, match="steps"):
        time_full_size_run("sarcos", profile=prof, steps=0)


def test_format_duration():
    assert format_duration(42) == "42 s"
    assert format_duration(600) == "10.0 min"
    assert format_duration(3 * 3600) == "3.0 h"
    assert format_duration(5 * 86400) == "5.0 days"
    with pytest.raises(ValueError):
        format_duration(float("nan"))


def test_real_and_stand_in_results_never_share_a_file(tmp_path, monkeypatch):
    from bmtl_edu.data import real_data_present
    monkeypatch.setenv("BMTL_RESULTS", str(tmp_path))
    monkeypatch.setenv("BMTL_DATA", str(tmp_path / "empty"))
    assert not real_data_present("sarcos")
    stand_in = results_path("sarcos", "quick")
    fake_root = tmp_path / "data" / "sarcos"
    fake_root.mkdir(parents=True)
    (fake_root / "sarcos_inv_test.mat").write_bytes(b"present")  # presence is all it checks
    monkeypatch.setenv("BMTL_DATA", str(tmp_path / "data"))
    assert real_data_present("sarcos")
    assert results_path("sarcos", "quick") != stand_in
    assert results_path("sarcos", "quick").name == "sarcos-quick.jsonl"
