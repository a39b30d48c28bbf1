"""``vo2neuro.explore.report``: the self-contained HTML report of a demo results folder.

The results folder is the demo's own device section (real R-T, I-V and sweep runs, ``quick``), so the figures and
numbers are the library's. References independent of the report module:
* the page is checked as HTML5 by a small strict parser here (doctype first, one html/head/body, every element
  known and closed, unique ids) and by the standard library's parser;
* every ``<img>`` holds a ``data:`` URI whose bytes are exactly the figure file's bytes, and whose width/height
  attributes match the PNG as Pillow decodes it;
* no ``src``/``href`` names anything but a ``data:`` URI or an in-page anchor;
* the device numbers in the page are ``summary.json``'s, read back with ``json``.
"""
from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from vo2neuro._io import dumps
from vo2neuro.explore.demo import check_out, device_section, run_demo
from vo2neuro.explore.report import REPORT_NAME, load_results, render_html, write_report
from vo2neuro.units import ParameterError

VOID = {"meta", "link", "img", "br", "hr", "col", "input", "source", "wbr"}
KNOWN = VOID | {"html", "head", "title", "style", "body", "header", "nav", "ul", "li", "a", "main", "section",
                "h1", "h2", "h3", "p", "strong", "table", "caption", "thead", "tbody", "tr", "th", "td",
                "figure", "figcaption", "footer"}


