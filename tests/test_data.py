"""Unit tests of bmtl_edu.data that need no real data files."""
from __future__ import annotations

import math
import re
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import torch

from bmtl_edu.data.assemble import build_multitask_data
from bmtl_edu.data.cache import has_cache, read_cache, write_cache
from bmtl_edu.data.checksums import ChecksumError, sha256_file, verify_sha256
from bmtl_edu.data.container import MultiTaskData
from bmtl_edu.data.loaders import DataMissingError, SyntheticDataWarning, load_dataset
from bmtl_edu.data.matfiles import mat_version, read_mat
from bmtl_edu.data.raw import read_fc7_domain
from bmtl_edu.data.registry import DATASETS, get_spec
from bmtl_edu.data.splits import split_by_proportion, stratified_subsample_indices
from bmtl_edu.data.standins import make_standin_arrays
from bmtl_edu.data.toy import make_toy_problem

PKG = Path(__file__).resolve().parents[1] / "bmtl_edu" / "data"


def nearest_mean_accuracy(Xtr, ytr, Xte, yte) -> float:
    """Independent oracle classifier: nearest class mean (NumPy)."""
    Xtr, ytr, Xte, yte = (np.asarray(a) for a in (Xtr, ytr, Xte, yte))
    classes = np.unique(ytr)
    means = np.stack([Xtr[ytr == c].mean(0) for c in classes])
    d = (means ** 2).sum(1)[None, :] - 2.0 * Xte @ means.T  # squared distance up to ||x||^2
    return float((classes[d.argmin(1)] == yte).mean())


# ---------------------------------------------------------------- container
def _pair(n, d=3, C=None):
    X = torch.zeros(n, d)
    y = torch.zeros(n) if C is None else torch.arange(n) % C
    return X, y


def test_container_properties_and_summary():
    data = MultiTaskData("x", ["a", "b"], [_pair(5, C=3), _pair(7, C=3)], [_pair(2, C=3), _pair(1, C=3)],
                         n_classes=3)
    assert (data.n_tasks, data.in_dim, data.out_dim, data.task_type) == (2, 3, 3, "classification")
    assert data.train_sizes == [5, 7] and data.test_sizes == [2, 1]
    s = data.summary()
    assert "train      5" in s.replace("  ", " ") or re.search(r"a\s+train\s+5\s+test\s+2", s)
    assert "train_sizes=[5, 7]" in repr(data)
    reg = MultiTaskData("r", ["a"], [_pair(4)], [_pair(2)], n_classes=None)
    assert (reg.out_dim, reg.task_type) == (1, "regression")


@pytest.mark.parametrize("train, msg", [
    ([(torch.zeros(3, 2), torch.zeros(4, dtype=torch.int64))], "expected X"),
    ([(torch.zeros(3, 2, dtype=torch.float64), torch.zeros(3, dtype=torch.int64))], "float32"),
    ([(torch.zeros(3, 2), torch.tensor([0, 1, 5]))], r"\[0, 3\)"),
    ([(torch.zeros(3, 2), torch.zeros(3))], "int64"),
])
def test_container_rejects_bad_tensors(train, msg):
    with pytest.raises(ValueError, match=msg):
        MultiTaskData("x", ["a"], train, [(torch.zeros(1, 2), torch.zeros(1, dtype=torch.int64))], n_classes=3)


def test_container_rejects_task_count_and_dim_mismatch():
    with pytest.raises(ValueError, match="tasks"):
        MultiTaskData("x", ["a", "b"], [_pair(3)], [_pair(3)], n_classes=None)
    with pytest.raises(ValueError, match="input dimension"):
        MultiTaskData("x", ["a", "b"], [_pair(3, 2), _pair(3, 4)], [_pair(3, 2), _pair(3, 4)])


# ---------------------------------------------------------------- splits
@pytest.mark.parametrize("p", [0.5, 0.6, 0.7, 0.33])
def test_stratified_split_follows_ceil_rule(p):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 7, size=301)
    tr, te = split_by_proportion(y, p, seed=3)
    assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == len(y)
    for c in np.unique(y):  # oracle: count the class directly
        assert (y[tr] == c).sum() == math.ceil((y == c).sum() * p)


def test_split_is_seeded():
    y = np.arange(200) % 5
    a, b, c = split_by_proportion(y, 0.7, 0), split_by_proportion(y, 0.7, 0), split_by_proportion(y, 0.7, 1)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])
    tr, te = split_by_proportion(np.linspace(0, 1, 101), 0.5, 0, stratified=False)
    assert len(tr) == 51 and len(te) == 50


