"""Device characterisation computed from the physics: R-T hysteresis loops (with minor loops), the steady-state
current-driven I-V curve with its threshold and hold points, and a transient voltage sweep through a series
resistor as a measurement shows it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar

from vo2neuro.units import ParameterError, check_positive
from vo2neuro.device import _kernels as K
from vo2neuro.device.model import initial_state, simulate_device
from vo2neuro.device.params import VO2DeviceParams
from vo2neuro.device.select import ROOM_TEMPERATURE_K

__all__ = ["RTLoop", "IVCurve", "VoltageSweep", "rt_loop", "static_iv", "voltage_sweep",
           "static_branch", "resistance_at"]

#: Room temperature at which the insulating resistance is reported [K].
T_ROOM = ROOM_TEMPERATURE_K  # the reference temperature of r_insulating_300k_ohm


def _check_device(params: object) -> None:
    if not isinstance(params, VO2DeviceParams):
        raise ParameterError(f"params: expected a VO2DeviceParams record (e.g. get_parameters('vo2')), got "
                             f"{type(params).__name__} [-]")


def _check_count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(f"{name} must be a whole number >= {minimum} [1], got {value!r}")
    return int(value)


def _check_branch(branch: object) -> None:
    if branch not in ("heating", "cooling"):
        raise ParameterError(f"branch: {branch!r} is not valid; valid: heating, cooling [-]")


@dataclass(frozen=True)
class RTLoop:
    """Resistance-temperature hysteresis loop.

    Scalars: ``t_imt_heating_k`` / ``t_imt_cooling_k`` (temperature where the insulating fraction is 1/2 on the
    heating / cooling branch [K]), ``r_insulating_300k_ohm`` (heating branch, 300 K [Ohm]),
    ``r_metallic_ohm`` (cooling branch at the top of the loop [Ohm]), ``on_off_ratio`` [-],
    ``hysteresis_width_k`` [K].

    Arrays (shape (n,)): ``T_heat``, ``R_heat``, ``g_heat``, ``T_cool``, ``R_cool``, ``g_cool`` [K, Ohm, -];
    ``T_minor``, ``R_minor``, ``g_minor`` along the optional minor-loop path (empty without one).
    """

    preset: str
    delta: float
    t_imt_heating_k: float
    t_imt_cooling_k: float
    hysteresis_width_k: float
    r_insulating_300k_ohm: float
    r_metallic_ohm: float
    on_off_ratio: float
    T_heat: np.ndarray = field(repr=False)
    R_heat: np.ndarray = field(repr=False)
    g_heat: np.ndarray = field(repr=False)
    T_cool: np.ndarray = field(repr=False)
    R_cool: np.ndarray = field(repr=False)
    g_cool: np.ndarray = field(repr=False)
    T_minor: np.ndarray = field(repr=False)
    R_minor: np.ndarray = field(repr=False)
    g_minor: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, object]:
        """Scalar results for JSON."""
        return {k: getattr(self, k) for k in ("preset", "delta", "t_imt_heating_k", "t_imt_cooling_k",
                                              "hysteresis_width_k", "r_insulating_300k_ohm", "r_metallic_ohm",
                                              "on_off_ratio")}

    def table(self) -> tuple[list[str], np.ndarray]:
        """CSV header and rows: branch code (1 heating, -1 cooling, 0 minor), T [K], R [Ohm], g [-]."""
        rows = [np.column_stack([np.full_like(T, c), T, R, g]) for c, T, R, g in
                ((1.0, self.T_heat, self.R_heat, self.g_heat), (-1.0, self.T_cool, self.R_cool, self.g_cool),
                 (0.0, self.T_minor, self.R_minor, self.g_minor)) if T.size]
        return ["branch", "T_K", "R_ohm", "g_insulating"], np.vstack(rows)


def _crossing(T: np.ndarray, g: np.ndarray, level: float = 0.5) -> float:
    """First temperature where g crosses ``level`` (linear interpolation) [K]; NaN if it never does."""
    s = g - level
    idx = np.nonzero(np.sign(s[:-1]) * np.sign(s[1:]) <= 0)[0]
    if idx.size == 0:
        return math.nan
    i = idx[0]
    if s[i + 1] == s[i]:
        return float(T[i])
    return float(T[i] - s[i] * (T[i + 1] - T[i]) / (s[i + 1] - s[i]))


def resistance_at(params: VO2DeviceParams, T: float | np.ndarray, *, branch: str = "heating",
                  V: float = 0.0) -> np.ndarray:
    """Resistance on a major branch at temperature(s) T [K], device voltage V [V] (Poole-Frenkel) [Ohm]."""
    _check_device(params)
    _check_branch(branch)
    p = params.to_kernel()
    d = 1.0 if branch == "heating" else -1.0
    Ts = np.atleast_1d(np.asarray(T, dtype=float))
    out = np.empty_like(Ts)
    for i, t in enumerate(Ts):
        h = K.hyst_init(float(t), d, p)
        out[i] = K.resistance(float(t), float(V), h, p)
    return out if np.ndim(T) else out[0]


def rt_loop(params: VO2DeviceParams, *, t_start: float = 280.0, t_stop: float | None = None, n_points: int = 1401,
            minor_turns: tuple[float, ...] = ()) -> RTLoop:
    r"""Quasi-static R(T) loop: heat from ``t_start`` to ``t_stop``, cool back; optional minor loop.

    .. math:: R = R_0 e^{E_a/k_B T} g(T, H) + R_m

    with the de Almeida memory H updated along the path (vo2_physics.md section 3).

    Parameters
    ----------
    t_start, t_stop : float
        Ends of the major loop [K]; ``t_stop`` defaults to ``T_c + w/2 + 10/beta`` (well into the metal).
    n_points : int
        Samples per branch.
    minor_turns : tuple of float
        Turning temperatures [K] of a minor-loop path that starts at ``t_start`` on the heating branch, e.g.
        ``(335, 326)`` heats to 335 K, cools to 326 K, then heats to ``t_stop`` (reversal memory).
    """
    _check_device(params)
    check_positive("t_start", t_start, "K")
    t_stop = float(t_stop) if t_stop is not None else params.T_c + params.w / 2 + 10.0 / params.beta
    check_positive("t_stop", t_stop, "K")
    if t_stop <= t_start:
        raise ParameterError(f"t_stop must exceed t_start [K], got {t_start}..{t_stop}")
    _check_count("n_points", n_points, 10)
    p = params.to_kernel()
    T_heat = np.linspace(t_start, t_stop, n_points)
    T_cool = T_heat[::-1].copy()
    g_h, R_h, g_c, R_c = (np.empty(n_points) for _ in range(4))
    h = K.path_fraction(T_heat, K.hyst_init(t_start, 1.0, p), p, g_h, R_h)
    K.path_fraction(T_cool, h, p, g_c, R_c)
    if minor_turns:
        knots = [t_start, *[float(x) for x in minor_turns], t_stop]
        for x in knots:
            check_positive("minor_turns", x, "K")
        segs = [np.linspace(a, b, max(10, int(abs(b - a) / (t_stop - t_start) * n_points)))[1:]
                for a, b in zip(knots[:-1], knots[1:])]
        T_minor = np.concatenate([[t_start], *segs])
        g_m, R_m = np.empty_like(T_minor), np.empty_like(T_minor)
        K.path_fraction(T_minor, K.hyst_init(t_start, 1.0, p), p, g_m, R_m)
    else:
        T_minor = g_m = R_m = np.empty(0)
    T_up = _crossing(T_heat, g_h)
    T_down = _crossing(T_cool, g_c)
    r300 = float(resistance_at(params, T_ROOM, branch="heating"))
    r_met = float(R_c[0])
    return RTLoop(preset=params.name, delta=params.delta, t_imt_heating_k=T_up, t_imt_cooling_k=T_down,
                  hysteresis_width_k=T_up - T_down, r_insulating_300k_ohm=r300, r_metallic_ohm=r_met,
                  on_off_ratio=r300 / r_met, T_heat=T_heat, R_heat=R_h, g_heat=g_h, T_cool=T_cool, R_cool=R_c,
                  g_cool=g_c, T_minor=T_minor, R_minor=R_m, g_minor=g_m)


# ------------------------------------------------------------------------------------------------ I-V
def static_branch(params: VO2DeviceParams, T: np.ndarray, *, ambient: float, branch: str,
                  pf_iterations: int = 60) -> tuple[np.ndarray, np.ndarray]:
    r"""Steady state parametrised by the device temperature: V(T), I(T) on a major branch.

    .. math:: V(T)^2 = S_e (T - T_0) R(T, V),\qquad I = V / R

    (dV/dt = dT/dt = 0 of the electro-thermal model, vo2_physics.md section 5). With Poole-Frenkel on, R
    depends on V and the equation is solved by fixed-point iteration.

    Returns
    -------
    V, I : arrays like T [V], [A]
    """
    Ts = np.ascontiguousarray(T, dtype=float)
    V = np.empty_like(Ts)
    I = np.empty_like(Ts)
    K.static_branch(Ts.ravel(), 1.0 if branch == "heating" else -1.0, float(ambient), int(pf_iterations),
                    params.to_kernel(), V.ravel(), I.ravel())
    return V, I


@dataclass(frozen=True)
class IVCurve:
    """Steady-state current-driven I-V (S-shaped, with negative differential resistance).

    Scalars: ``v_th_v``, ``i_th_a``, ``t_th_k``: threshold = peak voltage on the heating (insulating) branch
    [V, A, K]; ``v_h_v``, ``i_h_a``, ``t_h_k``: hold = minimum voltage on the cooling (metallic) branch after its
    NDR [V, A, K]; ``ambient_k`` [K]; ``has_ndr`` (False when the branch is monotonic, e.g. the transition is
    below ambient; thresholds are then NaN). Arrays (shape (n,)): ``T_heat``, ``V_heat``, ``I_heat``,
    ``T_cool``, ``V_cool``, ``I_cool`` [K, V, A].
    """

    preset: str
    delta: float
    ambient_k: float
    v_th_v: float
    i_th_a: float
    t_th_k: float
    v_h_v: float
    i_h_a: float
    t_h_k: float
    r_insulating_300k_ohm: float
    r_metallic_ohm: float
    has_ndr: bool
    T_heat: np.ndarray = field(repr=False)
    V_heat: np.ndarray = field(repr=False)
    I_heat: np.ndarray = field(repr=False)
    T_cool: np.ndarray = field(repr=False)
    V_cool: np.ndarray = field(repr=False)
    I_cool: np.ndarray = field(repr=False)

    @property
    def p_th_w(self) -> float:
        """Power at threshold V_th I_th [W]."""
        return self.v_th_v * self.i_th_a

    def to_dict(self) -> dict[str, object]:
        """Scalar results for JSON."""
        keys = ("preset", "delta", "ambient_k", "v_th_v", "i_th_a", "t_th_k", "v_h_v", "i_h_a", "t_h_k",
                "r_insulating_300k_ohm", "r_metallic_ohm", "has_ndr")
        return {k: getattr(self, k) for k in keys}

    def table(self) -> tuple[list[str], np.ndarray]:
        """CSV header and rows: branch code (1 heating, -1 cooling), T [K], V [V], I [A]."""
        rows = [np.column_stack([np.full_like(self.T_heat, 1.0), self.T_heat, self.V_heat, self.I_heat]),
                np.column_stack([np.full_like(self.T_cool, -1.0), self.T_cool, self.V_cool, self.I_cool])]
        return ["branch", "T_K", "V_V", "I_A"], np.vstack(rows)


def _refine_extremum(params: VO2DeviceParams, ambient: float, branch: str, lo: float, hi: float,
                     sign: float) -> float:
    """Temperature of the extremum of V(T) on [lo, hi] [K] (sign +1: maximum, -1: minimum)."""
    def f(t: float) -> float:
        v, _ = static_branch(params, np.array([t]), ambient=ambient, branch=branch)
        return -sign * float(v[0])

    res = minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-7})
    return float(res.x)


def static_iv(params: VO2DeviceParams, *, ambient: float, n_points: int = 4001,
              t_top: float | None = None) -> IVCurve:
    r"""Steady-state I-V of a current-driven device, threshold and hold points, from the physics.

    The steady state satisfies :math:`V^2 = S_e (T - T_0) R(T)`; parametrised by T along each major branch.
    V_th is the (first) maximum of V on the heating branch (thermal runaway), V_h the minimum of V on the
    cooling branch that follows its NDR segment. Extrema are located on a dense grid and refined by bounded
    Brent minimisation (to 1e-7 K).

    Parameters
    ----------
    ambient : float
        Bath temperature T_0 [K].
    n_points : int
        Grid points per branch between ``ambient`` and ``t_top``.
    t_top : float, optional
        Highest temperature [K] (default: the clamp ``T_max``).

    Examples
    --------
    >>> from vo2neuro.device import get_parameters
    >>> iv = static_iv(get_parameters("zhang2024"), ambient=325.0)
    >>> bool(iv.v_th_v > iv.v_h_v > 0)
    True
    """
    _check_device(params)
    check_positive("ambient", ambient, "K")
    _check_count("n_points", n_points, 10)
    top = float(t_top) if t_top is not None else params.T_max
    if ambient >= top:
        raise ParameterError(f"ambient must be below T_max={top} K of the parameter set [K], got {ambient}")
    if ambient < params.T_min:
        raise ParameterError(
            f"ambient must be >= T_min={params.T_min} K, the validity range of the set [K], got {ambient}")
    T = np.linspace(ambient, top, n_points)
    V_h, I_h = static_branch(params, T, ambient=ambient, branch="heating")
    V_c, I_c = static_branch(params, T, ambient=ambient, branch="cooling")
    nan = math.nan
    v_th = i_th = t_th = v_ho = i_ho = t_ho = nan
    has_ndr = False
    dVh = np.diff(V_h)
    fall = np.nonzero(dVh < 0)[0]
    if fall.size:
        k = int(fall[0])
        lo, hi = T[max(k - 1, 0)], T[min(k + 1, n_points - 1)]
        t_th = _refine_extremum(params, ambient, "heating", lo, hi, +1.0)
        v, i = static_branch(params, np.array([t_th]), ambient=ambient, branch="heating")
        v_th, i_th = float(v[0]), float(i[0])
        has_ndr = True
    dVc = np.diff(V_c)
    fall_c = np.nonzero(dVc < 0)[0]
    if fall_c.size:
        k0 = int(fall_c[0])
        rise = np.nonzero(dVc[k0:] > 0)[0]
        if rise.size:
            k = k0 + int(rise[0])
            lo, hi = T[max(k - 1, 0)], T[min(k + 1, n_points - 1)]
            t_ho = _refine_extremum(params, ambient, "cooling", lo, hi, -1.0)
            v, i = static_branch(params, np.array([t_ho]), ambient=ambient, branch="cooling")
            v_ho, i_ho = float(v[0]), float(i[0])
    if not has_ndr or not math.isfinite(v_ho):
        has_ndr = False
    r300 = float(resistance_at(params, T_ROOM, branch="heating")) if params.T_min <= T_ROOM else nan
    return IVCurve(preset=params.name, delta=params.delta, ambient_k=float(ambient), v_th_v=v_th, i_th_a=i_th,
                   t_th_k=t_th, v_h_v=v_ho, i_h_a=i_ho, t_h_k=t_ho, r_insulating_300k_ohm=r300,
                   r_metallic_ohm=float(resistance_at(params, top, branch="cooling")), has_ndr=has_ndr,
                   T_heat=T, V_heat=V_h, I_heat=I_h, T_cool=T.copy(), V_cool=V_c, I_cool=I_c)


# ------------------------------------------------------------------------------------------------ sweep
@dataclass(frozen=True)
class VoltageSweep:
    """Transient triangular voltage sweep through a series resistor (as a measurement shows it).

    Scalars: ``v_switch_on_v`` / ``v_switch_off_v``: source voltage at the largest current jump up on the
    rising ramp / down on the falling ramp [V] (NaN when the loop stays closed: a series resistor steeper than
    the negative differential resistance leaves no bistability, hence no switching); ``v_dev_on_v``/``v_dev_off_v``: device voltage just before
    those jumps [V]; ``r_series_ohm``, ``sweep_time_s``, ``ambient_k``. Arrays (shape (n,)): ``t`` [s],
    ``v_src`` [V], ``v_dev`` [V], ``i_dev`` [A], ``T`` [K].
    """

    preset: str
    ambient_k: float
    r_series_ohm: float
    sweep_time_s: float
    v_switch_on_v: float
    v_switch_off_v: float
    v_dev_on_v: float
    v_dev_off_v: float
    t: np.ndarray = field(repr=False)
    v_src: np.ndarray = field(repr=False)
    v_dev: np.ndarray = field(repr=False)
    i_dev: np.ndarray = field(repr=False)
    T: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, object]:
        """Scalar results for JSON."""
        keys = ("preset", "ambient_k", "r_series_ohm", "sweep_time_s", "v_switch_on_v", "v_switch_off_v",
                "v_dev_on_v", "v_dev_off_v")
        return {k: getattr(self, k) for k in keys}

    def table(self) -> tuple[list[str], np.ndarray]:
        """CSV header and rows."""
        return ["t_s", "v_src_V", "v_dev_V", "i_dev_A", "T_K"], np.column_stack(
            [self.t, self.v_src, self.v_dev, self.i_dev, self.T])


def voltage_sweep(params: VO2DeviceParams, *, v_max: float, r_series: float, ambient: float,
                  sweep_time: float = 200e-6, n_steps: int = 200_000) -> VoltageSweep:
    """Triangular 0 -> ``v_max`` -> 0 source sweep through ``r_series``; hysteretic I-V with switching points.

    Parameters
    ----------
    v_max : float
        Peak source voltage [V].
    r_series : float
        Series (current-limiting) resistor [Ohm].
    ambient : float
        Bath temperature [K].
    sweep_time : float
        Duration of the whole up-down sweep [s]; slow compared with C_th/S_e gives the quasi-static loop.
    n_steps : int
        Time steps.
    """
    _check_device(params)
    check_positive("v_max", v_max, "V")
    check_positive("r_series", r_series, "Ohm")
    check_positive("sweep_time", sweep_time, "s")
    check_positive("ambient", ambient, "K")
    n_steps = _check_count("n_steps", n_steps, 100)
    dt = sweep_time / n_steps
    t = np.arange(n_steps) * dt
    v_src = v_max * (1.0 - np.abs(2.0 * t / sweep_time - 1.0))
    tr = simulate_device(params, v_src, duration=sweep_time, dt=dt, ambient=ambient, mode="voltage",
                         r_series=r_series, state=initial_state(params, ambient))
    half = n_steps // 2
    dI = np.diff(tr.I)
    on = int(np.argmax(dI[:half]))
    off = half + int(np.argmin(dI[half:]))
    # Switching shows as an open loop: on the way down the current stays high where it was low on the way up.
    up_v, up_i = v_src[:half], tr.I[:half]
    dn_i = np.interp(up_v, v_src[half:][::-1], tr.I[half:][::-1])
    switched = bool(np.max(np.abs(dn_i - up_i)) > 0.02 * np.max(np.abs(tr.I)))
    nan = math.nan
    return VoltageSweep(preset=params.name, ambient_k=float(ambient), r_series_ohm=float(r_series),
                        sweep_time_s=float(sweep_time),
                        v_switch_on_v=float(v_src[on]) if switched else nan,
                        v_switch_off_v=float(v_src[off]) if switched else nan,
                        v_dev_on_v=float(tr.V[on]) if switched else nan,
                        v_dev_off_v=float(tr.V[off]) if switched else nan,
                        t=t, v_src=v_src, v_dev=tr.V, i_dev=tr.I, T=tr.T)
