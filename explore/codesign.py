"""Co-design study: the oxygen-vacancy level delta linked to device figures, network accuracy, energy and latency.

For each delta: the device's static figures at the ambient (V_th, V_h, T_IMT), the circuit neuron derived from
it (supply voltage, frequency range, energy per spike; :mod:`vo2neuro.snn.circuit_neuron`), a short BP-SNN
training (same settings for every delta) and hardware-level inference with device variability
(:mod:`vo2neuro.snn.hardware`). The Pareto front is taken over (energy per inference, latency) minimised and
hardware accuracy maximised. A delta whose film does not oscillate in the circuit is recorded with its reason.
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

__all__ = ["CodesignResult", "codesign"]

COLUMNS = [
    ("delta", "delta [-]", 1.0), ("v_th_v", "V_th [V]", 1.0), ("v_h_v", "V_h [V]", 1.0),
    ("t_imt_heating_k", "T_IMT heat [K]", 1.0), ("supply_v", "supply [V]", 1.0),
    ("f_max_hz", "f_max [kHz]", 1e-3), ("energy_per_spike_j", "E/spike [nJ]", 1e9),
    ("software_accuracy", "SW acc [%]", 100.0), ("hardware_accuracy", "HW acc [%]", 100.0),
    ("energy_per_inference_j", "E/inference [uJ]", 1e6), ("latency_s", "latency [us]", 1e6),
]


@dataclass(frozen=True)
class CodesignResult:
    """Rows per delta (keys of ``COLUMNS``; NaN and ``reason`` for a film that cannot spike) and the Pareto set."""

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
            mark = "yes" if r["delta"] in self.pareto else ("" if not r.get("reason") else r["reason"][:40])
            lines.append("| " + " | ".join(cells) + f" | {mark} |")
        return "\n".join(lines)


def codesign(deltas: Sequence[float] = (0.0, 0.005, 0.01, 0.015, 0.02), *, preset: str = "vo2",
             dataset: str = "digits", epochs: int = 10, hidden: tuple[int, ...] = (128,), n_images: int = 150,
             d2d_sigma: float = 0.05, seed: int = 0, out: str | Path = "output/codesign",
             progress: bool = True) -> CodesignResult:
    """Run the co-design grid (see the module docstring); ``preset`` is the pristine film the deltas apply to."""
    from vo2neuro.explore.sweep_plots import pareto_front
    from vo2neuro.device import rt_loop, static_iv
    from vo2neuro.device.select import select
    from vo2neuro.snn.hardware import hw_eval
    from vo2neuro.snn.presets import circuit_neuron_for_preset
    from vo2neuro.snn.train import TrainConfig, train

    out = Path(out)
    rows: list[dict[str, Any]] = []
    for d in deltas:
        d = float(d)
        row: dict[str, Any] = {"delta": d, "reason": ""}
        try:
            dev, ambient, _ = select(preset, delta=d)
            iv = static_iv(dev, ambient=ambient)
            row.update(v_th_v=iv.v_th_v, v_h_v=iv.v_h_v, t_imt_heating_k=rt_loop(dev).t_imt_heating_k)
            cn = circuit_neuron_for_preset(preset, d)
            row.update(supply_v=cn.supply_v, f_max_hz=cn.f_max_hz, energy_per_spike_j=cn.energy_per_spike_j)
            if progress:
                print(f"[codesign] delta={d:g}: training", file=sys.stderr, flush=True)
            res = train(TrainConfig(dataset=dataset, preset=preset, delta=d, epochs=epochs, hidden=hidden, seed=seed,
                                    out_dir=str(out / f"delta_{d:g}"), progress=False), resume=True)
            hw = hw_eval(res.checkpoint, n_images=n_images, d2d_sigma=d2d_sigma, seed=seed, progress=False)
            row.update(software_accuracy=hw.software_accuracy, hardware_accuracy=hw.accuracy,
                       energy_per_inference_j=hw.energy_per_inference_j, latency_s=hw.latency_s,
                       window_s=hw.window_s, test_accuracy_full=res.test_accuracy)
        except ParameterError as exc:
            row["reason"] = str(exc)
        rows.append(row)
    costs = np.array([[r.get("energy_per_inference_j", math.nan), r.get("latency_s", math.nan),
                       -r.get("hardware_accuracy", math.nan)] for r in rows], dtype=float)
    front = [rows[i]["delta"] for i in pareto_front(costs)]
    return CodesignResult(rows=rows, pareto=front,
                          settings={"preset": preset, "dataset": dataset, "epochs": epochs, "hidden": list(hidden),
                                    "n_images": n_images, "d2d_sigma": d2d_sigma, "seed": seed,
                                    "ambient_k": select(preset).ambient_k})


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
