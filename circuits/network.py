r"""Hardware-level simulation of a feed-forward spiking network whose every neuron is a VO2 oscillator circuit.

The network is given as physical currents (no torch here): the constant synaptic current into each neuron of
the first layer per input image, and for deeper layers the current each presynaptic spike injects into each
postsynaptic neuron for one synaptic pulse. Each neuron is the Norton form of the Pearson-Anson circuit (supply
``V_s`` through ``R_L``, node capacitor ``C``, electro-thermal VO2 device with hysteresis memory,
:mod:`vo2neuro.device`), integrated with the exponential node update (device resistance frozen over a step)
and the exact thermal step, as in :mod:`vo2neuro.circuits.simulate`. Synaptic input is event-driven.

Energy per inference (vo2_physics.md section 14): the supply energy of all neurons
:math:`\sum_i \int V_s (V_s - V_i)/R_L\,dt`, the energy of the synaptic current drivers fed from the same
supply :math:`\sum_i \int |I_{syn,i}| V_s\,dt`, and a fixed energy per synaptic event (``energy_per_event_j``,
an assumption for the digital periphery that routes a spike to its fan-out).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from vo2neuro.units import ParameterError, check_nonnegative, check_positive
from vo2neuro.device.params import VO2DeviceParams

__all__ = ["NetworkRun", "simulate_network", "ENERGY_PER_EVENT_J", "KERNELS"]

#: Network kernels of :func:`simulate_network` (``kernel=``): the default first.
KERNELS = ("simd", "reference")

#: Energy per synaptic event of the spike-routing periphery [J]: assumption, one 45 nm fp32 accumulate
#: (0.9 pJ, Horowitz ISSCC 2014), the digital cost of delivering one event to one synapse.
ENERGY_PER_EVENT_J = 0.9e-12


@dataclass(frozen=True)
class NetworkRun:
    """Results of :func:`simulate_network` (per image arrays of shape (B,) unless stated).

    Attributes
    ----------
    counts : (B, n_out) output-layer spikes [-]
    spikes_per_layer : (B, L) spikes of each simulated layer [-]
    supply_energy_j, device_energy_j, synapse_driver_energy_j : [J]
    synaptic_events : spikes x fan-out [-]
    event_energy_j : synaptic_events x energy_per_event_j [J]
    energy_j : supply + synaptic drivers + events [J] (device energy is part of the supply energy)
    first_spike_s : time of the first output spike [s] (inf if none)
    decision_s : time from which the leading class no longer changes [s] (inf if no output spike)
    wall_s : wall time of the simulation [s]; ``dt_s``, ``window_s``, ``pulse_s`` [s]; ``seed``
    """

    counts: np.ndarray
    spikes_per_layer: np.ndarray
    supply_energy_j: np.ndarray
    device_energy_j: np.ndarray
    synapse_driver_energy_j: np.ndarray
    synaptic_events: np.ndarray
    event_energy_j: np.ndarray
    energy_j: np.ndarray
    first_spike_s: np.ndarray
    decision_s: np.ndarray
    wall_s: float
    dt_s: float
    window_s: float
    pulse_s: float
    seed: int
    d2d: dict = field(default_factory=dict)


def simulate_network(device: VO2DeviceParams, in_currents: np.ndarray, weights: Sequence[np.ndarray],
                     biases: Sequence[np.ndarray], *, i_supply: float, r_load: float, capacitance: float,
                     ambient: float, window: float, pulse: float, dt: float = 20e-9, population: int = 1,
                     r_ins_sigma_ln: float = 0.0, t_c_sigma: float = 0.0, t_c_c2c_sigma: float = 0.0,
                     thermal_noise: float = 0.0, i_syn_max: float = math.inf, seed: int = 0,
                     energy_per_event_j: float = ENERGY_PER_EVENT_J, kernel: str = "simd") -> NetworkRun:
    r"""Run images through a network of VO2 oscillator neurons at circuit level.

    Parameters
    ----------
    device : VO2DeviceParams
        The nominal device of every neuron.
    in_currents : (B, n_1) float
        Constant synaptic current into the first layer (weights times input, plus bias) [A].
    weights : list of (n_l, n_{l-1}) arrays, l = 2..L
        Current a presynaptic spike injects into each postsynaptic neuron for one pulse [A].
    biases : list of (n_l,) arrays, l = 2..L
        Constant synaptic bias currents [A].
    i_supply : float
        Supply bias current V_s / R_L of every neuron [A].
    r_load, capacitance, ambient : float
        Circuit [Ohm, F, K].
    window, pulse, dt : float
        Simulated time per image, synaptic pulse length and circuit step [s].
    population : int
        Output neurons per class.
    r_ins_sigma_ln, t_c_sigma : float
        Device-to-device spread: log-normal sigma of R_0 [-], Gaussian sigma of T_c [K].
    t_c_c2c_sigma : float
        Cycle-to-cycle spread: T_c redrawn with this Gaussian sigma each time a device returns to insulating [K].
    thermal_noise : float
        Cycle-to-cycle Langevin heat-flow noise [W s^1/2].
    i_syn_max : float
        Current compliance of the synaptic driver: the total synaptic current into a node is capped at this
        value [A] (``inf``: no cap). A driver that could push far beyond the oscillation window would overheat
        the device and hold it metallic for many microseconds.
    seed : int
        Seed of the device draws and the noise.
    energy_per_event_j : float
        Energy per synaptic event [J].
    kernel : str
        ``"simd"`` (default): the step in vectorised stages over each layer
        (:func:`vo2neuro.circuits._network_kernels.run_network_simd`); ``"reference"``: the scalar per-neuron
        step (:func:`~vo2neuro.circuits._network_kernels.run_network`), kept to check the other against and to
        benchmark it (benchmarks/bench_hw_eval.py). Same model and random streams; they differ by rounding
        (vectorised exp/sin/tanh, a few ulp), which can move a spike by a circuit step.
    """
    from vo2neuro.circuits import _network_kernels as NK
    from vo2neuro.device.characterize import resistance_at

    if kernel not in KERNELS:
        raise ParameterError(f"kernel must be one of {', '.join(KERNELS)} [-], got {kernel!r}")
    x = np.ascontiguousarray(np.asarray(in_currents, dtype=float))
    if x.ndim != 2 or not np.all(np.isfinite(x)):
        raise ParameterError(f"in_currents must be a finite (B, n) array [A], got shape {x.shape}")
    for name, v, unit in (("r_load", r_load, "Ohm"), ("capacitance", capacitance, "F"), ("ambient", ambient, "K"),
                          ("window", window, "s"), ("pulse", pulse, "s"), ("dt", dt, "s")):
        check_positive(name, v, unit)
    for name, v, unit in (("i_supply", i_supply, "A"), ("r_ins_sigma_ln", r_ins_sigma_ln, "1"),
                          ("t_c_sigma", t_c_sigma, "K"), ("t_c_c2c_sigma", t_c_c2c_sigma, "K"),
                          ("thermal_noise", thermal_noise, "W s^1/2"),
                          ("energy_per_event_j", energy_per_event_j, "J")):
        check_nonnegative(name, v, unit)
    if len(weights) != len(biases):
        raise ParameterError(f"weights and biases must have the same number of layers, got {len(weights)}, "
                             f"{len(biases)} [-]")
    sizes = [x.shape[1]]
    for W in weights:
        W = np.asarray(W)
        if W.ndim != 2 or W.shape[1] != sizes[-1]:
            raise ParameterError(f"weights: layer of shape {W.shape} does not follow a layer of {sizes[-1]} [A]")
        sizes.append(W.shape[0])
    if sizes[-1] % population:
        raise ParameterError(f"population {population} does not divide the output width {sizes[-1]} [1]")
    sizes_a = np.array([0, *sizes], dtype=np.int64)  # sizes[0] unused by the kernel (inputs are currents)
    sizes_a[0] = x.shape[1]
    wt = [np.ascontiguousarray(np.asarray(W, float).T).ravel() for W in weights]
    w_off = np.cumsum([0] + [w.size for w in wt])[:-1].astype(np.int64) if wt else np.zeros(0, np.int64)
    all_b = [np.zeros(sizes[0])] + [np.asarray(b_, float).ravel() for b_ in biases]
    b_off = np.cumsum([0] + [b_.size for b_ in all_b])[:-1].astype(np.int64)
    n_tot = int(sum(sizes))
    r0 = np.empty(n_tot)
    tc = np.empty(n_tot)
    seed_u = np.uint64(int(seed) & 0xFFFFFFFFFFFFFFFF)
    NK.draw_d2d(n_tot, seed_u, float(r_ins_sigma_ln), float(t_c_sigma), r0, tc)
    n_steps = int(round(window / dt))
    pulse_steps = max(1, int(round(pulse / dt)))
    r_ins0 = float(resistance_at(device, ambient, branch="heating"))
    r_switch = math.sqrt(r_ins0 * device.R_m)  # geometric middle of the insulating and metallic resistances
    B = x.shape[0]
    L = len(sizes)
    counts = np.zeros((B, sizes[-1]))
    spikes = np.zeros((B, L))
    energy = np.zeros((B, 4))
    first = np.zeros(B)
    decision = np.zeros(B)
    kp = device.to_kernel()
    t0 = time.perf_counter()
    args = (kp, sizes_a, np.concatenate(wt) if wt else np.zeros(0), w_off, np.concatenate(all_b), b_off, x)
    if kernel == "simd":
        # first-layer neurons (independent: constant drive, no input spikes) in the order of their drive, so
        # that a SIMD block holds neurons in the same regime (silent, oscillating, latched)
        order = np.ascontiguousarray(np.argsort(x, axis=1, kind="stable"), dtype=np.int64)
        run, args = NK.run_network_simd, args + (order,)
    else:
        run = NK.run_network
    run(*args, float(i_supply), float(i_supply * r_load), float(r_load), float(capacitance), float(ambient),
        float(dt), n_steps, pulse_steps, r_switch, r0, tc, float(thermal_noise), float(t_c_c2c_sigma),
        float(i_syn_max), seed_u, int(population), counts, spikes, energy, first, decision)
    wall = time.perf_counter() - t0
    ev = energy[:, 3]
    e_event = ev * energy_per_event_j
    return NetworkRun(counts=counts, spikes_per_layer=spikes, supply_energy_j=energy[:, 0],
                      device_energy_j=energy[:, 1], synapse_driver_energy_j=energy[:, 2], synaptic_events=ev,
                      event_energy_j=e_event, energy_j=energy[:, 0] + energy[:, 2] + e_event, first_spike_s=first,
                      decision_s=decision, wall_s=wall, dt_s=float(dt), window_s=float(window), pulse_s=float(pulse),
                      seed=int(seed), d2d={"r_ins_sigma_ln": r_ins_sigma_ln, "t_c_sigma": t_c_sigma,
                                           "t_c_c2c_sigma": t_c_c2c_sigma, "thermal_noise": thermal_noise})
