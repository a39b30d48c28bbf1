"""One self-contained ``report.html`` from a demo results folder (``vo2neuro report``, the end of ``vo2neuro demo``).

The demo (:func:`vo2neuro.explore.demo.run_demo`) leaves ``summary.json`` and its figures (PNG) in its output
folder. :func:`write_report` turns them into a single HTML5 file that opens offline, anywhere:

* every figure is embedded as a ``data:`` URI (base64), so the page loads nothing else; a Content-Security-Policy
  in the page forbids every other source, so a stray external reference would be blocked, not fetched;
* each section starts with a short "what this shows", then its tables (every quantity with its unit, as the
  demo states it) and its figures with captions;
* all text taken from the results is HTML-escaped; the page has no script.

A figure named in ``summary.json`` that is not in the results folder (or is not a PNG/JPEG) is listed as missing in
its section, never drawn as a broken image. Only files inside the results folder are ever read.

Examples
--------
>>> from vo2neuro.explore.report import render_html
>>> html = render_html({"device": {"rows": {}, "figures": []}, "skipped": []}, title="demo")
>>> html.startswith("<!DOCTYPE html>")
True
"""
from __future__ import annotations

import base64
import html
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from vo2neuro._io import atomic_write_text
from vo2neuro.units import ParameterError

__all__ = ["Report", "load_results", "render_html", "write_report", "SECTION_INFO", "REPORT_NAME"]

#: File name of the report inside a results folder (the default of ``vo2neuro report`` and of the demo).
REPORT_NAME = "report.html"
SUMMARY_NAME = "summary.json"

#: Title and "what this shows" of each demo section, in the demo's order. A section not listed here is still
#: reported (its tables and figures) under its own name with a generic line.
SECTION_INFO: dict[str, tuple[str, str]] = {
    "device": (
        "Device: vo2 against vo2x",
        "The two films as single devices at the demo's ambient: the resistance-temperature loop (with two minor "
        "loops), the steady-state current-voltage curve and a transient voltage sweep through a series resistor. "
        "The table gives the switching point (V_th, I_th), the holding point (V_h, I_h), the transition "
        "temperatures on heating and cooling and the two resistance states."),
    "neuron": (
        "Neuron circuit",
        "A Pearson-Anson oscillator neuron (the device in series with a load resistor R_L, a capacitor C across "
        "it) built from each film: the voltage trace in the middle of the oscillation window, the firing "
        "frequency against input voltage, and the window's edges, frequencies and energy per spike."),
    "scaling": (
        "Device size",
        "How threshold voltage, highest firing frequency and energy per spike change as the channel shrinks, on "
        "a chip and on a probe station (whose parasitic capacitance dominates), beside the thermal floor: the "
        "least energy that heats the device through its transition."),
    "energy_size": (
        "Energy per inference against device size",
        "Energy per inference of two model-zoo workloads run with VO2-x neurons of shrinking size, beside CMOS "
        "45 nm, the same spiking network on CMOS and Loihi. The crossover size is the channel length at which "
        "VO2-x costs what the other platform costs."),
    "network": (
        "Spiking network on the digits",
        "A BP-SNN trained on the bundled digits with each film's neuron, then run at circuit level with a "
        "device-to-device spread: software against hardware-level accuracy, supply voltage, energy per "
        "inference and latency."),
}

#: Captions of the demo's figures, by file name.
FIGURE_CAPTIONS: dict[str, str] = {
    "device_rt.png": "Resistance against temperature: major loop and minor loops, vo2 and vo2x.",
    "device_iv.png": "Steady-state current-voltage curves (S-shaped negative differential resistance).",
    "device_sweep.png": "Transient voltage sweep up and down through the series resistor: switching on and off.",
    "neuron_trace_vo2.png": "vo2 neuron: device voltage, current and temperature in the middle of the window.",
    "neuron_trace_vo2x.png": "vo2x neuron: device voltage, current and temperature in the middle of the window.",
    "neuron_f_vin.png": "Firing frequency against input voltage across the oscillation window.",
    "scaling_energy_size.png": "Energy per spike (with the thermal floor) and f_max against channel length, log-log.",
    "energy_vs_size.png": "Energy per inference against channel length, with the reference platforms and crossovers.",
    "network_vo2_vs_vo2x.png": "Hardware-level accuracy, supply, energy per inference and latency, vo2 against vo2x.",
    "training_curve.png": "Training curve of the network.",
}

