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

The network comes from exactly the checkpoint file given (:func:`vo2neuro.snn.checkpoint.load`). By default it runs
on the device its neuron was derived from (stored in the checkpoint); ``device=`` runs the same weights on another
device (a preset or a ``--params`` file): the circuit neuron is re-derived there and the weights, in rheobase
units, scale with that neuron's rheobase.

Sized devices (``device_size=``, ``--device-size``): a checkpoint trained on a sized device
(:func:`vo2neuro.snn.presets.sized_device`) records its circuit (load and node capacitance split) and runs in that
circuit; ``device_size=`` runs any checkpoint's weights on the film of its preset (or of ``device``'s preset) built
at that size, the neuron re-derived in the scale study's circuit. The circuit step then defaults to
:func:`max_circuit_dt` of that circuit. The re-derived neuron keeps the rate function (rheobase units, network step
``1/(3 f_max)``) but not its time constant in network steps: where the node charges so slowly that the weights
cannot fire it within the window, the run is refused up front (:func:`first_spike_drive`,
``MAX_FIRST_SPIKE_DRIVE_RATIO``) instead of simulating a silent network.

Circuit time step. The step must resolve the fastest time scale of the neuron's circuit, the metallic-phase
discharge ``R_m C`` or the device's thermal time constant ``C_th/S_e``: :func:`max_circuit_dt` allows a quarter
of the shorter (measured against the batched circuit simulator: the rate error grows about linearly with the step,
3-4 % at that bound for vo2, vo2x and zhang2024, 10-99 % at ``R_m C``, where switching events are missed and
neurons fall silent; tests/integration/test_snn_circuit.py).

