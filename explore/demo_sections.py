"""Demo sections beyond the device: neuron circuits, device size (and, when the layers are installed, networks).

Each section is ``fn(out: Path, *, quick: bool) -> dict`` returning rows, figure paths and a markdown table.
"""
from __future__ import annotations

from vo2neuro.device.select import ROOM_TEMPERATURE_K
from vo2neuro.circuits.scaling import SIZING_RULE

import sys
from pathlib import Path
from typing import Any

import numpy as np

PRESETS = ("vo2", "vo2x")
AMBIENT_K = ROOM_TEMPERATURE_K  # both demo presets are characterised at room temperature
#: Demo circuit: the Zhang et al. 2024 node capacitance and load, at room temperature (both films oscillate).
R_LOAD = 12e3
CAPACITANCE = 145.35e-12


def neuron_section(out: Path, *, quick: bool = False) -> dict[str, Any]:
    """Pearson-Anson neurons of vo2 and vo2x: traces, f(V_in), oscillation window, energy per spike."""
    from vo2neuro.circuits import oscillation_window, simulate, transfer_curve
    from vo2neuro.circuits.plotting import plot_traces, plot_transfer
    from vo2neuro.device import get_parameters

    rows: dict[str, dict[str, float]] = {}
    curves, figs = [], []
    for name in PRESETS:
        dev = get_parameters(name)
        win = oscillation_window(dev, drive="voltage", r_load=R_LOAD, capacitance=CAPACITANCE, ambient=AMBIENT_K)
        lo, hi = win.lower, win.upper
        v_mid = lo + 0.5 * (hi - lo)
        res = simulate(dev, v_in=v_mid, r_load=R_LOAD, capacitance=CAPACITANCE, ambient=AMBIENT_K,
                       duration=40e-6, record=[0])
        figs.append(str(plot_traces(res, out / f"neuron_trace_{name}.png",
                                    title=f"{name}: V_in = {v_mid:.2f} V, R_L = 12 kOhm, C = 145.35 pF, 300 K")))
        n_pts = 8 if quick else 24
        vs = np.linspace(lo * 0.97, hi * 1.02, n_pts)
        tc = transfer_curve(dev, parameter="v_in", values=vs, r_load=R_LOAD, capacitance=CAPACITANCE,
                            ambient=AMBIENT_K)
        curves.append(tc)
        osc = tc.frequency_hz > 0
        nr = res.neuron(0)
        rows[name] = {"v_in_min_v": lo, "v_in_max_v": hi, "f_max_hz": float(np.max(tc.frequency_hz)),
                      "f_min_hz": float(np.min(tc.frequency_hz[osc])) if osc.any() else 0.0,
                      "v_in_mid_v": v_mid, "frequency_mid_hz": nr.frequency_hz,
                      "energy_per_spike_j": nr.energy_per_spike_j,
                      "device_energy_per_spike_j": nr.device_energy_per_spike_j, "isi_cv": nr.isi_cv}
    figs.append(str(plot_transfer(curves, out / "neuron_f_vin.png", labels=list(PRESETS))))
    keys = [("v_in_min_v", "oscillation onset V_in [V]", 1.0), ("v_in_max_v", "upper edge V_in [V]", 1.0),
            ("f_max_hz", "max frequency [kHz]", 1e-3), ("frequency_mid_hz", "frequency mid-window [kHz]", 1e-3),
            ("energy_per_spike_j", "source energy/spike mid-window [nJ]", 1e9),
            ("device_energy_per_spike_j", "device energy/spike mid-window [nJ]", 1e9)]
    md = ["## Neuron (Pearson-Anson, R_L = 12 kOhm, C = 145.35 pF, 300 K)", "", "| quantity | vo2 | vo2x |",
          "|---|---|---|"]
    md += [f"| {label} | {rows['vo2'][k] * s:.4g} | {rows['vo2x'][k] * s:.4g} |" for k, label, s in keys]
    return {"rows": rows, "figures": figs, "table_md": "\n".join(md)}


#: Channel lengths of the scaling table [m]: the micrometre test device, 100 nm and 30 nm.
SCALE_TABLE_LENGTHS = (1e-6, 100e-9, 30e-9)
#: Channel lengths of the energy-against-size curve without ``--quick`` [m] (log-spaced, 2 um to 20 nm).
SCALE_CURVE = (2e-6, 20e-9, 12)
#: Integration scenarios compared (``vo2neuro.circuits.scaling.INTEGRATION``).
SCALE_SCENARIOS = ("on-chip", "probe-station")
#: Geometry rule of the scaling section (the defaults of ``vo2neuro device scale``).
SCALE_GEOMETRY = SIZING_RULE


