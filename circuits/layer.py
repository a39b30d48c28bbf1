r"""A layer of VO2 oscillator neurons at circuit level, advanced by whole network steps (no torch).

The fully connected network of :mod:`vo2neuro.circuits.network` runs inside one kernel call. Networks whose
connectivity is a graph of tensor operations (convolutions, pooling, residual additions, the converted zoo
networks) are run instead layer by layer with this module, on a **tick-synchronous** event fabric: the spikes a
layer emits during network step ``t`` (``dt_net`` long) are routed at the end of the step and drive the next layer
during its step ``t``, which starts one step later (a pipeline: layer ``l``'s window is delayed by ``l - 1`` steps,
so every delivery is causal). Within a step the synaptic current into a neuron is constant, the sum over its
presynaptic events of their weights; the caller (:mod:`vo2neuro.snn.hardware_graph`,
:mod:`vo2neuro.ml_zoo.circuit_level`) forms it from the event map with the layer's connectivity.

Each neuron is the circuit of :mod:`vo2neuro.circuits.network`: supply current ``i_b = V_s/R_L`` and synaptic
current into the node capacitor ``C``, load ``R_L``, the electro-thermal VO2 device with hysteresis memory, a
clamp diode to ground, the synaptic driver's compliance ``i_syn_max``; device-to-device spread of ``R_0``
(log-normal) and ``T_c`` (Gaussian) and cycle-to-cycle redraw of ``T_c``. The kernel
(:func:`vo2neuro.circuits._layer_kernels.advance_layer`) repeats the reference network kernel's step exactly, with
the same random streams, so one layer under constant drive gives the same spikes as
:func:`vo2neuro.circuits.network.simulate_network` with ``kernel="reference"`` (tests/unit/circuits/test_layer.py).
:func:`step_layer` runs by default its vector form (:func:`~vo2neuro.circuits._layer_kernels.advance_layer_simd`,
blocks of neurons in lock-step, 5-6x faster, ``benchmarks/bench_layer.py``), which agrees with it to rounding
(tests/unit/circuits/test_layer_simd.py); ``kernel="reference"`` selects the scalar kernel.

State is explicit: :func:`initial_layer_state` builds it, :func:`step_layer` returns a new one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vo2neuro.device.params import VO2DeviceParams
from vo2neuro.units import ParameterError, check_nonnegative, check_positive

__all__ = ["LayerCircuit", "LayerDevices", "LayerState", "layer_circuit", "draw_layer_devices",
           "initial_layer_state", "step_layer", "LayerStep", "LAYER_KERNELS"]


@dataclass(frozen=True, kw_only=True)
class LayerCircuit:
    """The circuit of every neuron of a layer and its integration (SI).

    Attributes
    ----------
    device : VO2DeviceParams
        Nominal device.
    i_supply : float
        Supply bias current ``V_s/R_L`` [A].
    r_load, capacitance, ambient : float
        Load [Ohm], node capacitance [F], bath temperature [K].
    dt_net : float
        Network step: the time over which the synaptic current is constant [s].
    n_sub : int
        Circuit steps per network step; the circuit step is ``dt_net / n_sub`` [-].
    i_syn_max : float
        Compliance of the synaptic driver [A] (``inf``: none).
    t_c_c2c_sigma : float
        Cycle-to-cycle sigma of ``T_c``, redrawn on every return to insulating [K].
    thermal_noise : float
        Langevin heat-flow noise [W s^1/2].
    """

    device: VO2DeviceParams
    i_supply: float
    r_load: float
    capacitance: float
    ambient: float
    dt_net: float
    n_sub: int
    i_syn_max: float = math.inf
    t_c_c2c_sigma: float = 0.0
    thermal_noise: float = 0.0

    def __post_init__(self) -> None:
        for name, v, unit in (("r_load", self.r_load, "Ohm"), ("capacitance", self.capacitance, "F"),
                              ("ambient", self.ambient, "K"), ("dt_net", self.dt_net, "s"),
                              ("i_syn_max", self.i_syn_max, "A")):
            if name == "i_syn_max" and v == math.inf:
                continue
            check_positive(name, v, unit)
        for name, v, unit in (("i_supply", self.i_supply, "A"), ("t_c_c2c_sigma", self.t_c_c2c_sigma, "K"),
                              ("thermal_noise", self.thermal_noise, "W s^1/2")):
            check_nonnegative(name, v, unit)
        if isinstance(self.n_sub, bool) or int(self.n_sub) != self.n_sub or self.n_sub < 1:
            raise ParameterError(f"n_sub must be a whole number >= 1 [-], got {self.n_sub!r}")

    @property
    def dt(self) -> float:
        """Circuit step [s]."""
        return self.dt_net / self.n_sub

    @property
    def v_supply(self) -> float:
        """Supply voltage ``i_supply r_load`` [V]."""
        return self.i_supply * self.r_load

    @property
    def r_switch(self) -> float:
        """Spike detector threshold: geometric middle of the insulating (at the bath) and metallic resistance [Ohm]."""
        from vo2neuro.device.characterize import resistance_at

        return math.sqrt(float(resistance_at(self.device, self.ambient, branch="heating")) * self.device.R_m)


def layer_circuit(device: VO2DeviceParams, *, i_supply: float, r_load: float, capacitance: float, ambient: float,
                  dt_net: float, dt: float = 20e-9, i_syn_max: float = math.inf, t_c_c2c_sigma: float = 0.0,
                  thermal_noise: float = 0.0) -> LayerCircuit:
    """A :class:`LayerCircuit` whose circuit step is the largest ``dt_net / n`` not above ``dt`` [s]
    (a whole number of circuit steps per network step)."""
    check_positive("dt", dt, "s")
    check_positive("dt_net", dt_net, "s")
    n_sub = max(1, math.ceil(dt_net / dt * (1.0 - 1e-12)))
    return LayerCircuit(device=device, i_supply=i_supply, r_load=r_load, capacitance=capacitance, ambient=ambient,
                        dt_net=dt_net, n_sub=n_sub, i_syn_max=i_syn_max, t_c_c2c_sigma=t_c_c2c_sigma,
                        thermal_noise=thermal_noise)


@dataclass(frozen=True)
class LayerDevices:
    """Device-to-device values of a layer's ``N`` neurons: ``r0_factor`` (N,) [-] multiplies ``R_0``,
    ``tc_shift`` (N,) [K] shifts ``T_c``; ``first_index`` is the layer's first neuron in the network's numbering
    (it selects the neurons' random streams)."""

    r0_factor: np.ndarray
    tc_shift: np.ndarray
    first_index: int

    @property
    def n(self) -> int:
        return len(self.r0_factor)


def draw_layer_devices(n: int, *, seed: int = 0, first_index: int = 0, r_ins_sigma_ln: float = 0.0,
                       t_c_sigma: float = 0.0) -> LayerDevices:
    """Device-to-device draws of neurons ``first_index .. first_index + n - 1`` of a network with master ``seed``:
    log-normal ``R_0`` factor ``exp(r_ins_sigma_ln z1)`` and ``T_c`` shift ``t_c_sigma z2`` [K], from each neuron's
    stream 0, the draws of :func:`vo2neuro.circuits.network.simulate_network` for the same neuron numbers."""
    from vo2neuro.circuits import _network_kernels as NK

    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ParameterError(f"n must be a whole number >= 1 [neurons], got {n!r}")
    check_nonnegative("r_ins_sigma_ln", r_ins_sigma_ln, "1")
    check_nonnegative("t_c_sigma", t_c_sigma, "K")
    total = int(first_index) + int(n)
    r0, tc = np.empty(total), np.empty(total)
    NK.draw_d2d(total, _seed_u(seed), float(r_ins_sigma_ln), float(t_c_sigma), r0, tc)
    return LayerDevices(r0_factor=r0[first_index:].copy(), tc_shift=tc[first_index:].copy(),
                        first_index=int(first_index))


def _seed_u(seed: int) -> np.uint64:
    return np.uint64(int(seed) & 0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class LayerState:
    """State of ``B`` images x ``N`` neurons of one layer (arrays (B, N) unless stated).

    v : node voltage [V]; temperature : device temperature [K]; memory : (6, B, N) hysteresis memory of the device
    (reversal fraction, branch, reversal temperature, fraction there, reversal point, last temperature);
    armed : spike detector ready (device insulating); tc_c2c : cycle-to-cycle ``T_c`` shift [K]; rng : noise
    streams; energy_j : (B, N, 3) supply, device and synaptic-driver energy since the start [J];
    steps : network steps done [-]
    """

    v: np.ndarray
    temperature: np.ndarray
    memory: np.ndarray
    armed: np.ndarray
    tc_c2c: np.ndarray
    rng: np.ndarray
    energy_j: np.ndarray
    steps: int = 0

    def copy(self) -> "LayerState":
        return LayerState(*(np.array(a, copy=True) for a in (self.v, self.temperature, self.memory, self.armed,
                                                              self.tc_c2c, self.rng, self.energy_j)), self.steps)


def initial_layer_state(circuit: LayerCircuit, devices: LayerDevices, n_images: int, *, seed: int = 0,
                        image0: int = 0) -> LayerState:
    """Rest state of ``n_images`` copies of the layer (node uncharged, devices at the bath, insulating); the noise
    stream of neuron ``i`` of image ``b`` is that of image ``image0 + b`` of the network with master ``seed``."""
    from vo2neuro.circuits import _layer_kernels as LK

    if isinstance(n_images, bool) or int(n_images) != n_images or n_images < 1:
        raise ParameterError(f"n_images must be a whole number >= 1 [images], got {n_images!r}")
    B, N = int(n_images), devices.n
    V, T = np.empty((B, N)), np.empty((B, N))
    H = np.empty((6, B, N))
    armed = np.empty((B, N), dtype=np.bool_)
    tcd = np.empty((B, N))
    rng = np.empty((B, N), dtype=np.uint64)
    LK.init_layer(circuit.device.to_kernel(), float(circuit.ambient), devices.r0_factor, devices.tc_shift,
                  _seed_u(seed), devices.first_index, int(image0), V, T, H, armed, tcd, rng)
    return LayerState(V, T, H, armed, tcd, rng, np.zeros((B, N, 3)), 0)


@dataclass(frozen=True)
class LayerStep:
    """Result of :func:`step_layer`: ``state`` after the steps, ``spikes`` (S, B, N) per network step [-]."""

    state: LayerState
    spikes: np.ndarray


#: Kernels of :func:`step_layer`: the vector kernel (default) and the scalar reference it is tested against.
LAYER_KERNELS = ("simd", "reference")


def step_layer(state: LayerState, currents: np.ndarray, circuit: LayerCircuit, devices: LayerDevices, *,
               kernel: str = "simd") -> LayerStep:
    """Advance a layer through ``S`` network steps: ``step(state, inputs, params) -> new state``.

    Parameters
    ----------
    state : LayerState
        Layer state (not modified).
    currents : (S, B, N) or (B, N) float
        Synaptic current into each neuron, constant over each network step [A] (a 2-D array is one step).
    circuit, devices : the layer's circuit and device-to-device values
    kernel : ``"simd"`` (default: blocks of neurons in lock-step, :func:`~vo2neuro.circuits._layer_kernels.
        advance_layer_simd`) or ``"reference"`` (one neuron at a time); they agree to rounding, which can move a
        switching event by one circuit step (tests/unit/circuits/test_layer_simd.py)

    Returns
    -------
    LayerStep
        The new state and the spikes of each neuron in each step.
    """
    from vo2neuro.circuits import _layer_kernels as LK

    if kernel not in LAYER_KERNELS:
        raise ParameterError(f"kernel must be one of {', '.join(LAYER_KERNELS)} [-], got {kernel!r}")
    advance = LK.advance_layer_simd if kernel == "simd" else LK.advance_layer
    cur = np.asarray(currents, dtype=float)
    if cur.ndim == 2:
        cur = cur[None]
    B, N = state.v.shape
    if cur.ndim != 3 or cur.shape[1:] != (B, N):
        raise ParameterError(f"currents must have shape (S, {B}, {N}) or ({B}, {N}) [A], got {np.shape(currents)}")
    if not np.all(np.isfinite(cur)):
        raise ParameterError("currents must be finite [A]")
    if devices.n != N:
        raise ParameterError(f"devices: {devices.n} neurons drawn for a layer of {N} [-]")
    new = state.copy()
    spikes = np.zeros(cur.shape)
    advance(circuit.device.to_kernel(), np.ascontiguousarray(cur), int(circuit.n_sub), float(circuit.dt),
            float(circuit.i_supply), float(circuit.v_supply), float(circuit.r_load), float(circuit.capacitance),
            float(circuit.ambient), circuit.r_switch, float(circuit.i_syn_max), float(circuit.t_c_c2c_sigma),
            float(circuit.thermal_noise), devices.r0_factor, devices.tc_shift, new.v,
            new.temperature, new.memory, new.armed, new.tc_c2c, new.rng, spikes, new.energy_j)
    return LayerStep(state=LayerState(new.v, new.temperature, new.memory, new.armed, new.tc_c2c, new.rng,
                                      new.energy_j, state.steps + cur.shape[0]), spikes=spikes)