@pytest.mark.parametrize("p", [0, 1, 1.5, -0.2, float("nan"), "half"])
def test_split_rejects_bad_proportion(p):
    with pytest.raises(ValueError, match="proportion"):
        split_by_proportion(np.arange(10) % 2, p)
    with pytest.raises(ValueError, match="proportion"):
        make_toy_problem(n_samples=20, proportion=p)


def test_stratified_subsample_keeps_class_shares():
    y = np.repeat(np.arange(4), [100, 50, 30, 20])
    idx = stratified_subsample_indices(y, 40, np.random.default_rng(0))
    assert len(idx) == 40 and len(np.unique(idx)) == 40
    counts = np.bincount(y[idx], minlength=4)
    assert np.all(np.abs(counts - np.array([20, 10, 6, 4])) <= 1)


def test_max_train_caps_training_but_not_test():
    arrays = [(np.random.default_rng(t).standard_normal((90, 4)).astype(np.float32), np.arange(90) % 3)
              for t in range(2)]
    full = build_multitask_data("t", ["a", "b"], arrays, n_classes=3, proportion=0.7, seed=5)
    cap = build_multitask_data("t", ["a", "b"], arrays, n_classes=3, proportion=0.7, seed=5, max_train_per_task=12)
    assert cap.train_sizes == [12, 12] and full.train_sizes == [63, 63]
    for (a, _), (b, _) in zip(full.test, cap.test):
        assert torch.equal(a, b)
    assert all(torch.bincount(y, minlength=3).tolist() == [4, 4, 4] for _, y in cap.train)
    with pytest.raises(ValueError, match="max_train_per_task"):
        build_multitask_data("t", ["a", "b"], arrays, n_classes=3, max_train_per_task=0)


# ---------------------------------------------------------------- toy problems
def test_toy_problem_shapes_and_provenance():
    d = make_toy_problem(n_tasks=3, n_samples=100, dim=2, n_classes=3, noise=(0.2, 0.5, 1.0), seed=0)
    assert d.is_synthetic and d.n_tasks == 3 and d.in_dim == 2 and d.n_classes == 3
    # classes of 34/33/33 per task, ceil(count * 0.7) training samples per class (SPEC §5)
    counts = [torch.bincount(torch.cat([d.train[t][1], d.test[t][1]]), minlength=3).tolist()
              for t in range(3)]
    assert d.train_sizes == [sum(math.ceil(c * 0.7) for c in cs) for cs in counts]
    assert d.provenance["noise"] == [0.2, 0.5, 1.0] and d.provenance["seed"] == 0
    e = make_toy_problem(n_tasks=2, sizes=(40, 200), n_classes=None, dim=5, seed=1)
    assert e.task_type == "regression" and [a + b for a, b in zip(e.train_sizes, e.test_sizes)] == [40, 200]
    assert e.train[0][1].dtype == torch.float32


def test_toy_problem_is_fast():
    make_toy_problem(n_samples=300)
    t = time.perf_counter()
    for _ in range(10):
        make_toy_problem(n_tasks=3, n_samples=300, n_classes=2, seed=2)
    assert (time.perf_counter() - t) / 10 < 0.05


def test_toy_noise_and_overlap_control_difficulty():
    d = make_toy_problem(n_tasks=3, n_samples=600, n_classes=2, noise=(0.3, 0.3, 2.0), overlap=(0.0, 1.0, 0.0),
                         seed=0)
    acc = [nearest_mean_accuracy(*d.train[t], *d.test[t]) for t in range(3)]
    assert acc[0] > 0.95          # separated, low noise
    assert acc[1] < 0.65          # identical class means: chance level
    # high noise: Bayes accuracy Phi(2 / 2) = 0.84 for means at +-2 (plus task drift)
    assert 0.7 < acc[2] < 0.92


def test_toy_scale_sets_target_magnitude():
    d = make_toy_problem(n_tasks=3, n_samples=400, n_classes=None, scale=(1.0, 5.0, 20.0), noise=0.1, seed=0)
    stds = [float(y.std()) for _, y in d.train]
    assert 3.0 < stds[1] / stds[0] < 8.0 and 12.0 < stds[2] / stds[0] < 30.0


@pytest.mark.parametrize("kw, msg", [
    ({"noise": (0.1, 0.2)}, "noise"), ({"noise": -1.0}, "noise"), ({"overlap": 1.5}, "overlap"),
    ({"n_classes": 1}, "n_classes"), ({"sizes": (10, 10, 1)}, "sizes"), ({"n_tasks": 0}, "n_tasks"),
])
def test_toy_rejects_bad_knobs(kw, msg):
    with pytest.raises(ValueError, match=msg):
        make_toy_problem(**{"n_samples": 30, **kw})


