"""The demo's ``report.html`` opened in a real headless browser (Chromium from the distribution, driven by
Playwright; issue 14, "A report to look at").

The results folder is a real quick demo run of the device, neuron and size sections (``run_demo(only=...)``,
about ten seconds), which writes ``report.html`` itself; ``vo2neuro report`` is also run on the folder and must
write the same page. In the browser, offline:
* every ``<img>`` is complete and decodes, at the pixel width Pillow reads from the figure file;
* no console error, no page error, no failed request, and no request for anything but the page itself and its
  ``data:`` URIs;
* the page renders in standards mode (a valid HTML5 doctype);
* key numbers of ``summary.json`` (thresholds, f_max, energy per spike at 30 nm) appear in the rendered text,
  each section has its "what this shows";
* a full-page screenshot is saved (into pytest's tmp_path and, if ``VO2NEURO_ARTEFACTS`` is set, copied there).

Skips only when Chromium or Playwright is missing and ``VO2NEURO_REQUIRE_BROWSER`` is not set (CI sets it, then a
missing browser fails).
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from vo2neuro.cli import main
from vo2neuro.explore.demo import run_demo

SECTIONS = ("device", "neuron", "scaling")


def _required() -> bool:
    return os.environ.get("VO2NEURO_REQUIRE_BROWSER", "") not in ("", "0")


def _missing(what: str) -> None:
    if _required():
        pytest.fail(f"{what} not found but VO2NEURO_REQUIRE_BROWSER is set")
    pytest.skip(f"{what} not found (set VO2NEURO_REQUIRE_BROWSER=1 to make this a failure)")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    _missing("chromium (Debian package `chromium`)")
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report_demo")
    run_demo(out, quick=True, only=SECTIONS)
    return out


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright (pip extra `test`)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox"], headless=True)
        try:
            yield b
        finally:
            b.close()


def test_cli_writes_the_same_page_and_prints_its_path(results, tmp_path, capsys):
    out = tmp_path / "cli.html"
    assert main(["report", str(results), "-o", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == str(out.resolve())
    assert out.read_bytes() == (results / "report.html").read_bytes()
    assert main(["report", str(results), "-o", str(out), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    summary = json.loads((results / "summary.json").read_text())
    assert rec["sections"] == list(SECTIONS)
    assert rec["figures"] == sum(len(summary[s]["figures"]) for s in SECTIONS)
    assert rec["missing_figures"] == [] and rec["size_bytes"] == out.stat().st_size


def test_report_in_a_real_browser(results, browser, tmp_path):
    summary = json.loads((results / "summary.json").read_text())
    figures = [Path(f) for s in SECTIONS for f in summary[s]["figures"]]
    assert len(figures) >= 7

    context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    console, errors, failed, requests = [], [], [], []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: failed.append(f"{r.url[:80]} {r.failure}"))
    page.on("request", lambda r: requests.append(r.url))
    url = (results / "report.html").resolve().as_uri()
    page.goto(url, wait_until="load")
    page.wait_for_function("[...document.images].every(i => i.complete)", timeout=20_000)

    imgs = page.evaluate("[...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    assert len(imgs) == len(figures)
    for (complete, w, h), fig in zip(imgs, figures, strict=True):
        with Image.open(fig) as im:
            assert complete and (w, h) == im.size, (fig.name, w, h, im.size)
    assert [c for c in console if c.startswith(("error", "warning"))] == []
    assert errors == [] and failed == []
    assert all(u == url or u.startswith("data:") for u in requests), [u[:80] for u in requests]
    assert page.evaluate("document.compatMode") == "CSS1Compat"
    assert page.evaluate("document.doctype && document.doctype.name") == "html"

    text = page.inner_text("body")
    dev, neu = summary["device"]["rows"], summary["neuron"]["rows"]
    table = summary["scaling"]["table"]
    small = [r for r in table if r["length_m"] == min(x["length_m"] for x in table)]  # both films at 30 nm
    keys = [f"{dev[f]['v_th_v']:.4g}" for f in ("vo2", "vo2x")]
    keys += [f"{neu[f]['f_max_hz'] * 1e-3:.4g}" for f in ("vo2", "vo2x")]  # the neuron table is in kHz
    assert len(small) == 2
    keys += [f"{r['energy_per_spike_on_chip_j'] * 1e12:.4g}" for r in small]  # the size table is in pJ
    tokens = set(re.split(r"[\s|()]+", text))  # the rendered text, cell by cell
    for k in keys:
        assert k in tokens, k
    assert page.locator("p.what").count() == len(SECTIONS)
    assert text.count("What this shows.") == len(SECTIONS)

    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    context.close()
    with Image.open(shot) as im:
        assert im.size[0] == 1200 and im.size[1] > 2000
        lo, hi = im.convert("L").getextrema()
        assert hi - lo > 100  # not a blank page
    if os.environ.get("VO2NEURO_ARTEFACTS"):
        dest = Path(os.environ["VO2NEURO_ARTEFACTS"])
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(shot, dest / "report_screenshot.png")
