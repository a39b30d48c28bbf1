r"""PyTorch VO2 relaxation-oscillator neuron: functional core, fused sequence kernel, ``nn.Module`` wrappers.

Discrete-time dynamics (exact exponential integration over ``dt`` with the insulating resistance frozen). The
refractory counter ``r`` is the metallic phase: the device is insulating (integrating) when ``r == 0``::

    v_inf  = v_bias + I R_leak                         [V]
    c      = v_inf + (v - v_inf) exp(-dt/tau)          insulating (r == 0)   |   c = v   metallic (r > 0)
    z      = H(c - v_th)                               spike: the insulator-to-metal switching event
    v'     = v_h  if z  else c                         reset to the hold voltage (NOT 0)
    r'     = n_ref if z else max(r - 1, 0)             metallic phase of n_ref = round(t_ref/dt) steps
    r'     = max(r', 1) if I >= i_max and (z or r > 0) latch: the device cannot leave the metallic state

Current limit ``i_max`` (the upper edge of the Pearson-Anson window, ``v_h/R_on`` for current drive). Above it
the load line crosses the metallic branch: a neuron that reaches ``v_th`` still switches once (one spike, the
capacitor discharges through the device) and then stays metallic, silent and held at ``v_h``, for as long
as the drive stays above ``i_max``; it resumes charging from ``v_h`` when the drive returns into the window.
The steady rate is therefore 0 above ``i_max`` (:func:`rate`). The latch acts through the (non-differentiable)
refractory counter, so on its own it would give a silenced neuron no gradient. A straight-through term restores
one: on every latched step ``z`` gains ``g - stopgrad(g)`` with ``g = H(i_max - I)`` (0 forward), hence
``dz/dI = -sigma'((i_max - I)/I_rh)/I_rh`` there: the optimiser learns that lowering an over-driven neuron's
current back into the window gives it spikes again. Steps that are not latched get no such term, so the limit
adds no bias to ordinary learning.

Surrogate gradients. ``H`` is the Heaviside step forward and a surrogate derivative backward (registry
:data:`SURROGATES`), evaluated on the normalised arguments ``(c - v_th)/(v_th - v_bias)`` and
``(i_max - I)/I_rh`` with ``I_rh = (v_th - v_bias)/R_leak`` the rheobase, so one slope works for any
physical parameter set; the derivative w.r.t. ``c`` in [V^-1] is ``sigma'(x)/(v_th - v_bias)``.
The reset and the refractory counter are constants in the backward pass (the reset is detached, as in
snntorch's default; Zenke & Vogels, Neural Comput. 33, 899 (2021)).

References
----------
Pearson & Anson, Proc. Phys. Soc. B 34, 204 (1921) (relaxation oscillator); Neftci, Mostafa & Zenke,
IEEE Signal Process. Mag. 36, 51 (2019) (surrogate gradients); Zenke & Ganguli, Neural Comput. 30, 1514 (2018)
(fast sigmoid, "SuperSpike"); Fang et al., ICCV 2021 (arctan surrogate).
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np
import torch
from torch import nn

from vo2neuro.units import ParameterError
from vo2neuro.snn import _fused
from vo2neuro.snn.params import VO2NeuronParams

__all__ = [
    "SURROGATES",
    "Surrogate",
    "VO2Cell",
    "VO2Neuron",
    "VO2NeuronState",
    "get_surrogate",
    "initial_state",
    "rate",
    "vo2_sequence",
    "vo2_step",
]


# ---------------------------------------------------------------------------------------------- surrogates
class Surrogate(NamedTuple):
    """A surrogate derivative ``d/dx H(x)`` of the normalised argument ``x`` and its default slope."""

    name: str
    derivative: Callable[[torch.Tensor, float], torch.Tensor]
    default_slope: float
    doc: str


def _fast_sigmoid(x: torch.Tensor, k: float) -> torch.Tensor:
    return 1.0 / (1.0 + k * x.abs()) ** 2


def _arctan(x: torch.Tensor, k: float) -> torch.Tensor:
    return (k / 2.0) / (1.0 + (math.pi / 2.0 * k * x) ** 2)


SURROGATES: dict[str, Surrogate] = {
    "fast_sigmoid": Surrogate("fast_sigmoid", _fast_sigmoid, 5.0,
                              "1/(1 + k|x|)^2, Zenke & Ganguli 2018 (SuperSpike)"),
    "arctan": Surrogate("arctan", _arctan, 5.0, "(k/2)/(1 + (pi k x/2)^2), Fang et al. 2021"),
}


def get_surrogate(name: str) -> Surrogate:
    """Registry entry ``name``; :class:`ParameterError` listing the valid names if unknown."""
    try:
        return SURROGATES[name]
    except KeyError:
        raise ParameterError(f"surrogate: unknown name {name!r}; valid: {', '.join(sorted(SURROGATES))}") from None


class _Heaviside(torch.autograd.Function):
    """``H(x) = 1[x >= 0]`` forward, ``grad * sigma'(x) / scale`` backward (x in physical units)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float, surrogate: str, slope: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.scale, ctx.surrogate, ctx.slope = scale, surrogate, slope
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        d = SURROGATES[ctx.surrogate].derivative(x / ctx.scale, ctx.slope) / ctx.scale
        return grad * d, None, None, None


