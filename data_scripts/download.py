#!/usr/bin/env python
"""Download the public sources of the book's datasets into the data root, resumably.

SARCOS comes straight from the GPML site (both splits, sha256-verified). Office-31, Office-Home
and ImageCLEF-DA images, and the Office-Caltech-10 SURF files, are distributed through pages
that need a manual step (Google Drive / MEGA / terms of use): the script says where to get
them and, given the downloaded archive (--archive), unpacks it to <root>/images/<dataset>/ for
extract_features.py.

Examples:
    python data_scripts/download.py sarcos
    python data_scripts/download.py office31 --archive ~/Downloads/domain_adaptation_images.tar.gz
    python data_scripts/download.py all --root /data/bmtl
"""
from __future__ import annotations

import argparse
import sys
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import _cli
from bmtl_edu.data import DATASETS, ChecksumError, sha256_file, verify_sha256

CHUNK = 1 << 16


def fetch(url: str, dest: Path, sha256: str | None, size: int | None, timeout: float, page: str) -> str:
    """Download ``url`` to ``dest`` resuming a ``.part`` file; verify; return a one-line status."""
    if dest.is_file():
        try:
            verify_sha256(dest, sha256, size=size)
            return f"ok (already present, verified): {dest}"
        except ChecksumError as e:
            print(f"{e}\nre-downloading {dest.name}", file=sys.stderr)
            dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.is_file() else 0
    req = urllib.request.Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and start:  # the .part is already complete
            resp = None
        else:
            raise RuntimeError(f"{url} answered HTTP {e.code}. Download it by hand from {page} "
                               f"and save it as {dest}") from e
    except (urllib.error.URLError, OSError) as e:
        raise RuntimeError(f"cannot reach {url} ({e}). Check the network, or download it by hand from "
                           f"{page} and save it as {dest}; then rerun this command to verify it") from e
    if resp is not None:
        with resp:
            if start and resp.status != 206:
                start = 0  # the server ignored the range: start over
            total = resp.length + start if resp.length is not None else size
            from tqdm.auto import tqdm
            with open(part, "ab" if start else "wb") as f, \
                    tqdm(total=total, initial=start, unit="B", unit_scale=True, desc=dest.name) as bar:
                for chunk in iter(lambda: resp.read(CHUNK), b""):
                    f.write(chunk)
                    bar.update(len(chunk))
    try:
        verify_sha256(part, sha256, size=size)
    except ChecksumError as e:
        part.unlink()
        raise RuntimeError(f"{e} The partial file was removed; rerun to download again, or fetch it "
                           f"by hand from {page}") from e
    part.replace(dest)
    return f"ok (downloaded, {'sha256 verified' if sha256 else 'no known checksum'}): {dest}"


def unpack(archive: Path, dest: Path) -> None:
    """Unpack a .zip / .tar(.gz) archive into ``dest`` (refusing paths that escape it)."""
    dest.mkdir(parents=True, exist_ok=True)
    base = dest.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for name in z.namelist():
                if not (dest / name).resolve().is_relative_to(base):
                    raise RuntimeError(f"{archive}: member {name!r} would escape {dest}")
            z.extractall(dest)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as t:
            t.extractall(dest, filter="data")
    else:
        raise RuntimeError(f"{archive} is neither a zip nor a tar archive")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+", help=f"dataset names ({', '.join(DATASETS)}) or 'all'")
    _cli.add_root_argument(parser)
    parser.add_argument("--archive", type=Path, help="a manually downloaded image archive to unpack "
                        "into <root>/images/<dataset>/ (one image dataset at a time)")
    parser.add_argument("--timeout", type=float, default=60.0, help="network timeout in seconds")
    parser.add_argument("--sarcos-files", choices=("both", "train", "test"), default="both",
                        help="which SARCOS split(s) to fetch (train = the paper's source, 9.9 MB)")
    args = parser.parse_args(argv)
    root = _cli.resolve_root(args.root)
    names = list(DATASETS) if args.datasets == ["all"] else args.datasets
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        _cli.fail(f"unknown dataset(s) {unknown}; valid: {', '.join(DATASETS)} or 'all'")
    if args.archive is not None and len(names) != 1:
        _cli.fail("--archive goes with exactly one dataset")
    failures = 0
    for name in names:
        spec = DATASETS[name]
        print(f"== {spec.title} -> {root}")
        if name == "sarcos":
            wanted = [f for f in spec.raw_files
                      if args.sarcos_files == "both" or (args.sarcos_files == "train") == f.path.endswith("inv.mat")]
            for raw in wanted:
                try:
                    print(fetch(raw.url, root / raw.path, raw.sha256, raw.size, args.timeout, spec.homepage))
                except RuntimeError as e:
                    failures += 1
                    print(f"FAILED: {e}", file=sys.stderr)
            print("next: python data_scripts/prepare_sarcos.py (optional; load_dataset('sarcos') also reads "
                  "the raw file directly)")
        elif args.archive is not None:
            if not args.archive.is_file():
                _cli.fail(f"archive {args.archive} not found")
            dest = root / "images" / name
            print(f"unpacking {args.archive} ({args.archive.stat().st_size / 1e6:.0f} MB, sha256 "
                  f"{sha256_file(args.archive)[:16]}...) into {dest}")
            unpack(args.archive, dest)
            print(f"done. next: python data_scripts/extract_features.py {name}")
        else:
            present = [f.path for f in spec.raw_files if (root / f.path).is_file()]
            missing = [f for f in spec.raw_files if not (root / f.path).is_file()]
            if spec.raw_files and not missing:
                for raw in spec.raw_files:
                    try:
                        verify_sha256(root / raw.path, raw.sha256, size=raw.size)
                    except ChecksumError as e:
                        failures += 1
                        print(f"FAILED: {e}", file=sys.stderr)
                print(f"ok: {len(present)} file(s) present and verified")
                continue
            failures += 1
            print(f"MANUAL STEP NEEDED for {spec.title}: no direct download is known.\n  {spec.manual_step}\n"
                  f"  Source page: {spec.homepage}", file=sys.stderr)
            if missing:
                print("  Expected files: " + ", ".join(str(root / f.path) for f in missing), file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
