#!/usr/bin/env python
"""Import precomputed features distributed as .mat files (MAT v5 or v7.3/HDF5) into the cache.

Each file holds one domain: `fts` (n x d, or d x n as MATLAB v7.3 stores it) and 1-based
`labels`. By default the files are looked up in the data root's layout, e.g. for Office-31
<root>/office31/<domain>_<domain>_fc7.mat (as in ../shared/data/office31/); --file overrides.
Without --allow-partial every domain of the dataset must be present, since load_dataset needs
all of them. Note: features other than VGG-19 fc7 (e.g. AlexNet fc7) are not the paper's;
--note records what they are.

Examples:
    python data_scripts/import_mat_features.py office31
    python data_scripts/import_mat_features.py office31 --file amazon=a.mat --file dslr=d.mat --file webcam=w.mat
    python data_scripts/import_mat_features.py office31 --allow-partial --root /tmp/out --data-dir ../shared/data
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import _cli
from bmtl_edu.data import DATASETS, import_mat_features
from bmtl_edu.data.registry import OFFICE31_FC7_FILES

DEFAULT_FILES = {"office31": {t: f for t, f in zip(("amazon", "dslr", "webcam"), OFFICE31_FC7_FILES)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", help=f"one of {', '.join(n for n, s in DATASETS.items() if s.n_classes)}")
    _cli.add_root_argument(parser)
    parser.add_argument("--data-dir", type=Path, help="where to look for the default .mat files "
                        "(default: the data root)")
    parser.add_argument("--file", action="append", default=[], metavar="DOMAIN=PATH",
                        help="a domain's .mat file (repeatable)")
    parser.add_argument("--allow-partial", action="store_true", help="import whichever domains are present")
    parser.add_argument("--note", default="", help="what the features are (kept in the provenance)")
    args = parser.parse_args(argv)
    root = _cli.resolve_root(args.root)
    if args.dataset not in DATASETS or DATASETS[args.dataset].n_classes is None:
        _cli.fail(f"unknown image dataset {args.dataset!r}; valid: "
                  f"{', '.join(n for n, s in DATASETS.items() if s.n_classes)}")
    spec = DATASETS[args.dataset]
    data_dir = args.data_dir or root
    files, digests = {}, {}
    for t, raw in DEFAULT_FILES.get(args.dataset, {}).items():
        if (data_dir / raw.path).is_file():
            files[t] = data_dir / raw.path
            if raw.sha256:
                digests[t] = raw.sha256
    for item in args.file:
        if "=" not in item:
            _cli.fail(f"--file expects DOMAIN=PATH, got {item!r}")
        t, p = item.split("=", 1)
        files[t] = Path(p)
        digests.pop(t, None)
    missing = [t for t in spec.task_names if t not in files]
    if not files or (missing and not args.allow_partial):
        _cli.fail(f"{spec.title}: no .mat file for domains {missing} (looked in {data_dir}; pass --file "
                  f"DOMAIN=PATH, or --allow-partial to import the present ones: {sorted(files) or 'none'})")
    try:
        manifest = import_mat_features(root, args.dataset, files, expected_sha256=digests, note=args.note)
    except (ValueError, FileNotFoundError) as e:
        _cli.fail(str(e))
    print(f"imported {', '.join(sorted(files))} into {manifest}"
          + (f" (partial: {', '.join(missing)} missing; load_dataset needs all domains)" if missing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
