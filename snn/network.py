r"""BP-SNNs of VO2 oscillator neurons: fully connected (:class:`VO2MLP`) and convolutional (:class:`VO2ConvNet`).

Fully connected. Every layer is ``Linear -> VO2Neuron``. The ``Linear`` layer acts on the whole ``[T, B, N]``
tensor in one matmul (synaptic currents have no memory here, so time and batch fold into one GEMM); only the neuron
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

Convolutional. :class:`VO2ConvNet` runs a spec such as ``12C5-MP2-64C5-MP2`` (:func:`parse_conv_spec`;
``ARCHITECTURES["conv"]``): ``Conv2d -> VO2Neuron`` per convolution, pooling of the spike trains between them,
then fully connected ``Linear -> VO2Neuron`` layers; same neuron, weight units and initialisation rule (fan-in
``c_in k^2``). A convolution acts on all ``T x B`` images in one call, as the ``Linear`` layers do; under a
constant input the first convolution is computed once.
"""
from __future__ import annotations

import math
import re
from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vo2neuro.units import ParameterError
from vo2neuro.snn.neuron import VO2Neuron, VO2NeuronState
from vo2neuro.snn.params import VO2NeuronParams

__all__ = ["VO2MLP", "VO2ConvNet", "ARCHITECTURES", "ConvLayer", "parse_conv_spec", "check_arch",
           "conv_feature_shapes"]


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


# ---------------------------------------------------------------------------------------------- convolutional
#: Named architectures of ``TrainConfig.arch``: ``mlp`` is :class:`VO2MLP`; the others name a convolutional spec
#: (:func:`parse_conv_spec`) run by :class:`VO2ConvNet`, sized for 28x28 MNIST. ``conv`` is the convolutional
#: stack of the snntorch tutorial network, ``12C5-MP2-64C5-MP2`` (+ the fully connected output layer): 99.21 % on
#: the MNIST test set in 7 epochs of T = 10 on 2 CPU cores; ``conv-small`` halves the second layer (98.84 % in 6).
ARCHITECTURES: dict[str, str | None] = {"mlp": None, "conv": "12C5-MP2-64C5-MP2", "conv-small": "12C5-MP2-32C5-MP2"}

_CONV_TOKEN = re.compile(r"^(?P<c>[1-9][0-9]{0,5})C(?P<k>[1-9][0-9]?)$")
_POOL_TOKEN = re.compile(r"^(?P<kind>MP|AP)(?P<k>[1-9][0-9]?)$")
_SPEC_HELP = ("'mlp', a named architecture ({names}) or a spec of '-'-separated <c>C<k> (c channels of k x k "
              "convolution), MP<k> / AP<k> (k x k max / average pooling of spikes), e.g. 8C3-MP2-16C3")


class ConvLayer(NamedTuple):
    """One token of a convolutional spec: ``kind`` ``"conv"`` (``channels`` maps of ``kernel x kernel``, stride 1,
    no padding, each unit a VO2 neuron), ``"max"`` or ``"avg"`` (``kernel x kernel`` pooling of spike trains,
    stride ``kernel``; no neuron: a max-pool is the OR of the window's spikes in a step, an average pool a fixed
    synaptic weight ``1/kernel^2`` into the next layer)."""

    kind: str
    channels: int
    kernel: int

    def __str__(self) -> str:
        return f"{self.channels}C{self.kernel}" if self.kind == "conv" else \
            f"{'MP' if self.kind == 'max' else 'AP'}{self.kernel}"


def _arch_error(arch: object) -> ParameterError:
    names = ", ".join(k for k in ARCHITECTURES if k != "mlp")
    return ParameterError(f"arch: {arch!r} is not an architecture; give {_SPEC_HELP.format(names=names)} [-]")


def parse_conv_spec(arch: str) -> tuple[ConvLayer, ...]:
    """Layers of a convolutional architecture (a name of :data:`ARCHITECTURES` or a spec such as
    ``12C5-MP2-32C5-MP2``; a trailing ``-FC``, the output layer that every network has, may be written).

    Raises
    ------
    ParameterError
        One line for ``mlp``, an unknown name, a malformed token or a spec without a convolution.

    Examples
    --------
    >>> [str(layer) for layer in parse_conv_spec("conv")]
    ['12C5', 'MP2', '64C5', 'MP2']
    """
    if not isinstance(arch, str) or arch == "mlp":
        raise _arch_error(arch)
    spec = ARCHITECTURES.get(arch, arch)
    if spec is None or re.fullmatch(r"[A-Za-z_]+", spec):      # "mlp", or a word that names nothing
        raise _arch_error(arch)
    tokens = spec.split("-")
    if tokens and tokens[-1] == "FC":
        tokens = tokens[:-1]
    layers = []
    for tok in tokens:
        m, q = _CONV_TOKEN.match(tok), _POOL_TOKEN.match(tok)
        if m:
            layers.append(ConvLayer("conv", int(m["c"]), int(m["k"])))
        elif q:
            layers.append(ConvLayer("max" if q["kind"] == "MP" else "avg", 0, int(q["k"])))
        else:
            raise ParameterError(f"arch: token {tok!r} of {arch!r} is not <c>C<k>, MP<k> or AP<k> (e.g. 12C5, MP2) "
                                 "[-]")
    if not any(layer.kind == "conv" for layer in layers):
        raise ParameterError(f"arch: {arch!r} has no convolution (<c>C<k>); use 'mlp' for a fully connected "
                             "network [-]")
    return tuple(layers)


