r"""Fully connected BP-SNN of VO2 oscillator neurons.

Every layer is ``Linear -> VO2Neuron``. The ``Linear`` layer acts on the whole ``[T, B, N]`` tensor in one
matmul (synaptic currents have no memory here, so time and batch fold into one GEMM); only the neuron
recursion loops over ``T`` (fused kernel, :func:`vo2neuro.snn.neuron.vo2_sequence`: one compiled C++ loop
per direction on CPU, :mod:`vo2neuro.snn._fused`, with a pure-torch fallback).

Weight-to-current scaling. A synaptic weight is a current in units of the neuron's rheobase
``I_rh = (v_th - v_bias)/R_leak`` [A]: the current into neuron ``j`` is ``I_j = I_rh (sum_i W_ji x_i + b_j)``.
A drive of 1 is then exactly the firing threshold and ``i_max/I_rh`` the latch limit, whatever the circuit's
C, R_leak and voltages, so the same initialisation and learning rate work for any reasonable parameter set and
trained weights convert to physical currents (or conductances, for a known input spike voltage) by one factor.
Initialisation: ``W ~ U(-w0, w0)``, ``w0 = gain sqrt(3/fan_in)`` (unit variance per unit-power input times
``gain``), ``b = 0``; ``gain`` is ``init_gain_input`` for the first layer and ``init_gain_spiking`` for layers
fed by VO2 spikes, which are sparse one-step pulses and so need larger weights to reach the rheobase.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from vo2neuro.units import ParameterError
from vo2neuro.snn.neuron import VO2Neuron, VO2NeuronState
from vo2neuro.snn.params import VO2NeuronParams

__all__ = ["VO2MLP"]


class VO2MLP(nn.Module):
    """``n_in -> hidden... -> n_out`` network of VO2 neurons; outputs the output layer's spike trains.

    Parameters
    ----------
    n_in, n_out : int
        Input features and classes.
    hidden : sequence of int
        Hidden layer widths.
    p : VO2NeuronParams
        Neuron parameters shared by every layer (SI).
    surrogate, slope : str, float or None
        Surrogate gradient (``vo2neuro.snn.neuron.SURROGATES``) and its slope.
    init_gain_input, init_gain_spiking : float
        Initial weight scale of the first layer and of the spike-fed layers, in rheobase units [-].

    Examples
    --------
    >>> p = VO2NeuronParams(capacitance=145.35e-12, r_leak=12e3, v_th=5.0, v_h=2.0, t_ref=0.5e-6,
    ...                     i_max=2e-3, dt=0.1e-6)
    >>> net = VO2MLP(64, [32], 10, p, init_gain_input=4.0, init_gain_spiking=12.0)
    >>> net(torch.rand(20, 3, 64)).shape      # [T, B, classes]
    torch.Size([20, 3, 10])
    """

    def __init__(self, n_in: int, hidden: Sequence[int], n_out: int, p: VO2NeuronParams, *,
                 surrogate: str = "fast_sigmoid", slope: float | None = None,
                 init_gain_input: float = 1.0, init_gain_spiking: float = 1.0) -> None:
        super().__init__()
        sizes = [int(n_in), *[int(h) for h in hidden], int(n_out)]
        if any(s < 1 for s in sizes):
            raise ParameterError(f"layer sizes must be >= 1 [-], got {sizes}")
        self.sizes = tuple(sizes)
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.neurons = nn.ModuleList(VO2Neuron(p, surrogate=surrogate, slope=slope) for _ in sizes[1:])
        with torch.no_grad():
            for k, lin in enumerate(self.linears):
                w0 = (init_gain_input if k == 0 else init_gain_spiking) * math.sqrt(3.0 / lin.in_features)
                lin.weight.uniform_(-w0, w0)
                lin.bias.zero_()

    def forward(self, x: torch.Tensor, states: Sequence[VO2NeuronState | None] | None = None,
                *, steps: int | None = None, return_all: bool = False):
        """Run the network over a sequence.

        Parameters
        ----------
        x : Tensor, shape ``[T, B, n_in]``, or ``[B, n_in]`` with ``steps=T``
            Input (spikes or analog values) per step [-]; a 2-D ``x`` is a constant (direct-current) input,
            whose first-layer current is computed once and broadcast over the ``T`` steps.
        states : sequence of VO2NeuronState or None
            Initial state per layer; rest state when None (no state leaks between calls).
        return_all : bool
            Also return the hidden spike trains and final states.

        Returns
        -------
        Tensor, shape ``[T, B, n_out]``
            Output spike trains [-]; with ``return_all`` a tuple ``(out, spikes_per_layer, final_states)``.
        """
        if x.dim() not in (2, 3) or x.shape[-1] != self.sizes[0] or (x.dim() == 2) != (steps is not None):
            raise ParameterError(f"x must have shape [T, B, {self.sizes[0]}], or [B, {self.sizes[0]}] with steps=T "
                                 f"[-], got {tuple(x.shape)} and steps={steps!r}")
        states = list(states) if states is not None else [None] * len(self.neurons)
        spikes, finals = [], []
        h = x
        for k, (lin, neu, st) in enumerate(zip(self.linears, self.neurons, states)):
            cur = lin(h)
            if k == 0 and steps is not None:
                cur = cur.unsqueeze(0).expand(int(steps), *cur.shape)
            h, st_new = neu(cur, st)
            spikes.append(h)
            finals.append(st_new)
        if return_all:
            return h, spikes, finals
        return h
