#!/usr/bin/env python
"""Extract VGG-19 fc7 features (4096-d, after ReLU) from image folders into the feature cache.

Input layout: <images>/<domain>/<class>/<image> (class folders; Office-31's extra `images/`
level is skipped automatically), or a domain folder with a list file of "relative/path label"
lines. Domains of the registry datasets are found by their usual folder names (e.g. Office-Home
"Real World", ImageCLEF "c", "i", "p", "b"). For a name not in the registry, every subfolder of
--images is a domain.

The model is torchvision's VGG-19 with ImageNet weights (--weights imagenet, downloaded once by
torchvision, ~550 MB) or randomly initialised (--weights none, seeded: for testing the pipeline
offline). Images are resized to 256, centre-cropped to 224 and ImageNet-normalised; order is
deterministic (sorted classes, sorted files); batches run on the GPU when there is one.
Resumable: each finished domain is kept in <root>/cache/_partial_<dataset>_<domain>/ and
skipped on a rerun; the final cache is written through bmtl_edu.data.write_cache.

Examples:
    python data_scripts/extract_features.py office31
    python data_scripts/extract_features.py imageclef --batch-size 64 --device cuda
    python data_scripts/extract_features.py mydata --images /path/to/imgs --weights none --device cpu
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import _cli
import numpy as np
from bmtl_edu.data import DATASETS, cache_dir, has_cache, read_cache, write_cache

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
# Folder names of each registry domain in the public archives (compared case-insensitively).
DOMAIN_FOLDERS = {
    "office31": {"amazon": ["amazon"], "dslr": ["dslr"], "webcam": ["webcam"]},
    "officehome": {"art": ["Art"], "clipart": ["Clipart"], "product": ["Product"],
                   "real_world": ["Real World", "Real_World", "RealWorld"]},
    "imageclef": {"caltech": ["c", "caltech"], "imagenet": ["i", "imagenet"], "pascal": ["p", "pascal"],
                  "bing": ["b", "bing"]},
}


def find_domain_dir(images: Path, aliases: list[str]) -> Path | None:
    """The first folder (searched two levels deep) whose name matches an alias."""
    wanted = {a.lower() for a in aliases}
    for depth in ("*", "*/*"):
        for p in sorted(images.glob(depth)):
            if p.is_dir() and p.name.lower() in wanted:
                return p
    return None


def list_images(domain: Path) -> list[tuple[Path, str]]:
    """(image path, class name) pairs in deterministic order."""
    if (domain / "images").is_dir() and not any(f.suffix.lower() in IMAGE_SUFFIXES for f in domain.iterdir()):
        domain = domain / "images"
    lists = sorted(domain.glob("*[Ll]ist.txt")) + sorted(domain.parent.glob(f"list/{domain.name}List.txt"))
    class_dirs = sorted(p for p in domain.iterdir() if p.is_dir())
    if class_dirs:
        return [(f, c.name) for c in class_dirs for f in sorted(c.rglob("*"))
                if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES]
    if lists:
        pairs = []
        for line in lists[0].read_text().splitlines():
            if line.strip():
                rel, label = line.split()[:2]
                path = domain.parent / rel if (domain.parent / rel).is_file() else domain / Path(rel).name
                pairs.append((path, label))
        return pairs
    return []


def build_fc7(weights: str, seed: int, device):
    """VGG-19 up to fc7 + ReLU (classifier[:5]; dropout inactive in eval mode)."""
    import torch
    import torchvision

    if weights == "imagenet":
        model = torchvision.models.vgg19(weights=torchvision.models.VGG19_Weights.IMAGENET1K_V1)
    else:
        torch.manual_seed(seed)
        model = torchvision.models.vgg19(weights=None)
    model.classifier = model.classifier[:5]  # Linear-ReLU-Dropout-Linear(fc7)-ReLU -> 4096-d
    return model.eval().to(device)


def extract(model, paths: list[Path], batch_size: int, device, desc: str, crop: int = 224) -> np.ndarray:
    import torch
    from PIL import Image
    from torchvision import transforms
    from tqdm.auto import tqdm

    tf = transforms.Compose([transforms.Resize(crop * 256 // 224), transforms.CenterCrop(crop), transforms.ToTensor(),
                             transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    out = np.empty((len(paths), 4096), dtype=np.float32)
    with torch.inference_mode():
        for i in tqdm(range(0, len(paths), batch_size), desc=desc, unit="batch"):
            batch = []
            for p in paths[i:i + batch_size]:
                try:
                    with Image.open(p) as im:
                        batch.append(tf(im.convert("RGB")))
                except OSError as e:
                    raise RuntimeError(f"cannot read image {p}: {e}") from e
            out[i:i + len(batch)] = model(torch.stack(batch).to(device)).float().cpu().numpy()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", help=f"a registry dataset ({', '.join(DOMAIN_FOLDERS)}) or a new name "
                        "(then --images is required and its subfolders are the domains)")
    _cli.add_root_argument(parser)
    parser.add_argument("--images", type=Path, help="image root (default: <root>/images/<dataset>)")
    parser.add_argument("--tasks", nargs="+", help="extract only these domains (default: all)")
    parser.add_argument("--weights", choices=("imagenet", "none"), default="imagenet",
                        help="ImageNet weights (paper) or random init (offline pipeline test)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random init (--weights none)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda, cuda:1, ...")
    parser.add_argument("--crop-size", type=int, default=224,
                        help="input crop (224 as in ImageNet training; smaller only to test the pipeline fast)")
    parser.add_argument("--force", action="store_true", help="ignore finished domains and start over")
    args = parser.parse_args(argv)
    import torch

    root = _cli.resolve_root(args.root)
    images = args.images or root / "images" / args.dataset
    if not images.is_dir():
        hint = (f"run `python data_scripts/download.py {args.dataset}` first"
                if args.dataset in DATASETS else "pass --images DIR")
        _cli.fail(f"image folder {images} not found; {hint}")
    if args.batch_size < 1 or args.crop_size < 32:
        _cli.fail("--batch-size must be >= 1 and --crop-size >= 32")
    if args.dataset in DOMAIN_FOLDERS:
        folders = DOMAIN_FOLDERS[args.dataset]
        domains = {}
        for task, aliases in folders.items():
            d = find_domain_dir(images, aliases)
            if d is not None:
                domains[task] = d
    else:
        domains = {p.name: p for p in sorted(images.iterdir()) if p.is_dir()}
    if args.tasks:
        bad = [t for t in args.tasks if t not in domains]
        if bad:
            _cli.fail(f"domains {bad} not found under {images}; found: {sorted(domains) or 'none'}")
        domains = {t: domains[t] for t in args.tasks}
    if args.dataset in DOMAIN_FOLDERS and not args.tasks:
        missing = [t for t in DOMAIN_FOLDERS[args.dataset] if t not in domains]
        if missing:
            _cli.fail(f"domains {missing} of {args.dataset} not found under {images} (looked for folders "
                      f"{[DOMAIN_FOLDERS[args.dataset][t] for t in missing]}); use --tasks to extract a subset")
    if not domains:
        _cli.fail(f"no domain folders under {images}")

    listing = {t: list_images(d) for t, d in domains.items()}
    empty = [t for t, pairs in listing.items() if not pairs]
    if empty:
        _cli.fail(f"no images found for domains {empty} (expected <domain>/<class>/<image> or a list file)")
    classes = sorted({c for pairs in listing.values() for _, c in pairs},
                     key=lambda c: (not c.isdigit(), int(c) if c.isdigit() else 0, c))
    index = {c: i for i, c in enumerate(classes)}
    spec = DATASETS.get(args.dataset)
    if spec is not None and spec.n_classes is not None and len(classes) > spec.n_classes:
        _cli.fail(f"found {len(classes)} classes, but {spec.title} has {spec.n_classes}")
    n_classes = spec.n_classes if spec is not None and len(classes) == spec.n_classes else len(classes)

    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else ("cpu" if args.device == "auto" else args.device))
    model = None
    # A finished domain is reused only if it was extracted with the same settings.
    settings = {"weights": args.weights, "seed": args.seed, "crop": args.crop_size, "classes": classes}
    arrays, sources = [], {}
    t0 = time.perf_counter()
    for task, pairs in listing.items():
        part_name = f"_partial_{args.dataset}_{task}"
        if has_cache(root, part_name) and not args.force:
            cd = read_cache(root, part_name)
            if cd.provenance.get("settings") == settings and cd.provenance.get("n_images") == len(pairs):
                print(f"{task}: reusing finished extraction ({len(pairs)} images)")
                arrays.append(cd.arrays[0])
                sources[task] = str(domains[task])
                continue
        if model is None:
            model = build_fc7(args.weights, args.seed, device)
        X = extract(model, [p for p, _ in pairs], args.batch_size, device, desc=task, crop=args.crop_size)
        y = np.array([index[c] for _, c in pairs], dtype=np.int64)
        write_cache(root, part_name, [task], [(X, y)], n_classes=n_classes,
                    provenance={"settings": settings, "n_images": len(pairs)})
        arrays.append((X, y))
        sources[task] = str(domains[task])
    prov = {"source": "VGG-19 fc7 (after ReLU) extracted by data_scripts/extract_features.py",
            "kind": "extracted", "backbone": "torchvision vgg19", "layer": "classifier[4] (fc7 ReLU)",
            "weights": "IMAGENET1K_V1" if args.weights == "imagenet" else f"random init (seed {args.seed})",
            "preprocessing": f"Resize({args.crop_size * 256 // 224}), CenterCrop({args.crop_size}), ImageNet normalisation", "classes": classes,
            "domains": sources, "device": str(device)}
    manifest = write_cache(root, args.dataset, list(listing), arrays, n_classes=n_classes, provenance=prov)
    for task in listing:
        shutil.rmtree(cache_dir(root, f"_partial_{args.dataset}_{task}"), ignore_errors=True)
    sizes = ", ".join(f"{t} {len(a[1])}" for t, a in zip(listing, arrays))
    print(f"wrote {manifest} ({sizes}; {len(classes)} classes; {time.perf_counter() - t0:.1f} s on {device})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