# ---------------------------------------------------------------------------------------------- state
class VO2NeuronState(NamedTuple):
    """Explicit neuron state (any shape, same for both fields).

    v : Tensor
        Node (membrane) voltage [V].
    ref : Tensor
        Refractory steps still to wait [steps], a float tensor holding integers ``0..n_ref``.
    """

    v: torch.Tensor
    ref: torch.Tensor


def initial_state(like: torch.Tensor, p: VO2NeuronParams) -> VO2NeuronState:
    """Rest state shaped like one time step of ``like``: ``v = v_bias`` [V], not refractory."""
    return VO2NeuronState(torch.full_like(like, p.v_bias), torch.zeros_like(like))


def _slope(surrogate: str, slope: float | None) -> float:
    s = get_surrogate(surrogate).default_slope if slope is None else float(slope)
    if not (math.isfinite(s) and s > 0):
        raise ParameterError(f"slope must be a finite number > 0 [-], got {slope!r}")
    return s


# ---------------------------------------------------------------------------------------------- one step
def vo2_step(
    i_in: torch.Tensor,
    state: VO2NeuronState,
    p: VO2NeuronParams,
    *,
    surrogate: str = "fast_sigmoid",
    slope: float | None = None,
) -> tuple[torch.Tensor, VO2NeuronState]:
    r"""Advance the VO2 neuron by one step ``dt``; differentiable through surrogate gradients.

    Parameters
    ----------
    i_in : Tensor, shape ``S``
        Input current into the node [A].
    state : VO2NeuronState
        Previous state, fields of shape ``S``.
    p : VO2NeuronParams
        Neuron parameters (SI).
    surrogate, slope : str, float
        Surrogate derivative (``SURROGATES``) and its slope [-] on the normalised arguments.

    Returns
    -------
    spikes : Tensor, shape ``S``
        1.0 where the neuron fired in this step, else 0.0 [-].
    state : VO2NeuronState
        New state.

    Examples
    --------
    >>> p = VO2NeuronParams(capacitance=145.35e-12, r_leak=12e3, v_th=5.0, v_h=2.0, t_ref=0.5e-6,
    ...                     i_max=2e-3, dt=0.1e-6)
    >>> i = torch.full((1,), 1e-3)
    >>> st = initial_state(i, p)
    >>> zs = []
    >>> for _ in range(12):
    ...     z, st = vo2_step(i, st, p)
    ...     zs.append(int(z))
    >>> zs.index(1)     # tau*ln(12/7) = 0.94 us: the crossing falls in the 10th step
    9
    """
    k = _slope(surrogate, slope)
    a = p.decay
    v, ref = state
    active = ref <= 0
    c = torch.where(active, a * v + (1.0 - a) * (p.v_bias + p.r_leak * i_in), v)
    s = _Heaviside.apply(c - p.v_th, p.v_th - p.v_bias, surrogate, k)
    over = i_in >= p.i_max
    g = _Heaviside.apply(p.i_max - i_in, p.rheobase, surrogate, k)
    latched = (over & ~active).to(c.dtype)
    z = s + latched * (g - g.detach())                      # forward: z = s
    fired = s.detach()
    v_new = fired * p.v_h + (1.0 - fired) * c
    ref_new = torch.where(fired > 0, torch.full_like(ref, float(p.n_ref)), (ref - 1.0).clamp_min(0.0))
    ref_new = torch.where(over & ((fired > 0) | ~active), ref_new.clamp_min(1.0), ref_new)
    return z, VO2NeuronState(v_new, ref_new)