class _Strict(HTMLParser):
    """Records structure errors: unknown elements, unclosed or mis-nested tags, duplicate ids, attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.seen: list[str] = []
        self.imgs: list[dict[str, str]] = []
        self.urls: list[str] = []
        self.decl: list[str] = []
        self.text: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.decl.append(decl)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.seen.append(tag)
        if tag not in KNOWN:
            self.errors.append(f"unknown element <{tag}>")
        if "id" in a:
            self.ids.append(a["id"])
        for k in ("src", "href"):
            if k in a:
                self.urls.append(a[k])
        if tag == "img":
            self.imgs.append(a)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in VOID:
            self.errors.append(f"end tag for void <{tag}>")
        elif not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] not in ("style", "title"):
            self.text.append(data)


def _parse(page: str) -> _Strict:
    p = _Strict()
    p.feed(page)
    p.close()
    return p


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """A demo results folder with the device section only (real library runs), as ``run_demo`` writes it."""
    out = tmp_path_factory.mktemp("report_results")
    summary = {"skipped": [], "device": device_section(out, quick=True)}
    (out / "summary.json").write_text(dumps(summary))
    return out


def test_page_is_wellformed_html5(results):
    page = render_html(load_results(results)[1], folder=results)
    assert page.startswith("<!DOCTYPE html>\n")
    p = _parse(page)
    assert p.decl == ["DOCTYPE html"]
    assert p.errors == [] and p.stack == []
    assert [t for t in p.seen if t in ("html", "head", "body", "main", "title")] == \
        ["html", "head", "title", "body", "main"]
    assert len(p.ids) == len(set(p.ids))
    assert '<html lang="en">' in page and '<meta charset="utf-8">' in page


def test_figures_are_embedded_exactly_and_nothing_is_external(results):
    summary = load_results(results)[1]
    page = render_html(summary, folder=results)
    p = _parse(page)
    figs = [Path(f) for f in summary["device"]["figures"]]
    assert len(figs) == 3 and len(p.imgs) == 3
    for img, fig in zip(p.imgs, figs, strict=True):
        head, b64 = img["src"].split(",", 1)
        assert head == "data:image/png;base64"
        data = base64.b64decode(b64, validate=True)
        assert data == fig.read_bytes()
        with Image.open(io.BytesIO(data)) as im:
            assert (int(img["width"]), int(img["height"])) == im.size
        assert img["alt"].strip()
    for url in p.urls:
        assert url.startswith(("data:", "#")), url
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*(https?:)?//", page, re.I)
    assert "<script" not in page.lower()
    # the page forbids any other source, so a stray reference would be blocked, not fetched
    assert "default-src 'none'" in page


def test_device_numbers_come_from_the_summary_with_units(results):
    summary = json.loads((results / "summary.json").read_text())
    text = " ".join(_parse(render_html(summary, folder=results)).text)
    rows = summary["device"]["rows"]
    for film in ("vo2", "vo2x"):
        for key in ("v_th_v", "i_th_a", "v_h_v", "t_imt_heating_k"):
            assert f"{rows[film][key]:.4g}" in text, (film, key)
    ratio = rows["vo2x"]["v_th_v"] / rows["vo2"]["v_th_v"]
    assert f"{ratio:.4g}" in text
    # every table row of the device table states its unit
    page = render_html(summary, folder=results)
    table = page.split("<table>", 1)[1].split("</table>", 1)[0]
    units = re.findall(r"<tr><td>[^<]+</td><td>([^<]*)</td>", table)
    assert len(units) == 10 and all(u in ("V", "A", "K", "Ohm") for u in units), units


def test_every_section_says_what_it_shows(results):
    summary = {"skipped": ["network"], "device": load_results(results)[1]["device"],
               "new_study": {"table_md": "| L [m] | E [J] |\n|---|---|\n| 1e-6 | 2e-12 |", "figures": []}}
    p = _parse(render_html(summary, folder=results))
    page = render_html(summary, folder=results)
    assert page.count('class="what"') == 3  # device, the unknown section, the skipped list
    assert "new_study" in page and "network" in page
    assert '<td class="num">2e-12</td>' in page and "<th>E [J]</th>" in page
    assert p.errors == []


def test_section_ids_are_unique_and_without_spaces(tmp_path):
    summary = {"a b": {"figures": []}, "a-b": {"figures": []}, "skipped": ["x"], "sec skipped": {"figures": []}}
    p = _parse(render_html(summary, folder=tmp_path))
    assert len(p.ids) == 4 and len(set(p.ids)) == 4
    assert all(i and not re.search(r"\s", i) for i in p.ids), p.ids
    hrefs = [u[1:] for u in p.urls if u.startswith("#")]
    assert len(hrefs) == 3 and set(hrefs) <= set(p.ids)


def test_all_text_is_escaped(tmp_path, results):
    evil = '<script>alert("x")</script> & <img src=http://example.com/a.png>'
    summary = {"skipped": [evil], evil: {"table_md": f"## {evil}\n\n| {evil} | v [V] |\n|---|---|\n| {evil} | 1 |\n\n"
                                          f"{evil}", "figures": [f"{evil}.png"]}}
    page = render_html(summary, folder=tmp_path, title=evil)
    assert "<script" not in page.lower()
    assert "http://example.com" not in page.split("&lt;img src=")[0]
    assert not re.search(r"<img src=http", page)
    assert page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 6
    p = _parse(page)
    assert p.errors == [] and p.stack == [] and p.imgs == []
    assert "not in the results folder" in page


def test_moved_folder_missing_and_outside_figures(tmp_path, results):
    moved = tmp_path / "moved"
    shutil.copytree(results, moved)
    outside = tmp_path / "secret.png"
    outside.write_bytes((results / "device_rt.png").read_bytes())
    summary = json.loads((moved / "summary.json").read_text())
    (moved / "device_iv.png").unlink()
    (moved / "device_sweep.png").write_bytes(b"not a png")
    summary["device"]["figures"].append(str(moved / ".." / "secret.png"))
    (moved / "summary.json").write_text(dumps(summary))
    rep = write_report(moved)
    page = rep.path.read_text()
    # the stored paths point into the original folder; the report reads the moved copy's files
    assert rep.figures == 1 and page.count("<img ") == 1
    assert rep.missing_figures == ("device_iv.png", "device_sweep.png", "secret.png")
    assert "device_iv.png: not in the results folder" in page
    assert "device_sweep.png: not a PNG or JPEG image" in page
    assert "secret.png: not in the results folder" in page


def test_write_is_atomic_and_replaces(tmp_path, results, monkeypatch):
    folder = tmp_path / "r"
    shutil.copytree(results, folder)
    target = folder / REPORT_NAME
    target.write_text("old")

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_report(folder)
    assert target.read_text() == "old"
    assert sorted(p.name for p in folder.iterdir()) == sorted([p.name for p in results.iterdir()] + [REPORT_NAME])
    monkeypatch.undo()
    rep = write_report(folder)
    assert rep.path == target and target.read_text().startswith("<!DOCTYPE html>")
    assert rep.size_bytes == target.stat().st_size
    assert rep.sections == ("device",) and rep.figures == 3


@pytest.mark.parametrize("setup, fragment", [
    (None, "folder not found"),
    ("file", "not a folder"),
    ("empty", "holds no demo results (summary.json not found"),
    ("badjson", "not JSON"),
    ("nosection", "has no section"),
    ("binary", "not UTF-8"),
])
def test_results_dir_errors(tmp_path, setup, fragment):
    d = tmp_path / "res"
    if setup == "file":
        d.write_text("x")
    elif setup is not None:
        d.mkdir()
        content = {"badjson": b"{", "nosection": b'{"skipped": []}', "binary": b"\xff\xfe{}"}.get(setup)
        if content is not None:
            (d / "summary.json").write_bytes(content)
    with pytest.raises(ParameterError, match=re.escape(fragment)) as exc:
        write_report(d, tmp_path / "out.html", name="RESULTS_DIR")
    assert str(exc.value).startswith("RESULTS_DIR: ") and "\n" not in str(exc.value)
    assert not (tmp_path / "out.html").exists()


def test_demo_refuses_a_folder_where_the_report_goes_and_unknown_sections(tmp_path):
    (tmp_path / "res" / REPORT_NAME).mkdir(parents=True)
    with pytest.raises(ParameterError, match="report.html is a folder"):
        check_out(tmp_path / "res")
    with pytest.raises(ParameterError, match="unknown demo section.*nope"):
        run_demo(tmp_path / "new", only=("nope",))
    assert not (tmp_path / "new").exists()
