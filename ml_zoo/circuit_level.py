r"""Converted zoo networks at circuit level: every VO2 device of every converted neuron is an electro-thermal
oscillator circuit.

A network converted onto VO2 device neurons (:func:`vo2neuro.ml_zoo.convert.convert` with ``neuron="vo2"``) holds
:class:`~vo2neuro.ml_zoo.convert.VO2DeviceNeuron` modules: an integrating synapse and ``k`` VO2 devices, whose
devices follow the discrete network neuron of :mod:`vo2neuro.snn.neuron`. :func:`to_circuit` replaces each of them
by a :class:`CircuitDeviceNeuron`, the same sigma-delta loop around ``k`` simulated circuits
(:mod:`vo2neuro.circuits.layer`): supply ``V_s`` through ``R_L``, node capacitor ``C``, electro-thermal device with
hysteresis memory, device-to-device and cycle-to-cycle spread. Per network step ``dt``::

    u  <- u + x                                     integrating synapse (activation units)
    device j insulating  <=>  its spike detector is armed (R back above 2 r_switch since its last spike)
    I_j = i_on if j is insulating and u >= r_j q    r_j: rank of j among the insulating devices
    n_j = spikes of circuit j over the step (n_sub circuit steps at constant I_j)
    u  <- u - q sum_j n_j,   y = q sum_j n_j        spike-driven charge removal; the spikes carry q each

so the circuits' own charging, switching, cooling and spread decide when spikes come, and the loop keeps the
layer's mean output equal to the clipped input as long as the devices can fire fast enough. The linear operations
of the graph (convolutions, pooling by averaging, residual additions, linear layers) act on the step's events as in
the converted network: the synaptic current of an event-driven synapse over the layer's connectivity, summed over
the step's events, is the operation applied to the event map (:mod:`vo2neuro.circuits.layer`: tick-synchronous
routing; a network of ``D`` neuron layers on its longest path adds ``D - 1`` steps of pipeline latency).

Energy per inference: the supply and the drive (``i_on`` switched from the supply ``V_s``) of every device circuit,
from the circuit simulation, plus the routed events times their fan-out times the energy per synaptic event
(:data:`vo2neuro.circuits.network.ENERGY_PER_EVENT_J`); the input layer's analog MACs are not counted (as in
``vo2neuro hw-eval``).
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
import torch.fx as fx
from torch import nn

from vo2neuro.ml_zoo.convert import SpikingNetwork, VO2DeviceNeuron
from vo2neuro.snn.hardware_conv import fan_out_of, neuron_layer_circuit
from vo2neuro.units import ParameterError

__all__ = ["CircuitDeviceNeuron", "to_circuit", "CircuitRunStats", "run_circuit_network"]


class CircuitDeviceNeuron(nn.Module):
    """The sigma-delta loop of a :class:`~vo2neuro.ml_zoo.convert.VO2DeviceNeuron` around ``k`` simulated device
    circuits (module docstring). State lives for one run (:meth:`reset`); ``image0`` numbers the first image of
    the batch so that every image has its own noise streams whatever the batching.

    Attributes after a run: ``spikes`` (all devices, all images) [-], ``energy_j`` (B, 3) supply, device and drive
    energy per image [J].
    """

    def __init__(self, src: VO2DeviceNeuron, circuit, *, first_index: int, n_neurons: int, seed: int = 0,
                 r_ins_sigma_ln: float = 0.0, t_c_sigma: float = 0.0) -> None:
        super().__init__()
        from vo2neuro.circuits.layer import draw_layer_devices

        self.threshold, self.q, self.i_on, self.devices = src.threshold, src.q, src.i_on, src.devices
        self.circuit = circuit
        self.n_neurons = int(n_neurons)
        self.seed = int(seed)
        self.layer_devices = draw_layer_devices(self.devices * self.n_neurons, seed=seed, first_index=first_index,
                                                r_ins_sigma_ln=r_ins_sigma_ln, t_c_sigma=t_c_sigma)
        self.image0 = 0
        self.reset()

    def reset(self) -> None:
        self.u = None
        self.state = None
        self.spikes = 0.0
        self.spikes_per_image = None
        self.energy_j = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from vo2neuro.circuits.layer import initial_layer_state, step_layer

        B, k = x.shape[0], self.devices
        xs = x.detach().double().reshape(B, -1).numpy()
        N = xs.shape[1]
        if N != self.n_neurons:
            raise ParameterError(f"x: {N} neurons per sample reach a layer built for {self.n_neurons} [-]")
        if self.state is None or self.state.v.shape[0] != B:
            self.u = np.full((B, N), -0.5 * self.q)
            self.state = initial_layer_state(self.circuit, self.layer_devices, B, seed=self.seed, image0=self.image0)
        self.u += xs
        insulating = self.state.armed.reshape(B, k, N)
        rank = np.cumsum(insulating, axis=1) - 1                      # order among the insulating devices
        on = insulating & (self.u[:, None, :] >= rank * self.q)
        res = step_layer(self.state, np.where(on, self.i_on, 0.0).reshape(B, k * N), self.circuit,
                         self.layer_devices)
        self.state = res.state
        n = res.spikes[0].reshape(B, k, N).sum(1)
        self.u -= self.q * n
        self.spikes += float(n.sum())
        per_image = n.sum(1)
        self.spikes_per_image = per_image if self.spikes_per_image is None else self.spikes_per_image + per_image
        self.energy_j = res.state.energy_j.sum(1)
        return torch.from_numpy(self.q * n).reshape(x.shape).to(x.dtype)


def _site_sizes(snn: SpikingNetwork, example: torch.Tensor) -> dict[str, int]:
    """Neurons per sample of every VO2DeviceNeuron of ``snn`` (one step on one example)."""
    sizes: dict[str, int] = {}
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: sizes.__setitem__(n, o[0].numel()))
             for n, m in snn.neurons() if isinstance(m, VO2DeviceNeuron)]
    try:
        with torch.no_grad():
            for _, m in snn.neurons():
                m.reset()
            snn.graph_module(example[:1])
    finally:
        for h in hooks:
            h.remove()
        for _, m in snn.neurons():
            m.reset()
    return sizes


def to_circuit(snn: SpikingNetwork, cn, device, example: torch.Tensor, *, d2d_sigma: float = 0.05,
               c2c_sigma: float = 0.0, seed: int = 0, dt_circuit: float = 20e-9) -> SpikingNetwork:
    """A copy of the converted network ``snn`` whose VO2 device neurons are simulated circuits.

    Parameters
    ----------
    snn : SpikingNetwork
        Converted with ``neuron="vo2"`` (every neuron a :class:`VO2DeviceNeuron`).
    cn : CircuitNeuron
        The circuit neuron the conversion used (:func:`vo2neuro.snn.presets.circuit_neuron_for_preset`).
    device : VO2DeviceParams
        The device of ``cn``.
    example : tensor
        One input (batch first) to size the layers.
    d2d_sigma, c2c_sigma : float
        Relative device-to-device and cycle-to-cycle spreads (as ``vo2neuro hw-eval``) [-].
    dt_circuit : float
        Largest circuit step [s] (used: the network step over the smallest whole number of circuit steps).
    """
    sites = [(n, m) for n, m in snn.neurons()]
    bad = [n for n, m in sites if not isinstance(m, VO2DeviceNeuron)]
    if bad or not sites:
        raise ParameterError(f"snn: every neuron must be a VO2 device neuron (convert with neuron='vo2'); "
                             f"{bad[0] if bad else 'none'} is not [-]")
    p = sites[0][1].p
    spread_k = max(device.T_c - cn.ambient_k, 0.0)
    circ = neuron_layer_circuit(cn, device, p, dt_circuit=dt_circuit, c2c_sigma=c2c_sigma)
    sizes = _site_sizes(snn, example)
    gm = copy.deepcopy(snn.graph_module)
    first = 0
    for name, m in sites:
        new = CircuitDeviceNeuron(m, circ, first_index=first, n_neurons=sizes[name], seed=seed,
                                  r_ins_sigma_ln=d2d_sigma, t_c_sigma=d2d_sigma * spread_k)
        first += new.devices * new.n_neurons
        parent, _, attr = name.rpartition(".")
        setattr(gm.get_submodule(parent) if parent else gm, attr, new)
    out = SpikingNetwork(gm, snn.steps)
    out.circuit = circ
    return out


@dataclass(frozen=True)
class CircuitRunStats:
    """Outputs and per-inference figures of :func:`run_circuit_network` (means over the inputs).

    outputs : {T: (n, ...) mean output over the first T steps}; spikes, synaptic_events [-]; energy_j and
    energy_breakdown_j [J]; layer_rates : {synaptic layer: events per presynaptic neuron per step} (layers fed
    by neurons only); decision_steps : (n,) steps until the leading output stops changing, pipeline included;
    depth : neuron layers on the longest path; wall_s [s]; extra : ``layer_inputs`` {layer: "spikes"|"graded"}
    of the measured layers, ``input_layer_macs`` {current-coded input layer: multiply-accumulates per inference
    over the window [MAC]} (work not in ``energy_j``)
    """

    outputs: dict[int, torch.Tensor]
    spikes: float
    synaptic_events: float
    energy_j: float
    energy_breakdown_j: dict[str, float]
    layer_rates: dict[str, float]
    decision_steps: np.ndarray
    depth: int
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)


def _depth(gm: fx.GraphModule) -> int:
    """Neuron layers on the longest path of the graph."""
    modules = dict(gm.named_modules())
    d: dict[fx.Node, int] = {}
    for node in gm.graph.nodes:
        prev = max((d[a] for a in node.all_input_nodes), default=0)
        is_neuron = node.op == "call_module" and hasattr(modules.get(node.target), "reset")
        d[node] = prev + (1 if is_neuron else 0)
    return max(d.values(), default=0)


def run_circuit_network(snn: SpikingNetwork, x: torch.Tensor, steps, *, energy_per_event_j: float | None = None,
                        batch_size: int = 16, output_layer: str | None = None,
                        progress: Callable[[int, int], None] | None = None) -> CircuitRunStats:
    """Run a circuit-level network (:func:`to_circuit`) on inputs ``x`` for ``max(steps)`` steps and read the mean
    output at each T of ``steps`` (one run), with spikes, events, energy and latency per input.

    Routed events (the rule of :mod:`vo2neuro.ml_zoo.measured`): every nonzero entry reaching a synaptic layer with
    a neuron upstream, a spike (``"spikes"``) or a graded value after a pooling, an addition or a neuron-free linear
    layer (``"graded"``), delivered to its fan-out (:func:`vo2neuro.snn.hardware_conv.fan_out_of`), each delivery
    one synaptic event of ``energy_per_event_j`` (one accumulate). Layers fed only by the analog input (``"input"``)
    are the current-coded input layer: their multiply-accumulates are listed in ``extra["input_layer_macs"]``, not
    charged (as ``vo2neuro hw-eval``). ``output_layer`` names a synaptic layer outside the network that its output
    spikes drive (the TDDPG-Rec actor's ``critic.action_proj``): its rate is measured too.
    """
    from vo2neuro.circuits.network import ENERGY_PER_EVENT_J
    from vo2neuro.ml_zoo.measured import EventCounter, input_kinds

    e_event = ENERGY_PER_EVENT_J if energy_per_event_j is None else float(energy_per_event_j)
    steps = sorted({int(s) for s in steps})
    if not steps or steps[0] < 1:
        raise ParameterError(f"steps: give numbers of time steps >= 1 [1], got {steps}")
    gm = snn.graph_module
    neurons = [m for _, m in snn.neurons()]
    if not neurons or not all(isinstance(m, CircuitDeviceNeuron) for m in neurons):
        raise ParameterError("snn: not a circuit-level network (vo2neuro.ml_zoo.circuit_level.to_circuit) [-]")
    kinds = input_kinds(snn)
    syn = [(n, m) for n, m in gm.named_modules() if n in kinds]
    fan: dict[str, Any] = {}
    macs: dict[str, float] = {}
    events = np.zeros(0)

    def pre_hook(name):
        def hook(mod, args):
            a = args[0]
            if name not in fan:
                fan[name] = fan_out_of(mod, tuple(a.shape[1:]))
                fo = fan[name]          # every output sums its fan-in: the connections are the MACs per step
                macs[name] = float(fo.sum()) if torch.is_tensor(fo) else float(fo) * a[0].numel()
            if kinds[name] != "input":
                nz, f = a.ne(0).double(), fan[name]
                per = (nz * f if torch.is_tensor(f) else nz * float(f)).reshape(a.shape[0], -1).sum(1)
                events[:] += per.numpy()
        return hook

    hooks = [m.register_forward_pre_hook(pre_hook(n)) for n, m in syn]
    outs: dict[int, list[torch.Tensor]] = {T: [] for T in steps}
    n = x.shape[0]
    spikes_all, events_all, energy_all, dec_all = [], [], [], []
    depth = _depth(gm)
    t0 = time.perf_counter()
    try:
        with EventCounter(snn, output_layer=output_layer) as counter:
            for lo in range(0, n, batch_size):
                xb = x[lo:lo + batch_size]
                B = xb.shape[0]
                events = np.zeros(B)
                for m in neurons:
                    m.reset()
                    m.image0 = lo
                acc = None
                lead_hist = []
                with torch.no_grad():
                    for t in range(1, steps[-1] + 1):
                        y = gm(xb)
                        acc = y if acc is None else acc + y
                        if t in outs:
                            outs[t].append(acc / t)
                        lead_hist.append(acc.reshape(B, -1).argmax(1).numpy())
                spikes_all.append(np.sum([m.spikes_per_image for m in neurons], axis=0))
                energy_all.append(np.sum([m.energy_j for m in neurons], axis=0))
                events_all.append(events)
                dec_all.append(_decision(np.array(lead_hist)) + depth - 1)
                if progress is not None:
                    progress(min(lo + B, n), n)
    finally:
        for h in hooks:
            h.remove()
    wall = time.perf_counter() - t0
    energy = np.concatenate(energy_all)
    ev = np.concatenate(events_all)
    ev_e = ev * e_event
    rates = counter.rates()
    layer_inputs = {k: kinds.get(k, "spikes") for k in rates}
    return CircuitRunStats(outputs={T: torch.cat(v) for T, v in outs.items()},
                           spikes=float(np.mean(np.concatenate(spikes_all))),
                           synaptic_events=float(np.mean(ev)),
                           energy_j=float(np.mean(energy[:, 0] + energy[:, 2] + ev_e)),
                           energy_breakdown_j={"neuron_supply": float(np.mean(energy[:, 0])),
                                               "synapse_drivers": float(np.mean(energy[:, 2])),
                                               "synaptic_events": float(np.mean(ev_e)),
                                               "device_dissipation": float(np.mean(energy[:, 1]))},
                           layer_rates=rates, decision_steps=np.concatenate(dec_all), depth=depth, wall_s=wall,
                           extra={"layer_inputs": layer_inputs,
                                  "input_layer_macs": {k: macs[k] * steps[-1] for k in sorted(macs)
                                                       if kinds[k] == "input"}})


def _decision(lead: np.ndarray) -> np.ndarray:
    """Steps (1-based) until the running argmax ``lead [T, B]`` stops changing."""
    T = lead.shape[0]
    changed = np.vstack([np.ones((1, lead.shape[1]), bool), lead[1:] != lead[:-1]])
    return (T - np.argmax(changed[::-1], axis=0)).astype(float)