_DEVICE_ROWS = (("v_th_v", "threshold voltage V_th", "V"), ("i_th_a", "threshold current I_th", "A"),
                ("v_h_v", "holding voltage V_h", "V"), ("i_h_a", "holding current I_h", "A"),
                ("t_imt_heating_k", "transition temperature, heating", "K"),
                ("t_imt_cooling_k", "transition temperature, cooling", "K"),
                ("r_insulating_300k_ohm", "insulating resistance at 300 K", "Ohm"),
                ("r_metallic_ohm", "metallic resistance", "Ohm"),
                ("sweep_v_switch_on_v", "sweep: switch-on voltage", "V"),
                ("sweep_v_switch_off_v", "sweep: switch-off voltage", "V"))

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1180px;
padding:1.2em 1.6em;color:#1b1b1b;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #ccd;padding-bottom:.2em;margin-top:2em}
h3{font-size:1.02em;margin:1.2em 0 .4em}
.what{background:#f3f6fa;border-left:4px solid #4a78b5;padding:.5em .9em;margin:.6em 0 1em}
table{border-collapse:collapse;margin:.4em 0 1em;font-size:.92em}
th,td{border:1px solid #ccd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#eef0f5}td:first-child{white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
figure{margin:1em 0}img{max-width:100%;height:auto;border:1px solid #dde}
figcaption{font-size:.88em;color:#444}.missing{color:#8a1c1c}nav li{margin:.1em 0}
footer{margin-top:3em;font-size:.82em;color:#555;border-top:1px solid #ccd;padding-top:.5em}
"""

_NUM = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


@dataclass(frozen=True)
class Report:
    """What :func:`write_report` wrote.

    Attributes
    ----------
    path : Path
        The report file.
    size_bytes : int
        Its size [B].
    sections : tuple of str
        Demo sections reported, in order.
    figures : int
        Figures embedded [-].
    missing_figures : tuple of str
        Figures named in ``summary.json`` but absent from the results folder (or not PNG/JPEG).
    skipped : tuple of str
        Sections the demo itself skipped (their layer not installed).
    """

    path: Path
    size_bytes: int
    sections: tuple[str, ...]
    figures: int
    missing_figures: tuple[str, ...] = field(default=())
    skipped: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"report": str(self.path), "size_bytes": self.size_bytes, "sections": list(self.sections),
                "figures": self.figures, "missing_figures": list(self.missing_figures),
                "skipped": list(self.skipped)}


def _sections(summary: Mapping[str, Any]) -> list[str]:
    return [k for k, v in summary.items() if isinstance(v, dict)]


def load_results(results_dir: str | Path, *, name: str = "results_dir") -> tuple[Path, dict[str, Any]]:
    """``(folder, summary)`` of a demo results folder; :class:`~vo2neuro.units.ParameterError` (one line naming
    ``name`` and the folder) when it is missing, not a folder, or holds no demo results (no readable
    ``summary.json`` with at least one section)."""
    text = str(results_dir)
    if not text.strip():
        raise ParameterError(f"{name}: empty folder name [path]")
    folder = Path(results_dir)
    if not folder.exists():
        raise ParameterError(f"{name}: folder not found: {folder} [path]")
    if not folder.is_dir():
        raise ParameterError(f"{name}: {folder} is not a folder [path]")
    summary_path = folder / SUMMARY_NAME
    if not summary_path.is_file():
        raise ParameterError(f"{name}: {folder} holds no demo results ({SUMMARY_NAME} not found; run "
                             f"`vo2neuro demo --out {folder}`) [path]")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else f"not JSON (line {exc.lineno})"
        raise ParameterError(f"{name}: {summary_path} is {reason}, not a demo summary [path]") from None
    if not isinstance(summary, dict) or not _sections(summary):
        raise ParameterError(f"{name}: {folder} holds no demo results ({SUMMARY_NAME} has no section) [path]")
    return folder, summary


# ---------------------------------------------------------------------------------------------------- rendering


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else str(value)
    if isinstance(value, (int, float)):
        return "n/a" if not math.isfinite(value) else f"{value:.4g}"
    return str(value)


def _cell(text: str, tag: str = "td") -> str:
    cls = ' class="num"' if tag == "td" and _NUM.match(text.strip()) else ""
    return f"<{tag}{cls}>{_e(text)}</{tag}>"


def _table(header: list[str], rows: list[list[str]], caption: str | None = None) -> str:
    out = ["<table>"]
    if caption:
        out.append(f"<caption>{_e(caption)}</caption>")
    out.append("<thead><tr>" + "".join(_cell(h, "th") for h in header) + "</tr></thead>")
    out.append("<tbody>")
    out += ["<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows]
    out.append("</tbody></table>")
    return "\n".join(out)


def _markdown_block(md: str) -> str:
    """The demo's Markdown subset (``##`` headings, pipe tables, paragraphs) as escaped HTML."""
    out: list[str] = []
    lines = md.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if not line:
            i += 1
        elif line.startswith("#"):
            out.append(f"<h3>{_e(line.lstrip('#').strip())}</h3>")
            i += 1
        elif line.startswith("|"):
            block = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                block.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            body = [r for r in block[1:] if not all(re.fullmatch(r":?-{3,}:?", c) for c in r)]
            out.append(_table(block[0], body))
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith(("|", "#")):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{_e(' '.join(para))}</p>")
    return "\n".join(out)


def _device_tables(sec: Mapping[str, Any]) -> str:
    rows = sec.get("rows") or {}
    films = [n for n, r in rows.items() if isinstance(r, dict)]
    if not films:
        return ""
    body = [[label, unit] + [_fmt(rows[f].get(key)) for f in films]
            for key, label, unit in _DEVICE_ROWS if any(key in rows[f] for f in films)]
    out = [_table(["quantity", "unit"] + films, body)]
    ratio = sec.get("v_th_ratio_vo2x_over_vo2")
    if isinstance(ratio, (int, float)):
        out.append(f"<p>V_th(vo2x) / V_th(vo2) = {_e(_fmt(ratio))} [-]</p>")
    return "\n".join(out)


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None


def _find_figure(folder: Path, stored: str) -> Path | None:
    """The file inside ``folder`` that the demo recorded as ``stored`` (an absolute path, or one relative to the
    folder the demo ran in): the shortest trailing part of ``stored`` that names a file in ``folder``."""
    root = folder.resolve()
    parts = [p for p in Path(stored).parts if p not in ("", "/", "\\")]
    if ".." in parts:
        return None
    for k in range(1, len(parts) + 1):
        cand = root.joinpath(*parts[-k:])
        try:
            real = cand.resolve()
        except OSError:
            continue
        if real.is_file() and (real == root or root in real.parents):
            return real
    return None


def _figure(folder: Path, stored: str) -> tuple[str, bool]:
    """``(html, embedded)`` for one figure."""
    name = Path(stored).name
    path = _find_figure(folder, stored)
    data = path.read_bytes() if path is not None else b""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        mime = "image/png"
    elif data[:3] == b"\xff\xd8\xff":
        mime = "image/jpeg"
    else:
        why = "not in the results folder" if path is None else "not a PNG or JPEG image"
        return f'<p class="missing">Figure {_e(name)}: {why}.</p>', False
    size = _png_size(data)
    dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
    rel = path.relative_to(folder.resolve()).as_posix()
    caption = FIGURE_CAPTIONS.get(name, Path(name).stem.replace("_", " "))
    if name == "training_curve.png" and len(Path(rel).parts) >= 2:
        caption = f"Training curve of the {Path(rel).parts[-2]} network."
    src = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return (f'<figure><img src="{src}" alt="{_e(caption)}"{dims} loading="eager">'
            f"<figcaption>{_e(caption)} ({_e(rel)})</figcaption></figure>"), True


def render_html(summary: Mapping[str, Any], *, folder: str | Path = ".", title: str = "vo2neuro demo report") -> str:
    """The report page (a string) for a demo ``summary`` whose figures lie in ``folder``."""
    return _render(summary, Path(folder), title)[0]


def _anchors(names: list[str]) -> dict[str, str]:
    """A unique, whitespace-free element id per section name."""
    ids: dict[str, str] = {}
    for n in names:
        base = "sec-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", n).strip("-") or "section")
        a, k = base, 2
        while a in ids.values() or a == "sec-skipped":
            a, k = f"{base}-{k}", k + 1
        ids[n] = a
    return ids


def _render(summary: Mapping[str, Any], folder: Path, title: str) -> tuple[str, dict[str, Any]]:
    from vo2neuro._version import __version__

    stats: dict[str, Any] = {"figures": 0, "missing": []}
    names = _sections(summary)
    anchors = _anchors(names)
    parts: list[str] = []
    for n in names:
        sec = summary[n]
        head, what = SECTION_INFO.get(n, (n.replace("_", " ").capitalize(),
                                          f"Results of the demo's {n!r} section, as the demo wrote them."))
        parts.append(f'<section id="{anchors[n]}">\n<h2>{_e(head)}</h2>')
        parts.append(f'<p class="what"><strong>What this shows.</strong> {_e(what)}</p>')
        if n == "device":
            parts.append(_device_tables(sec))
        if isinstance(sec.get("table_md"), str):
            parts.append(_markdown_block(sec["table_md"]))
        for fig in sec.get("figures") or []:
            block, ok = _figure(folder, str(fig))
            parts.append(block)
            if ok:
                stats["figures"] += 1
            else:
                stats["missing"].append(Path(str(fig)).name)
        parts.append("</section>")
    skipped = [str(s) for s in summary.get("skipped") or []]
    if skipped:
        parts.append('<section id="sec-skipped"><h2>Skipped sections</h2><p class="what"><strong>What this '
                     "shows.</strong> Demo sections whose layer is not installed here; they were not run, and "
                     f"nothing of theirs is shown: {_e(', '.join(skipped))}.</p></section>")
    nav = "".join(f'<li><a href="#{anchors[n]}">{_e(SECTION_INFO.get(n, (n,))[0])}</a></li>' for n in names)
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>{_e(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>", "<header>",
        f"<h1>{_e(title)}</h1>",
        "<p>The demo's results in one page: every figure is embedded, every quantity carries its unit "
        "(SI, or as the column states), and the page loads nothing from anywhere else.</p>",
        f"<nav><ul>{nav}</ul></nav>", "</header>", "<main>", *parts, "</main>",
        f"<footer>Written by vo2neuro {_e(__version__)} from {_e(folder.name or str(folder))}/{SUMMARY_NAME}."
        "</footer>", "</body>", "</html>", ""]), stats


def write_report(results_dir: str | Path, out: str | Path | None = None, *,
                 name: str = "results_dir") -> Report:
    """Write the report of the demo results in ``results_dir`` to ``out`` (default ``results_dir/report.html``),
    atomically (temporary file, then ``os.replace``). Bad input raises ParameterError before anything is written.
    """
    folder, summary = load_results(results_dir, name=name)
    target = Path(out) if out is not None else folder / REPORT_NAME
    if target.is_dir():
        raise ParameterError(f"out: {target} is a folder, expected a file name [path]")
    page, stats = _render(summary, folder, "vo2neuro demo report")
    atomic_write_text(target, page)
    return Report(path=target, size_bytes=len(page.encode("utf-8")), sections=tuple(_sections(summary)),
                  figures=stats["figures"], missing_figures=tuple(stats["missing"]),
                  skipped=tuple(str(s) for s in summary.get("skipped") or []))