# ---------------------------------------------------------------- registry and stand-ins
def test_registry_contents():
    assert set(DATASETS) == {"office31", "officehome", "imageclef", "sarcos", "office_caltech10"}
    o31 = get_spec("office31")
    assert dict(zip(o31.task_names, o31.task_sizes)) == {"amazon": 2817, "dslr": 498, "webcam": 795}
    assert get_spec("officehome").task_sizes == (2427, 4365, 4439, 4357) and get_spec("officehome").n_classes == 65
    assert get_spec("imageclef").task_sizes == (600,) * 4 and get_spec("imageclef").n_classes == 12
    s = get_spec("sarcos")
    assert (s.n_tasks, s.in_dim, s.n_classes, s.shared_inputs) == (7, 21, None, True)
    assert not get_spec("office_caltech10").in_paper and all(DATASETS[n].in_paper for n in
                                                              ("office31", "officehome", "imageclef", "sarcos"))
    with pytest.raises(KeyError, match="office31"):
        get_spec("office-31")
    with pytest.raises(KeyError, match="valid names"):
        load_dataset("mnist")


@pytest.mark.parametrize("name", ["office31", "imageclef"])
def test_image_standins_are_shape_exact_learnable_and_unequal(name):
    spec = get_spec(name)
    arrays, prov = make_standin_arrays(name)
    assert [len(y) for _, y in arrays] == list(spec.task_sizes)
    assert all(X.shape[1] == 4096 and X.dtype == np.float32 and X.min() >= 0 for X, _ in arrays)
    assert all(np.array_equal(np.unique(y), np.arange(spec.n_classes)) for _, y in arrays)
    assert "synthetic" in prov["source"]
    d = build_multitask_data(name, spec.task_names, arrays, n_classes=spec.n_classes, proportion=0.7, seed=0,
                             max_train_per_task=400)
    acc = [nearest_mean_accuracy(*d.train[t], *d.test[t]) for t in range(d.n_tasks)]
    assert min(acc) > 3.0 / spec.n_classes          # well above chance
    assert max(acc) - min(acc) > 0.1                # tasks differ in difficulty
    again, _ = make_standin_arrays(name)            # data do not depend on anything but the name
    assert np.array_equal(again[1][0], arrays[1][0])


def test_sarcos_standin_scales_and_shared_inputs():
    arrays, _ = make_standin_arrays("sarcos")
    assert len(arrays) == 7 and all(X is arrays[0][0] for X, _ in arrays) and arrays[0][0].shape == (2000, 21)
    stds = np.array([y.std() for _, y in arrays])
    assert stds.max() / stds.min() > 15


