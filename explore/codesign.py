"""Co-design study: the oxygen-vacancy level delta linked to device figures, network accuracy, energy and latency.

For each delta: the device's static figures at the ambient (V_th, V_h, T_IMT), the circuit neuron derived from
it (supply voltage, frequency range, energy per spike; :mod:`vo2neuro.snn.circuit_neuron`), a short BP-SNN
training (same settings for every delta) and hardware-level inference with device variability
(:mod:`vo2neuro.snn.hardware`). The Pareto front is taken over (energy per inference, latency) minimised and
hardware accuracy maximised.

The pristine film is a preset or a device parameter file (``params_file``, :func:`vo2neuro.device.select`). Every
delta is checked before the first training starts (:func:`preflight`): a vacancy level outside
``[0, DELTA_MAX]``, a film that is not pristine, or a film whose circuit does not oscillate is a
:class:`~vo2neuro.units.ParameterError` naming the delta. A row that still fails while running (training or
hardware inference refusing it) keeps NaN figures and its reason; a row whose circuit-level result is poor carries
the diagnosis of :func:`vo2neuro.snn.hardware.hw_eval` (operating point outside the window, silent outputs,
saturation).

With ``device_size`` every delta's film is built at that channel length with the scale study's circuit
(:func:`vo2neuro.snn.presets.sized_device`, presets only); each row then carries the device description
(``device``).
"""
from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vo2neuro.units import ParameterError

__all__ = ["CodesignResult", "codesign", "preflight", "plot_codesign"]

COLUMNS = [
    ("delta", "delta [-]", 1.0), ("v_th_v", "V_th [V]", 1.0), ("v_h_v", "V_h [V]", 1.0),
    ("t_imt_heating_k", "T_IMT heat [K]", 1.0), ("supply_v", "supply [V]", 1.0),
    ("f_max_hz", "f_max [kHz]", 1e-3), ("energy_per_spike_j", "E/spike [nJ]", 1e9),
    ("software_accuracy", "SW acc [%]", 100.0), ("hardware_accuracy", "HW acc [%]", 100.0),
    ("energy_per_inference_j", "E/inference [uJ]", 1e6), ("latency_s", "latency [us]", 1e6),
]


@dataclass(frozen=True)
class CodesignResult:
    """Rows per delta (keys of ``COLUMNS``; NaN and ``reason`` for a row that failed while running, ``diagnosis``
    for a poor circuit-level result) and the Pareto set."""

    rows: list[dict[str, Any]]
    pareto: list[float]
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def table_md(self) -> str:
        head = "| " + " | ".join(label for _, label, _ in COLUMNS) + " | Pareto |"
        lines = [head, "|" + "---|" * (len(COLUMNS) + 1)]
        for r in self.rows:
            cells = []
            for key, _, s in COLUMNS:
                v = r.get(key, math.nan)
                cells.append("-" if not (isinstance(v, float) and math.isfinite(v)) and key != "delta"
                             else f"{v * s:.4g}")
            mark = "yes" if r["delta"] in self.pareto else ""
            lines.append("| " + " | ".join(cells) + f" | {mark} |")
        notes = [f"- delta {r['delta']:g}: {r.get('reason') or r.get('diagnosis')}" for r in self.rows
                 if r.get("reason") or r.get("diagnosis")]
        return "\n".join(lines + ([""] + notes if notes else []))

    def failures(self) -> list[str]:
        """One line per row that failed while running (empty when every row ran)."""
        return [f"delta={r['delta']:g}: {r['reason']}" for r in self.rows if r.get("reason")]


def _select(preset: str | None, params_file: str | Path | None, delta: float | None):
    from vo2neuro.device.select import select

    if params_file is not None:
        return select(params_file=params_file, delta=delta)
    return select(preset if preset is not None else "vo2", delta=delta)


