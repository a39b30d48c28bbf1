"""vo2 against vo2x: the same BP-SNN training and hardware-level inference for both films, side by side."""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

__all__ = ["Comparison", "compare_presets"]

ROWS = [
    ("software_accuracy", "software accuracy [%]", 100.0),
    ("hardware_accuracy", "hardware-level accuracy [%]", 100.0),
    ("supply_v", "operating (supply) voltage [V]", 1.0),
    ("v_th_v", "device threshold V_th at 300 K [V]", 1.0),
    ("mean_firing_hz", "mean firing frequency, hardware [kHz]", 1e-3),
    ("f_max_hz", "maximum neuron frequency [kHz]", 1e-3),
    ("energy_per_spike_j", "energy per spike (supply, mid-window) [nJ]", 1e9),
    ("energy_per_inference_j", "energy per inference [uJ]", 1e6),
    ("latency_s", "latency to decision [us]", 1e6),
    ("window_s", "inference window T dt [us]", 1e6),
    ("train_seconds", "training time [s]", 1.0),
]


@dataclass(frozen=True)
class Comparison:
    """One row dict per preset (keys of ``ROWS``) plus the run settings."""

    rows: dict[str, dict[str, float]]
    dataset: str
    n_images: int
    d2d_sigma: float
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def table_md(self) -> str:
        names = list(self.rows)
        lines = [f"## BP-SNN on {self.dataset}: {' vs '.join(names)} (hardware level: {self.n_images} test images, "
                 f"{100 * self.d2d_sigma:g} % device-to-device spread)", "",
                 "| quantity | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for key, label, scale in ROWS:
            lines.append(f"| {label} | " + " | ".join(f"{self.rows[n][key] * scale:.4g}" for n in names) + " |")
        return "\n".join(lines)


def compare_presets(presets: Sequence[str] = ("vo2", "vo2x"), *, dataset: str = "digits", out: str | Path =
                    "output/compare", n_images: int = 200, d2d_sigma: float = 0.05, c2c_sigma: float = 0.0,
                    seed: int = 0, progress: bool = True, **train_overrides: Any) -> Comparison:
    """Train each preset's network the same way, run it at hardware level, and collect the comparison."""
    from vo2neuro.device import get_parameters, preset_info, static_iv
    from vo2neuro.snn.hardware import hw_eval
    from vo2neuro.snn.presets import circuit_neuron_for_preset
    from vo2neuro.snn.train import TrainConfig, train

    out = Path(out)
    rows: dict[str, dict[str, float]] = {}
    for name in presets:
        if progress:
            print(f"[compare] {name}: training on {dataset}", file=sys.stderr, flush=True)
        cfg = TrainConfig(dataset=dataset, preset=name, seed=seed, out_dir=str(out / name), progress=progress,
                          **train_overrides)
        res = train(cfg, resume=True)
        hw = hw_eval(res.checkpoint, n_images=n_images, d2d_sigma=d2d_sigma, c2c_sigma=c2c_sigma, seed=seed,
                     progress=progress)
        cn = circuit_neuron_for_preset(name)
        amb = cn.ambient_k
        rows[name] = {
            "software_accuracy": hw.software_accuracy, "hardware_accuracy": hw.accuracy,
            "test_accuracy_full": res.test_accuracy, "supply_v": cn.supply_v,
            "v_th_v": static_iv(get_parameters(name), ambient=amb).v_th_v,
            "mean_firing_hz": hw.mean_rate_hz, "f_max_hz": cn.f_max_hz,
            "energy_per_spike_j": cn.energy_per_spike_j, "energy_per_inference_j": hw.energy_per_inference_j,
            "latency_s": hw.latency_s, "window_s": hw.window_s, "train_seconds": res.train_seconds,
            "images_per_s": hw.images_per_s, "ambient_k": amb, "citation": preset_info(name).citation,
        }
    return Comparison(rows=rows, dataset=dataset, n_images=n_images, d2d_sigma=d2d_sigma,
                      settings={"seed": seed, "c2c_sigma": c2c_sigma, **train_overrides})