def test_load_dataset_missing_and_synthetic(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        load_dataset("office31", root=tmp_path)
    msg = str(e.value)
    assert "cache/office31/manifest.json" in msg and "python data_scripts/download.py office31" in msg
    with pytest.raises(DataMissingError, match="sarcos_inv"):
        load_dataset("sarcos", root=tmp_path)
    with pytest.warns(SyntheticDataWarning, match="SYNTHETIC"):
        d = load_dataset("sarcos", root=tmp_path, allow_synthetic=True, proportion=0.5, seed=1)
    assert d.is_synthetic and d.shared_inputs and d.train_sizes == [1000] * 7 and d.in_dim == 21
    assert all(X is d.train[0][0] for X, _ in d.train)
    # standardised with training statistics
    assert abs(float(d.train[0][0].mean())) < 1e-4 and all(abs(float(y.std()) - 1) < 0.01 for _, y in d.train)
    with pytest.raises(ValueError, match="proportion"):
        load_dataset("sarcos", root=tmp_path, proportion=1.0, allow_synthetic=True)


def test_load_dataset_env_root(tmp_path, monkeypatch):
    monkeypatch.setenv("BMTL_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_dataset("imageclef")


# ---------------------------------------------------------------- cache, checksums, .mat
def test_cache_round_trip_and_load(tmp_path):
    spec = get_spec("imageclef")
    rng = np.random.default_rng(0)
    arrays = [(rng.random((n, 4096), dtype=np.float32), np.arange(n) % 12) for n in spec.task_sizes]
    write_cache(tmp_path, "imageclef", spec.task_names, arrays, n_classes=12, provenance={"source": "unit test"})
    cd = read_cache(tmp_path, "imageclef")
    assert cd.task_names == list(spec.task_names)
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(arrays, cd.arrays))
    d = load_dataset("imageclef", root=tmp_path, proportion=0.5)
    assert not d.is_synthetic and d.train_sizes == [300] * 4 and d.provenance["source"] == "unit test"


def test_cache_shared_inputs_round_trip(tmp_path):
    X = np.random.default_rng(0).standard_normal((50, 3)).astype(np.float32)
    write_cache(tmp_path, "s", ["a", "b"], [(X, X[:, 0]), (X, X[:, 1])], n_classes=None, shared_inputs=True)
    cd = read_cache(tmp_path, "s")
    assert cd.shared_inputs and np.array_equal(cd.arrays[1][1], X[:, 1]) and np.array_equal(cd.arrays[0][0], X)
    with pytest.raises(ValueError, match="differ"):
        write_cache(tmp_path, "s2", ["a", "b"], [(X, X[:, 0]), (X + 1, X[:, 1])], n_classes=None, shared_inputs=True)


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_cache_detects_corruption(tmp_path, damage):
    X = np.ones((20, 4), np.float32)
    write_cache(tmp_path, "c", ["a"], [(X, np.arange(20) % 2)], n_classes=2)
    f = tmp_path / "cache" / "c" / "a.npz"
    raw = bytearray(f.read_bytes())
    if damage == "flip":
        raw[len(raw) // 2] ^= 0xFF
    else:
        raw = raw[: len(raw) - 100]
    f.write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match=r"a\.npz.*sha256"):
        read_cache(tmp_path, "c", fix="python data_scripts/extract_features.py c")


def test_cache_writer_validates(tmp_path):
    X = np.zeros((4, 2), np.float32)
    with pytest.raises(ValueError, match="NaN"):
        write_cache(tmp_path, "v", ["a"], [(X + np.nan, np.zeros(4, int))], n_classes=2)
    with pytest.raises(ValueError, match="labels"):
        write_cache(tmp_path, "v", ["a"], [(X, np.array([0, 1, 2, 3]))], n_classes=2)
    assert not has_cache(tmp_path, "v")
    with pytest.raises(FileNotFoundError, match="manifest"):
        read_cache(tmp_path, "v")


def test_verify_sha256(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"hello")
    good = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"  # sha256("hello")
    assert sha256_file(f) == good
    verify_sha256(f, good, size=5)
    with pytest.raises(ChecksumError, match="x.bin.*expected 5"):
        verify_sha256(f, good, size=5000)
    f.write_bytes(b"hellO")  # same size; the mtime changes so the digest is recomputed
    with pytest.raises(ChecksumError, match="x.bin fails its sha256 check"):
        verify_sha256(f, good, fix="python data_scripts/download.py x")
    with pytest.raises(FileNotFoundError, match="download.py"):
        verify_sha256(tmp_path / "absent", good, fix="python data_scripts/download.py x")


def _write_v73(path: Path, fts_T: np.ndarray, labels: np.ndarray) -> None:
    """A MATLAB v7.3-style file: 512-byte text header + HDF5, arrays stored transposed."""
    with h5py.File(path, "w", userblock_size=512) as f:
        f["fts"] = fts_T
        f["labels"] = labels
    with open(path, "r+b") as f:
        f.write(b"MATLAB 7.3 MAT-file, created by the bmtl_edu tests".ljust(128, b" "))


def test_mat_readers_v5_and_v73(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((9, 4096)).astype(np.float32)
    y = (np.arange(9) % 3 + 1).astype(float)
    scipy.io.savemat(tmp_path / "a.mat", {"fts": X, "labels": y[:, None]})
    _write_v73(tmp_path / "b.mat", X.T, y[None, :])
    assert mat_version(tmp_path / "a.mat") == "5" and mat_version(tmp_path / "b.mat") == "7.3"
    for name in ("a.mat", "b.mat"):
        Xr, yr = read_fc7_domain(tmp_path / name, n_classes=3)
        assert np.array_equal(Xr, X) and np.array_equal(yr, np.arange(9) % 3)
    with pytest.raises(ValueError, match="no variables"):
        read_mat(tmp_path / "a.mat", keys=("features",))
    (tmp_path / "bad.mat").write_bytes((tmp_path / "a.mat").read_bytes()[:300])
    with pytest.raises(ValueError, match="bad.mat"):
        read_mat(tmp_path / "bad.mat")


def test_data_layer_imports_no_torch_nn():
    pattern = re.compile(r"^\s*(import torch\.nn|from torch(\.nn)? import nn|from torch\.nn)", re.M)
    offenders = [p.name for p in PKG.glob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
