"""Zoo networks at circuit level: convert onto VO2 device neurons, then run every device as a simulated circuit.

:func:`zoo_hw_eval` trains (or reads from the cache) the study's classifier (DPDNet in its MNIST configuration,
PSDNet in its small configuration) or builds the TDDPG-Rec actor, converts it onto the VO2 device neurons of a
preset (:func:`vo2neuro.ml_zoo.convert.convert`, ``neuron="vo2"``), and runs the converted network twice on the same
inputs: in software (the device neurons' discrete update) and at circuit level
(:mod:`vo2neuro.ml_zoo.circuit_level`: every device an electro-thermal oscillator circuit with device-to-device and
cycle-to-cycle spread). It reports the accuracy (top-k agreement with the ANN for the recommender) of both, their
agreement, and the spikes, routed synaptic events, energy and latency per inference measured at circuit level, with
the events per presynaptic neuron and step of every synaptic layer (``layer_rates``) that the energy ledger of
``vo2neuro zoo energy --measured`` reads.
"""
from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from vo2neuro.units import ParameterError, parse_count

__all__ = ["ZooHWEvalResult", "zoo_hw_eval", "RECORD_KIND", "ZOO_HW_MODELS"]

#: ``kind`` of the JSON record of a circuit-level zoo run (read by ``vo2neuro zoo energy --measured``).
RECORD_KIND = "vo2neuro.hw_eval.zoo"
#: Zoo entries that run at circuit level.
ZOO_HW_MODELS = ("dpdnet", "psdnet", "tddpg_rec")
#: Largest simulation accepted, in device-steps (inputs x devices x circuit steps) [-]: about 3 h at the ~8e7
#: device-steps/s of the vector layer kernel on 2 cores (benchmarks/bench_layer.py, 2026-12-01).
MAX_DEVICE_STEPS = 1e12


@dataclass(frozen=True)
class ZooHWEvalResult:
    """A converted zoo network at circuit level (per inference = per input; means over the inputs).

    Attributes
    ----------
    model, network_config, dataset : the zoo entry, its configuration (``mnist``/``digits`` for DPDNet at 28x28 or
        8x8, ``small`` for PSDNet, ``paper``/``small`` for the TDDPG-Rec actor) and the test images (None for the
        actor, whose states are synthetic)
    steps : T, the window in network steps [-]; ``network_dt_s`` the network step [s]; ``window_s = T dt`` [s]
    accuracy, snn_accuracy, ann_accuracy : circuit-level, software-converted and ANN accuracy on the same inputs
        [0-1] (for the actor: top-k agreement with the ANN, and ``ann_accuracy`` NaN: the ANN is the reference)
    agreement : fraction of inputs where circuit and software SNN give the same answer (same class; for the actor
        the top-k overlap of the two) [-]
    accuracy_vs_steps, snn_accuracy_vs_steps : the same at each T evaluated {T: value}
    spikes_per_inference, synaptic_events_per_inference [-]; energy_per_inference_j and energy_breakdown_j [J]
    latency_s : mean time until the leading output stops changing, pipeline delay included [s]
    layer_rates : {synaptic layer: routed events per presynaptic neuron per step} at circuit level [-], with
        ``layer_inputs`` {layer: "spikes"|"graded"} (:mod:`vo2neuro.ml_zoo.measured`)
    preset, devices_per_neuron, i_on_a [A], n_devices, d2d_sigma, c2c_sigma, seed, dt_circuit_s [s], n_images
    images_per_s : circuit-level throughput on this machine [1/s]; wall_s [s]
    """

    model: str
    network_config: str
    dataset: str | None
    steps: int
    accuracy: float
    snn_accuracy: float
    ann_accuracy: float
    agreement: float
    accuracy_vs_steps: dict[int, float]
    snn_accuracy_vs_steps: dict[int, float]
    spikes_per_inference: float
    synaptic_events_per_inference: float
    energy_per_inference_j: float
    energy_breakdown_j: dict[str, float]
    latency_s: float
    window_s: float
    network_dt_s: float
    layer_rates: dict[str, float]
    layer_inputs: dict[str, str]
    preset: str
    devices_per_neuron: int
    i_on_a: float
    n_devices: int
    d2d_sigma: float
    c2c_sigma: float
    seed: int
    dt_circuit_s: float
    n_images: int
    images_per_s: float
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {"kind": RECORD_KIND, **dataclasses.asdict(self)}
        for k in ("accuracy_vs_steps", "snn_accuracy_vs_steps"):
            d[k] = {str(t): v for t, v in d[k].items()}
        return d