def preflight(deltas: Sequence[float], *, preset: str | None = "vo2", params_file: str | Path | None = None,
              dt_circuit: float = 20e-9, device_size: float | None = None,
              integration: str | None = None) -> list[tuple[float, Any, Any]]:
    """Resolve every delta's device and derive its circuit neuron before any training.

    Returns ``[(delta, DeviceSelection, CircuitNeuron), ...]``; raises :class:`ParameterError` naming the first
    delta that cannot be run (outside ``[0, DELTA_MAX]``, a non-pristine film, no oscillation in the circuit, a
    circuit step too coarse for its neuron). With ``device_size`` [m] the DeviceSelection is that of the sized
    device (:func:`vo2neuro.snn.presets.sized_device`; its circuit step is chosen by ``hw_eval``).
    """
    from vo2neuro.device import DELTA_MAX
    from vo2neuro.snn.hardware import check_circuit_dt
    from vo2neuro.snn.presets import (DEFAULT_INTEGRATION, circuit_neuron_for_device, circuit_neuron_for_sized,
                                      sized_device)

    if integration is not None and device_size is None:
        raise ParameterError("integration: only used with --device-size (the default circuit has no scenario) [-]")
    if device_size is not None and params_file is not None:
        raise ParameterError("device-size: a sized device is built from a preset's film; give --preset, not "
                             "--params [-]")
    if not deltas:
        raise ParameterError("deltas: give at least one vacancy level [1]")
    _select(preset, params_file, None)  # the pristine film itself (unknown preset, bad file) is its own error
    out = []
    for d in deltas:
        d = float(d)
        if not (math.isfinite(d) and 0.0 <= d <= DELTA_MAX):
            raise ParameterError(f"deltas must be within [0, {DELTA_MAX}] [1] (the model's vacancy range), got {d!r}")
        try:
            if device_size is not None:
                sized = sized_device(preset if preset is not None else "vo2", float(device_size),
                                     integration or DEFAULT_INTEGRATION, delta=d)
                sel, cn = sized.selection, circuit_neuron_for_sized(sized)
            else:
                sel = _select(preset, params_file, d)
                cn = circuit_neuron_for_device(sel.params, sel.ambient_k)
                check_circuit_dt(dt_circuit, sel.params)
        except ParameterError as exc:
            raise ParameterError(f"deltas: {d:g} cannot be run: {' '.join(str(exc).split())}") from None
        out.append((d, sel, cn))
    return out


