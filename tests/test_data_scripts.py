"""End-to-end tests of data_scripts/ (offline: local files, a localhost server, random weights)."""
from __future__ import annotations

import functools
import http.server
import importlib
import os
import socket
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from bmtl_edu.data.cache import read_cache
from bmtl_edu.data.loaders import load_dataset

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "data_scripts"
sys.path.insert(0, str(SCRIPTS))
download = importlib.import_module("download")
extract_features = importlib.import_module("extract_features")
prepare_sarcos = importlib.import_module("prepare_sarcos")
import_mat = importlib.import_module("import_mat_features")


def test_every_script_has_help():
    out = subprocess.run([sys.executable, str(SCRIPTS / "download.py"), "--help"], capture_output=True,
                         text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0 and "--archive" in out.stdout
    for mod in (extract_features, prepare_sarcos, import_mat):
        with pytest.raises(SystemExit) as e:
            mod.main(["--help"])
        assert e.value.code == 0


def _images(tmp_path: Path) -> Path:
    from PIL import Image
    rng = np.random.default_rng(0)
    for c in ("cat", "dog"):
        (tmp_path / "imgs" / "dom" / c).mkdir(parents=True)
        for i in range(3):
            arr = rng.integers(0, 255, (40 + 9 * i, 50, 3), dtype=np.uint8)
            Image.fromarray(arr).save(tmp_path / "imgs" / "dom" / c / f"{i}.{'png' if i else 'jpg'}")
    return tmp_path / "imgs"


def test_extraction_pipeline_random_weights(tmp_path, capsys):
    imgs, root = _images(tmp_path), tmp_path / "root"
    args = ["tiny", "--images", str(imgs), "--root", str(root), "--weights", "none", "--device", "cpu",
            "--batch-size", "4", "--crop-size", "64"]
    assert extract_features.main(args) == 0
    cd = read_cache(root, "tiny")
    X, y = cd.arrays[0]
    assert cd.task_names == ["dom"] and X.shape == (6, 4096) and X.dtype == np.float32
    assert X.min() >= 0 and (X > 0).any() and np.array_equal(y, [0, 0, 0, 1, 1, 1])
    assert cd.provenance["classes"] == ["cat", "dog"] and "random init" in cd.provenance["weights"]
    assert not (root / "cache" / "_partial_tiny_dom").exists()
    # deterministic: a second run (seeded init, sorted order) gives the same features
    assert extract_features.main(args) == 0
    assert np.array_equal(read_cache(root, "tiny").arrays[0][0], X)


def test_extraction_resumes_finished_domains(tmp_path, capsys, monkeypatch):
    from bmtl_edu.data.cache import write_cache
    imgs, root = _images(tmp_path), tmp_path / "root"
    settings = {"weights": "none", "seed": 0, "crop": 64, "classes": ["cat", "dog"]}
    fake = np.full((6, 4096), 7.0, np.float32)
    write_cache(root, "_partial_tiny_dom", ["dom"], [(fake, np.array([0, 0, 0, 1, 1, 1]))], n_classes=2,
                provenance={"settings": settings, "n_images": 6})
    monkeypatch.setattr(extract_features, "build_fc7", lambda *a: pytest.fail("the model must not be built"))
    assert extract_features.main(["tiny", "--images", str(imgs), "--root", str(root), "--weights", "none",
                                  "--crop-size", "64"]) == 0
    assert "reusing" in capsys.readouterr().out
    assert np.array_equal(read_cache(root, "tiny").arrays[0][0], fake)


def test_extraction_reports_missing_domains(tmp_path, capsys):
    (tmp_path / "images" / "office31" / "amazon" / "c").mkdir(parents=True)
    with pytest.raises(SystemExit) as e:
        extract_features.main(["office31", "--root", str(tmp_path), "--weights", "none"])
    assert e.value.code == 2 and "['dslr', 'webcam']" in capsys.readouterr().err


# ------------------------------------------------------------- download (localhost only)
@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_download_verifies_and_resumes(server, tmp_path):
    import hashlib
    served, url = server
    payload = os.urandom(200_000)
    (served / "f.bin").write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    dest = tmp_path / "out" / "f.bin"
    dest.parent.mkdir()
    dest.with_name("f.bin.part").write_bytes(b"garbage!")  # a stale partial download
    status = download.fetch(f"{url}/f.bin", dest, digest, len(payload), 10, "PAGE")
    assert dest.read_bytes() == payload and "verified" in status
    assert "already present" in download.fetch(f"{url}/f.bin", dest, digest, len(payload), 10, "PAGE")
    with pytest.raises(RuntimeError, match="sha256.*PAGE"):
        download.fetch(f"{url}/f.bin", tmp_path / "out" / "g.bin", "0" * 64, None, 10, "PAGE")
    assert not (tmp_path / "out" / "g.bin").exists() and not (tmp_path / "out" / "g.bin.part").exists()
    with pytest.raises(RuntimeError, match="HTTP 404.*by hand from PAGE"):
        download.fetch(f"{url}/absent.bin", tmp_path / "out" / "h.bin", None, None, 10, "PAGE")


def test_download_unreachable_source_is_explained(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    with pytest.raises(RuntimeError, match="cannot reach.*by hand"):
        download.fetch(f"http://127.0.0.1:{port}/x", tmp_path / "x", None, None, 5, "PAGE")


def test_download_manual_step_and_archive(tmp_path, capsys):
    assert download.main(["office31", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "MANUAL STEP" in err and "--archive" in err
    src = tmp_path / "src" / "domain_adaptation_images" / "amazon" / "images" / "cup"
    src.mkdir(parents=True)
    (src / "a.jpg").write_bytes(b"x")
    with tarfile.open(tmp_path / "a.tar.gz", "w:gz") as t:
        t.add(tmp_path / "src" / "domain_adaptation_images", arcname="domain_adaptation_images")
    assert download.main(["office31", "--root", str(tmp_path), "--archive", str(tmp_path / "a.tar.gz")]) == 0
    assert (tmp_path / "images" / "office31" / "domain_adaptation_images" / "amazon" / "images" / "cup"
            / "a.jpg").is_file()
    with pytest.raises(SystemExit):
        download.main(["cifar10"])


# ------------------------------------------------------------- .mat import and SARCOS preparation
def test_import_mat_script(tmp_path, capsys):
    import scipy.io
    X = np.random.default_rng(0).random((31, 4096)).astype(np.float32)
    scipy.io.savemat(tmp_path / "w.mat", {"fts": X, "labels": np.arange(1, 32)[:, None]})
    with pytest.raises(SystemExit) as e:
        import_mat.main(["office31", "--root", str(tmp_path), "--file", f"webcam={tmp_path / 'w.mat'}"])
    assert e.value.code == 2 and "--allow-partial" in capsys.readouterr().err
    assert import_mat.main(["office31", "--root", str(tmp_path), "--data-dir", str(tmp_path / "none"),
                            "--file", f"webcam={tmp_path / 'w.mat'}", "--allow-partial"]) == 0
    cd = read_cache(tmp_path, "office31")
    assert cd.task_names == ["webcam"] and np.array_equal(cd.arrays[0][1], np.arange(31))


def _real_sarcos() -> Path:
    env = os.environ.get("BMTL_DATA", "").strip()
    f = Path(env) / "sarcos" / "sarcos_inv_test.mat" if env else None
    if f is None or not f.is_file():
        if os.environ.get("BMTL_REQUIRE_REAL_DATA") == "1":
            pytest.fail("BMTL_REQUIRE_REAL_DATA=1 but BMTL_DATA has no sarcos/sarcos_inv_test.mat")
        pytest.skip("BMTL_DATA with sarcos/sarcos_inv_test.mat not available (set BMTL_DATA=../shared/data)")
    return f


def test_prepare_sarcos_matches_direct_load(tmp_path, capsys):
    real = _real_sarcos()
    (tmp_path / "sarcos").mkdir()
    (tmp_path / "sarcos" / real.name).symlink_to(real)
    assert prepare_sarcos.main(["--root", str(tmp_path)]) == 0
    assert "test file" in capsys.readouterr().out
    cached = load_dataset("sarcos", root=tmp_path, seed=3)
    direct = load_dataset("sarcos", root=real.parents[1], seed=3)
    assert "cache_manifest" in cached.provenance and cached.provenance["paper_file"] is False
    assert len(cached.provenance["rows"]) == 2000
    for a, b in zip(cached.train + cached.test, direct.train + direct.test):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    with pytest.raises(SystemExit):
        prepare_sarcos.main(["--root", str(tmp_path), "--source", "train"])  # paper file absent offline