def _activations(net: torch.nn.Module, side: int) -> int:
    """Units behind the ReLU/ReLU6 modules of ``net`` for one ``side`` x ``side`` image (the converted neurons)."""
    count = [0]
    hooks = [m.register_forward_hook(lambda m, i, o: count.__setitem__(0, count[0] + o[0].numel()))
             for m in net.modules() if isinstance(m, (torch.nn.ReLU, torch.nn.ReLU6))]
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            net.eval()(torch.zeros(1, 1, side, side))
    finally:
        for h in hooks:
            h.remove()
    return count[0]


def _check_work(n_inputs: int, n_devices: int, steps: int, n_sub: int) -> None:
    work = float(n_inputs) * n_devices * steps * n_sub
    if work > MAX_DEVICE_STEPS:
        raise ParameterError(f"n_images: the circuit-level run needs {work:.3g} device-steps ({n_inputs} inputs x "
                             f"{n_devices} devices x {steps} steps x {n_sub} circuit steps), above the "
                             f"{MAX_DEVICE_STEPS:g} limit; use fewer --n-images or --steps [-]")


def zoo_hw_eval(name: str, *, dataset: str = "digits", n_images: int = 100, steps: int | Sequence[int] = 32,
                preset: str = "vo2x", devices: int | None = None, d2d_sigma: float = 0.05, c2c_sigma: float = 0.0,
                seed: int = 0, dt_circuit: float = 20e-9, epochs: int | None = None, data_dir: str | None = None,
                cache_dir: str | None = None, config: str = "paper", percentile: float = 99.9, batch_size: int = 16,
                progress: bool = True) -> ZooHWEvalResult:
    """Convert zoo entry ``name`` onto VO2 device neurons and run it at circuit level (module docstring).

    Parameters
    ----------
    name : {"dpdnet", "psdnet", "tddpg_rec"}
    dataset : {"digits", "mnist"}
        Classifiers only: training and test images.
    n_images : int
        First test images (classifiers) or synthetic states (actor) to run [-].
    steps : int or sequence of int
        Window(s) T in network steps; one run to the largest, read out at each.
    preset : str
        Device preset of the converted neurons (its circuit neuron, :func:`vo2neuro.snn.presets.circuit_neuron_for_preset`).
    devices : int, optional
        VO2 devices per converted neuron (default :func:`vo2neuro.ml_zoo.convert.default_devices`).
    d2d_sigma, c2c_sigma : float
        Relative device-to-device and cycle-to-cycle spreads [-] (as ``vo2neuro hw-eval``).
    dt_circuit : float
        Largest circuit step [s], at most :func:`vo2neuro.snn.hardware.max_circuit_dt` of the device.
    epochs, data_dir, cache_dir, percentile
        As :func:`vo2neuro.explore.conversion_study.convert_classifier`.
    config : str
        Actor only: ``paper`` or ``small``.
    """
    from vo2neuro.device import select
    from vo2neuro.explore.conversion_study import (CONVERTIBLE_CLASSIFIERS, DATASET_IMAGES, DATASETS, _step_list,
                                                   check_classifier_args, trained_classifier)
    from vo2neuro.ml_zoo.circuit_level import run_circuit_network, to_circuit
    from vo2neuro.ml_zoo.convert import VO2DeviceNeuron, convert, predictions_vs_steps
    from vo2neuro.snn.hardware import check_circuit_dt
    from vo2neuro.snn.presets import circuit_neuron_for_preset

    if name not in ZOO_HW_MODELS:
        raise ParameterError(f"zoo: {name!r} does not run at circuit level; valid: {', '.join(ZOO_HW_MODELS)} [-]")
    n_images = parse_count(n_images, name="n_images", minimum=1)
    step_list = _step_list(steps)
    for nm, v in (("d2d_sigma", d2d_sigma), ("c2c_sigma", c2c_sigma)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise ParameterError(f"{nm} must be a finite spread >= 0 [-], got {v!r}")
    sel = select(preset)
    check_circuit_dt(dt_circuit, sel.params)
    if name in CONVERTIBLE_CLASSIFIERS:
        if dataset not in DATASETS:
            raise ParameterError(f"dataset: {dataset!r} is not valid; valid: {', '.join(DATASETS)} [-]")
        n_avail = DATASET_IMAGES[dataset][1]
        if n_images > n_avail:
            raise ParameterError(f"n_images must be <= {n_avail} [images] (the {dataset} test split has {n_avail} "
                                 f"images), got {n_images}")
        epochs, _ = check_classifier_args(name, dataset=dataset, epochs=epochs, steps=step_list,
                                          percentile=percentile, neuron="vo2", data_dir=data_dir, n_test=n_images,
                                          vo2_preset=preset, cache_dir=cache_dir)
    cn = circuit_neuron_for_preset(preset)
    n_sub = math.ceil(cn.params.dt / dt_circuit * (1.0 - 1e-12))
    if devices is not None:
        devices = parse_count(devices, name="devices", minimum=1, maximum=64)
    if name in CONVERTIBLE_CLASSIFIERS:   # the size of the simulation, refused before any training
        from vo2neuro.explore.conversion_study import _classifier
        from vo2neuro.ml_zoo.convert import default_devices, drive_current

        k = devices or default_devices(cn.params, drive_current(cn))
        side = 28 if dataset == "mnist" else 8
        _check_work(n_images, k * _activations(_classifier(name, side), side), max(step_list), n_sub)
    if name == "tddpg_rec":
        return _actor_hw_eval(config=config, n_states=n_images, step_list=step_list, cn=cn, sel=sel, devices=devices,
                              d2d_sigma=d2d_sigma, c2c_sigma=c2c_sigma, seed=seed, dt_circuit=dt_circuit,
                              percentile=percentile, batch_size=batch_size, progress=progress, preset=preset)
    net, x_tr, y_tr, x_te, y_te, gen, _ = trained_classifier(name, dataset=dataset, epochs=epochs, seed=seed,
                                                             data_dir=data_dir, cache_dir=cache_dir,
                                                             progress=progress)
    x, y = x_te[:n_images], y_te[:n_images]
    calib = x_tr[torch.randperm(len(x_tr), generator=gen)[:1000]]
    res = convert(net, calib, steps=max(step_list), percentile=percentile, neuron="vo2", vo2=cn, devices=devices)
    circuit = to_circuit(res.snn, cn, sel.params, x[:1], d2d_sigma=d2d_sigma, c2c_sigma=c2c_sigma, seed=seed,
                         dt_circuit=dt_circuit)
    n_dev = sum(m.devices * m.n_neurons for _, m in circuit.neurons())
    _check_work(len(x), n_dev, max(step_list), circuit.circuit.n_sub)
    with torch.no_grad():
        ann_acc = float((net(x).argmax(1) == y).double().mean())
    sw = predictions_vs_steps(res.snn, x, step_list, batch_size=250)
    stats = run_circuit_network(circuit, x, step_list, batch_size=batch_size,
                                progress=_bar(len(x), f"hw-eval {name} ({n_dev} VO2 circuits)") if progress else None)
    hw = {T: o.argmax(1) for T, o in stats.outputs.items()}
    acc = {T: float((hw[T] == y).double().mean()) for T in step_list}
    sw_acc = {T: float((sw[T] == y).double().mean()) for T in step_list}
    T = max(step_list)
    agreement = float((hw[T] == sw[T]).double().mean())
    m0 = next(m for _, m in res.snn.neurons() if isinstance(m, VO2DeviceNeuron))
    return _result(name, "mnist" if dataset == "mnist" else "digits", dataset, stats, circuit, cn, T=T,
                   accuracy=acc, snn_accuracy=sw_acc, ann_accuracy=ann_acc, agreement=agreement, m0=m0, n=len(x),
                   n_dev=n_dev, d2d_sigma=d2d_sigma, c2c_sigma=c2c_sigma, seed=seed, preset=preset)


def _bar(total: int, desc: str):
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="input", file=sys.stderr)
    state = {"done": 0}

    def report(done: int, _total: int) -> None:
        bar.update(done - state["done"])
        state["done"] = done
        if done >= total:
            bar.close()
    return report


