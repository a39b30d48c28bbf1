"""vo2 against vo2x: the same BP-SNN training and hardware-level inference for several films, side by side.

The films are presets (``vo2``, ``vo2x``, ...) or device parameter files (:func:`vo2neuro.device.select`); every
device is resolved and its circuit neuron derived before the first training starts, so a film that cannot
oscillate is refused up front. Each network is trained (resuming a finished run in ``out/<label>``) and run at
circuit level on its own device from exactly the checkpoint written (:mod:`vo2neuro.snn.checkpoint`).

With ``device_size`` every preset's film is built at that channel length with the scale study's circuit
(:func:`vo2neuro.snn.presets.sized_device`); each row then carries the device description (``device``).
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from vo2neuro.units import ParameterError

__all__ = ["Comparison", "compare_presets"]

ROWS = [
    ("software_accuracy", "software accuracy [%]", 100.0),
    ("hardware_accuracy", "hardware-level accuracy [%]", 100.0),
    ("supply_v", "operating (supply) voltage [V]", 1.0),
    ("v_th_v", "device threshold V_th at the ambient [V]", 1.0),
    ("mean_firing_hz", "mean firing frequency, hardware [kHz]", 1e-3),
    ("f_max_hz", "maximum neuron frequency [kHz]", 1e-3),
    ("energy_per_spike_j", "energy per spike (supply, mid-window) [nJ]", 1e9),
    ("energy_per_inference_j", "energy per inference [uJ]", 1e6),
    ("latency_s", "latency to decision [us]", 1e6),
    ("window_s", "inference window T dt [us]", 1e6),
    ("train_s", "training time [s]", 1.0),
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


def _entries(presets: Sequence[Any], delta: float | None, device_size: float | None = None,
             integration: str | None = None) -> list[tuple[str, Any, dict[str, Any]]]:
    """``(label, DeviceSelection or SizedDevice, TrainConfig device fields)`` per film; ParameterError for an
    unusable one."""
    from vo2neuro.device.select import DeviceSelection, select
    from vo2neuro.snn.presets import DEFAULT_INTEGRATION, sized_device

    entries: list[tuple[str, Any, dict[str, Any]]] = []
    labels: set[str] = set()
    for item in presets:
        if device_size is not None:
            if isinstance(item, DeviceSelection):
                raise ParameterError("device-size: a sized device is built from a preset's film; give --presets, "
                                     "not --params [-]")
            sel = sized_device(str(item), float(device_size), integration or DEFAULT_INTEGRATION, delta=delta)
            fields = {"preset": str(item), "delta": delta, "device_size_m": float(device_size),
                      "integration": integration}
            label = str(item) if delta is None else f"{item}@delta={delta:g}"
        elif isinstance(item, DeviceSelection):
            sel = item
            fields = {"preset": None, "device_params": sel.params.to_dict(), "ambient_k": sel.ambient_k,
                      "device_source": sel.source}
            label = sel.params.name
        else:
            sel = select(str(item), delta=delta)
            fields = {"preset": str(item), "delta": delta}
            label = str(item) if delta is None else f"{item}@delta={delta:g}"
        base, k = label, 2
        while label in labels:
            label, k = f"{base}-{k}", k + 1
        labels.add(label)
        entries.append((label, sel, fields))
    return entries


def compare_presets(presets: Sequence[Any] = ("vo2", "vo2x"), *, dataset: str = "digits", out: str | Path =
                    "output/compare", n_images: int = 200, d2d_sigma: float = 0.05, c2c_sigma: float = 0.0,
                    seed: int = 0, progress: bool = True, delta: float | None = None,
                    device_size: float | None = None, integration: str | None = None,
                    **train_overrides: Any) -> Comparison:
    """Train each film's network the same way, run it at hardware level, and collect the comparison.

    Parameters
    ----------
    presets : sequence of str or DeviceSelection
        Preset names and/or resolved devices (:func:`vo2neuro.device.select` of a parameter file).
    delta : float, optional
        Oxygen-vacancy level [-] applied to every preset named (a DeviceSelection already carries its own).
    out : path
        Folder; each film trains into ``out/<label>`` (a finished run there is reused).
    device_size, integration : float [m], str, optional
        Build every preset's film at this channel length in this scenario (default on-chip).
    train_overrides
        :class:`~vo2neuro.snn.train.TrainConfig` fields shared by every film (epochs, hidden, ...).

    Raises
    ------
    ParameterError
        Before any training: an unknown preset, a bad vacancy level, or a film that does not oscillate.
    """
    from vo2neuro.device import preset_info, static_iv
    from vo2neuro.snn.hardware import check_circuit_dt, hw_eval
    from vo2neuro.snn.presets import SizedDevice, circuit_neuron_for_device, circuit_neuron_for_sized
    from vo2neuro.snn.train import TrainConfig, train

    if integration is not None and device_size is None:
        raise ParameterError("integration: only used with --device-size (the default circuit has no scenario) [-]")
    out = Path(out)
    entries = _entries(presets, delta, device_size, integration)
    neurons, sized = {}, {}
    for label, sel, _ in entries:          # every film checked before the first training
        if isinstance(sel, SizedDevice):
            sized[label] = sel
            neurons[label] = circuit_neuron_for_sized(sel)
        else:
            neurons[label] = circuit_neuron_for_device(sel.params, sel.ambient_k)
            check_circuit_dt(20e-9, sel.params)
    entries = [(label, sized[label].selection if label in sized else sel, f) for label, sel, f in entries]
    configs = {label: TrainConfig(dataset=dataset, seed=seed, out_dir=str(out / label), progress=progress,
                                  **fields, **train_overrides) for label, _, fields in entries}
    rows: dict[str, dict[str, Any]] = {}
    for label, sel, _ in entries:
        if progress:
            print(f"[compare] {label}: training on {dataset}", file=sys.stderr, flush=True)
        res = train(configs[label], resume=True)
        hw = hw_eval(res.checkpoint, n_images=n_images, d2d_sigma=d2d_sigma, c2c_sigma=c2c_sigma, seed=seed,
                     progress=progress)
        cn = neurons[label]
        amb = cn.ambient_k
        name = sel.source.split(":", 1)[1] if sel.source.startswith("preset:") else ""
        rows[label] = {
            "software_accuracy": hw.software_accuracy, "hardware_accuracy": hw.accuracy,
            "test_accuracy_full": res.test_accuracy, "supply_v": cn.supply_v,
            "v_th_v": static_iv(sel.params, ambient=amb).v_th_v,
            "mean_firing_hz": hw.mean_rate_hz, "f_max_hz": cn.f_max_hz,
            "energy_per_spike_j": cn.energy_per_spike_j, "energy_per_inference_j": hw.energy_per_inference_j,
            "latency_s": hw.latency_s, "window_s": hw.window_s, "train_s": res.train_s,
            "train_seconds": res.train_s,  # deprecated alias of train_s (one release)
            "images_per_s": hw.images_per_s, "ambient_k": amb,
            "citation": preset_info(name).citation if name else sel.params.citation,
            "device_source": sel.source, "delta": sel.params.delta, "diagnosis": hw.diagnosis,
            "checkpoint": res.checkpoint,
        }
        if label in sized:
            rows[label]["device"] = sized[label].to_dict()
    return Comparison(rows=rows, dataset=dataset, n_images=hw.n_images if entries else n_images, d2d_sigma=d2d_sigma,
                      settings={"seed": seed, "c2c_sigma": c2c_sigma, "delta": delta, **train_overrides,
                                **({"device_size_m": float(device_size),
                                    "integration": integration or "on-chip"} if device_size is not None else {})})