def check_arch(arch: str) -> str:
    """``arch`` in canonical form (``mlp``, a name of :data:`ARCHITECTURES`, or a spec without the optional
    trailing ``-FC``); ParameterError if it is none of these."""
    if arch in ARCHITECTURES:
        return arch
    return "-".join(str(layer) for layer in parse_conv_spec(arch))


def conv_feature_shapes(layers: Sequence[ConvLayer], input_shape: Sequence[int],
                        arch: str | None = None) -> list[tuple[int, int, int]]:
    """Output shape ``(channels, height, width)`` after each layer of ``layers`` on ``input_shape`` images;
    ParameterError naming the layer whose input is smaller than its kernel."""
    c, h, w = (int(s) for s in input_shape)
    shapes = []
    for n, layer in enumerate(layers):
        k = layer.kernel
        if h < k or w < k:
            name = arch if arch is not None else "-".join(map(str, layers))
            raise ParameterError(f"arch: layer {n + 1} ({layer}) of {name} needs an input of at least {k}x{k} but "
                                 f"gets {h}x{w} from {'x'.join(map(str, input_shape))} images [-]")
        if layer.kind == "conv":
            c, h, w = layer.channels, h - k + 1, w - k + 1
        else:
            h, w = h // k, w // k
        shapes.append((c, h, w))
    return shapes