def codesign(deltas: Sequence[float] = (0.0, 0.005, 0.01, 0.015, 0.02), *, preset: str | None = "vo2",
             params_file: str | Path | None = None, dataset: str = "digits", epochs: int = 10,
             hidden: tuple[int, ...] = (128,), n_images: int = 150, d2d_sigma: float = 0.05, seed: int = 0,
             out: str | Path = "output/codesign", progress: bool = True, device_size: float | None = None,
             integration: str | None = None) -> CodesignResult:
    """Run the co-design grid (see the module docstring).

    ``preset`` (default vo2) or ``params_file`` (a JSON device parameter file, e.g. ``vo2neuro calibrate -o``) is
    the pristine film the deltas apply to. Every delta is checked by :func:`preflight` before training starts.
    ``device_size`` [m] and ``integration`` build each film at that size (module docstring).
    """
    from vo2neuro.explore.sweep_plots import pareto_front
    from vo2neuro.device import rt_loop, static_iv
    from vo2neuro.snn.hardware import hw_eval
    from vo2neuro.snn.train import TrainConfig, train

    if params_file is not None:
        preset = None
    checked = preflight(deltas, preset=preset, params_file=params_file, device_size=device_size,
                        integration=integration)
    from vo2neuro.snn.presets import DEFAULT_INTEGRATION, sized_device
    out = Path(out)
    rows: list[dict[str, Any]] = []
    for d, sel, cn in checked:
        row: dict[str, Any] = {"delta": d, "reason": "", "diagnosis": ""}
        dev, ambient = sel.params, sel.ambient_k
        try:
            iv = static_iv(dev, ambient=ambient)
            row.update(v_th_v=iv.v_th_v, v_h_v=iv.v_h_v, t_imt_heating_k=rt_loop(dev).t_imt_heating_k)
            row.update(supply_v=cn.supply_v, f_max_hz=cn.f_max_hz, energy_per_spike_j=cn.energy_per_spike_j)
            if progress:
                print(f"[codesign] delta={d:g}: training", file=sys.stderr, flush=True)
            device = ({"preset": preset, "delta": d} if params_file is None else
                      {"preset": None, "device_params": dev.to_dict(), "ambient_k": ambient,
                       "device_source": sel.source})
            if device_size is not None:
                device.update(device_size_m=float(device_size), integration=integration)
                row["device"] = sized_device(preset, float(device_size), integration or DEFAULT_INTEGRATION,
                                             delta=d).to_dict()
            res = train(TrainConfig(dataset=dataset, epochs=epochs, hidden=hidden, seed=seed,
                                    out_dir=str(out / f"delta_{d:g}"), progress=False, **device), resume=True)
            hw = hw_eval(res.checkpoint, n_images=n_images, d2d_sigma=d2d_sigma, seed=seed, progress=False)
            row.update(software_accuracy=hw.software_accuracy, hardware_accuracy=hw.accuracy,
                       energy_per_inference_j=hw.energy_per_inference_j, latency_s=hw.latency_s,
                       window_s=hw.window_s, test_accuracy_full=res.test_accuracy, diagnosis=hw.diagnosis)
        except ParameterError as exc:
            row["reason"] = " ".join(str(exc).split())
        if progress and (row["reason"] or row["diagnosis"]):
            print(f"[codesign] delta={d:g}: {row['reason'] or row['diagnosis']}", file=sys.stderr, flush=True)
        rows.append(row)
    costs = np.array([[r.get("energy_per_inference_j", math.nan), r.get("latency_s", math.nan),
                       -r.get("hardware_accuracy", math.nan)] for r in rows], dtype=float)
    front = [rows[i]["delta"] for i in pareto_front(costs)]
    return CodesignResult(rows=rows, pareto=front,
                          settings={"preset": preset, "params_file": None if params_file is None else str(params_file),
                                    "device_source": checked[0][1].source if checked else "",
                                    "dataset": dataset, "epochs": epochs, "hidden": list(hidden),
                                    "n_images": n_images, "d2d_sigma": d2d_sigma, "seed": seed,
                                    "ambient_k": checked[0][1].ambient_k if checked else math.nan,
                                    **({"device_size_m": float(device_size), "integration": integration or
                                        DEFAULT_INTEGRATION} if device_size is not None else {})})


def plot_codesign(res: CodesignResult, path: str | Path) -> Path:
    """Accuracy, energy per inference and latency against delta (PNG), Pareto points ringed."""
    from vo2neuro._plot import pyplot, save

    plt = pyplot()
    ok = [r for r in res.rows if not r.get("reason")]
    d = [r["delta"] for r in ok]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.3))
    for ax, (key, label, s) in zip(axes, [("hardware_accuracy", "HW accuracy [%]", 100.0),
                                          ("energy_per_inference_j", "energy / inference [uJ]", 1e6),
                                          ("latency_s", "latency [us]", 1e6)]):
        ys = [r[key] * s for r in ok]
        ax.plot(d, ys, "o-")
        for r, y in zip(ok, ys):
            if r["delta"] in res.pareto:
                ax.plot([r["delta"]], [y], "o", ms=11, mfc="none", mec="C3")
        ax.set_xlabel("delta (x in VO2-x)")
        ax.set_title(label, fontsize=9)
    fig.suptitle("Co-design: vacancy level against accuracy, energy and latency (red rings: Pareto front)",
                 fontsize=10)
    return save(fig, path, dpi=120)
