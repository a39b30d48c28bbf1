r"""Hardware-level inference of a convolutional VO2 SNN (:class:`~vo2neuro.snn.network.VO2ConvNet`): every
convolution and fully connected unit is a simulated VO2 oscillator circuit.

The mapping of :mod:`vo2neuro.snn.hardware` (weights are currents in units of the neuron's rheobase ``I_rh``;
the first layer is current-coded, a constant ``I_rh (W * x + b)`` for the whole window; deeper layers receive
``I_rh W`` per presynaptic spike for one network step and the constant bias ``I_rh b``), on a tick-synchronous
event fabric (:mod:`vo2neuro.circuits.layer`):

* each layer of neurons is simulated at circuit level over the whole window (``T`` network steps of ``n_sub``
  circuit steps) with :func:`vo2neuro.circuits.layer.step_layer`;
* the spikes of network step ``t`` are routed to the next layer at the end of the step and drive it during its
  step ``t`` (the pipeline delays layer ``l`` by ``l - 1`` steps; every delivery is causal), which is the time
  structure of the trained network, whose layer ``l + 1`` sees layer ``l``'s spikes of the same step;
* a max pool is the OR of its window's events in a step (one routed event), an average pool their mean (a fixed
  weight ``1/k^2``), as in training;
* the convolution's event-driven synaptic current, the sum over the step's presynaptic events of their weight
  kernels, is computed as the convolution of the step's event map (the same sum);
* synaptic events per inference: each routed event times its fan-out (the number of postsynaptic neurons its
  kernel reaches, counted exactly at the feature-map borders);
* latency: the network step from which the leading output class no longer changes, plus the pipeline delay of
  ``layers - 1`` steps, times the network step.

Device-to-device spread and cycle-to-cycle redraw of ``T_c`` as in :mod:`vo2neuro.snn.hardware`; every neuron of
the network has its own device draw and random stream (numbered across layers).
"""
from __future__ import annotations

import copy
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from torch import nn

from vo2neuro.snn.hardware import CircuitRun
from vo2neuro.units import ParameterError

__all__ = ["run_conv_circuit", "fan_out_of", "neuron_layer_circuit"]


def fan_out_of(module: nn.Module, in_shape: tuple[int, ...]) -> torch.Tensor | float:
    """Postsynaptic neurons reached by one event at each input position of ``module`` (shape ``in_shape``, one
    sample) [-]: ``out_features`` for a linear layer; for a convolution the output channels times the output
    positions whose receptive field holds the input position (exact at borders, with stride, padding, dilation
    and groups)."""
    if isinstance(module, nn.Linear):
        return float(module.out_features)
    if not isinstance(module, (nn.Conv1d, nn.Conv2d)):
        raise ParameterError(f"module: {type(module).__name__} is not a synaptic layer (Linear, Conv1d, Conv2d) [-]")
    w = module.weight
    with torch.no_grad():
        # the layer's own forward without its hooks (a pre-hook may be the caller)
        out_shape = module._conv_forward(torch.zeros(1, *in_shape, dtype=w.dtype), w, module.bias).shape
    ones_out = torch.ones(out_shape, dtype=torch.float64)
    kern = torch.ones(module.out_channels, module.in_channels // module.groups, *module.kernel_size,
                      dtype=torch.float64)
    tr = F.conv_transpose1d if isinstance(module, nn.Conv1d) else F.conv_transpose2d
    # the transposed convolution of ones over the outputs counts, at each input, the outputs that read it; inputs
    # past the last window (a stride that does not divide) are read by none: output_padding restores their size
    spatial = in_shape[1:]
    reach = [(o - 1) * s - 2 * p + d * (k - 1) + 1 for o, s, p, d, k in
             zip(out_shape[2:], module.stride, module.padding, module.dilation, module.kernel_size)]
    fo = tr(ones_out, kern, stride=module.stride, padding=module.padding, dilation=module.dilation,
            groups=module.groups, output_padding=tuple(n - r for n, r in zip(spatial, reach)))[0]
    return fo


