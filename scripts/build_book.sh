#!/usr/bin/env bash
# Build the BMTL book: the one command (CI and readers use the same).
#
#   scripts/build_book.sh [extra jupyter-book build options, e.g. --path-output DIR or --toc FILE]
#
# 1. Installs the pinned JavaScript (npm ci from package-lock.json) unless node_modules already
#    matches the lock, and copies the few files the HTML needs into book/_static_vendor/, so
#    MathJax and the ipywidgets manager load from disk: offline, no CDN. The folder is NOT
#    named _static because Jupyter Book adds every .js under a _static folder to every page.
# 2. Runs `jupyter-book build . --all -W --keep-going`, which executes every notebook (profile from
#    BMTL_PROFILE, quick by default) and fails on any warning, a failing notebook included.
# Environment: PYTHON (default .venv/bin/python, else python3), BMTL_PROFILE, BMTL_DATA.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

# --- 1. offline JavaScript -------------------------------------------------------------------
# npm writes node_modules/.package-lock.json after a successful install; if it is newer than the
# lock file the install is current and we skip the network.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    command -v npm >/dev/null || { echo "build_book.sh: npm is needed once to fetch MathJax and the widget manager (apt-get install nodejs npm)" >&2; exit 1; }
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi
VENDOR=book/_static_vendor
rm -rf "$VENDOR"
mkdir -p "$VENDOR/mathjax/output/chtml/fonts" "$VENDOR/mathjax/input/tex" "$VENDOR/widgets" "$VENDOR/requirejs"
MJ=node_modules/mathjax/es5
cp "$MJ/tex-chtml.js" node_modules/mathjax/LICENSE "$VENDOR/mathjax/"
cp -r "$MJ/output/chtml/fonts/woff-v2" "$VENDOR/mathjax/output/chtml/fonts/"
# \require / autoload of TeX packages (e.g. \cancel, \bm) fetch these relative to tex-chtml.js
cp -r "$MJ/input/tex/extensions" "$VENDOR/mathjax/input/tex/"
HM=node_modules/@jupyter-widgets/html-manager
cp "$HM/dist/embed-amd.js" "$VENDOR/widgets/"          # BSD-3-Clause, bundles the standard controls
cp node_modules/requirejs/require.js "$VENDOR/requirejs/"  # MIT; embed-amd.js needs an AMD loader

# --- 2. the book ------------------------------------------------------------------------------
# With MPLBACKEND=Agg exported the kernels never switch to the inline backend and every figure
# silently disappears from the HTML; the package must be importable from a fresh clone.
unset MPLBACKEND
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
exec "$PYTHON" -c 'from jupyter_book.cli.main import main; main()' build . --all -W --keep-going "$@"
