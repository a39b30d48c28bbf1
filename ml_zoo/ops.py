r"""Operation counting for zoo workloads: multiply-accumulates (MACs) of an ANN forward pass.

Conventions (``ml_zoo_papers.md`` §1, §12)
-------------------------------------------
* **MAC** = one multiply-accumulate, counted at the batch size of the inputs given (the zoo reports batch 1).
* **conv, linear, matmul** are counted at the ATen level: ``aten.convolution`` gives
  :math:`B\,\prod(\text{spatial}_{\text{out}})\,\prod(K)\,C_{\text{out}}\,C_{\text{in}}/g` (transposed convolutions use the
  input spatial size), ``mm``/``addmm`` give :math:`MKN`, ``bmm``/``baddbmm`` give :math:`BMKN`. Bias additions are not
  counted. This is exactly :class:`torch.utils.flop_counter.FlopCounterMode` FLOPs / 2 for these ops (tested), so attention
  written as matmuls (or ``F.scaled_dot_product_attention``, which is forced onto its math path while counting) is counted.
  A matmul issued inside ``F.linear`` is classed ``linear``; any other matmul (activation x activation, functional
  products) is classed ``matmul``. ``mv``/``addmv``/``dot`` are counted as ``matmul`` too (FlopCounterMode omits them).
* **spmm**: a product with a sparse COO/CSR operand (graph propagation) costs ``nnz x n_cols`` MACs.
* **rnn** (``nn.LSTM``/``nn.GRU``/``nn.RNN``): analytic, weights only, per time step, per sample, per layer and direction

  .. math:: \text{MAC}_{\text{step}} = G\,(I_l H + H_r H) + [\text{proj}]\,H P,

  with :math:`G = 4` (LSTM), 3 (GRU), 1 (RNN); :math:`I_l` the layer's input width (``input_size`` for layer 0, else
  :math:`D\,H_{\text{out}}`); :math:`H_r = P` if ``proj_size = P > 0`` else :math:`H`. For the plain LSTM this is the
  reference's :math:`4(IH + H^2)`. Gate non-linearities, the cell update and biases are not counted. Time steps are taken
  from the input (``T x B``, or the packed length for a ``PackedSequence``). The library kernels are not seen (``FlopCounterMode``
  reports 0 for LSTMs), so ops inside an RNN module are suppressed and replaced by this formula.
* **norm** (normalisation, reported in ``by_type["norm"]`` but **not** part of ``macs``): element-wise MAC-equivalents per
  element of the normalised input: 1 for an eval-mode BatchNorm (a foldable :math:`a x + b`); 3 for a normalisation
  that computes statistics at run time (LayerNorm, GroupNorm, InstanceNorm, training BatchNorm: mean accumulate, variance
  MAC, normalise) plus 1 if it has an affine weight; 2 for RMSNorm (+1 affine) and for ``F.normalize`` (L2 norm: square
  accumulate, scale). Activations, softmax, pooling and element-wise additions are not counted.

``macs = conv + linear + matmul + spmm + rnn``. ``spike_eligible_macs = conv + linear + spmm`` (fixed-weight synapses);
``matmul`` (activation x activation) and ``rnn`` are non-spiking (``ml_zoo_papers.md`` §12, item 6).

Synaptic operations of a spiking network are counted in :mod:`vo2neuro.ml_zoo.synaptic`.

References
----------
* PyTorch ``torch/utils/flop_counter.py`` (FLOP formulas, here halved).
* ``ml_zoo_papers.md`` §12 (counter conventions), §14 (SNN energy recipe: SOP = fr x T x MAC).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = [
    "MAC_CATEGORIES",
    "CATEGORIES",
    "LayerOps",
    "OpsReport",
    "count_ops",
    "rnn_step_macs",
]

MAC_CATEGORIES: tuple[str, ...] = ("conv", "linear", "matmul", "spmm", "rnn")
"""Categories whose counts are MACs and add up to :attr:`OpsReport.macs`."""
CATEGORIES: tuple[str, ...] = (*MAC_CATEGORIES, "norm")
"""All categories of :attr:`OpsReport.by_type` (``norm`` is element-wise ops, not MACs)."""
SPIKE_ELIGIBLE: tuple[str, ...] = ("conv", "linear", "spmm")

_aten = torch.ops.aten


# ----------------------------------------------------------------------------------------------------------------- records
@dataclass(frozen=True)
class LayerOps:
    """Operations attributed to one module (the innermost module active when the op ran) and one category.

    Attributes
    ----------
    name : str
        Qualified module name (``""`` is the root model).
    type : str
        Module class name.
    category : str
        One of :data:`CATEGORIES`.
    count : int
        MACs (or element-wise ops for ``norm``) at the batch size counted.
    params : int
        Parameters owned directly by the module (not its children).
    """

    name: str
    type: str
    category: str
    count: int
    params: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OpsReport:
    """Result of :func:`count_ops`.

    Attributes
    ----------
    model : str
        Class name of the model counted.
    params : int
        Number of parameter elements (``sum(p.numel())``, trainable and frozen registered parameters; buffers excluded).
    trainable_params : int
        Parameters with ``requires_grad``.
    macs : int
        conv + linear + matmul + spmm + rnn MACs of one forward pass at the batch size of the inputs.
    by_type : dict[str, int]
        Count per category, every key of :data:`CATEGORIES` present (``norm`` in element-wise ops, see module docstring).
    by_child : dict[str, int]
        MACs per top-level child module (``""`` for ops issued by the root's own ``forward``); e.g. ``actor``/``critic``.
    rows : tuple[LayerOps, ...]
        Per (module, category) rows in order of first execution.
    batch : int | None
        Leading dimension of the first tensor input (the batch the counts refer to), if known.
    """

    model: str
    params: int
    trainable_params: int
    macs: int
    by_type: dict[str, int]
    by_child: dict[str, int]
    rows: tuple[LayerOps, ...] = field(repr=False)
    batch: int | None = None

    @property
    def spike_eligible_macs(self) -> int:
        """conv + linear + spmm MACs: fixed-weight synapses that an ANN-to-SNN conversion can map to spikes."""
        return sum(self.by_type[c] for c in SPIKE_ELIGIBLE)

    @property
    def non_spiking_macs(self) -> int:
        """matmul (activation x activation) + rnn MACs, which stay non-spiking after conversion."""
        return self.macs - self.spike_eligible_macs

    def to_dict(self, *, rows: bool = True) -> dict[str, Any]:
        d = {
            "model": self.model,
            "params": self.params,
            "trainable_params": self.trainable_params,
            "macs": self.macs,
            "spike_eligible_macs": self.spike_eligible_macs,
            "non_spiking_macs": self.non_spiking_macs,
            "by_type": dict(self.by_type),
            "by_child": dict(self.by_child),
            "batch": self.batch,
        }
        if rows:
            d["rows"] = [r.to_dict() for r in self.rows]
        return d


# ----------------------------------------------------------------------------------------------------------- formulas
def _prod(xs: Sequence[int]) -> int:
    return math.prod(int(x) for x in xs)


def _conv_macs(x_shape, w_shape, out_shape, transposed: bool) -> int:
    # Same count as FlopCounterMode's conv_flop_count / 2: every output (input, if transposed) position x every tap.
    batch = int(x_shape[0])
    spatial = (x_shape if transposed else out_shape)[2:]
    c_out, c_in, *kernel = w_shape
    return batch * _prod(spatial) * _prod(kernel) * int(c_out) * int(c_in)


def _is_sparse(t: Any) -> bool:
    return isinstance(t, torch.Tensor) and t.layout != torch.strided


def _sparse_product_macs(a: torch.Tensor, b: torch.Tensor) -> int:
    if _is_sparse(a):
        return int(a._nnz()) * int(b.shape[-1])
    return int(b._nnz()) * int(a.shape[0])


def rnn_step_macs(module: nn.RNNBase) -> int:
    """MACs of one time step of ``module`` for one sample, all layers and directions (formula in the module docstring).

    Examples
    --------
    >>> rnn_step_macs(nn.LSTM(768, 256, bidirectional=True)) == 2 * 4 * (768 * 256 + 256 * 256)
    True
    """
    gates = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}[module.mode]
    h = module.hidden_size
    p = getattr(module, "proj_size", 0) or 0
    h_out = p if p > 0 else h
    dirs = 2 if module.bidirectional else 1
    total = 0
    for layer in range(module.num_layers):
        i_l = module.input_size if layer == 0 else dirs * h_out
        per_dir = gates * (i_l * h + h_out * h) + (h * p if p > 0 else 0)
        total += dirs * per_dir
    return total


_RUNTIME_NORMS: dict[Callable, tuple[int, str]] = {
    F.layer_norm: (3, "weight"),
    F.group_norm: (3, "weight"),
    F.instance_norm: (3, "weight"),
}


def _norm_ops(func: Callable, args: tuple, kwargs: dict) -> int | None:
    """Element-wise normalisation ops of a functional call, or None if ``func`` is not a normalisation."""
    def arg(i: int, name: str, default=None):
        return args[i] if len(args) > i else kwargs.get(name, default)

    if func is F.batch_norm:
        x = arg(0, "input")
        running = arg(1, "running_mean") is not None
        training = bool(arg(5, "training", False))
        affine = arg(3, "weight") is not None
        per = 1 if (running and not training) else 3 + int(affine)
        return per * x.numel()
    if func in (F.layer_norm, F.group_norm):
        x = arg(0, "input")
        weight = arg(2, "weight")
        return (3 + int(weight is not None)) * x.numel()
    if func is F.instance_norm:
        x = arg(0, "input")
        return (3 + int(arg(3, "weight") is not None)) * x.numel()
    if hasattr(F, "rms_norm") and func is F.rms_norm:
        x = arg(0, "input")
        return (2 + int(arg(2, "weight") is not None)) * x.numel()
    if func is F.normalize:
        return 2 * arg(0, "input").numel()
    return None


# ------------------------------------------------------------------------------------------------------- counter state
class _State:
    def __init__(self) -> None:
        self.module_stack: list[str] = [""]
        self.tag_stack: list[str] = []
        self.suppress = 0
        self.counts: dict[tuple[str, str], int] = {}

    def add(self, category: str, n: int, module: str | None = None) -> None:
        if n == 0:
            return
        key = (self.module_stack[-1] if module is None else module, category)
        self.counts[key] = self.counts.get(key, 0) + int(n)


class _FunctionTagger(TorchFunctionMode):
    """Tags the ATen ops issued by ``F.linear`` as ``linear`` and counts functional normalisations."""

    def __init__(self, state: _State) -> None:
        super().__init__()
        self.state = state

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        st = self.state
        if not st.suppress:
            n = _norm_ops(func, args, kwargs)
            if n is not None:
                st.add("norm", n)
        if func is F.linear:
            st.tag_stack.append("linear")
            try:
                return func(*args, **kwargs)
            finally:
                st.tag_stack.pop()
        return func(*args, **kwargs)


class _AtenCounter(TorchDispatchMode):
    """Counts conv/mm/bmm MACs at the ATen level and attributes them to the innermost running module."""

    def __init__(self, state: _State) -> None:
        super().__init__()
        self.state = state

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        st = self.state
        if st.suppress:
            return out
        packet = func.overloadpacket
        tag = st.tag_stack[-1] if st.tag_stack else "matmul"
        if packet in (_aten.convolution, _aten._convolution):
            transposed = bool(args[6]) if len(args) > 6 else bool(kwargs.get("transposed", False))
            st.add("conv", _conv_macs(args[0].shape, args[1].shape, out.shape, transposed))
        elif packet in (_aten.mm, _aten.addmm, _aten._sparse_addmm, _aten._sparse_mm):
            a, b = (args[0], args[1]) if packet in (_aten.mm, _aten._sparse_mm) else (args[1], args[2])
            if _is_sparse(a) or _is_sparse(b):
                st.add("spmm", _sparse_product_macs(a, b))
            else:
                st.add(tag, int(a.shape[0]) * int(a.shape[1]) * int(b.shape[1]))
        elif packet in (_aten.bmm, _aten.baddbmm):
            a, b = (args[0], args[1]) if packet is _aten.bmm else (args[1], args[2])
            st.add(tag, int(a.shape[0]) * int(a.shape[1]) * int(a.shape[2]) * int(b.shape[2]))
        elif packet in (_aten.mv, _aten.addmv):
            a = args[0] if packet is _aten.mv else args[1]
            st.add(tag, int(a.shape[0]) * int(a.shape[1]))
        elif packet is _aten.dot:
            st.add(tag, int(args[0].shape[0]))
        return out


def _input_steps(module: nn.RNNBase, x: Any) -> int:
    """Number of (sample, time step) pairs in an RNN input."""
    if isinstance(x, nn.utils.rnn.PackedSequence):
        return int(x.data.shape[0])
    if x.dim() == 2:  # unbatched (T, I)
        return int(x.shape[0])
    return int(x.shape[0]) * int(x.shape[1])


def _first_batch(inputs: Sequence[Any]) -> int | None:
    for x in inputs:
        if isinstance(x, torch.Tensor) and x.dim() > 0 and x.layout == torch.strided:
            return int(x.shape[0])
    return None


def count_ops(model: nn.Module, inputs: Any, *, kwargs: Mapping[str, Any] | None = None) -> OpsReport:
    """Count the MACs (by type and by layer) and parameters of one forward pass of ``model``.

    The model runs once under ``torch.no_grad()`` with its current train/eval mode (call ``model.eval()`` first for
    inference counts). It may live on the ``meta`` device: counting needs shapes only, so paper-size models can be
    counted without allocating their weights (sparse inputs are the exception: they need a real device).

    Parameters
    ----------
    model : nn.Module
    inputs : tensor or tuple
        Positional inputs of ``model.forward`` (a single tensor is wrapped in a tuple). The counts refer to their
        batch size; the zoo reports batch 1 (``model.example_inputs(1)``).
    kwargs : mapping, optional
        Keyword inputs of ``model.forward``.

    Returns
    -------
    OpsReport

    Examples
    --------
    >>> rep = count_ops(nn.Linear(8, 4), torch.zeros(1, 8))
    >>> rep.macs, rep.params, rep.by_type["linear"]
    (32, 36, 32)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    args = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    kwargs = dict(kwargs or {})
    state = _State()
    names = {m: n for n, m in model.named_modules()}
    types = {n: type(m).__name__ for m, n in names.items()}
    own_params = {n: sum(p.numel() for p in m.parameters(recurse=False)) for m, n in names.items()}
    handles = []

    def pre_hook(mod, a):
        state.module_stack.append(names[mod])
        if isinstance(mod, nn.RNNBase):
            state.suppress += 1

    def post_hook(mod, a, out):
        if isinstance(mod, nn.RNNBase):
            state.suppress -= 1
            if not state.suppress:
                state.add("rnn", _input_steps(mod, a[0]) * rnn_step_macs(mod))
        state.module_stack.pop()

    try:
        for mod in names:
            handles.append(mod.register_forward_pre_hook(pre_hook))
            handles.append(mod.register_forward_hook(post_hook, always_call=True))
        with torch.no_grad(), _FunctionTagger(state), _AtenCounter(state):
            model(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()

    by_type = {c: 0 for c in CATEGORIES}
    by_child: dict[str, int] = {}
    rows = []
    for (name, cat), n in state.counts.items():
        by_type[cat] += n
        if cat in MAC_CATEGORIES:
            child = name.split(".", 1)[0]
            by_child[child] = by_child.get(child, 0) + n
        rows.append(LayerOps(name=name, type=types.get(name, "?"), category=cat, count=n, params=own_params.get(name, 0)))
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return OpsReport(
        model=type(model).__name__,
        params=int(params),
        trainable_params=int(trainable),
        macs=sum(by_type[c] for c in MAC_CATEGORIES),
        by_type=by_type,
        by_child=by_child,
        rows=tuple(rows),
        batch=_first_batch(args),
    )
