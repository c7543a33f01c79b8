"""Tests on the real public files of ../shared/data, found through BMTL_DATA.

Skipped (with the reason) when BMTL_DATA is unset or lacks the files, except under
BMTL_REQUIRE_REAL_DATA=1 (CI), where a missing file is a failure. Nothing is downloaded.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bmtl_edu.data.cache import read_cache
from bmtl_edu.data.checksums import ChecksumError, sha256_file
from bmtl_edu.data.importers import import_mat_features
from bmtl_edu.data.loaders import SyntheticDataWarning, load_dataset
from bmtl_edu.data.matfiles import read_mat
from bmtl_edu.data.raw import read_fc7_domain, read_sarcos
from bmtl_edu.data.registry import OFFICE31_FC7_FILES, get_spec

REAL_FILES = {"sarcos/sarcos_inv_test.mat": "161a59b5c3b4f4b404584323f181607b2acbe620eb134dc720760dc3f38f5cec",
              "office_caltech10/amazon_SURF_L10.mat": "df32548b994e18d364c99e1f317e1fae100597259f0423a41b90f4f68187bb1f",
              "office_caltech10/Caltech10_SURF_L10.mat": "4f9334c8ced489d5054de97a5fd51a61f017f3bcd1f38c9a85c6d78cb9d7bda5",
              "office_caltech10/dslr_SURF_L10.mat": "44d673c68e1d07b837893aa74dba3b986e4a6cc3fd66f0dd357683bdef059216",
              "office_caltech10/webcam_SURF_L10.mat": "a6a9c78b4b7181dfbb58bcfd351d4ebd737f171c31247b8884948aa156d3f700",
              "office31/dslr_dslr_fc7.mat": "407769962e3d1b12692639cc049ebe95665e55b51f7d6f3027c4069ce069e0df"}


@pytest.fixture(scope="module")
def root() -> Path:
    env = os.environ.get("BMTL_DATA", "").strip()
    missing = [f for f in REAL_FILES if not env or not (Path(env) / f).is_file()]
    if missing:
        reason = ("BMTL_DATA is not set" if not env else f"BMTL_DATA={env} lacks {missing}") + \
            " (set BMTL_DATA=../shared/data to run the real-data tests)"
        if os.environ.get("BMTL_REQUIRE_REAL_DATA") == "1":
            pytest.fail(f"real data required (BMTL_REQUIRE_REAL_DATA=1) but {reason}")
        pytest.skip(reason)
    return Path(env)


def test_checksums_match_the_data_readme(root):
    for rel, digest in REAL_FILES.items():  # digests copied from ../shared/data/README.md, not the registry
        assert sha256_file(root / rel) == digest, rel
    spec_digests = {f.path: f.sha256 for n in ("sarcos", "office_caltech10") for f in get_spec(n).raw_files}
    spec_digests.update({f.path: f.sha256 for f in OFFICE31_FC7_FILES if f.sha256})
    assert all(spec_digests[k] == v for k, v in REAL_FILES.items())


def test_sarcos_real(root):
    X, Y = read_sarcos(root / "sarcos/sarcos_inv_test.mat")
    assert X.shape == (4449, 21) and Y.shape == (4449, 7)
    raw_std = Y.std(0)
    assert raw_std.max() / raw_std.min() > 15  # the ~20x torque imbalance
    d = load_dataset("sarcos", root=root, proportion=0.7, seed=0)
    assert not d.is_synthetic and d.shared_inputs and d.n_tasks == 7 and d.in_dim == 21
    assert d.train_sizes == [1400] * 7 and d.test_sizes == [600] * 7
    assert d.provenance["file"] == "sarcos/sarcos_inv_test.mat" and d.provenance["paper_file"] is False
    assert "test file" in d.provenance["source"]
    Xtr = d.train[0][0].numpy()
    assert np.allclose(Xtr.mean(0), 0, atol=1e-4) and np.allclose(Xtr.std(0), 1, atol=1e-3)
    for (_, y), m, s in zip(d.train, d.provenance["target_mean"], d.provenance["target_std"]):
        assert abs(float(y.mean())) < 1e-4 and abs(float(y.std(unbiased=False)) - 1) < 1e-3
    # the standardised targets map back onto rows of the raw file
    yraw = d.train[0][1].numpy() * d.provenance["target_std"][0] + d.provenance["target_mean"][0]
    assert np.abs(yraw[:, None] - Y[None, :, 0]).min(1).max() < 1e-3
    e = load_dataset("sarcos", root=root, proportion=0.7, seed=0)
    assert torch.equal(e.test[3][1], d.test[3][1])


def test_office_caltech10_real(root):
    spec = get_spec("office_caltech10")
    d = load_dataset("office_caltech10", root=root, proportion=0.6, seed=2)
    assert not d.is_synthetic and d.in_dim == 800 and d.n_classes == 10 and not d.provenance["in_paper"]
    for t, rel in enumerate(f.path for f in spec.raw_files):
        labels = read_mat(root / rel, keys=("labels",))["labels"].reshape(-1).astype(int) - 1
        assert d.train_sizes[t] + d.test_sizes[t] == spec.task_sizes[t] == len(labels)
        ytr = d.train[t][1].numpy()
        for c in range(10):  # oracle: ceil(count * p) per class, counted from the raw file
            assert (ytr == c).sum() == math.ceil((labels == c).sum() * 0.6)
    pooled = torch.cat([X for X, _ in d.train])
    assert torch.allclose(pooled.mean(0), torch.zeros(800), atol=1e-4)


def test_office31_dslr_fc7_and_one_domain_import(root, tmp_path):
    X, y = read_fc7_domain(root / "office31/dslr_dslr_fc7.mat", n_classes=31)
    assert X.shape == (498, 4096) and X.min() >= 0 and set(np.unique(y)) == set(range(31))
    import_mat_features(tmp_path, "office31", {"dslr": root / "office31/dslr_dslr_fc7.mat"},
                        expected_sha256={"dslr": REAL_FILES["office31/dslr_dslr_fc7.mat"]})
    cd = read_cache(tmp_path, "office31")
    assert cd.task_names == ["dslr"] and np.array_equal(cd.arrays[0][0], X) and np.array_equal(cd.arrays[0][1], y)
    with pytest.raises(FileNotFoundError, match=r"missing \['amazon', 'webcam'\]"):
        load_dataset("office31", root=tmp_path)
    # The shared root has only DSLR: real Office-31 is "missing"; the message says what is there.
    with pytest.raises(FileNotFoundError, match="import_mat_features.py office31"):
        load_dataset("office31", root=root)
    with pytest.warns(SyntheticDataWarning):
        s = load_dataset("office31", root=root, allow_synthetic=True, max_train_per_task=30)
    assert s.is_synthetic and s.train_sizes == [30, 30, 30]


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_corrupted_real_file_is_refused(root, tmp_path, damage):
    (tmp_path / "sarcos").mkdir()
    dst = tmp_path / "sarcos" / "sarcos_inv_test.mat"
    data = bytearray((root / "sarcos/sarcos_inv_test.mat").read_bytes())
    if damage == "flip":
        data[5000] ^= 0x01
    else:
        data = data[:-1000]
    dst.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="sarcos_inv_test.mat") as e:
        load_dataset("sarcos", root=tmp_path, allow_synthetic=True)  # corruption is never papered over
    assert "python data_scripts/download.py sarcos" in str(e.value)


# ------------------------------------------------- a DMTL + BMTL model learns the real data
class _DMTL(nn.Module):
    """Hard sharing: one shared hidden layer, one linear head per task (SPEC 2.1)."""

    def __init__(self, d, m, out, hidden=64):
        super().__init__()
        self.shared = nn.Sequential(nn.Linear(d, hidden), nn.ReLU())
        self.heads = nn.ModuleList(nn.Linear(hidden, out) for _ in range(m))

    def forward(self, x, t):
        return self.heads[t](self.shared(x))


@pytest.fixture
def one_thread():
    """Small nets train faster on one thread than on an oversubscribed CI machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _train_bmtl(data, loss_fn, epochs, T=50.0, lr=0.01, batch=128):
    torch.manual_seed(0)
    model = _DMTL(data.in_dim, data.n_tasks, data.out_dim)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        perms = [torch.randperm(len(y), generator=g) for _, y in data.train]
        for i in range(0, max(len(p) for p in perms), batch):
            losses = []
            for t, (X, y) in enumerate(data.train):
                idx = perms[t][i % len(perms[t]):][:batch]
                losses.append(loss_fn(model(X[idx], t), y[idx]))
            objective = torch.exp(torch.stack(losses) / T).sum()  # BMTL: sum_i exp(L_i / T)
            opt.zero_grad()
            objective.backward()
            opt.step()
    return model


def test_dmtl_bmtl_learns_real_sarcos(root, one_thread):
    d = load_dataset("sarcos", root=root, proportion=0.7, seed=0)
    model = _train_bmtl(d, lambda out, y: F.mse_loss(out.squeeze(1), y), epochs=10)
    with torch.no_grad():
        mse = [F.mse_loss(model(X, t).squeeze(1), y).item() for t, (X, y) in enumerate(d.test)]
        # trivial baseline: predict the training mean (0 after standardisation)
        base = [float((y ** 2).mean()) for _, y in d.test]
    assert np.mean(mse) < 0.3 * np.mean(base), (mse, base)


def test_dmtl_bmtl_learns_office_caltech10(root, one_thread):
    d = load_dataset("office_caltech10", root=root, proportion=0.7, seed=0)
    model = _train_bmtl(d, F.cross_entropy, epochs=15, lr=0.003)
    with torch.no_grad():
        acc = [(model(X, t).argmax(1) == y).float().mean().item() for t, (X, y) in enumerate(d.test)]
    majority = [torch.bincount(y).max().item() / len(y) for _, y in d.test]  # trivial baseline
    assert np.mean(acc) > np.mean(majority) + 0.2, (acc, majority)