def _result(name, network_config, dataset, stats, circuit, cn, *, T, accuracy, snn_accuracy, ann_accuracy, agreement,
            m0, n, n_dev, d2d_sigma, c2c_sigma, seed, preset, extra=None) -> ZooHWEvalResult:
    dt_net = circuit.circuit.dt_net
    return ZooHWEvalResult(
        model=name, network_config=network_config, dataset=dataset, steps=T, accuracy=accuracy[T],
        snn_accuracy=snn_accuracy[T], ann_accuracy=ann_accuracy, agreement=agreement, accuracy_vs_steps=accuracy,
        snn_accuracy_vs_steps=snn_accuracy, spikes_per_inference=stats.spikes,
        synaptic_events_per_inference=stats.synaptic_events, energy_per_inference_j=stats.energy_j,
        energy_breakdown_j=stats.energy_breakdown_j, latency_s=float(np.mean(stats.decision_steps)) * dt_net,
        window_s=T * dt_net, network_dt_s=dt_net, layer_rates=stats.layer_rates,
        layer_inputs=stats.extra["layer_inputs"], preset=preset,
        devices_per_neuron=m0.devices, i_on_a=m0.i_on, n_devices=n_dev, d2d_sigma=float(d2d_sigma),
        c2c_sigma=float(c2c_sigma), seed=int(seed), dt_circuit_s=circuit.circuit.dt, n_images=n,
        images_per_s=n / stats.wall_s if stats.wall_s > 0 else math.inf, wall_s=stats.wall_s,
        extra={"input_layer_macs": stats.extra["input_layer_macs"], **(extra or {})})


