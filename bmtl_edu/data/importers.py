"""Import precomputed features distributed as .mat files into the feature cache."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from .cache import write_cache
from .checksums import sha256_file, verify_sha256
from .raw import read_fc7_domain
from .registry import get_spec


def import_mat_features(root: str | os.PathLike, dataset: str, files: Mapping[str, str | os.PathLike], *,
                        expected_sha256: Mapping[str, str] | None = None, note: str = "") -> Path:
    """Write the cache of ``dataset`` from one fc7-style .mat file per domain (MAT v5 or v7.3).

    A subset of the registry's domains may be imported (e.g. DSLR alone, as offline here); the
    loader then reports the dataset incomplete, but :func:`read_cache` can read what is there.

    Args:
        root: data root.
        dataset: registry name (its spec gives classes and input dimension).
        files: task name -> .mat path, each with ``fts`` and 1-based ``labels``.
        expected_sha256: optional task name -> digest to verify first.
        note: free text kept in the provenance (e.g. "AlexNet fc7, not VGG-19").

    Returns:
        The manifest path.

    Raises:
        KeyError: unknown dataset; ValueError: unknown task name, bad shapes or labels;
        ChecksumError: a digest differs.
    """
    spec = get_spec(dataset)
    if spec.n_classes is None:
        raise ValueError(f"{dataset} is a regression dataset; .mat feature import is for image datasets")
    unknown = [t for t in files if t not in spec.task_names]
    if unknown or not files:
        raise ValueError(f"tasks {unknown or '(none)'} are not domains of {dataset}; "
                         f"valid: {', '.join(spec.task_names)}")
    names = [t for t in spec.task_names if t in files]  # keep the registry's task order
    arrays, sources = [], {}
    for t in names:
        path = Path(files[t])
        want = (expected_sha256 or {}).get(t)
        verify_sha256(path, want, fix=f"re-download {path.name}")
        arrays.append(read_fc7_domain(path, n_classes=spec.n_classes, in_dim=spec.in_dim))
        sources[t] = {"file": path.name, "sha256": sha256_file(path)}
    prov = {"source": f".mat feature import ({', '.join(names)})", "kind": "mat_import",
            "files": sources, "note": note}
    return write_cache(root, dataset, names, arrays, n_classes=spec.n_classes, provenance=prov)
