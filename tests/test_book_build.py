"""The book builds with every notebook executed and no warning (-W), and its HTML works offline.

Marked ``book``: the build runs the whole book (minutes); it is the one place the book builds.
"""
from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import REPO, BookBuild

pytestmark = pytest.mark.book

SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc=\"([^\"]+)\"", re.I)
STYLESHEET = re.compile(r"<link\b[^>]*\bhref=\"([^\"]+)\"[^>]*rel=\"stylesheet\"|"
                        r"<link\b[^>]*rel=\"stylesheet\"[^>]*\bhref=\"([^\"]+)\"", re.I)
WIDGET_STATE = re.compile(
    r"<script type=\"application/vnd\.jupyter\.widget-state\+json\">(.*?)</script>", re.S)
# Everything that may legitimately hold TeX or dollar signs: math markup, code, scripts.
NOT_PROSE = re.compile(r"<(script|style|pre|code|textarea)\b.*?</\1>|"
                       r"<(span|div) class=\"math[^\"]*\"[^>]*>.*?</\2>", re.S | re.I)
RAW_TEX = re.compile(r"\$[^$<>]*\\[A-Za-z]+[^$<>]*\$|\\begin\{[a-z*]+\}|\\\(|\\\[")


def toc_docnames() -> list[str]:
    """Every page of ``_toc.yml``, in order."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    names = [toc["root"]]

    def walk(node):
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []):
                if "file" in child:
                    names.append(str(Path(child["file"]).with_suffix("")))
                walk(child)
    walk(toc)
    return names


def chapter_html(built_book: BookBuild) -> dict[str, str]:
    return {name: built_book.page(name).read_text(encoding="utf-8")
            for name in toc_docnames() if built_book.page(name).exists()}


def test_book_builds_without_warnings(built_book: BookBuild):
    tail = "\n".join(built_book.log.splitlines()[-80:])
    assert built_book.returncode == 0, f"book build failed (-W): last lines of the log:\n{tail}"
    assert "build succeeded" in built_book.log
    print(f"book built in {built_book.seconds:.0f} s")


def test_every_toc_page_is_built(built_book: BookBuild):
    missing = [n for n in toc_docnames() if not built_book.page(n).exists()]
    assert not missing, f"pages listed in _toc.yml without HTML: {missing}"


def test_pages_load_no_script_or_stylesheet_from_the_network(built_book: BookBuild):
    offenders = {}
    for path in built_book.html.rglob("*.html"):
        text = path.read_text(encoding="utf-8", errors="replace")
        urls = SCRIPT_SRC.findall(text) + [a or b for a, b in STYLESHEET.findall(text)]
        remote = [u for u in urls if re.match(r"(https?:)?//", u)]
        if remote:
            offenders[str(path.relative_to(built_book.html))] = remote
    assert not offenders, f"pages that need the network (CDN assets): {offenders}"


def test_math_is_markup_for_local_mathjax_not_raw_tex(built_book: BookBuild):
    pages = chapter_html(built_book)
    assert pages
    mathjax = built_book.html / "_static" / "mathjax" / "tex-chtml.js"
    assert mathjax.is_file(), "vendored MathJax missing: run scripts/build_book.sh"
    assert any((built_book.html / "_static/mathjax/output/chtml/fonts/woff-v2").glob("*.woff"))
    for name, text in pages.items():
        if 'class="math' in text:
            assert "_static/mathjax/tex-chtml.js" in text, f"{name}: MathJax is not the local copy"
        prose = NOT_PROSE.sub(" ", text)
        raw = RAW_TEX.findall(prose)
        assert not raw, f"{name}: TeX left as text outside math markup: {raw[:5]}"
    preface = pages["book/preface"]
    assert preface.count('class="math') >= 5, "the preface's equations were not parsed as math"


@pytest.mark.parametrize("docname", ["book/preface", "book/bmtl"])
def test_widget_state_is_embedded_with_local_widget_js(built_book: BookBuild, docname: str):
    page = built_book.page(docname)
    assert page.exists(), f"{docname}.html was not built"
    text = page.read_text(encoding="utf-8")
    states = WIDGET_STATE.findall(text)
    assert len(states) == 1, f"{docname}: no saved ipywidgets state, widgets cannot render"
    state = json.loads(states[0])["state"]
    models = {m["model_name"] for m in state.values()}
    assert models & {"FloatSliderModel", "FloatLogSliderModel", "IntSliderModel",
                     "SelectionSliderModel", "DropdownModel", "ToggleButtonsModel"}, models
    if docname == "book/preface":  # its slider redraws a figure inside an Output widget
        # With MPLBACKEND=Agg exported that figure silently disappears from the saved state.
        assert "image/png" in states[0], "preface: the widget's figure output was not captured"
    for js in ("requirejs/require.js", "widgets/embed-amd.js"):
        assert re.search(rf'src="[./]*_static/{js}(\?[^"]*)?"', text), \
            f"{docname}: {js} is not loaded from _static"
        assert (built_book.html / "_static" / js).is_file()
    assert "application/vnd.jupyter.widget-view+json" in text


def test_static_fallback_animation_is_inline(built_book: BookBuild):
    text = built_book.page("book/preface").read_text(encoding="utf-8")
    assert 'class="animation"' in text and "data:image/png;base64," in text


def test_figures_survive_the_build(built_book: BookBuild):
    # Chapters show figures; the MPLBACKEND=Agg trap would leave _images empty.
    pngs = list((built_book.html / "_images").glob("*.png"))
    assert pngs, "no figure in the built book"


def test_launch_buttons_point_at_colab_and_binder(built_book: BookBuild):
    text = built_book.page("book/preface").read_text(encoding="utf-8")
    assert ("https://colab.research.google.com/github/bmtl-book/bmtl-book/blob/main/"
            "book/preface.ipynb") in text
    assert re.search(r"https://mybinder\.org/v2/gh/bmtl-book/bmtl-book/main\?"
                     r"urlpath=[^\"]*book/preface\.ipynb", text)


def test_api_page_is_generated_from_docstrings(built_book: BookBuild):
    import bmtl_edu

    text = built_book.page("book/api").read_text(encoding="utf-8")
    # every public function and class (data registries and submodules have no docstring)
    public = {n for n in getattr(bmtl_edu, "__all__", ())
              if inspect.isclass(getattr(bmtl_edu, n)) or inspect.isfunction(getattr(bmtl_edu, n))}
    public |= {"make_balancer", "fit", "get_profile"}
    undocumented = sorted(n for n in public if f'id="bmtl_edu.{n}"' not in text)
    assert not undocumented, f"api page lacks entries for bmtl_edu.{undocumented}"
    # autodoc output, not hand-written text: a signature and a docstring field list
    assert 'class="sig sig-object py" id="bmtl_edu.make_balancer"' in text