# ---------------------------------------------------------------------------------------------- fused sequence
class _VO2Sequence(torch.autograd.Function):
    """The recursion of :func:`vo2_step` over ``T`` steps with a hand-written BPTT backward.

    Forward runs without building an autograd graph and keeps the masks and pre-reset voltages; backward
    is, per step (``gz`` the incoming spike gradient, ``dv`` the carried voltage gradient)::

        dc_t     = dv_t (1 - z_t) + gz_t sigma'(c_t)                    (2 fused ops per step)
        dv_{t-1} = dc_t (active_t a + 1 - active_t)
        dI_t     = dc_t active_t (1 - a) R_leak - gz_t latched_t sigma'_g(I_t)     (vectorised over T)

    This equals autograd through :func:`vo2_step` (tested) at a fraction of its cost. It is the reference and
    fallback path: on CPU (float32/float64) :func:`vo2_sequence` runs the same recursion in the compiled kernel
    :class:`_VO2SequenceCompiled` (:mod:`vo2neuro.snn._fused`) when that could be built.
    """

    @staticmethod
    def forward(ctx, i_seq, v0, ref0, p: VO2NeuronParams, surrogate: str, k: float):  # type: ignore[override]
        a = p.decay
        drive = (1.0 - a) * (p.v_bias + p.r_leak * i_seq)            # [T, ...] in one vectorised op
        over = i_seq >= p.i_max                                       # [T, ...]
        any_over = bool(over.any())                                   # fast path: no latch logic needed
        n_ref = float(p.n_ref)
        T = i_seq.shape[0]
        c_all = torch.empty_like(i_seq)
        active_all = torch.empty_like(i_seq, dtype=torch.bool)
        v, ref = v0, ref0.clone()                                     # ref is updated in place
        for t in range(T):
            active = torch.le(ref, 0.0, out=active_all[t])
            c = torch.add(drive[t], v, alpha=a, out=c_all[t])
            torch.where(active, c, v, out=c)                          # metallic: hold v
            z = c >= p.v_th
            v = c.masked_fill(z, p.v_h)
            ref.sub_(1.0).clamp_min_(0.0).masked_fill_(z, n_ref)
            if any_over:
                hold = over[t] & (z | ~active)
                ref.masked_fill_(hold & (ref < 1.0), 1.0)
        z_all = (c_all >= p.v_th).to(i_seq.dtype)                     # metallic steps have c = v_h < v_th
        ctx.save_for_backward(i_seq, c_all, active_all, z_all)
        ctx.p, ctx.surrogate, ctx.k = p, surrogate, k
        ctx.mark_non_differentiable(ref)
        return z_all, v, ref

    @staticmethod
    def backward(ctx, gz, gv, _gref):  # type: ignore[override]
        i_seq, c_all, active_all, z_all = ctx.saved_tensors
        p: VO2NeuronParams = ctx.p
        d = SURROGATES[ctx.surrogate].derivative
        a, vs, i_rh = p.decay, p.v_th - p.v_bias, p.rheobase
        if gz is None:
            gz = torch.zeros_like(c_all)
        gzc = gz * d((c_all - p.v_th) * (1.0 / vs), ctx.k).mul_(1.0 / vs)   # dz/dc contribution, vectorised
        keep = 1.0 - z_all                                             # dv_t/dc_t = 1 - reset
        one = torch.ones((), dtype=c_all.dtype)
        carry = torch.where(active_all, one * a, one)                  # dc_t/dv_{t-1}: a or 1
        dc = torch.empty_like(c_all)
        dv = torch.zeros_like(c_all[0]) if gv is None else gv
        for t in range(c_all.shape[0] - 1, -1, -1):
            torch.addcmul(gzc[t], dv, keep[t], out=dc[t])
            dv = dc[t] * carry[t]
        di = dc.mul_((1.0 - a) * p.r_leak).masked_fill_(~active_all, 0.0)
        latched = (i_seq >= p.i_max) & ~active_all
        if bool(latched.any()):
            di = di - gz * latched * d((p.i_max - i_seq) / i_rh, ctx.k) / i_rh
        return di, dv, None, None, None, None


