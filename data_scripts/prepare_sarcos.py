#!/usr/bin/env python
"""Prepare SARCOS as in the paper: 2,000 rows sampled with a documented seed, into the cache.

Source: the GPML training file sarcos/sarcos_inv.mat (44,484 rows; the paper's source) when
present, else the test file sarcos/sarcos_inv_test.mat (4,449 rows; the offline substitute);
--source forces one. Rows are drawn by numpy.random.default_rng(seed).choice(n, 2000,
replace=False) (seed 0 by default), sorted, and stored un-standardised: load_dataset('sarcos')
standardises inputs and torques with the statistics of each split's training rows. The cache's
provenance records which file was used, its sha256, the seed and the row indices.

Examples:
    python data_scripts/prepare_sarcos.py
    python data_scripts/prepare_sarcos.py --source test --root ../shared/data-copy
"""
from __future__ import annotations

import argparse
import sys

import _cli
from bmtl_edu.data import get_spec, write_cache
from bmtl_edu.data.raw import check_raw_file, read_sarcos, sample_sarcos_rows
from bmtl_edu.data.registry import SARCOS_N_POINTS, SARCOS_SAMPLE_SEED, SARCOS_TEST, SARCOS_TRAIN


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _cli.add_root_argument(parser)
    parser.add_argument("--source", choices=("auto", "train", "test"), default="auto",
                        help="auto: the training file if present (paper), else the test file")
    parser.add_argument("--seed", type=int, default=SARCOS_SAMPLE_SEED,
                        help=f"row-sampling seed (default {SARCOS_SAMPLE_SEED}, the book's documented choice)")
    args = parser.parse_args(argv)
    root = _cli.resolve_root(args.root)
    spec = get_spec("sarcos")
    if args.source == "auto":
        raw = SARCOS_TRAIN if (root / SARCOS_TRAIN.path).is_file() else SARCOS_TEST
    else:
        raw = SARCOS_TRAIN if args.source == "train" else SARCOS_TEST
    try:
        path = check_raw_file(root, raw, fix="python data_scripts/download.py sarcos")
    except (FileNotFoundError, ValueError) as e:
        _cli.fail(str(e))
    X, Y = read_sarcos(path)
    n_file = len(X)
    rows = sample_sarcos_rows(n_file, SARCOS_N_POINTS, args.seed)
    X, Y = X[rows].astype("float32"), Y[rows].astype("float32")
    paper_file = raw is SARCOS_TRAIN
    prov = {"source": f"SARCOS {raw.path} ({'training file, as in the paper' if paper_file else 'test file: offline substitute for the paper training file'})",
            "kind": "real", "file": raw.path, "sha256": raw.sha256, "paper_file": paper_file,
            "rows_in_file": n_file, "sample_seed": args.seed,
            "n_points": SARCOS_N_POINTS, "rows": rows.tolist()}
    manifest = write_cache(root, "sarcos", spec.task_names, [(X, Y[:, t]) for t in range(Y.shape[1])],
                           n_classes=None, provenance=prov, shared_inputs=True)
    print(f"used {path} ({'paper training file' if paper_file else 'test file, offline substitute'}); "
          f"sampled {SARCOS_N_POINTS} rows with seed {args.seed}; wrote {manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