def scaling_section(out: Path, *, quick: bool = False) -> dict[str, Any]:
    """Threshold, f_max and energy per spike of the vo2 and vo2x films against channel length, on a chip and on a
    probe station (:func:`vo2neuro.circuits.scaling.scale_study` with its load and its capacitor ``"auto"``).

    The table holds :data:`SCALE_TABLE_LENGTHS`; the figure ``scaling_energy_size.png`` plots energy per spike (with
    the thermal floor) and f_max against L on log-log axes, over those three sizes with ``quick`` and over
    :data:`SCALE_CURVE` plus them otherwise.
    """
    from vo2neuro.circuits.scaling import INTEGRATION, log_lengths, scale_study, sized_geometry
    from vo2neuro.device.select import select

    lengths = list(SCALE_TABLE_LENGTHS)
    if not quick:
        lengths = sorted(set(lengths) | {float(x) for x in log_lengths(*SCALE_CURVE)}, reverse=True)
    geos = [sized_geometry(L) for L in lengths]
    curves: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name in PRESETS:
        sel = select(name)  # the vo2 film at the preset's vacancy level and ambient, as `device scale` scales it
        curves[name] = {}
        for scen in SCALE_SCENARIOS:
            print(f"[demo] scaling: {name}, {scen}, {len(geos)} sizes", file=sys.stderr, flush=True)
            recs = scale_study(geos, base="vo2", delta=sel.params.delta, ambient=sel.ambient_k, integration=scen)
            curves[name][scen] = [r.to_dict() for r in recs]
    table = []
    for L in SCALE_TABLE_LENGTHS:
        k = lengths.index(L)
        for name in PRESETS:
            on, probe = curves[name]["on-chip"][k], curves[name]["probe-station"][k]
            table.append({"preset": name, "length_m": L, "width_m": on["width_m"], "thickness_m": on["thickness_m"],
                          "v_th_v": on["v_th_v"], "tau_th_s": on["tau_th_s"], "thermal_floor_j": on["thermal_floor_j"],
                          "f_max_on_chip_hz": on["f_max_hz"], "f_max_probe_station_hz": probe["f_max_hz"],
                          "energy_per_spike_on_chip_j": on["energy_per_spike_j"],
                          "energy_per_spike_probe_station_j": probe["energy_per_spike_j"],
                          "capacitor_on_chip_f": on["integration_capacitance_f"],
                          "dominant_on_chip": on["dominant"], "dominant_probe_station": probe["dominant"]})
    fig = _plot_scaling(curves, out / "scaling_energy_size.png")
    md = [f"## Device size ({SCALE_GEOMETRY}; R_L = V_th/(2 I_th), capacitor for C_node R_L = 3 tau_th, "
          f"operating point of least energy, {AMBIENT_K:g} K)", "",
          "| L | film | V_th [V] | f_max on-chip [MHz] | f_max probe-station [MHz] | E/spike on-chip [pJ] "
          "| E/spike probe-station [pJ] | thermal floor [pJ] | dominant on-chip |",
          "|---|---|---|---|---|---|---|---|---|"]
    for r in table:
        size = f"{r['length_m'] * 1e6:g} um" if r["length_m"] >= 1e-6 else f"{r['length_m'] * 1e9:g} nm"
        md.append(f"| {size} | {r['preset']} | {r['v_th_v']:.3g} "
                  f"| {r['f_max_on_chip_hz'] / 1e6:.4g} | {r['f_max_probe_station_hz'] / 1e6:.4g} "
                  f"| {r['energy_per_spike_on_chip_j'] * 1e12:.4g} "
                  f"| {r['energy_per_spike_probe_station_j'] * 1e12:.4g} | {r['thermal_floor_j'] * 1e12:.3g} "
                  f"| {r['dominant_on_chip']} |")
    md += ["", "Parasitic node capacitance: " + "; ".join(f"{s} {INTEGRATION[s].parasitic_f:.4g} F"
                                                     for s in SCALE_SCENARIOS) + "."]
    return {"table": table, "lengths_m": lengths, "curves": curves, "figures": [str(fig)],
            "geometry": SCALE_GEOMETRY, "scenarios": {s: INTEGRATION[s]._asdict() for s in SCALE_SCENARIOS},
            "table_md": "\n".join(md)}


def _plot_scaling(curves: dict[str, dict[str, list[dict[str, Any]]]], path: Path) -> Path:
    """Log-log energy per spike (and thermal floor) and f_max against channel length, per film and scenario."""
    from vo2neuro._plot import pyplot, save

    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"on-chip": "-", "probe-station": "--"}
    for c, name in enumerate(PRESETS):
        color = f"C{c}"
        for scen, ls in styles.items():
            recs = curves[name][scen]
            L = np.array([r["length_m"] for r in recs])
            e = np.array([r["energy_per_spike_j"] for r in recs], dtype=float)
            f = np.array([r["f_max_hz"] for r in recs], dtype=float)
            ok = np.isfinite(e) & (e > 0)
            ax1.loglog(L[ok], e[ok], "o" + ls, ms=3, color=color, label=f"{name}, {scen}")
            ok = np.isfinite(f) & (f > 0)
            ax2.loglog(L[ok], f[ok], "o" + ls, ms=3, color=color, label=f"{name}, {scen}")
        recs = curves[name]["on-chip"]
        L = np.array([r["length_m"] for r in recs])
        floor = np.array([r["thermal_floor_j"] for r in recs], dtype=float)
        ok = np.isfinite(floor) & (floor > 0)
        ax1.loglog(L[ok], floor[ok], ":", color=color, label=f"{name}, thermal floor")
    ax1.set_xlabel("channel length L [m]")
    ax1.set_ylabel("energy per spike [J]")
    ax1.legend(fontsize=7)
    ax2.set_xlabel("channel length L [m]")
    ax2.set_ylabel("f_max [Hz]")
    ax2.legend(fontsize=7)
    fig.suptitle(f"vo2 and vo2x against device size ({SCALE_GEOMETRY})", fontsize=9)
    return save(fig, path)


SECTIONS = [("neuron", neuron_section), ("scaling", scaling_section)]

try:  # the network sections need torch (vo2neuro[torch]); without it the demo stops after the circuits
    from vo2neuro.explore.demo_network import SECTIONS as _NET_SECTIONS
except ModuleNotFoundError as exc:
    if exc.name != "torch":
        raise
    _NET_SECTIONS = []
SECTIONS += _NET_SECTIONS