# Surrogates the compiled kernel implements (its integer code): others use the pure-torch path.
_COMPILED_SURROGATES = {"fast_sigmoid": 0, "arctan": 1}


class _VO2SequenceCompiled(torch.autograd.Function):
    """:class:`_VO2Sequence` with both loops in the compiled CPU kernel of :mod:`vo2neuro.snn._fused`.

    Same algebra, operation by operation (results agree to rounding). The input is ``x`` in units of ``scale``
    amperes (``I = x * scale``, computed in the kernel exactly as ``x * scale`` in torch); the gradient returned
    is ``dL/dx``. Only ``c`` is stored: the integrating mask is recomputed in the backward from ``c``, ``x`` and
    ``ref0``, and ``z = c >= v_th``. Float32/float64 CPU tensors, state of the input's shape and dtype.
    """

    @staticmethod
    def forward(ctx, x, v0, ref0, p: VO2NeuronParams, surrogate: str, k: float,  # type: ignore[override]
                scale: float):
        T, shape = x.shape[0], x.shape[1:]
        m = math.prod(shape)
        x2 = x.reshape(T, m).contiguous()
        ref0 = ref0.reshape(m).contiguous()
        a = p.decay
        z, v, ref, c = _fused.ops().forward(x2, v0.reshape(m).contiguous(), ref0, scale, a, 1.0 - a,
                                            p.v_bias, p.r_leak, p.v_th, p.v_h, float(p.n_ref), p.i_max)
        ctx.save_for_backward(x2, c, ref0)
        ctx.p, ctx.surrogate, ctx.k, ctx.scale, ctx.shape = p, surrogate, k, scale, x.shape
        ref = ref.view(shape)
        ctx.mark_non_differentiable(ref)
        return z.view(x.shape), v.view(shape), ref

    @staticmethod
    def backward(ctx, gz, gv, _gref):  # type: ignore[override]
        need_x, need_v = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if not (need_x or need_v):
            return None, None, None, None, None, None, None
        x2, c, ref0 = ctx.saved_tensors
        p: VO2NeuronParams = ctx.p
        a, k = p.decay, ctx.k
        kind = _COMPILED_SURROGATES[ctx.surrogate]
        kk = k if kind == 0 else math.pi / 2.0 * k
        dx, dv = _fused.ops().backward(
            None if gz is None else gz.reshape(c.shape), None if gv is None else gv.reshape(c.shape[1:]),
            x2, c, ref0, ctx.scale, a, p.v_th, float(p.n_ref), 1.0 / (p.v_th - p.v_bias), (1.0 - a) * p.r_leak,
            p.i_max, p.rheobase, kk, k / 2.0, kind)
        return (dx.view(ctx.shape) if need_x else None, dv.view(ctx.shape[1:]) if need_v else None,
                None, None, None, None, None)


