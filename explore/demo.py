"""``vo2neuro demo``: the whole chain on the embedded defaults, vo2 against vo2x, with a table and figures.

Sections run in order of the data flow (device -> circuit -> device size -> energy ledger against size ->
network); each writes its figures into the output folder and adds its rows to ``summary.json`` and
``summary.md``. A section whose layer is not available in this installation is reported and skipped, never faked.
"""
from __future__ import annotations

from vo2neuro.device.select import ROOM_TEMPERATURE_K

import sys
import time
from pathlib import Path
from typing import Any

from vo2neuro._io import atomic_write_text, dumps
from vo2neuro.units import ParameterError

__all__ = ["run_demo", "device_section", "check_out"]

PRESETS = ("vo2", "vo2x")
AMBIENT_K = ROOM_TEMPERATURE_K  # both demo presets are characterised at room temperature


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def device_section(out: Path, *, quick: bool = False) -> dict[str, Any]:
    """R-T loops, steady-state I-V and a transient sweep of vo2 against vo2x at room temperature."""
    from vo2neuro.device import get_parameters, rt_loop, static_iv, voltage_sweep
    from vo2neuro.device.plotting import plot_iv, plot_rt, plot_sweep

    loops, ivs, sweeps, rows = [], [], [], {}
    for name in PRESETS:
        p = get_parameters(name)
        lp = rt_loop(p, minor_turns=(p.T_c + 1.0, p.T_c - 3.0))
        iv = static_iv(p, ambient=AMBIENT_K)
        sw = voltage_sweep(p, v_max=1.4 * iv.v_th_v + 10.0, r_series=10e3, ambient=AMBIENT_K, n_steps=100_000)
        loops.append(lp)
        ivs.append(iv)
        sweeps.append(sw)
        rows[name] = {**lp.to_dict(), **iv.to_dict(), "sweep_v_switch_on_v": sw.v_switch_on_v,
                      "sweep_v_switch_off_v": sw.v_switch_off_v}
    figs = [str(plot_rt(loops, out / "device_rt.png")), str(plot_iv(ivs, out / "device_iv.png")),
            str(plot_sweep(sweeps, out / "device_sweep.png"))]
    ratio = rows["vo2x"]["v_th_v"] / rows["vo2"]["v_th_v"]
    return {"rows": rows, "figures": figs, "v_th_ratio_vo2x_over_vo2": ratio}


def _markdown(summary: dict[str, Any]) -> str:
    lines = ["# vo2neuro demo: vo2 against vo2x", ""]
    dev = summary.get("device")
    if dev:
        keys = [("v_th_v", "V_th [V]"), ("i_th_a", "I_th [A]"), ("v_h_v", "V_h [V]"), ("i_h_a", "I_h [A]"),
                ("t_imt_heating_k", "T_IMT heating [K]"), ("t_imt_cooling_k", "T_IMT cooling [K]"),
                ("r_insulating_300k_ohm", "R_ins(300 K) [Ohm]"), ("r_metallic_ohm", "R_met [Ohm]")]
        lines += [f"## Device at {AMBIENT_K:g} K", "", "| quantity | vo2 | vo2x |", "|---|---|---|"]
        for k, label in keys:
            lines.append(f"| {label} | {dev['rows']['vo2'][k]:.4g} | {dev['rows']['vo2x'][k]:.4g} |")
        lines += ["", f"V_th(vo2x) / V_th(vo2) = {dev['v_th_ratio_vo2x_over_vo2']:.3f}", ""]
    for name, sec in summary.items():
        if isinstance(sec, dict) and "table_md" in sec:
            lines += [sec["table_md"], ""]
    skipped = summary.get("skipped", [])
    if skipped:
        lines += ["Skipped sections: " + ", ".join(skipped), ""]
    return "\n".join(lines)


#: Files and folders the demo writes directly inside its output folder (figures aside).
_FILES = ("summary.json", "summary.md", "comparison.json", "report.html")
_FOLDERS = ("snn",)


def check_out(out: str | Path) -> Path:
    """Refuse an output folder the demo cannot fill, before any section runs: ``out`` (or a name the demo writes
    inside it) taken by a file where a folder is needed, or by a folder where a file is needed. Returns ``out``
    as a Path; nothing is created."""
    out = Path(out)
    if str(out).strip() == "":
        raise ParameterError("out: empty folder name [path]")
    if out.exists() and not out.is_dir():
        raise ParameterError(f"out: {out} exists and is not a folder [path]")
    for name in _FILES:
        if (out / name).is_dir():
            raise ParameterError(f"out: {out / name} is a folder, the demo writes a file there [path]")
    for name in _FOLDERS:
        if (out / name).exists() and not (out / name).is_dir():
            raise ParameterError(f"out: {out / name} is a file, the demo writes a folder there [path]")
    return out


def run_demo(out: str | Path, *, quick: bool = False, only: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Run every available section (or those named in ``only``); returns the summary dict and writes
    ``summary.json``, ``summary.md`` and ``report.html`` (:func:`vo2neuro.explore.report.write_report`).

    The output folder is checked first (:func:`check_out`) and created if missing."""
    out = check_out(out)
    from vo2neuro.explore import demo_sections  # circuit and (with torch) network sections

    sections = [("device", device_section)] + demo_sections.SECTIONS
    if only is not None:
        unknown = sorted(set(only) - {name for name, _ in sections})
        if unknown:
            raise ParameterError(f"only: unknown demo section(s) {', '.join(unknown)}; valid: "
                                 f"{', '.join(name for name, _ in sections)} [-]")
        sections = [(name, fn) for name, fn in sections if name in only]
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"skipped": []}
    for name, fn in sections:
        t0 = time.perf_counter()
        _log(f"[demo] {name} ...")
        try:
            summary[name] = fn(out, quick=quick)
        except ImportError as exc:
            _log(f"[demo] {name}: skipped ({exc})")
            summary["skipped"].append(name)
            continue
        _log(f"[demo] {name} done in {time.perf_counter() - t0:.1f} s")
    atomic_write_text(out / "summary.json", dumps(summary))
    atomic_write_text(out / "summary.md", _markdown(summary))
    from vo2neuro.explore.report import write_report

    _log(f"[demo] report: {write_report(out).path.resolve()}")
    return summary
