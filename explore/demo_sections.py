"""Demo sections beyond the device: neuron circuits (and, when the layers are installed, networks).

Each section is ``fn(out: Path, *, quick: bool) -> dict`` returning rows, figure paths and a markdown table.
"""
from __future__ import annotations

from vo2neuro.device.select import ROOM_TEMPERATURE_K

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


SECTIONS = [("neuron", neuron_section)]

try:  # the network sections need torch (vo2neuro[torch]); without it the demo stops after the circuits
    from vo2neuro.explore.demo_network import SECTIONS as _NET_SECTIONS
except ModuleNotFoundError as exc:
    if exc.name != "torch":
        raise
    _NET_SECTIONS = []
SECTIONS += _NET_SECTIONS