class VO2ConvNet(nn.Module):
    """Convolutional network of VO2 neurons: the layers of a spec (:func:`parse_conv_spec`), then fully connected
    ``hidden`` layers and the output layer; every convolution and fully connected unit is a VO2 neuron.

    ``Conv2d -> VO2Neuron`` per ``<c>C<k>`` token; ``MP<k>`` / ``AP<k>`` pool the spike trains of the layer
    before (max: OR of the window's spikes in each step; average: their mean, a fixed weight into the next
    layer), with no neuron of their own; then ``flatten -> (Linear -> VO2Neuron)...``. Weights are currents in
    rheobase units as in :class:`VO2MLP`, initialised ``U(-w0, w0)``, ``w0 = gain sqrt(3/fan_in)`` with
    ``fan_in = c_in k^2`` for a convolution; the first convolution takes ``init_gain_input``, every other layer
    ``init_gain_spiking``.

    Parameters
    ----------
    input_shape : (channels, height, width)
        Image shape [-] (``(1, 28, 28)`` for MNIST, ``(1, 8, 8)`` for the digits).
    arch : str
        Named architecture or spec (:func:`parse_conv_spec`).
    hidden : sequence of int
        Widths of the fully connected hidden layers after the convolutions (may be empty).
    n_out : int
        Output neurons (classes x population).
    p, surrogate, slope, init_gain_input, init_gain_spiking
        As in :class:`VO2MLP`.

    Attributes
    ----------
    sizes : tuple of int
        Neurons per layer: ``(input pixels, c h w of each convolution, hidden..., n_out)``.

    Examples
    --------
    >>> p = VO2NeuronParams(capacitance=145.35e-12, r_leak=12e3, v_th=5.0, v_h=2.0, t_ref=0.5e-6,
    ...                     i_max=2e-3, dt=0.1e-6)
    >>> net = VO2ConvNet((1, 8, 8), "4C3-MP2", [], 10, p)
    >>> net.sizes
    (64, 144, 10)
    >>> net(torch.rand(3, 1, 8, 8), steps=20).shape      # [T, B, n_out]
    torch.Size([20, 3, 10])
    """

    def __init__(self, input_shape: Sequence[int], arch: str, hidden: Sequence[int], n_out: int, p: VO2NeuronParams,
                 *, surrogate: str = "fast_sigmoid", slope: float | None = None, init_gain_input: float = 1.0,
                 init_gain_spiking: float = 1.0) -> None:
        super().__init__()
        input_shape = tuple(int(s) for s in input_shape)
        if len(input_shape) != 3 or any(s < 1 for s in input_shape):
            raise ParameterError(f"input_shape must be (channels, height, width) >= 1 [-], got {input_shape}")
        self.arch = check_arch(arch)
        self.layers = parse_conv_spec(self.arch)
        self.input_shape = input_shape
        shapes = conv_feature_shapes(self.layers, input_shape, self.arch)
        fc = [int(math.prod(shapes[-1])), *[int(h) for h in hidden], int(n_out)]
        if any(s < 1 for s in fc[1:]):
            raise ParameterError(f"layer sizes must be >= 1 [-], got hidden {list(hidden)} and n_out {n_out}")
        self.feature_shapes = tuple(shapes)
        self.convs = nn.ModuleList()
        c_in = input_shape[0]
        for layer in self.layers:
            if layer.kind == "conv":
                self.convs.append(nn.Conv2d(c_in, layer.channels, layer.kernel))
                c_in = layer.channels
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(fc[:-1], fc[1:]))
        self.neurons = nn.ModuleList(VO2Neuron(p, surrogate=surrogate, slope=slope)
                                     for _ in range(len(self.convs) + len(self.linears)))
        conv_sizes = [int(math.prod(s)) for layer, s in zip(self.layers, shapes) if layer.kind == "conv"]
        self.sizes = (int(math.prod(input_shape)), *conv_sizes, *fc[1:])
        with torch.no_grad():
            for k, mod in enumerate([*self.convs, *self.linears]):
                fan_in = mod.weight[0].numel()
                w0 = (init_gain_input if k == 0 else init_gain_spiking) * math.sqrt(3.0 / fan_in)
                mod.weight.uniform_(-w0, w0)
                mod.bias.zero_()

    def forward(self, x: torch.Tensor, states: Sequence[VO2NeuronState | None] | None = None,
                *, steps: int | None = None, return_all: bool = False):
        """Run the network over a sequence.

        Parameters
        ----------
        x : Tensor, shape ``[T, B, C, H, W]``, or ``[B, C, H, W]`` with ``steps=T``
            Input per step [-]; a 4-D ``x`` is a constant (direct-current) input whose first-layer current is
            computed once and broadcast over the ``T`` steps. Flattened images (``[T, B, C*H*W]`` or
            ``[B, C*H*W]``) are viewed as ``input_shape``.
        states : sequence of VO2NeuronState or None
            Initial state per neuron layer (convolutions, then fully connected); rest state when None.
        return_all : bool
            Also return every neuron layer's spike trains and final states.

        Returns
        -------
        Tensor, shape ``[T, B, n_out]``
            Output spike trains [-]; with ``return_all`` a tuple ``(out, spikes_per_layer, final_states)``.
        """
        static = steps is not None
        shape = tuple(x.shape)
        lead = 1 if static else 2
        if x.dim() == lead + 1 and x.shape[-1] == self.sizes[0]:
            x = x.reshape(*shape[:lead], *self.input_shape)
        if x.dim() != lead + 3 or tuple(x.shape[lead:]) != self.input_shape:
            c, h, w = self.input_shape
            raise ParameterError(f"x must have shape [T, B, {c}, {h}, {w}], or [B, {c}, {h}, {w}] with steps=T "
                                 f"[-], got {shape} and steps={steps!r}")
        states = list(states) if states is not None else [None] * len(self.neurons)
        if len(states) != len(self.neurons):
            raise ParameterError(f"states must hold one state per neuron layer ({len(self.neurons)}) [-], got "
                                 f"{len(states)}")
        spikes, finals = [], []
        n_t = int(steps) if static else int(x.shape[0])
        n_b = int(x.shape[0] if static else x.shape[1])

        def per_step(fn, h):                        # a 2-D op on [T, B, C, H, W] (or on [B, ...] while static)
            return fn(h) if static else fn(h.flatten(0, 1)).unflatten(0, (n_t, n_b))

        def fire(cur, k):
            nonlocal static
            if static:
                cur = cur.unsqueeze(0).expand(n_t, *cur.shape)
                static = False
            z, st = self.neurons[k](cur, states[k])
            spikes.append(z)
            finals.append(st)
            return z

        h, k = x, 0
        convs = iter(self.convs)
        for layer in self.layers:
            if layer.kind == "conv":
                h = fire(per_step(next(convs), h), k)
                k += 1
            elif layer.kind == "max":
                h = per_step(lambda a, s=layer.kernel: F.max_pool2d(a, s), h)
            else:
                h = per_step(lambda a, s=layer.kernel: F.avg_pool2d(a, s), h)
        h = h.flatten(-3)
        for lin in self.linears:
            h = fire(lin(h), k)
            k += 1
        if return_all:
            return h, spikes, finals
        return h
