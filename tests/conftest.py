"""Shared fixtures: one torch thread, widget update timing, and the one book build that
the book and browser tests inspect.

The build (``scripts/build_book.sh``, i.e. ``jupyter-book build . --all -W --keep-going``)
executes every notebook, so it runs once per test run: under pytest-xdist the workers share it
through a lock file and the run id xdist gives all of them.
"""
from __future__ import annotations

import fcntl
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Notebook kernels (nbval) and the book build are subprocesses: make the package importable
# there too, from a fresh clone without `pip install -e .`.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
# With MPLBACKEND=Agg the kernels never switch to the inline backend and figures vanish.
os.environ.pop("MPLBACKEND", None)

BOOK_OUT = REPO / "_build" / "pytest"       # jupyter-book writes BOOK_OUT/_build/html
BUILD_TIMEOUT_S = 1800


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tiny tensors: one intra-op thread avoids OpenMP spinning on a busy 2-core CI box."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def median_update_s():
    """``f(demo, control, values)``: median seconds one slider change takes to redraw."""
    def measure(demo, control: str, values) -> float:
        times = []
        for v in values:
            start = time.perf_counter()
            demo.controls[control].value = v  # the observer redraws synchronously
            times.append(time.perf_counter() - start)
        return statistics.median(times)
    return measure


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "book: builds the whole book (minutes); deselect with -m 'not book'")


@dataclass(frozen=True)
class BookBuild:
    """Outcome of the test run's book build."""

    returncode: int
    seconds: float
    log: str
    html: Path

    def page(self, docname: str) -> Path:
        """The HTML file of a page named as in ``_toc.yml`` (e.g. ``book/bmtl``)."""
        return self.html / f"{docname}.html"


def _build_once(run_id: str) -> BookBuild:
    marker, log_file = BOOK_OUT / "run.json", BOOK_OUT / "build.log"
    BOOK_OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(BOOK_OUT.parent / "pytest-book.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # a second xdist worker waits here, then reuses
        if marker.exists() and json.loads(marker.read_text()).get("run") == run_id:
            done = json.loads(marker.read_text())
        else:
            subprocess.run(["rm", "-rf", str(BOOK_OUT)], check=True)
            BOOK_OUT.mkdir(parents=True)
            start = time.monotonic()
            with open(log_file, "w") as log:
                proc = subprocess.run(
                    ["bash", str(REPO / "scripts" / "build_book.sh"),
                     "--path-output", str(BOOK_OUT)],
                    cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                    env={**os.environ, "PYTHON": sys.executable}, timeout=BUILD_TIMEOUT_S)
            done = {"run": run_id, "returncode": proc.returncode,
                    "seconds": round(time.monotonic() - start, 1)}
            marker.write_text(json.dumps(done))
    return BookBuild(done["returncode"], done["seconds"], log_file.read_text(errors="replace"),
                     BOOK_OUT / "_build" / "html")


@pytest.fixture(scope="session")
def built_book() -> BookBuild:
    """Build the book (all notebooks executed, warnings are errors) once per test run."""
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"{os.getpid()}-{time.time_ns()}"
    return _build_once(run_id)