def _compiled_ops_for(x: torch.Tensor, v0: torch.Tensor, surrogate: str):
    """The compiled kernel's ops if they apply to these tensors (and could be built), else None."""
    if (x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64)
            or v0.dtype != x.dtype or v0.device != x.device or surrogate not in _COMPILED_SURROGATES):
        return None
    return _fused.ops()


def _sequence(x, state: VO2NeuronState | None, p: VO2NeuronParams, surrogate: str, k: float, scale: float = 1.0,
              *, compiled: bool | None = None):
    """The fused recursion on the current ``I = x * scale`` [A]: ``(z, v, ref)``.

    Uses the compiled kernel when it applies and is available (``compiled=None``), else the pure-torch
    :class:`_VO2Sequence`; ``compiled=True/False`` forces a path (tests, benchmarks).
    """
    if state is None:
        state = initial_state(x[0], p)
    v0, ref0 = state.v, state.ref.to(x.dtype)
    use = _compiled_ops_for(x, v0, surrogate) is not None if compiled is None else compiled
    if use:
        shape = x.shape[1:]
        return _VO2SequenceCompiled.apply(x, v0.expand(shape), ref0.expand(shape), p, surrogate, k, float(scale))
    i_seq = x if scale == 1.0 else x * scale
    return _VO2Sequence.apply(i_seq, v0, ref0, p, surrogate, k)


def vo2_sequence(
    i_seq: torch.Tensor,
    state: VO2NeuronState | None,
    p: VO2NeuronParams,
    *,
    surrogate: str = "fast_sigmoid",
    slope: float | None = None,
) -> tuple[torch.Tensor, VO2NeuronState]:
    """Run :func:`vo2_step` over the leading (time) axis of ``i_seq`` with a fused forward/backward.

    Parameters
    ----------
    i_seq : Tensor, shape ``[T, *S]``
        Input current [A].
    state : VO2NeuronState or None
        Initial state of shape ``S``; the rest state (:func:`initial_state`) when None.

    Returns
    -------
    spikes : Tensor, shape ``[T, *S]``
        Spike train [-].
    state : VO2NeuronState
        State after the last step (``v`` differentiable, ``ref`` not).
    """
    k = _slope(surrogate, slope)
    if i_seq.dim() < 1 or i_seq.shape[0] < 1:
        raise ParameterError(f"i_seq must have a leading time axis of length >= 1 [A], got shape {tuple(i_seq.shape)}")
    z, v, ref = _sequence(i_seq, state, p, surrogate, k)
    return z, VO2NeuronState(v, ref)


# ---------------------------------------------------------------------------------------------- modules
class _VO2Base(nn.Module):
    def __init__(self, p: VO2NeuronParams, *, surrogate: str = "fast_sigmoid", slope: float | None = None,
                 current_scale: float | None = None) -> None:
        super().__init__()
        if not isinstance(p, VO2NeuronParams):
            raise ParameterError(f"p must be a VO2NeuronParams, got {type(p).__name__} [-]")
        self.p = p
        self.surrogate = get_surrogate(surrogate).name
        self.slope = _slope(surrogate, slope)
        if current_scale is not None and not (math.isfinite(current_scale) and current_scale > 0):
            raise ParameterError(f"current_scale must be a finite number > 0 [A], got {current_scale!r}")
        self.current_scale = p.rheobase if current_scale is None else float(current_scale)

    def extra_repr(self) -> str:
        return (f"tau={self.p.tau:.4g} s, v_th={self.p.v_th:g} V, v_h={self.p.v_h:g} V, n_ref={self.p.n_ref}, "
                f"current_scale={self.current_scale:.4g} A, surrogate={self.surrogate}(k={self.slope:g})")


