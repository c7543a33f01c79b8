"""Data layer of ``bmtl_edu``: multi-task datasets, splits, synthetic problems, the feature cache.

Public names::

    MultiTaskData                      the container (container.py)
    load_dataset, default_root         real data or marked stand-ins (loaders.py)
    real_data_present                  whether the real files are there (loaders.py)
    DATASETS, DatasetSpec, get_spec    what each dataset is and where it comes from (registry.py)
    make_toy_problem                   teaching problems with difficulty knobs (toy.py)
    make_standin_arrays                shape-exact synthetic stand-ins (standins.py)
    split_by_proportion                seeded training-proportion splits (splits.py)
    write_cache, read_cache            the one writer / reader of prepared features (cache.py)
    import_mat_features, read_mat      .mat feature import (importers.py, matfiles.py)

This layer imports no ``torch.nn``.
"""
from .assemble import build_multitask_data
from .cache import CachedDataset, cache_dir, has_cache, read_cache, write_cache
from .checksums import ChecksumError, sha256_file, verify_sha256
from .container import MultiTaskData
from .importers import import_mat_features
from .loaders import (DataMissingError, SyntheticDataWarning, default_root, load_dataset,
                      real_data_present)
from .matfiles import mat_version, read_mat
from .registry import DATASETS, DatasetSpec, RawFile, get_spec
from .splits import split_by_proportion
from .standins import make_standin_arrays
from .toy import make_toy_problem

__all__ = [
    "MultiTaskData", "load_dataset", "real_data_present", "default_root", "DataMissingError", "SyntheticDataWarning",
    "DATASETS", "DatasetSpec", "RawFile", "get_spec", "make_toy_problem", "make_standin_arrays",
    "split_by_proportion", "build_multitask_data", "write_cache", "read_cache", "has_cache", "cache_dir",
    "CachedDataset", "ChecksumError", "sha256_file", "verify_sha256", "import_mat_features", "read_mat",
    "mat_version",
]
