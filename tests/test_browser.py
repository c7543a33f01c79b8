"""A real browser, offline, opens built chapters from disk: math typeset, widgets and fallbacks drawn.

Headless Chromium (Debian packages ``chromium`` and ``chromium-driver``) with every network
route closed. Skips when Chromium is absent, unless ``BMTL_REQUIRE_BROWSER=1`` (CI), which
turns the skip into a failure. Screenshots go to ``_build/screenshots/``.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from conftest import REPO, BookBuild

pytestmark = pytest.mark.book

CHROMIUM = next((p for p in (os.environ.get("BMTL_CHROMIUM"), shutil.which("chromium"),
                             shutil.which("chromium-browser"), shutil.which("google-chrome"))
                 if p), None)
CHROMEDRIVER = os.environ.get("BMTL_CHROMEDRIVER") or shutil.which("chromedriver") \
    or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)
SCREENSHOTS = REPO / "_build" / "screenshots"
WAIT_S = 60


def need_browser() -> None:
    missing = [n for n, p in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)) if not p]
    if missing:
        msg = (f"{' and '.join(missing)} not found: apt-get install -y chromium chromium-driver "
               "(or set BMTL_CHROMIUM / BMTL_CHROMEDRIVER)")
        if os.environ.get("BMTL_REQUIRE_BROWSER") == "1":
            pytest.fail(msg + "; BMTL_REQUIRE_BROWSER=1 makes the browser test mandatory")
        pytest.skip(msg)


@pytest.fixture(scope="module")
def browser():
    need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="bmtl-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps",
                 f"--user-data-dir={profile}", "--window-size=1280,1600",
                 # No network: names do not resolve and everything else goes to a dead proxy.
                 "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(WAIT_S)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, script: str, what: str):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, WAIT_S, poll_frequency=0.25).until(
            lambda d: d.execute_script(script))
    except TimeoutException:
        logs = [e["message"] for e in driver.get_log("browser")][-10:]
        pytest.fail(f"{what} did not appear within {WAIT_S} s; console: {logs}")


def remote_requests(driver) -> list[str]:
    import json

    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            url = msg["params"]["request"]["url"]
            if url.startswith(("http:", "https:", "ws:", "wss:")):
                urls.append(url)
    return urls


@pytest.mark.parametrize("docname", ["book/preface", "book/bmtl"])
def test_chapter_renders_offline(browser, built_book: BookBuild, docname: str):
    page = built_book.page(docname)
    assert page.exists(), f"{docname}.html was not built"
    browser.get_log("performance")  # drop what an earlier page logged
    browser.get(page.resolve().as_uri())

    # MathJax typeset every math element of the page, without TeX errors.
    n_math = wait_for(browser, """
        const m = document.querySelectorAll('.math');
        const done = [...m].every(e => e.querySelector('mjx-container'));
        return m.length > 0 && done ? m.length : false;""", "typeset math (mjx-container)")
    assert browser.execute_script("return document.querySelectorAll('mjx-merror').length") == 0

    # A widget drawn by the vendored ipywidgets manager, with its saved figure.
    wait_for(browser, "return document.querySelector('.jupyter-widgets .widget-slider, "
                      ".jupyter-widgets.widget-slider') !== null", "a rendered ipywidgets slider")
    n_widget_imgs = browser.execute_script(
        "return [...document.querySelectorAll('.jupyter-widgets img, .widget-output img')]"
        ".filter(i => i.complete && i.naturalWidth > 0).length")

    # The static fallback: a to_jshtml animation (or a plain figure) decoded by the browser.
    n_fallback = wait_for(browser, """
        const imgs = [...document.querySelectorAll('.animation img, .cell_output img')];
        const ok = imgs.filter(i => i.complete && i.naturalWidth > 0);
        return ok.length > 0 ? ok.length : false;""", "a static figure / animation")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.execute_script("document.querySelector('.widget-slider').scrollIntoView()")
    shot = SCREENSHOTS / f"{Path(docname).name}.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000

    if docname == "book/preface":  # its slider drives a figure in an Output widget
        assert n_widget_imgs > 0, "the widget's figure (Output widget) did not render"
    assert remote_requests(browser) == [], "the page tried to reach the network"
    print(f"{docname}: {n_math} math elements, {n_widget_imgs} widget images, "
          f"{n_fallback} static images; screenshot {shot}")