def neuron_layer_circuit(cn, device, p, *, dt_circuit: float = 20e-9, c2c_sigma: float = 0.0):
    """The :class:`~vo2neuro.circuits.layer.LayerCircuit` of circuit neuron ``cn`` on ``device`` for network neuron
    ``p``: its supply, load, node capacitance and bath, network step ``p.dt``, compliance ``p.i_max``, circuit step at
    most ``dt_circuit`` [s], cycle-to-cycle ``T_c`` spread ``c2c_sigma (T_c - T_ambient)`` (as
    :func:`vo2neuro.snn.hardware.run_circuit`)."""
    from vo2neuro.circuits.layer import layer_circuit

    spread_k = max(device.T_c - cn.ambient_k, 0.0)
    return layer_circuit(device, i_supply=cn.i_bias_a, r_load=cn.r_load_ohm, capacitance=cn.capacitance_f,
                         ambient=cn.ambient_k, dt_net=p.dt, dt=dt_circuit, i_syn_max=p.i_max,
                         t_c_c2c_sigma=c2c_sigma * spread_k)


def run_conv_circuit(model, x: np.ndarray, cn, device, *, steps: int, population: int, n_classes: int,
                     neuron=None, d2d_sigma: float = 0.05, c2c_sigma: float = 0.0, seed: int = 0,
                     dt_circuit: float = 20e-9, energy_per_event_j: float | None = None, batch: int = 32,
                     progress: bool = False) -> CircuitRun:
    """Run images ``x [B, pixels]`` through the convolutional network ``model`` at circuit level.

    ``cn`` is the circuit neuron (:class:`~vo2neuro.snn.circuit_neuron.CircuitNeuron`) whose circuit every neuron
    is; ``neuron`` replaces its network neuron (a checkpoint's); ``device`` the
    :class:`~vo2neuro.device.VO2DeviceParams`; ``dt_circuit`` the largest circuit step [s] (the step used is
    ``dt_net / ceil(dt_net / dt_circuit)``). Returns the figures of :func:`vo2neuro.snn.hardware.run_circuit`.
    """
    from vo2neuro.circuits.layer import draw_layer_devices, initial_layer_state, step_layer
    from vo2neuro.circuits.network import ENERGY_PER_EVENT_J

    p = neuron if neuron is not None else cn.params
    i_rh = p.rheobase
    e_event = ENERGY_PER_EVENT_J if energy_per_event_j is None else float(energy_per_event_j)
    spread_k = max(device.T_c - cn.ambient_k, 0.0)
    circ = neuron_layer_circuit(cn, device, p, dt_circuit=dt_circuit, c2c_sigma=c2c_sigma)
    model = copy.deepcopy(model).double().eval()
    sizes = model.sizes[1:]
    firsts = np.cumsum([0, *sizes[:-1]])
    devs = [draw_layer_devices(n, seed=seed, first_index=int(f), r_ins_sigma_ln=d2d_sigma,
                               t_c_sigma=d2d_sigma * spread_k) for n, f in zip(sizes, firsts)]
    x = torch.as_tensor(np.asarray(x, float)).reshape(-1, *model.input_shape)
    n = x.shape[0]
    counts, in_cur = [], []
    energy = np.zeros((n, 3))
    events = np.zeros(n)
    spikes = np.zeros((n, len(sizes)))
    decision = np.zeros(n)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, desc="hw-eval (conv)", unit="img", file=sys.stderr)
    t0 = time.perf_counter()
    try:
        for lo in range(0, n, batch):
            xb = x[lo:lo + batch]
            B = xb.shape[0]
            sl = slice(lo, lo + B)
            k = 0
            convs = iter(model.convs)
            h = None                                  # event map of the current layer, [T, B, C, H, W] or [T, B, F]
            shape = tuple(model.input_shape)

            def fire(cur_tb: torch.Tensor, k: int) -> torch.Tensor:
                """Simulate neuron layer ``k`` on currents [T, B, ...] (rheobase units); spikes [T, B, ...]."""
                flat = (cur_tb.reshape(steps, B, -1) * i_rh).numpy()
                if k == 0:
                    in_cur.append(flat[0].copy())
                st = initial_layer_state(circ, devs[k], B, seed=seed, image0=lo)
                res = step_layer(st, flat, circ, devs[k])
                energy[sl] += res.state.energy_j.sum(1)
                z = res.spikes
                spikes[sl, k] = z.sum(axis=(0, 2))
                return torch.from_numpy(z).reshape(cur_tb.shape)

            with torch.no_grad():
                for layer in model.layers:
                    if layer.kind == "conv":
                        conv = next(convs)
                        if h is None:                 # current-coded first layer: constant over the window
                            c1 = conv(xb)
                            cur = c1.unsqueeze(0).expand(steps, *c1.shape)
                        else:
                            fo = fan_out_of(conv, shape)
                            events[sl] += (h.ne(0).double() * fo).sum(dim=(0, 2, 3, 4)).numpy()
                            cur = conv(h.flatten(0, 1)).unflatten(0, (steps, B))
                        h = fire(cur, k)
                        k += 1
                        shape = tuple(h.shape[2:])
                    else:
                        pool = F.max_pool2d if layer.kind == "max" else F.avg_pool2d
                        h = pool(h.flatten(0, 1), layer.kernel).unflatten(0, (steps, B))
                        shape = tuple(h.shape[2:])
                h = h.flatten(2)
                for lin in model.linears:
                    events[sl] += h.ne(0).double().sum(dim=(0, 2)).numpy() * lin.out_features
                    h = fire(lin(h), k)
                    k += 1
            out = h.numpy()                           # [T, B, n_out]
            counts.append(out.sum(0))
            cls = np.cumsum(out.reshape(steps, B, n_classes, population).sum(-1), axis=0)
            decision[sl] = _decision_steps(cls) + len(sizes) - 1
            if bar:
                bar.update(B)
    finally:
        if bar:
            bar.close()
    wall = time.perf_counter() - t0
    counts = np.concatenate(counts)
    pred = np.argmax(counts.reshape(n, n_classes, population).sum(-1), axis=1)
    ev_e = events * e_event
    window = steps * p.dt
    return CircuitRun(pred=pred, counts=counts, in_current_a=np.concatenate(in_cur),
                      energy_j=float(np.mean(energy[:, 0] + energy[:, 2] + ev_e)),
                      energy_breakdown_j={"neuron_supply": float(np.mean(energy[:, 0])),
                                          "synapse_drivers": float(np.mean(energy[:, 2])),
                                          "synaptic_events": float(np.mean(ev_e)),
                                          "device_dissipation": float(np.mean(energy[:, 1]))},
                      spikes=float(np.mean(spikes.sum(1))), synaptic_events=float(np.mean(events)),
                      latency_s=float(np.mean(decision)) * p.dt, window_s=window, wall_s=wall,
                      dt_circuit_s=circ.dt, spikes_per_layer=spikes.mean(0))


def _decision_steps(cum: np.ndarray) -> np.ndarray:
    """Network steps (1-based count) until the leading class of the cumulative counts ``cum [T, B, classes]`` stops
    changing; ``T`` for an image without output spikes."""
    T, B, _ = cum.shape
    lead = np.where(cum.max(-1) > 0, cum.argmax(-1), -1)            # [T, B], ties to the lower class
    changed = np.vstack([lead[:1] >= 0, lead[1:] != lead[:-1]])      # the leader is set or changes at step t
    last = T - 1 - np.argmax(changed[::-1], axis=0)
    out = (last + 1).astype(float)
    out[lead[-1] < 0] = T
    return out