def _actor_hw_eval(*, config, n_states, step_list, cn, sel, devices, d2d_sigma, c2c_sigma, seed, dt_circuit,
                   percentile, batch_size, progress, preset) -> ZooHWEvalResult:
    """The TDDPG-Rec actor on VO2 circuits: top-k agreement of its recommendations with the ANN's."""
    from vo2neuro.explore.conversion_study import actor_problem
    from vo2neuro.ml_zoo.circuit_level import run_circuit_network, to_circuit
    from vo2neuro.ml_zoo.convert import VO2DeviceNeuron, convert

    prob = actor_problem(config=config, n_states=n_states, seed=seed)
    res = convert(prob.body, prob.calibration, steps=max(step_list), percentile=percentile, neuron="vo2", vo2=cn,
                  devices=devices)
    circuit = to_circuit(res.snn, cn, sel.params, prob.states[:1], d2d_sigma=d2d_sigma, c2c_sigma=c2c_sigma,
                         seed=seed, dt_circuit=dt_circuit)
    n_dev = sum(m.devices * m.n_neurons for _, m in circuit.neurons())
    _check_work(n_states, n_dev, max(step_list), circuit.circuit.n_sub)
    # the actor's action drives the critic's action projection in the full model: its events are measured there
    stats = run_circuit_network(circuit, prob.states, step_list, batch_size=max(batch_size, 64),
                                output_layer="critic.action_proj",
                                progress=_bar(n_states, f"hw-eval tddpg_rec ({n_dev} VO2 circuits)") if progress
                                else None)
    acc, sw_acc = {}, {}
    agree = math.nan
    for T in step_list:
        top_hw = prob.top_k(stats.outputs[T])
        top_sw = prob.top_k(res.snn(prob.states, steps=T))
        acc[T] = prob.overlap(top_hw, prob.top_ann)
        sw_acc[T] = prob.overlap(top_sw, prob.top_ann)
        agree = prob.overlap(top_hw, top_sw)
    m0 = next(m for _, m in res.snn.neurons() if isinstance(m, VO2DeviceNeuron))
    return _result("tddpg_rec", config if isinstance(config, str) else "custom", None, stats, circuit, cn,
                   T=max(step_list), accuracy=acc, snn_accuracy=sw_acc, ann_accuracy=1.0, agreement=agree, m0=m0,
                   n=n_states, n_dev=n_dev, d2d_sigma=d2d_sigma, c2c_sigma=c2c_sigma, seed=seed, preset=preset,
                   extra={"top_k": prob.top_k_n, "n_candidates": prob.n_candidates,
                          "metric": "top-k agreement with the ANN's recommendations"})