Variability (``d2d_sigma``, ``c2c_sigma`` as relative spreads, assumption): D2D log-normal insulating resistance
``R_0 exp(sigma z)`` and Gaussian ``T_c`` with sigma ``d2d_sigma (T_c - T_ambient)``; C2C a redraw of ``T_c`` with
sigma ``c2c_sigma (T_c - T_ambient)`` every time a device re-insulates (vo2_physics.md section 13.3).
"""
from __future__ import annotations

import dataclasses
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vo2neuro.units import ParameterError, check_nonnegative

__all__ = ["HWEvalResult", "hw_eval", "max_circuit_dt", "check_circuit_dt", "first_spike_drive", "MAX_NEURON_STEPS",
           "MAX_FIRST_SPIKE_DRIVE_RATIO", "check_work", "run_circuit", "CircuitRun"]

#: Circuit steps per fastest time scale of the neuron (see the module docstring) [-].
STEPS_PER_TIME_SCALE = 4
#: Largest simulation accepted, in neuron-steps (images x neurons x circuit steps per image) [-]: about 7 h at the
#: ~4e6 neuron-steps/s measured on a shared 2-core machine (digits, 168 neurons, 20 ns step).
MAX_NEURON_STEPS = 1e11
#: Largest ratio of :func:`first_spike_drive` between the circuit a network runs on and the neuron it was trained
#: with [-]. Above it the trained weights, in rheobase units, no longer reach the new neuron's firing regime and
#: the network falls silent (measured on a 784-800-40 vo2x MNIST network, 48 images: ratio 7.1 at 100 nm and 3.5 at
#: 1 um with the probe-station's 145 pF, no output spike on any image, agreement 0.10; on-chip the ratio is 1.09
#: from 30 nm to 1 um, where hw-eval matches the software network), so ``hw_eval`` refuses the run.
MAX_FIRST_SPIKE_DRIVE_RATIO = 2.0


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
    n_images : images evaluated (at most the test set) [-]; d2d_sigma, c2c_sigma, seed
    preset : device the network ran on (preset name, else the parameter set's name)
    dt_circuit_s : circuit time step [s]; ``network_dt_s``: network time step = synaptic pulse [s]
    supply_v : operating (supply) voltage of the neurons [V]
    agreement : fraction of images where circuit and software predict the same class [-]
    device_source, ambient_k : provenance (``preset:NAME`` / ``file:PATH``) and bath temperature [K] of the device
    trained_device_source : the device the network was trained on; ``device_override``: True when ``device=``
        chose the device (``--preset/--params`` of ``vo2neuro hw-eval``)
    first_layer_above_window_fraction : share of first-layer drives above ``i_max`` (those devices latch) [-]
    first_layer_in_window_fraction : share of first-layer drives inside the oscillation window [-]
    silent_output_fraction : share of images without any output spike [-]
    diagnosis : why the circuit-level result is poor, when it is ("" otherwise)
    checkpoint : the file evaluated
    circuit : description of a sized device (size, integration scenario, load, node capacitance split) or None
        for the network circuit (then absent from :meth:`to_dict`)
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
    network_dt_s: float = math.nan
    device_source: str = ""
    trained_device_source: str = ""
    device_override: bool = False
    ambient_k: float = math.nan
    first_layer_above_window_fraction: float = math.nan
    first_layer_in_window_fraction: float = math.nan
    silent_output_fraction: float = math.nan
    diagnosis: str = ""
    checkpoint: str = ""
    circuit: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["circuit"] is None:
            del d["circuit"]
        return d


def max_circuit_dt(device, capacitance: float | None = None) -> tuple[float, str]:
    """Largest circuit step that resolves the neuron of ``device`` [s], and the time scale it comes from (text).

    ``STEPS_PER_TIME_SCALE`` steps per the shorter of the metallic-phase discharge time ``R_m C`` (``C`` the
    network circuit's node capacitance) and the thermal time constant ``C_th/S_e``.
    """
    from vo2neuro.snn.circuit_neuron import NETWORK_CIRCUIT

    cap = NETWORK_CIRCUIT["capacitance"] if capacitance is None else capacitance
    scales = {"metallic-phase discharge time R_m C": device.R_m * cap, "thermal time constant C_th/S_e": device.tau_th}
    name, t = min(scales.items(), key=lambda kv: kv[1])
    return t / STEPS_PER_TIME_SCALE, f"{name} = {t * 1e9:.3g} ns"


def check_circuit_dt(dt_circuit: float, device, capacitance: float | None = None) -> float:
    """ParameterError unless ``0 < dt_circuit <= max_circuit_dt(device)`` [s]; returns ``dt_circuit``."""
    if not (isinstance(dt_circuit, (int, float)) and math.isfinite(dt_circuit) and dt_circuit > 0):
        raise ParameterError(f"dt must be a finite step > 0 [s], got {dt_circuit!r}")
    bound, scale = max_circuit_dt(device, capacitance)
    if dt_circuit > bound:
        raise ParameterError(f"dt must be <= {bound * 1e9:.3g} ns [s] to resolve the neuron of {device.name} "
                             f"(1/{STEPS_PER_TIME_SCALE} of its {scale}; a coarser step misses switching events), "
                             f"got {dt_circuit:g} s")
    return float(dt_circuit)


def first_spike_drive(p, steps: int) -> float:
    r"""Smallest constant drive that fires neuron ``p`` within a window of ``steps`` network steps from rest, in
    units of its rheobase [-].

    The node starts uncharged (V = 0, the circuit's initial state) and charges as
    :math:`V(t) = v_\infty (1 - e^{-t/\tau})`, :math:`v_\infty = v_{bias} + I R_{leak}`, :math:`\tau = C R_{leak}`
    (:class:`~vo2neuro.snn.params.VO2NeuronParams`), so it reaches ``v_th`` by the window's end ``T dt`` when
    :math:`v_\infty \ge v_{th}/(1 - e^{-T dt/\tau})`. About 1 when the window spans many time constants (the
    neuron fires at any drive above its rheobase); large when the window is shorter than ``tau``.
    """
    need = p.v_th / -math.expm1(-steps * p.dt / p.tau)
    return (need - p.v_bias) / (p.v_th - p.v_bias)


def _check_not_silent(p, trained, steps: int, what: str, unit: str) -> None:
    """ParameterError when the weights trained with neuron ``trained`` cannot make neuron ``p`` fire in the window."""
    here, there = first_spike_drive(p, steps), first_spike_drive(trained, steps)
    if here > MAX_FIRST_SPIKE_DRIVE_RATIO * there:
        raise ParameterError(
            f"{what}: the network would be silent there: the node time constant C R_leak = {p.tau * 1e9:.3g} ns is "
            f"{p.tau / p.dt:.3g} network steps of {p.dt * 1e9:.3g} ns (trained neuron: "
            f"{trained.tau / trained.dt:.3g}), "
            f"so in the {steps}-step window ({steps * p.dt * 1e9:.3g} ns) a neuron needs {here:.3g}x its rheobase to "
            f"fire once from rest, against {there:.3g}x in the trained network; use a circuit with a shorter time "
            f"constant (e.g. --integration on-chip) [{unit}]")


def check_work(n_images: int, n_neurons: int, window: float, dt: float) -> None:
    """Refuse a simulation above :data:`MAX_NEURON_STEPS` (``n_images`` x ``n_neurons`` x ``window/dt`` circuit
    steps; ``window`` and ``dt`` [s]) with a ParameterError naming the estimate."""
    steps = window / dt
    work = n_images * n_neurons * steps
    if work > MAX_NEURON_STEPS:
        raise ParameterError(f"dt/n_images: the simulation needs {work:.3g} neuron-steps ({n_images} images x "
                             f"{n_neurons} neurons x {steps:.3g} steps of {dt:g} s), above the {MAX_NEURON_STEPS:g} "
                             "limit; use a larger --dt or fewer --n-images [-]")


#: A neuron whose circuit fires above this fraction of f_max already at the window's onset has too little rate
#: range for a rate code [-] (assumption: vo2 films up to delta 0.018 and vo2x sit at 0.51-0.56, vo2 at 0.02 at
#: 0.76, where its grid co-design loses 23 points at circuit level).
NARROW_RATE_RANGE = 0.7
#: A membrane time constant below this many network steps forgets pulsed (spike) input between steps [-]
#: (assumption; the same films: 1.04-1.18 against 0.46).
SHORT_TAU_STEPS = 0.75


def _neuron_notes(cn, p) -> list[str]:
    """What in the circuit neuron itself makes rate coding hard (narrow rate range, forgetful membrane)."""
    notes = []
    f = np.asarray(cn.f_circuit_hz, float)
    f = f[f > 0]
    if len(f) and cn.f_max_hz > 0 and f[0] / cn.f_max_hz > NARROW_RATE_RANGE:
        notes.append(f"the circuit fires at {100 * f[0] / cn.f_max_hz:.0f} % of f_max already at the onset of its "
                     f"window and the window spans {p.i_max / p.rheobase:.2g}x the rheobase: the rate barely "
                     "follows the drive, so a rate code has little room")
    if p.tau < SHORT_TAU_STEPS * p.dt:
        notes.append(f"the membrane time constant ({p.tau:.3g} s) is {p.tau / p.dt:.2f} network steps: pulsed "
                     "input from spikes is forgotten between steps, so hidden layers integrate poorly")
    return notes


def _diagnose(*, accuracy: float, software: float, agreement: float, above: float, in_window: float,
              silent: float, mean_rate: float, f_max: float, i_max: float, neuron_notes: list[str] = ()) -> str:
    """Plain-language reasons for a poor circuit-level result ("" when nothing stands out); ``neuron_notes``
    (:func:`_neuron_notes`) are given when the circuit falls short of the software network."""
    notes = []
    if above > 0.2:
        notes.append(f"{100 * above:.0f} % of first-layer drives exceed i_max = {i_max:.3g} A: those devices latch "
                     "metallic (operating point above the oscillation window)")
    if in_window < 0.01:
        notes.append("almost no first-layer drive lies inside the oscillation window (operating point outside it)")
    if silent > 0.5:
        notes.append(f"{100 * silent:.0f} % of images give no output spike within the window (drive below the "
                     "rheobase or a window too short)")
    if math.isfinite(mean_rate) and f_max > 0 and mean_rate > 0.8 * f_max:
        notes.append(f"neurons fire at {100 * mean_rate / f_max:.0f} % of f_max on average (saturation)")
    poor = accuracy < software - 0.05
    if poor and agreement < 0.85:
        notes.append(f"the circuit agrees with the software network on only {100 * agreement:.0f} % of images")
    if poor:
        notes.extend(neuron_notes)
    return "; ".join(notes)


def hw_eval(checkpoint: str | Path, *, n_images: int = 200, d2d_sigma: float = 0.05, c2c_sigma: float = 0.0,
            seed: int = 0, dt_circuit: float | None = None, data_dir: str | None = None,
            energy_per_event_j: float | None = None, batch: int = 64, progress: bool = True,
            device=None, device_size: float | None = None, integration: str | None = None,
            kernel: str = "simd") -> HWEvalResult:
    """Run the test images through a trained checkpoint on the circuit-level simulator.

    Parameters
    ----------
    checkpoint : path
        A checkpoint written by ``vo2neuro train`` (any file name; exactly this file is read), current coding,
        neuron derived from a device.
    n_images : int
        First ``n_images`` test images (at most the whole test set).
    d2d_sigma, c2c_sigma : float
        Relative device-to-device and cycle-to-cycle spreads (see module docstring) [-].
    seed : int
        Seed of the device draws.
    dt_circuit : float, optional
        Circuit time step [s], at most :func:`max_circuit_dt` of the device (default 20 ns in the network
        circuit, :func:`max_circuit_dt` in a sized device's circuit).
    data_dir : str, optional
        MNIST folder (default: the checkpoint's, then ``$VO2NEURO_DATA``).
    progress : bool
        Progress bar on stderr.
    device : DeviceSelection, optional
        Run the network on this device instead of the one it was trained on (its neuron is re-derived).
    device_size : float, optional
        Run the network on the film of ``device``'s preset (else the checkpoint's) built at this channel length
        [m], in the scale study's circuit of scenario ``integration`` (default on-chip).
    kernel : str
        Network kernel of :func:`vo2neuro.circuits.network.simulate_network` for a fully connected network:
        ``"simd"`` (default) or ``"reference"`` (the scalar kernel it is checked against). A convolutional
        checkpoint runs layer by layer on :mod:`vo2neuro.circuits.layer` (:mod:`vo2neuro.snn.hardware_conv`).

    Raises
    ------
    ParameterError
        Bad arguments, a checkpoint that cannot be used (see :func:`vo2neuro.snn.checkpoint.load`), a circuit
        step too coarse for the neuron, a simulation too large, or another device or size (``device``,
        ``device_size``) on which the trained network would be silent: its neuron needs more than
        ``MAX_FIRST_SPIKE_DRIVE_RATIO`` times the trained neuron's drive (in rheobase units) to fire once in the
        window (:func:`first_spike_drive`; e.g. a 100 nm device with the probe-station's 145 pF, whose node time
        constant is ~40 network steps against a 25-step window).
    """
    import torch

    from vo2neuro.circuits.network import KERNELS
    from vo2neuro.snn import checkpoint as _ckpt
    from vo2neuro.snn.data import load_dataset
    from vo2neuro.snn.presets import DEFAULT_INTEGRATION, circuit_neuron_for_device, sized_device
    from vo2neuro.snn.train import class_counts

    if isinstance(n_images, bool) or int(n_images) != n_images or n_images < 1:
        raise ParameterError(f"n_images must be a whole number >= 1 [1], got {n_images!r}")
    if isinstance(batch, bool) or int(batch) != batch or batch < 1:
        raise ParameterError(f"batch must be a whole number >= 1 [1], got {batch!r}")
    check_nonnegative("d2d_sigma", d2d_sigma, "1")
    check_nonnegative("c2c_sigma", c2c_sigma, "1")
    if kernel not in KERNELS:
        raise ParameterError(f"kernel must be one of {', '.join(KERNELS)} [-], got {kernel!r}")
    ck = _ckpt.load(checkpoint)
    cfg = ck.config
    where = f"checkpoint: {ck.path}"
    if cfg.encoding != "current":
        raise ParameterError(f"{where}: encoding {cfg.encoding!r} is not supported at hardware level; train with "
                             "--encoding current [-]")
    if integration is not None and device_size is None:
        raise ParameterError("integration: give --device-size with --integration (the default circuit has no "
                             "scenario) [-]")
    circuit = ck.circuit if device is None and device_size is None else None
    r_load = cap = None
    if device_size is not None:
        if device is not None and not device.source.startswith("preset:"):
            raise ParameterError("device_size: a sized device is built from a preset's film; give --preset, not "
                                 "--params [-]")
        name = device.source.split(":", 1)[1] if device is not None else cfg.preset
        if not name:
            raise ParameterError(f"{where}: it names no preset whose film --device-size could size; give --preset")
        sized = sized_device(name, float(device_size), integration or DEFAULT_INTEGRATION,
                             delta=device.params.delta if device is not None else cfg.delta)
        device, circuit = sized.selection, sized.to_dict()
    if circuit is not None:
        r_load, cap = float(circuit["r_load_ohm"]), float(circuit["node_capacitance"]["total_f"])
    override = device is not None
    sel = device if override else ck.device
    if sel is None:
        raise ParameterError(f"{where}: its neuron was set by hand, not derived from a device; give --preset or "
                             "--params to run it on a device circuit")
    if dt_circuit is None:
        dt_circuit = 20e-9 if cap is None else max_circuit_dt(sel.params, cap)[0]
    check_circuit_dt(dt_circuit, sel.params, cap)
    n_neurons = sum(ck.sizes[1:])
    if not override:
        check_work(int(n_images), n_neurons, cfg.steps * ck.neuron.dt, dt_circuit)
    try:
        cn = circuit_neuron_for_device(sel.params, sel.ambient_k, r_load, cap)
    except ParameterError as exc:
        if circuit is None:
            raise
        raise ParameterError(f"device_size: no network neuron at {circuit['length_m']:g} m "
                             f"({circuit['integration']}): {' '.join(str(exc).split())}") from None
    if override:
        p = cn.params
        if circuit is not None:
            _check_not_silent(p, ck.neuron, cfg.steps, f"device_size: {circuit['length_m']:g} m "
                              f"({circuit['integration']})", "m")
        else:
            _check_not_silent(p, ck.neuron, cfg.steps, f"device: {sel.source}", "-")
        check_work(int(n_images), n_neurons, cfg.steps * p.dt, dt_circuit)
    else:
        # 1e-3: a re-derivation on another CPU differs at the fit's tolerance, a hand-set neuron by far more
        if not cn.params.matches(ck.neuron, rel=1e-3):
            raise ParameterError(f"{where}: its neuron is not the one derived from the circuit of its device "
                                 f"{sel.params.name!r} ({sel.source}); hardware-level inference needs a "
                                 "device-derived neuron")
        p = ck.neuron
    _, test_ds = load_dataset(cfg.dataset, data_dir if data_dir is not None else cfg.data_dir)
    x_all, y_all = test_ds.tensors
    if x_all.shape[1] != ck.sizes[0]:
        raise ParameterError(f"{where}: its first layer takes {ck.sizes[0]} inputs but the {cfg.dataset} images "
                             f"have {x_all.shape[1]}")
    n = min(int(n_images), len(y_all))
    x, y = x_all[:n], y_all[:n]
    model = ck.model()
    with torch.no_grad():
        sw_pred = torch.cat([class_counts(model, x[i:i + 1024], encoding=cfg.encoding, steps=cfg.steps,
                                          population=cfg.population, n_classes=ck.n_classes).argmax(1)
                             for i in range(0, n, 1024)])
    software_acc = float((sw_pred == y).double().mean())
    dev = sel.params
    common = dict(steps=cfg.steps, population=cfg.population, n_classes=ck.n_classes, neuron=p, d2d_sigma=d2d_sigma,
                  c2c_sigma=c2c_sigma, seed=seed, dt_circuit=dt_circuit, energy_per_event_j=energy_per_event_j,
                  batch=batch, progress=progress)
    if ck.arch != "mlp":
        from vo2neuro.snn.hardware_conv import run_conv_circuit

        run = run_conv_circuit(model, x.double().numpy(), cn, dev, **common)
        dt_circuit = run.dt_circuit_s
    else:
        lin = [(ck.weights[f"linears.{k}.weight"].double().cpu().numpy(),
                ck.weights[f"linears.{k}.bias"].double().cpu().numpy()) for k in range(len(ck.sizes) - 1)]
        run = run_circuit(lin, x.double().numpy(), cn, dev, kernel=kernel, **common)
    hw_pred, counts, in_cur, window = run.pred, run.counts, run.in_current_a, run.window_s
    acc = float(np.mean(hw_pred == y.numpy()))
    agreement = float(np.mean(hw_pred == sw_pred.numpy()))
    spikes = run.spikes
    mean_rate = spikes / (n_neurons * window)
    above = float(np.mean(in_cur > p.i_max))
    in_window = float(np.mean((in_cur > p.rheobase) & (in_cur <= p.i_max)))
    silent = float(np.mean(counts.sum(1) == 0))
    name = sel.source.split(":", 1)[1] if sel.source.startswith("preset:") else dev.name
    trained = ck.device.source if ck.device is not None else "hand-set neuron"
    return HWEvalResult(accuracy=acc, software_accuracy=software_acc,
                        energy_per_inference_j=run.energy_j,
                        spikes_per_inference=spikes,
                        synaptic_events_per_inference=run.synaptic_events, latency_s=run.latency_s,
                        window_s=window, images_per_s=n / run.wall_s if run.wall_s > 0 else math.inf, n_images=n,
                        d2d_sigma=d2d_sigma, c2c_sigma=c2c_sigma, seed=seed, preset=name,
                        dt_circuit_s=dt_circuit, supply_v=cn.supply_v,
                        energy_breakdown_j=run.energy_breakdown_j,
                        agreement=agreement, mean_rate_hz=mean_rate, network_dt_s=p.dt,
                        device_source=sel.source, trained_device_source=trained, device_override=override,
                        ambient_k=sel.ambient_k, first_layer_above_window_fraction=above,
                        first_layer_in_window_fraction=in_window, silent_output_fraction=silent,
                        diagnosis=_diagnose(accuracy=acc, software=software_acc, agreement=agreement, above=above,
                                            in_window=in_window, silent=silent, mean_rate=mean_rate,
                                            f_max=cn.f_max_hz, i_max=p.i_max, neuron_notes=_neuron_notes(cn, p)),
                        checkpoint=str(ck.path), circuit=circuit)


# ---------------------------------------------------------------------------------------------- circuit level
@dataclass
class CircuitRun:
    """Circuit-level predictions and per-inference figures of :func:`run_circuit` (means over the images).

    pred : predicted class per image; counts : output spike counts ``[images, outputs]`` [-]
    in_current_a : first-layer synaptic currents ``[images, neurons]`` [A]
    energy_j, energy_breakdown_j [J]; spikes, synaptic_events [-]; latency_s, window_s, wall_s [s]
    dt_circuit_s : circuit step used [s]; spikes_per_layer : (layers,) mean spikes of each neuron layer [-]
    """

    pred: np.ndarray
    counts: np.ndarray
    in_current_a: np.ndarray
    energy_j: float
    energy_breakdown_j: dict[str, float]
    spikes: float
    synaptic_events: float
    latency_s: float
    window_s: float
    wall_s: float
    dt_circuit_s: float = math.nan
    spikes_per_layer: np.ndarray | None = None


def run_circuit(lin, x, cn, device, *, steps: int, population: int, n_classes: int, neuron=None,
                d2d_sigma: float = 0.05, c2c_sigma: float = 0.0, seed: int = 0, dt_circuit: float = 20e-9,
                energy_per_event_j: float | None = None, batch: int = 64, progress: bool = False,
                kernel: str = "simd") -> CircuitRun:
    """Run images ``x [B, n_in]`` through layers ``lin = [(W, b), ...]`` (rheobase units) of VO2 circuit neurons.

    The mapping of the module docstring: ``cn`` is the :class:`~vo2neuro.snn.circuit_neuron.CircuitNeuron` whose
    circuit every neuron is (``neuron`` replaces its network neuron, e.g. a checkpoint's), ``device`` the
    :class:`~vo2neuro.device.VO2DeviceParams`, ``steps`` network steps of the neuron's ``dt``; the weights scale by
    the rheobase, ``i_syn_max`` caps the synaptic current, ``d2d_sigma``/``c2c_sigma`` set the spreads.
    """
    from vo2neuro.circuits.network import ENERGY_PER_EVENT_J, simulate_network

    p = neuron if neuron is not None else cn.params
    i_rh = p.rheobase
    in_cur = (np.asarray(x, float) @ np.asarray(lin[0][0], float).T + np.asarray(lin[0][1], float)) * i_rh
    spread_k = max(device.T_c - cn.ambient_k, 0.0)
    window = steps * p.dt
    kw = dict(i_supply=cn.i_bias_a, r_load=cn.r_load_ohm, capacitance=cn.capacitance_f, ambient=cn.ambient_k,
              window=window, pulse=p.dt, dt=dt_circuit, population=population, r_ins_sigma_ln=d2d_sigma,
              t_c_sigma=d2d_sigma * spread_k, t_c_c2c_sigma=c2c_sigma * spread_k, i_syn_max=p.i_max, seed=seed,
              energy_per_event_j=ENERGY_PER_EVENT_J if energy_per_event_j is None else energy_per_event_j,
              kernel=kernel)
    ws = [np.asarray(W, float) * i_rh for W, _ in lin[1:]]
    bs = [np.asarray(b, float) * i_rh for _, b in lin[1:]]
    n = len(in_cur)
    runs, bar = [], None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, desc="hw-eval", unit="img", file=sys.stderr)
    t0 = time.perf_counter()
    try:
        for i in range(0, n, batch):
            runs.append(simulate_network(device, in_cur[i:i + batch], ws, bs, **kw))
            if bar:
                bar.update(min(batch, n - i))
    finally:
        if bar:
            bar.close()
    wall = time.perf_counter() - t0
    cat = lambda name: np.concatenate([getattr(r, name) for r in runs])  # noqa: E731
    counts = cat("counts")
    pred = np.argmax(counts.reshape(n, n_classes, population).sum(-1), axis=1)  # ties to the lower index
    decided = cat("decision_s")
    sup, drv, evt = cat("supply_energy_j"), cat("synapse_driver_energy_j"), cat("event_energy_j")
    return CircuitRun(pred=pred, counts=counts, in_current_a=in_cur, energy_j=float(np.mean(sup + drv + evt)),
                      energy_breakdown_j={"neuron_supply": float(np.mean(sup)), "synapse_drivers": float(np.mean(drv)),
                                          "synaptic_events": float(np.mean(evt)),
                                          "device_dissipation": float(np.mean(cat("device_energy_j")))},
                      spikes=float(np.mean(cat("spikes_per_layer").sum(1))),
                      synaptic_events=float(np.mean(cat("synaptic_events"))),
                      latency_s=float(np.mean(np.where(np.isfinite(decided), decided, window))), window_s=window,
                      wall_s=wall, dt_circuit_s=float(dt_circuit),
                      spikes_per_layer=cat("spikes_per_layer").mean(0))
