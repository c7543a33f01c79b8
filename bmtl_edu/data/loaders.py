"""``load_dataset``: real data from the data root, or a marked synthetic stand-in when allowed.

Order of sources for a dataset ``name`` under the root (``root`` argument, else ``BMTL_DATA``,
else ``<repo>/data``):

1. the feature cache ``cache/<name>/`` written by ``data_scripts/`` (verified by sha256);
2. raw public files the package reads directly: SARCOS (``sarcos/sarcos_inv.mat``, the paper's
   file, else the offline ``sarcos/sarcos_inv_test.mat``) and Office-Caltech-10
   (``office_caltech10/*_SURF_L10.mat``);
3. otherwise the data are missing: ``FileNotFoundError`` naming the file and the command that
   fetches it, or, with ``allow_synthetic=True``, the shape-exact stand-in with a warning.

A file that is present but corrupted, truncated or of the wrong shape is always an error.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

from .assemble import build_multitask_data
from .cache import cache_dir, has_cache, read_cache
from .checksums import sha256_file
from .container import MultiTaskData
from .raw import check_raw_file, find_sarcos_file, read_sarcos, read_surf_domain, sample_sarcos_rows
from .registry import (OFFICE31_FC7_FILES, SARCOS_N_POINTS, SARCOS_SAMPLE_SEED, SARCOS_TRAIN, DatasetSpec,
                       get_spec)
from .splits import check_max_train, check_proportion
from .standins import make_standin_arrays

ENV_VAR = "BMTL_DATA"
# Preprocessing per dataset: SARCOS torques differ ~20x in scale and would overflow BMTL's exp
# un-standardised; SURF histograms are L1-normalised then z-scored (the usual recipe); fc7
# features are used as extracted, as in the paper.
PREPROCESS = {"sarcos": "standardize", "office_caltech10": "l1_zscore"}


class DataMissingError(FileNotFoundError):
    """The real files of a dataset are absent (not corrupted: that is a ``ChecksumError``)."""


class SyntheticDataWarning(UserWarning):
    """A synthetic stand-in replaced absent real data."""


def default_root() -> Path:
    """``BMTL_DATA`` if set, else ``<repo>/data`` (the repository holding the package)."""
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env) if env else Path(__file__).resolve().parents[2] / "data"


def load_dataset(name: str, root: str | os.PathLike | None = None, proportion: float = 0.7, seed: int = 0,
                 allow_synthetic: bool = False, max_train_per_task: int | None = None) -> MultiTaskData:
    """Load a dataset of the book, split by a training proportion.

    Args:
        name: one of ``office31, officehome, imageclef, sarcos, office_caltech10`` (the last is the
            book's real offline image problem, not used in the paper).
        root: data root; default ``BMTL_DATA``, else ``<repo>/data``.
        proportion: training share of every task (stratified per class; paper: 0.5, 0.6, 0.7).
        seed: split seed (the data themselves never depend on it).
        allow_synthetic: return the shape-exact synthetic stand-in (``is_synthetic=True``, with a
            ``SyntheticDataWarning``) when the real data are absent.
        max_train_per_task: stratified, seeded cap on training samples per task (quick profile).

    Returns:
        ``MultiTaskData``; SARCOS inputs and targets standardised with training statistics.

    Raises:
        KeyError: unknown name (lists valid names).
        ValueError: proportion outside (0, 1) or bad cap; a present file with wrong shape/content
            (``ChecksumError`` for size/digest mismatch).
        FileNotFoundError (``DataMissingError``): real data absent and ``allow_synthetic`` false;
            the message names the file and the command that fetches it.
    """
    spec = get_spec(name)
    check_proportion(proportion)
    check_max_train(max_train_per_task)
    root = Path(root) if root is not None else default_root()
    try:
        arrays, prov = _load_real(spec, root)
        synthetic = False
    except DataMissingError as e:
        if not allow_synthetic:
            raise
        warnings.warn(f"{spec.title}: real data not found under {root}; using a SYNTHETIC shape-exact "
                      f"stand-in (is_synthetic=True). To get the real data: {spec.fetch_command}",
                      SyntheticDataWarning, stacklevel=2)
        arrays, prov = make_standin_arrays(name)
        prov["missing_reason"] = str(e)
        synthetic = True
    prov.update({"dataset": name, "title": spec.title, "in_paper": spec.in_paper, "root": str(root)})
    return build_multitask_data(name, spec.task_names, arrays, n_classes=spec.n_classes, proportion=proportion,
                                seed=seed, max_train_per_task=max_train_per_task,
                                shared_inputs=spec.shared_inputs, preprocess=PREPROCESS.get(name),
                                is_synthetic=synthetic, provenance=prov)


def real_data_present(name: str, root: str | os.PathLike | None = None) -> bool:
    """Whether :func:`load_dataset` would find real files for ``name`` (presence only: cheap,
    no checksum; a present but corrupted file still makes ``load_dataset`` raise).

    Results of stand-in and real data must never be mixed up, so the experiment runner
    files them apart by this answer.
    """
    spec = get_spec(name)
    root = Path(root) if root is not None else default_root()
    if has_cache(root, spec.name):
        return True
    if spec.name == "sarcos":
        return find_sarcos_file(root) is not None
    if spec.name == "office_caltech10":
        return all((root / f.path).is_file() for f in spec.raw_files)
    return False


def _load_real(spec: DatasetSpec, root: Path):
    if has_cache(root, spec.name):
        return _from_cache(spec, root)
    if spec.name == "sarcos":
        return _sarcos_raw(spec, root)
    if spec.name == "office_caltech10":
        return _office_caltech10_raw(spec, root)
    manifest = cache_dir(root, spec.name) / "manifest.json"
    msg = f"{spec.title} features not found: {manifest} is missing. Fetch them with: {spec.fetch_command}"
    if spec.name == "office31":
        present = [f.path for f in OFFICE31_FC7_FILES if (root / f.path).is_file()]
        if present:
            msg += (f". Found only {', '.join(present)} of the three fc7 domain files; with all three "
                    f"present, `python data_scripts/import_mat_features.py office31` builds the cache "
                    f"from them")
    if spec.manual_step:
        msg += f". Manual step: {spec.manual_step}"
    raise DataMissingError(msg)


def _from_cache(spec: DatasetSpec, root: Path):
    cd = read_cache(root, spec.name, fix=spec.fetch_command)
    where = cd.manifest_path
    if cd.task_names != list(spec.task_names):
        missing = [t for t in spec.task_names if t not in cd.task_names]
        if missing:
            raise DataMissingError(f"{where} holds only tasks {cd.task_names}; {spec.title} needs "
                                   f"{list(spec.task_names)} (missing {missing}). Fetch them with: "
                                   f"{spec.fetch_command}")
        raise ValueError(f"{where}: tasks {cd.task_names} do not match {spec.title}'s {list(spec.task_names)}")
    if cd.n_classes != spec.n_classes or cd.shared_inputs != spec.shared_inputs:
        raise ValueError(f"{where}: n_classes={cd.n_classes}, shared_inputs={cd.shared_inputs}; "
                         f"{spec.title} has n_classes={spec.n_classes}, shared_inputs={spec.shared_inputs}")
    for t, ((X, y), n) in enumerate(zip(cd.arrays, spec.task_sizes)):
        if X.shape != (n, spec.in_dim):
            raise ValueError(f"{where}: task {spec.task_names[t]} has X of shape {X.shape}, "
                             f"expected {(n, spec.in_dim)}. Rebuild it with: {spec.fetch_command}")
    prov = dict(cd.provenance)
    prov.setdefault("source", f"feature cache {where}")
    prov["cache_manifest"] = str(where)
    return cd.arrays, prov


def _sarcos_raw(spec: DatasetSpec, root: Path):
    raw = find_sarcos_file(root)
    if raw is None:
        raise DataMissingError(f"SARCOS not found: neither {root / SARCOS_TRAIN.path} nor "
                               f"{root / 'sarcos/sarcos_inv_test.mat'} exists. Fetch it with: "
                               f"{spec.fetch_command}")
    path = check_raw_file(root, raw, fix="python data_scripts/download.py sarcos")
    X, Y = read_sarcos(path)
    n_file = len(X)
    rows = sample_sarcos_rows(n_file, SARCOS_N_POINTS, SARCOS_SAMPLE_SEED)
    X, Y = X[rows], Y[rows]
    paper_file = raw is SARCOS_TRAIN
    which = "training file, as in the paper" if paper_file else \
        "test file: the offline substitute for the paper's training file"
    prov = {"source": f"SARCOS {raw.path} ({which})", "kind": "real", "file": raw.path, "sha256": raw.sha256,
            "paper_file": paper_file, "rows_in_file": n_file, "sample_seed": SARCOS_SAMPLE_SEED,
            "n_points": SARCOS_N_POINTS}
    X = X.astype("float32")
    arrays = [(X, Y[:, t].astype("float32")) for t in range(Y.shape[1])]
    return arrays, prov


def _office_caltech10_raw(spec: DatasetSpec, root: Path):
    missing = [f.path for f in spec.raw_files if not (root / f.path).is_file()]
    if missing:
        raise DataMissingError(f"Office-Caltech-10 files missing under {root}: {', '.join(missing)}. "
                               f"Fetch them with: {spec.fetch_command} ({spec.manual_step})")
    arrays, files = [], {}
    for raw, task, n in zip(spec.raw_files, spec.task_names, spec.task_sizes):
        path = check_raw_file(root, raw, fix=spec.fetch_command)
        X, y = read_surf_domain(path, n_classes=spec.n_classes)
        if X.shape != (n, spec.in_dim):
            raise ValueError(f"{path}: fts has shape {X.shape}, expected {(n, spec.in_dim)}")
        arrays.append((X, y))
        files[task] = {"file": raw.path, "sha256": sha256_file(path)}
    prov = {"source": "Office-Caltech-10 SURF (GFK release); real data, not used by the paper",
            "kind": "real", "files": files}
    return arrays, prov