class VO2Cell(_VO2Base):
    """One step of the VO2 neuron as a module (snntorch-style loops: ``spk, state = cell(cur, state)``).

    The input ``x`` is dimensionless: the current is ``I = x * current_scale`` [A], with ``current_scale``
    the rheobase ``(v_th - v_bias)/R_leak`` by default, so ``x > 1`` (held) makes the neuron fire and
    ``x > i_max/I_rh`` latches it, whatever the physical parameters. The state is explicit; ``forward`` builds
    the rest state only when ``state is None``.
    """

    def forward(self, x: torch.Tensor, state: VO2NeuronState | None = None) -> tuple[torch.Tensor, VO2NeuronState]:
        i_in = x * self.current_scale
        if state is None:
            state = initial_state(i_in, self.p)
        return vo2_step(i_in, state, self.p, surrogate=self.surrogate, slope=self.slope)


class VO2Neuron(_VO2Base):
    """The VO2 neuron over a whole sequence ``x`` of shape ``[T, *S]`` (Norse style, fused BPTT).

    Same input convention as :class:`VO2Cell`. Returns ``(spikes [T, *S], final state)``; identical in value
    and gradient to looping :class:`VO2Cell` over ``T``.
    """

    def forward(self, x: torch.Tensor, state: VO2NeuronState | None = None) -> tuple[torch.Tensor, VO2NeuronState]:
        if x.dim() < 1 or x.shape[0] < 1:
            raise ParameterError(f"x must have a leading time axis of length >= 1 [-], got shape {tuple(x.shape)}")
        # = vo2_sequence(x * current_scale, ...); the scaling happens inside the compiled kernel
        z, v, ref = _sequence(x, state, self.p, self.surrogate, self.slope, self.current_scale)
        return z, VO2NeuronState(v, ref)


# ---------------------------------------------------------------------------------------------- closed form
def rate(i_in, p: VO2NeuronParams, *, discrete: bool = False) -> np.ndarray:
    r"""Steady firing rate of the neuron under a constant current [Hz].

    Continuous time (Pearson-Anson, ``vo2_physics.md`` section 8, current drive, with the metallic phase as a
    refractory time ``t_ref``)::

        f = 1 / (t_ref + tau ln((v_inf - v_h)/(v_inf - v_th))),  v_inf = v_bias + I R_leak,  tau = C R_leak

    for ``I_rh < I < i_max`` and ``f = 0`` outside the window. The discrete-time neuron of :func:`vo2_step`
    needs ``n_c = ceil(t_c/dt)`` integrating steps to cross ``v_th`` from ``v_h`` (``t_c`` the charging time
    above) and ``n_ref = round(t_ref/dt)`` refractory steps, so ``discrete=True`` returns
    ``1/(dt (n_ref + n_c))``. With ``t_ref = n_ref dt`` the two periods differ by less than one step:
    ``0 <= 1/f_discrete - 1/f < dt``.

    Parameters
    ----------
    i_in : array_like
        Input current [A].
    p : VO2NeuronParams
    discrete : bool
        Rate of the discrete-time neuron instead of the continuous one.

    Returns
    -------
    numpy.ndarray
        Firing rate [Hz], shape of ``i_in``.

    Examples
    --------
    >>> p = VO2NeuronParams(capacitance=145.35e-12, r_leak=12e3, v_th=5.0, v_h=2.0, t_ref=0.5e-6,
    ...                     i_max=2e-3, dt=0.1e-6)
    >>> float(rate(1e-3, p)) / 1e3, float(rate(1e-3, p, discrete=True)) / 1e3   # kHz
    (891.1762911026177, 833.3333333333334)
    """
    i = np.asarray(i_in, dtype=float)
    v_inf = p.v_bias + i * p.r_leak
    inside = (v_inf > p.v_th) & (i < p.i_max)
    safe = np.where(inside, v_inf, p.v_th + 1.0)
    t_c = p.tau * np.log((safe - p.v_h) / (safe - p.v_th))
    if discrete:
        period = p.dt * (p.n_ref + np.ceil(t_c / p.dt))
    else:
        period = p.t_ref + t_c
    return np.where(inside, 1.0 / period, 0.0)
