"""Shared command-line plumbing of data_scripts/: find the package, the --root option, errors."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    # The scripts run as `python data_scripts/X.py` from a checkout, where bmtl_edu may not be installed.
    sys.path.insert(0, str(REPO))

from bmtl_edu.data import default_root  # noqa: E402


def add_root_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, default=None,
                        help="data root (default: $BMTL_DATA, else <repo>/data)")


def resolve_root(root: Path | None) -> Path:
    return Path(root) if root is not None else default_root()


def fail(message: str, code: int = 2) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)
