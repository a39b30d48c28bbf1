r"""Hardware-level inference: a trained VO2 BP-SNN run with every neuron as a simulated VO2 oscillator circuit.

Mapping from the trained network to the circuit (the scaling is one factor, the neuron's synaptic rheobase
:math:`I_{rh} = (v_{th} - v_{bias})/R_{leak}` [A], the unit the weights were trained in,
:mod:`vo2neuro.snn.network`):

* first layer (current coding): each image drives neuron ``j`` with the constant synaptic current
  :math:`I_j = I_{rh} (\sum_i W_{ji} x_i + b_j)` for the whole window;
* deeper layers: a presynaptic spike injects :math:`I_{rh} W_{ji}` into neuron ``j`` for one network time step
  ``dt`` (charge :math:`I_{rh} W_{ji} dt` per spike), event-driven; biases are constant currents
  :math:`I_{rh} b_j`;
* every neuron is the circuit its parameters were derived from (:mod:`vo2neuro.snn.circuit_neuron`): supply
  current ``I_b`` through ``R_L``, node capacitor ``C``, the electro-thermal VO2 device of the preset, with
  device-to-device and cycle-to-cycle variability (:func:`vo2neuro.circuits.network.simulate_network`);
* every node has a clamp diode to ground (V >= 0): a VO2 device switches for either polarity, so without it a
  strongly inhibited node driven negative would fire; the software neuron, which has no reversed-polarity
  switching, is silent there too (the clamp only shortens its recovery after strong inhibition); the synaptic
  driver's compliance caps the total synaptic current at ``i_max``;
* the window is ``T dt``; the class is the output population with most spikes, as in software.

Variability (``d2d_sigma``, ``c2c_sigma`` as relative spreads, assumption): D2D log-normal insulating resistance
``R_0 exp(sigma z)`` and Gaussian ``T_c`` with sigma ``d2d_sigma (T_c - T_ambient)``; C2C a redraw of ``T_c`` with
sigma ``c2c_sigma (T_c - T_ambient)`` every time a device re-insulates (vo2_physics.md section 13.3).
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vo2neuro.units import ParameterError, check_nonnegative

__all__ = ["HWEvalResult", "hw_eval"]


@dataclass(frozen=True)
class HWEvalResult:
    """Hardware-level inference figures (per inference = per image).

    Attributes
    ----------
    accuracy, software_accuracy : fraction correct at circuit level / of the trained network, same images [0-1]
    energy_per_inference_j : supply + synaptic drivers + synaptic events [J]; split in ``energy_breakdown_j``
    spikes_per_inference : spikes of all simulated neurons [-]; ``mean_rate_hz``: per neuron over the window [Hz]
    synaptic_events_per_inference : spikes x fan-out [-]
    latency_s : mean time from stimulus onset until the leading class stops changing [s]
    window_s : simulated time per image T dt [s]
    images_per_s : simulation throughput of this machine [1/s]
    n_images, d2d_sigma, c2c_sigma, seed, preset, dt_circuit_s
    supply_v : operating (supply) voltage of the neurons [V]
    """

    accuracy: float
    software_accuracy: float
    energy_per_inference_j: float
    spikes_per_inference: float
    synaptic_events_per_inference: float
    latency_s: float
    window_s: float
    images_per_s: float
    n_images: int
    d2d_sigma: float
    c2c_sigma: float
    seed: int
    preset: str
    dt_circuit_s: float
    supply_v: float
    energy_breakdown_j: dict[str, float] = field(default_factory=dict)
    agreement: float = math.nan
    mean_rate_hz: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def hw_eval(checkpoint: str | Path, *, n_images: int = 200, d2d_sigma: float = 0.05, c2c_sigma: float = 0.0,
            seed: int = 0, dt_circuit: float = 20e-9, data_dir: str | None = None,
            energy_per_event_j: float | None = None, batch: int = 64, progress: bool = True) -> HWEvalResult:
    """Run the test images of a trained checkpoint on the circuit-level simulator.

    Parameters
    ----------
    checkpoint : path
        ``checkpoint.pt`` written by ``vo2neuro train`` (current coding, neurons derived from a preset).
    n_images : int
        First ``n_images`` test images.
    d2d_sigma, c2c_sigma : float
        Relative device-to-device and cycle-to-cycle spreads (see module docstring) [-].
    seed : int
        Seed of the device draws.
    dt_circuit : float
        Circuit time step [s].
    """
    import torch

    from vo2neuro.circuits.network import ENERGY_PER_EVENT_J, simulate_network
    from vo2neuro.device import get_parameters
    from vo2neuro.snn.presets import circuit_neuron_for_preset
    from vo2neuro.snn.train import Trainer, TrainConfig

    path = Path(checkpoint)
    if not path.is_file():
        raise ParameterError(f"checkpoint: file not found: {path}")
    if n_images < 1:
        raise ParameterError(f"n_images must be >= 1 [1], got {n_images}")
    check_nonnegative("d2d_sigma", d2d_sigma, "1")
    check_nonnegative("c2c_sigma", c2c_sigma, "1")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
        cfg_d = dict(ck["config"])
    except Exception as exc:  # noqa: BLE001 - torch raises assorted types for a damaged file
        raise ParameterError(f"checkpoint: {path} cannot be read ({type(exc).__name__})") from None
    cfg_d.update(out_dir=str(path.parent), progress=False)
    if data_dir is not None:
        cfg_d["data_dir"] = data_dir
    cfg = TrainConfig.from_dict(cfg_d)
    if cfg.encoding != "current":
        raise ParameterError(f"checkpoint: encoding {cfg.encoding!r} is not supported at hardware level; train with "
                             "--encoding current [-]")
    cn = circuit_neuron_for_preset(cfg.preset, cfg.delta)
    if cfg.neuron is not None or not cn.params.matches(ck["neuron"]):
        raise ParameterError("checkpoint: its neuron is not the one derived from the circuit of preset "
                             f"{cfg.preset!r}; hardware-level inference needs a preset-derived neuron [-]")
    tr = Trainer(cfg)
    tr.load_checkpoint()
    model = tr.model.eval()
    x = tr.x_test[:n_images].double().cpu()
    y = tr.y_test[:n_images].cpu()
    with torch.no_grad():
        sw_pred = tr._forward(tr.x_test[:n_images]).argmax(1).cpu()
    software_acc = float((sw_pred == y).double().mean())
    p = tr.neuron
    i_rh = p.rheobase
    lin = [(m.weight.detach().double().cpu().numpy(), m.bias.detach().double().cpu().numpy()) for m in model.linears]
    in_cur = (x.numpy() @ lin[0][0].T + lin[0][1]) * i_rh
    weights = [W * i_rh for W, _ in lin[1:]]
    biases = [b * i_rh for _, b in lin[1:]]
    dev = get_parameters(cfg.preset, delta=cfg.delta)
    spread_k = max(dev.T_c - cn.ambient_k, 0.0)
    kw = dict(i_supply=cn.i_bias_a, r_load=cn.r_load_ohm, capacitance=cn.capacitance_f, ambient=cn.ambient_k,
              window=cfg.steps * p.dt, pulse=p.dt, dt=dt_circuit, population=cfg.population,
              r_ins_sigma_ln=d2d_sigma, t_c_sigma=d2d_sigma * spread_k, t_c_c2c_sigma=c2c_sigma * spread_k,
              i_syn_max=p.i_max,
              seed=seed, energy_per_event_j=ENERGY_PER_EVENT_J if energy_per_event_j is None else energy_per_event_j)
    runs = []
    bar = None
    if progress:
        import sys

        from tqdm import tqdm

        bar = tqdm(total=n_images, desc="hw-eval", unit="img", file=sys.stderr)
    t0 = time.perf_counter()
    for i in range(0, n_images, batch):
        runs.append(simulate_network(dev, in_cur[i:i + batch], weights, biases, **kw))
        if bar:
            bar.update(min(batch, n_images - i))
    wall = time.perf_counter() - t0
    if bar:
        bar.close()
    cat = lambda name: np.concatenate([getattr(r, name) for r in runs])  # noqa: E731
    counts = cat("counts")
    n_cls = counts.shape[1] // cfg.population
    cls_counts = counts.reshape(len(counts), n_cls, cfg.population).sum(-1)
    hw_pred = np.argmax(cls_counts, axis=1)  # ties to the lower index, as torch.argmax
    acc = float(np.mean(hw_pred == y.numpy()))
    decided = cat("decision_s")
    lat = float(np.mean(np.where(np.isfinite(decided), decided, cfg.steps * p.dt)))
    sup, drv, evt = cat("supply_energy_j"), cat("synapse_driver_energy_j"), cat("event_energy_j")
    spikes = float(np.mean(cat("spikes_per_layer").sum(1)))
    n_neurons = in_cur.shape[1] + sum(len(b) for b in biases)
    return HWEvalResult(accuracy=acc, software_accuracy=software_acc,
                        energy_per_inference_j=float(np.mean(sup + drv + evt)),
                        spikes_per_inference=spikes,
                        synaptic_events_per_inference=float(np.mean(cat("synaptic_events"))), latency_s=lat,
                        window_s=cfg.steps * p.dt, images_per_s=n_images / wall, n_images=n_images,
                        d2d_sigma=d2d_sigma, c2c_sigma=c2c_sigma, seed=seed, preset=cfg.preset,
                        dt_circuit_s=dt_circuit, supply_v=cn.supply_v,
                        energy_breakdown_j={"neuron_supply": float(np.mean(sup)), "synapse_drivers": float(np.mean(drv)),
                                            "synaptic_events": float(np.mean(evt)),
                                            "device_dissipation": float(np.mean(cat("device_energy_j")))},
                        agreement=float(np.mean(hw_pred == sw_pred.numpy())),
                        mean_rate_hz=spikes / (n_neurons * cfg.steps * p.dt))
