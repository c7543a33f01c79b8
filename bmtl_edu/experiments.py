"""Grids of training runs -> one JSON record per run, append-only, atomic and resumable.

A replication of the paper's Figures 1-5 (Liang & Zhang 2020, Sec. 4) is a grid
``dataset x model x balancer x training proportion x seed``. :func:`make_grid` builds it
from a :class:`~bmtl_edu.profiles.Profile`, :func:`run_grid` runs it and stores one record
per finished run as one line of a JSON-lines file.

Guarantees of :func:`run_grid`:

* **Append-only, one atomic write per record.** Only the calling (parent) process writes.
  Each record is serialised to a single line and written with one ``os.write`` on an
  ``O_APPEND`` descriptor, then ``fsync``-ed: a run killed at any moment leaves every
  finished record intact and at worst one truncated last line.
* **Resumable.** Each run is keyed by :meth:`RunSpec.key` (sha256 of its canonical JSON);
  re-running the same grid skips keys already in the file.
* **A truncated last line is reported, not fatal.** It is dropped by rewriting the file's
  complete lines atomically (temporary file + ``os.replace``), with a warning, and its run
  is simply done again.
* **One writer per file.** An advisory lock (``<file>.lock``) stops two grids on one
  machine from appending to the same file at once.

Executors
---------
Runs go through any executor that offers ``submit`` (``concurrent.futures`` style) or
``imap_unordered`` / ``map`` (``multiprocessing.Pool`` style). The default is a
``ProcessPoolExecutor(max_workers=min(2, os.cpu_count()))`` with the ``spawn`` start method
(safe with CUDA and with torch's thread pools) and ``torch.set_num_threads(1)`` in each
worker; ``executor="serial"`` runs in-process (debugging, notebooks, tests).

Spreading a full grid over several machines uses an existing engine; nothing here is
cluster code, because the workers only compute and the parent alone writes:

* Dask::

      from dask.distributed import Client
      client = Client("tcp://scheduler:8786")        # workers need bmtl_edu and BMTL_DATA
      run_grid(specs, "results/office31.jsonl", executor=client.get_executor())

* Ray::

      import ray
      from ray.util.multiprocessing import Pool
      ray.init(address="auto")
      run_grid(specs, "results/office31.jsonl", executor=Pool())

* Without an engine, shard the grid (``specs[i::n]`` on machine ``i``, each writing its own
  file) and point :func:`bmtl_edu.summary.load_records` at the folder of files.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import platform
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

REPORTS = ("final", "best_epoch")
SERIAL = "serial"
# The paper (Sec. 4.1): "the MGDA method is only applicable to the DMTL method".
MGDA_MODELS = ("dmtl",)


def _freeze_kwargs(kwargs: Any, what: str) -> tuple[tuple[str, Any], ...]:
    """Turn a mapping into a sorted tuple of pairs, so a frozen RunSpec stays hashable."""
    if kwargs is None:
        return ()
    if isinstance(kwargs, Mapping):
        items = list(kwargs.items())
    else:
        try:
            items = [tuple(p) for p in kwargs]
        except TypeError:
            raise ValueError(f"{what} must be a mapping of name -> value, got {type(kwargs).__name__}")
        if any(len(p) != 2 for p in items):
            raise ValueError(f"{what} must be a mapping or (name, value) pairs, got {kwargs!r}")
    out = []
    for k, v in items:
        if not isinstance(k, str):
            raise ValueError(f"{what}: keys must be strings, got {k!r}")
        if isinstance(v, list):
            v = tuple(v)
        try:
            json.dumps(v)
        except (TypeError, ValueError):
            raise ValueError(f"{what}[{k!r}] = {v!r} is not JSON-serialisable; "
                             "a run spec must be stored as JSON")
        out.append((k, v))
    return tuple(sorted(out))


@dataclass(frozen=True)
class RunSpec:
    """Everything that decides one training run (and nothing that does not).

    Attributes:
        dataset, model, balancer: registry names (``bmtl_edu.data.DATASETS``,
            ``bmtl_edu.models.MODELS``, ``bmtl_edu.balancers.BALANCERS``).
        proportion: training proportion of each task's data, in (0, 1) (paper: 0.5/0.6/0.7).
        seed: split, initialisation and mini-batch order.
        epochs: training epochs.
        hidden: width of the shared hidden layer (paper: 600).
        max_train_per_task: cap on training samples per task (``None``: all).
        balancer_kwargs, model_kwargs: extra constructor arguments (a mapping is accepted
            and stored as a sorted tuple of pairs), e.g. ``{"T": 50}`` for BMTL.
        lr: initial Adam learning rate eta_0 (paper: 0.02, decayed as eta_0/(1+p)).
        batch_size: mini-batch size per task (paper: 32).
        report: ``"final"`` (the last epoch's test metric, the package default) or
            ``"best_epoch"`` (the best epoch's, as the authors' lab code reports; SPEC Sec. 5).
        allow_synthetic: let the loader return a synthetic stand-in when real files are absent.
        device: where to train (``None``: the trainer's choice). Not part of :meth:`key`:
            the same run on another device is the same experiment, and the record says
            which device it ran on.
    """

    dataset: str
    model: str
    balancer: str
    proportion: float
    seed: int
    epochs: int
    hidden: int = 600
    max_train_per_task: int | None = None
    balancer_kwargs: tuple[tuple[str, Any], ...] = ()
    model_kwargs: tuple[tuple[str, Any], ...] = ()
    lr: float = 0.02
    batch_size: int = 32
    report: str = "final"
    allow_synthetic: bool = False
    device: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("dataset", "model", "balancer"):
            v = getattr(self, name)
            if not isinstance(v, str) or not v:
                raise ValueError(f"RunSpec.{name} must be a non-empty string, got {v!r}")
        p = self.proportion
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not (0.0 < float(p) < 1.0):
            raise ValueError(f"RunSpec.proportion must be in (0, 1), got {p!r}")
        object.__setattr__(self, "proportion", float(p))
        for name, lo in (("seed", 0), ("epochs", 1), ("hidden", 1), ("batch_size", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"RunSpec.{name} must be an integer >= {lo}, got {v!r}")
        m = self.max_train_per_task
        if m is not None and (isinstance(m, bool) or not isinstance(m, int) or m < 1):
            raise ValueError(f"RunSpec.max_train_per_task must be None or an integer >= 1, got {m!r}")
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) \
                or not math.isfinite(self.lr) or self.lr <= 0:
            raise ValueError(f"RunSpec.lr must be a positive finite number, got {self.lr!r}")
        object.__setattr__(self, "lr", float(self.lr))
        if self.report not in REPORTS:
            raise ValueError(f"RunSpec.report must be one of {REPORTS}, got {self.report!r}")
        if not isinstance(self.allow_synthetic, bool):
            raise ValueError(f"RunSpec.allow_synthetic must be a bool, got {self.allow_synthetic!r}")
        object.__setattr__(self, "balancer_kwargs",
                           _freeze_kwargs(self.balancer_kwargs, "RunSpec.balancer_kwargs"))
        object.__setattr__(self, "model_kwargs",
                           _freeze_kwargs(self.model_kwargs, "RunSpec.model_kwargs"))

    def to_dict(self) -> dict:
        """Plain JSON-ready dict; kwargs come back as dicts."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["balancer_kwargs"] = dict(self.balancer_kwargs)
        d["model_kwargs"] = dict(self.model_kwargs)
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> "RunSpec":
        """Inverse of :meth:`to_dict` (unknown keys raise, naming them)."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown RunSpec fields {unknown}; valid fields: {sorted(names)}")
        return cls(**dict(d))

    def canonical_json(self) -> str:
        """The identity of the run: sorted keys, no whitespace, ``device`` left out."""
        d = self.to_dict()
        d.pop("device")
        return json.dumps(d, sort_keys=True, separators=(",", ":"))

    def key(self) -> str:
        """sha256 hex digest of :meth:`canonical_json`: the resume key of the run."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


def _registry_names(module: str, attr: str, fallback: Sequence[str]) -> tuple[str, ...]:
    """Registered names if the registry module imports, else the profile's list."""
    try:
        mod = __import__(module, fromlist=[attr])
        return tuple(getattr(mod, attr))
    except (ImportError, AttributeError):
        return tuple(fallback)


def make_grid(dataset: str, profile: Any = None, models: Sequence[str] | None = None,
              balancers: Sequence[str] | None = None, proportions: Sequence[float] | None = None,
              seeds: Sequence[int] | None = None, epochs: int | None = None, *,
              report: str = "final", allow_synthetic: bool = False, lr: float = 0.02,
              batch_size: int = 32, hidden: int | None = None,
              max_train_per_task: Any = "profile",
              balancer_kwargs: Mapping[str, Mapping] | None = None,
              model_kwargs: Mapping[str, Mapping] | None = None,
              mgda_models: Sequence[str] | None = None,
              device: str | None = None) -> list[RunSpec]:
    """The replication grid of one dataset, sized by a profile.

    Args:
        dataset: dataset registry name (e.g. ``"office31"``).
        profile: a ``Profile``, a profile name, or ``None`` (``BMTL_PROFILE``).
        models, balancers, proportions, seeds, epochs, hidden: override the profile's
            ``grid_models``, ``grid_balancers``, ``proportions``, ``seeds``, ``epochs``, ``hidden``.
        max_train_per_task: ``"profile"`` (default) takes the profile's cap; ``None`` or an int overrides.
        balancer_kwargs / model_kwargs: per-name extra arguments, e.g. ``{"bmtl": {"T": 50}}``.
        mgda_models: models MGDA is paired with; ``None`` (default): every model, since every
            model here exposes ``shared_parameters()``. The paper could run MGDA on DMTL only
            (Sec. 4.1): pass ``MGDA_MODELS`` to reproduce that restriction.
        report, allow_synthetic, lr, batch_size, device: copied into every :class:`RunSpec`.

    Returns:
        RunSpecs ordered model, balancer, proportion, seed (a grid killed half-way has
        finished whole (model, balancer) cells first).

    Raises:
        KeyError: an unknown model or balancer name (listing the valid ones).
        ValueError: an empty axis or a bad size.
    """
    from bmtl_edu.profiles import ALL_BALANCERS, ALL_MODELS, Profile, get_profile

    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    models = tuple(prof.grid_models if models is None else models)
    balancers = tuple(prof.grid_balancers if balancers is None else balancers)
    proportions = tuple(prof.proportions if proportions is None else proportions)
    seeds = tuple(prof.seeds if seeds is None else seeds)
    epochs = prof.epochs if epochs is None else epochs
    hidden = prof.hidden if hidden is None else hidden
    cap = prof.max_train_per_task if max_train_per_task == "profile" else max_train_per_task
    for axis, vals in (("models", models), ("balancers", balancers),
                       ("proportions", proportions), ("seeds", seeds)):
        if len(vals) == 0:
            raise ValueError(f"make_grid: {axis} is empty")
    valid_models = _registry_names("bmtl_edu.models", "MODELS", ALL_MODELS)
    valid_bal = _registry_names("bmtl_edu.balancers", "BALANCERS", ALL_BALANCERS)
    for kind, names, valid in (("model", models, valid_models), ("balancer", balancers, valid_bal)):
        bad = [n for n in names if n not in valid]
        if bad:
            raise KeyError(f"unknown {kind} name(s) {bad}; valid: {', '.join(sorted(valid))}")
    balancer_kwargs = dict(balancer_kwargs or {})
    model_kwargs = dict(model_kwargs or {})
    specs = []
    for model in models:
        for bal in balancers:
            if bal == "mgda" and mgda_models is not None and model not in mgda_models:
                continue
            for p in proportions:
                for s in seeds:
                    specs.append(RunSpec(
                        dataset=dataset, model=model, balancer=bal, proportion=p, seed=s,
                        epochs=epochs, hidden=hidden, max_train_per_task=cap,
                        balancer_kwargs=balancer_kwargs.get(bal), model_kwargs=model_kwargs.get(model),
                        lr=lr, batch_size=batch_size, report=report,
                        allow_synthetic=allow_synthetic, device=device))
    return specs


# ----------------------------------------------------------------------------- one run

def _package_version() -> str:
    try:
        from bmtl_edu import __version__
        return str(__version__)
    except ImportError:
        return "unknown"


def run_metadata() -> dict:
    """Where and with what a record was produced (merged into every record)."""
    try:
        import torch
        torch_version = torch.__version__
    except ImportError:
        torch_version = None
    return {"version": _package_version(), "hostname": platform.node(),
            "torch_version": torch_version, "python_version": platform.python_version(),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def _best_epoch(per_epoch_means: Sequence[float], metric: str) -> int:
    """Index of the best epoch: highest accuracy, lowest error; NaN epochs never win."""
    best, best_i = None, len(per_epoch_means) - 1
    for i, v in enumerate(per_epoch_means):
        if v is None or not math.isfinite(v):
            continue
        if best is None or (v > best if metric == "accuracy" else v < best):
            best, best_i = v, i
    return best_i


def record_from_history(spec: RunSpec, hist: Mapping, *, is_synthetic: bool,
                        wall_time: float, device: str, task_names: Sequence[str] | None = None,
                        provenance: Mapping | None = None) -> dict:
    """Assemble a result record from a ``History.to_dict()``.

    Record fields: ``key, spec`` and flat copies ``dataset, model, balancer, proportion, seed``;
    ``metric`` ("accuracy" | "mse"), ``report``, ``value`` (task-mean metric at the reported
    epoch), ``per_task`` (m,), ``epoch`` (0-based epoch reported), ``final_value``,
    ``best_value``, ``best_epoch``; ``history`` (epochs, train_loss (E, m), weights (E, m),
    test_metric (E, m), ...); ``is_synthetic, wall_time, device, version, hostname,
    torch_version, python_version, finished_at``.
    """
    test = [list(map(float, row)) for row in hist["test_metric"]]
    if not test:
        raise ValueError("history has no epochs (test_metric is empty)")
    metric = hist.get("metric", "accuracy")
    means = [sum(r) / len(r) for r in test]
    best = _best_epoch(means, metric)
    at = best if spec.report == "best_epoch" else len(test) - 1
    # test_metric may be evaluated every k epochs: report epoch numbers, not row indices
    eval_epochs = list(hist.get("eval_epochs") or range(len(test)))
    if len(eval_epochs) != len(test):
        raise ValueError(f"history has {len(test)} test_metric rows but {len(eval_epochs)} eval_epochs")
    rec = {
        "key": spec.key(), "spec": spec.to_dict(),
        "dataset": spec.dataset, "model": spec.model, "balancer": spec.balancer,
        "proportion": spec.proportion, "seed": spec.seed,
        "metric": metric, "report": spec.report, "value": means[at], "per_task": test[at],
        "epoch": eval_epochs[at], "final_value": means[-1], "best_value": means[best],
        "best_epoch": eval_epochs[best],
        "task_names": list(task_names) if task_names is not None else None,
        "history": dict(hist), "is_synthetic": bool(is_synthetic),
        "provenance": dict(provenance) if provenance else None,
        "wall_time": float(wall_time), "device": str(device),
    }
    rec.update(run_metadata())
    return rec


def run_one(spec: RunSpec) -> dict:
    """Train one (dataset, model, balancer, proportion, seed) and return its record.

    Top-level and picklable, so any executor can ship it. The model is initialised from
    ``torch.manual_seed(spec.seed)`` inside a forked RNG, so a serial grid does not disturb
    the caller's random state.
    """
    import torch

    from bmtl_edu.balancers import make_balancer
    from bmtl_edu.data import load_dataset
    from bmtl_edu.models import make_model
    from bmtl_edu.train import fit

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        if spec.allow_synthetic:
            # asked for, and stamped on the record as is_synthetic: one warning per run of a
            # grid would bury everything else on the console
            try:
                from bmtl_edu.data import SyntheticDataWarning
                warnings.simplefilter("ignore", SyntheticDataWarning)
            except ImportError:
                pass
        data = load_dataset(spec.dataset, proportion=spec.proportion, seed=spec.seed,
                            allow_synthetic=spec.allow_synthetic,
                            max_train_per_task=spec.max_train_per_task)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        model = make_model(spec.model, in_dim=data.in_dim, n_tasks=data.n_tasks,
                           out_dim=data.out_dim, hidden=spec.hidden, **dict(spec.model_kwargs))
        balancer = make_balancer(spec.balancer, **dict(spec.balancer_kwargs))
        history = fit(model, balancer, data, epochs=spec.epochs, lr=spec.lr,
                      batch_size=spec.batch_size, seed=spec.seed, device=spec.device,
                      progress=False)
    try:
        device = str(next(model.parameters()).device)
    except StopIteration:
        device = str(spec.device or "cpu")
    return record_from_history(
        spec, history.to_dict(), is_synthetic=bool(getattr(data, "is_synthetic", False)),
        wall_time=time.perf_counter() - t0, device=device,
        task_names=getattr(data, "task_names", None),
        provenance=getattr(data, "provenance", None))


# ----------------------------------------------------------------------------- the file

def _json_line(record: Mapping) -> bytes:
    line = json.dumps(record, separators=(",", ":"), sort_keys=True)
    if "\n" in line:  # json.dumps escapes newlines in strings; this guards the invariant
        raise ValueError("a record serialised to more than one line")
    return (line + "\n").encode("utf-8")


def append_record(fd: int, record: Mapping) -> None:
    """Write one record as one line with one ``os.write`` on an ``O_APPEND`` fd, then fsync."""
    data = _json_line(record)
    n = os.write(fd, data)
    if n != len(data):  # never seen on a local file; a short write would leave a torn line
        raise OSError(f"short write: {n} of {len(data)} bytes; the file now ends in a truncated "
                      "line, which the next run_grid will repair")
    os.fsync(fd)


def read_jsonl(path: str | os.PathLike) -> tuple[list[dict], dict]:
    """Parse a results file without changing it.

    Returns:
        ``(records, info)`` where ``info`` has ``truncated_tail`` (bytes of an unfinished last
        line, 0 if none), ``good_bytes`` (length of the complete-line prefix) and
        ``bad_lines`` (1-based numbers of complete lines that are not JSON objects).
    """
    path = Path(path)
    raw = path.read_bytes() if path.exists() else b""
    info = {"truncated_tail": 0, "good_bytes": len(raw), "bad_lines": []}
    end = raw.rfind(b"\n") + 1
    if end < len(raw):
        # No newline after the last line: the single write of that record never finished.
        info["truncated_tail"] = len(raw) - end
        info["good_bytes"] = end
    records = []
    for i, line in enumerate(raw[:end].split(b"\n")[:-1], start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            info["bad_lines"].append(i)
            continue
        if not isinstance(rec, dict):
            info["bad_lines"].append(i)
            continue
        records.append(rec)
    return records, info


def _atomic_rewrite(path: Path, content: bytes) -> None:
    """Replace ``path`` by ``content`` so that a crash leaves either the old or the new file."""
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def load_results(path: str | os.PathLike, *, repair: bool = False) -> list[dict]:
    """Records of a results file; warn about a truncated last line (and drop it if ``repair``).

    Lines that are complete but not valid JSON are skipped with a warning and left in place
    (they are not ours to delete).
    """
    path = Path(path)
    records, info = read_jsonl(path)
    if info["bad_lines"]:
        warnings.warn(f"{path}: skipped {len(info['bad_lines'])} corrupt line(s) "
                      f"(line numbers {info['bad_lines'][:10]})", RuntimeWarning, stacklevel=2)
    if info["truncated_tail"]:
        what = "removed it" if repair else "ignored it"
        warnings.warn(f"{path}: the last line is truncated ({info['truncated_tail']} bytes, "
                      f"an interrupted write); {what}, its run counts as not done",
                      RuntimeWarning, stacklevel=2)
        if repair:
            _atomic_rewrite(path, path.read_bytes()[:info["good_bytes"]])
    return records


class _FileLock:
    """Advisory exclusive lock on ``<path>.lock`` (POSIX; a no-op elsewhere).

    A second grid writing the same file (e.g. the book build and a notebook test running
    one chapter at once) waits for the first, then finds its runs finished and skips them.
    """

    def __init__(self, path: Path):
        self.path = path.with_name(path.name + ".lock")
        self.fd: int | None = None

    def __enter__(self) -> "_FileLock":
        try:
            import fcntl
        except ImportError:
            return self
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            warnings.warn(f"another run_grid is writing to {self.path.with_suffix('')}; "
                          "waiting for it to finish", stacklevel=3)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing releases the flock


# ----------------------------------------------------------------------------- execution

class GridError(RuntimeError):
    """Some runs of a grid failed; every finished run was stored. ``failures``: (spec, traceback)."""

    def __init__(self, failures: list[tuple[RunSpec, str]]):
        self.failures = failures
        first = failures[0]
        super().__init__(
            f"{len(failures)} run(s) failed (finished runs are saved; re-run to retry). "
            f"First: {first[0].model}/{first[0].balancer}/p={first[0].proportion}/seed={first[0].seed}:\n"
            f"{first[1]}")


def _guarded(run_fn: Callable[[RunSpec], dict], spec: RunSpec) -> tuple[str, RunSpec, Any]:
    """Run in a worker; exceptions come back as text so one bad run never stops the grid."""
    try:
        return "ok", spec, run_fn(spec)
    except Exception:
        return "error", spec, traceback.format_exc()


def _init_worker() -> None:
    # Two processes each running torch's default thread pool on 2 cores oversubscribe them.
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass


def default_executor(max_workers: int | None = None):
    """``ProcessPoolExecutor`` (spawn, torch 1 thread per worker), ``min(2, cpus)`` workers."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    n = max_workers if max_workers is not None else min(2, os.cpu_count() or 1)
    if n < 1:
        raise ValueError(f"max_workers must be >= 1, got {n}")
    return ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker)


def _results(executor: Any, fn: Callable, specs: list[RunSpec]) -> Iterable:
    """Yield results as they finish, whatever the executor's flavour."""
    if executor == SERIAL:
        for s in specs:
            yield fn(s)
    elif hasattr(executor, "submit"):
        from concurrent.futures import as_completed
        futures = [executor.submit(fn, s) for s in specs]
        try:
            for fut in as_completed(futures):
                yield fut.result()
        finally:  # interrupted: do not start the queued runs
            for fut in futures:
                fut.cancel()
    elif hasattr(executor, "imap_unordered"):
        yield from executor.imap_unordered(fn, specs)
    elif hasattr(executor, "map"):
        yield from executor.map(fn, specs)
    else:
        raise ValueError("executor must be 'serial', None, or have submit / imap_unordered / map; "
                         f"got {type(executor).__name__}")


def run_grid(specs: Sequence[RunSpec], out_path: str | os.PathLike, executor: Any = None,
             progress: bool = True, *, run_fn: Callable[[RunSpec], dict] = run_one,
             max_workers: int | None = None, on_error: str = "raise") -> list[dict]:
    """Run every spec not yet in ``out_path`` and append its record there.

    Args:
        specs: the grid (duplicate specs are run once).
        out_path: JSON-lines file (created with its folder if missing).
        executor: ``None`` (a default process pool, shut down afterwards), ``"serial"``, or any
            executor with ``submit`` or ``imap_unordered``/``map`` (left open: it is yours).
        progress: a tqdm bar over the whole grid (finished runs count as done).
        run_fn: the per-run function, ``RunSpec -> record dict``; must be picklable for
            process executors. Tests inject a fake one.
        max_workers: size of the default pool.
        on_error: ``"raise"`` a :class:`GridError` after the grid if any run failed, or
            ``"warn"``. Either way the other runs finish and are stored.

    Returns:
        The records of ``specs`` (found or new), in the order of ``specs``.
    """
    if on_error not in ("raise", "warn"):
        raise ValueError(f"on_error must be 'raise' or 'warn', got {on_error!r}")
    specs = list(specs)
    bad = [s for s in specs if not isinstance(s, RunSpec)]
    if bad:
        raise ValueError(f"run_grid needs RunSpec items, got {type(bad[0]).__name__}")
    unique: dict[str, RunSpec] = {}
    for s in specs:
        unique.setdefault(s.key(), s)
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)

    with _FileLock(path):
        done = {}
        for rec in load_results(path, repair=True):
            if isinstance(rec.get("key"), str):
                done.setdefault(rec["key"], rec)
        todo = [s for k, s in unique.items() if k not in done]

        from tqdm.auto import tqdm
        bar = tqdm(total=len(unique), initial=len(unique) - len(todo), disable=not progress,
                   desc=f"grid {path.name}", unit="run")
        failures: list[tuple[RunSpec, str]] = []
        own_pool = None
        if todo:
            if executor is None:
                executor = own_pool = default_executor(max_workers)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                for status, spec, payload in _results(executor, functools.partial(_guarded, run_fn), todo):
                    if status == "ok":
                        rec = dict(payload)
                        rec["key"] = spec.key()  # the resume key is ours, whatever run_fn returns
                        append_record(fd, rec)
                        done[rec["key"]] = rec
                    else:
                        failures.append((spec, payload))
                        bar.write(f"run failed: {spec.model}/{spec.balancer}/"
                                  f"p={spec.proportion}/seed={spec.seed}")
                    bar.update(1)
            finally:
                os.close(fd)
                bar.close()
                if own_pool is not None:
                    # cancel_futures: Ctrl-C must not wait for the whole queue
                    own_pool.shutdown(wait=True, cancel_futures=True)
        else:
            bar.close()
    if failures:
        if on_error == "raise":
            raise GridError(failures)
        warnings.warn(str(GridError(failures)), RuntimeWarning, stacklevel=2)
    return [done[s.key()] for s in specs if s.key() in done]


__all__ = ["RunSpec", "make_grid", "run_one", "run_grid", "record_from_history", "read_jsonl",
           "load_results", "append_record", "default_executor", "GridError", "MGDA_MODELS",
           "REPORTS", "run_metadata"]
