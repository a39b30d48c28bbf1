r"""Scaling study: threshold, frequency and energy per spike of one film at many device sizes.

Each size is a :class:`~vo2neuro.device.geometry.Geometry`; :func:`~vo2neuro.device.geometry.from_geometry`
gives the device, :func:`node_capacitance` its node capacitance split into the device's own, the parasitic of a
named integration scenario (:data:`INTEGRATION`) and an optional deliberate integration capacitor. Per size
(:func:`scale_study`):

* the static I-V (:func:`~vo2neuro.device.static_iv`): V_th, I_th, V_h, I_h at the ambient;
* the load R_L = LOAD_FRACTION V_th/I_th, half the chord resistance at threshold (project choice: a load line
  through the negative-differential-resistance branch; a larger load needs a smaller node capacitance, see
  :func:`auto_capacitor`);
* the oscillation window in V_in of the Pearson-Anson oscillator with that load (:func:`oscillation_window`);
* one batched run over ``n_points`` sources inside the window: ``f_max_hz`` the highest settled frequency of
  full relaxation spikes (effective threshold >= V_th/2),
  the energy figures at the source of least energy per spike (source energy per period, its device and load
  shares from the simulator);
* ``parasitic_energy_per_spike_j`` = C_par (V_th,eff^2 - V_h,eff^2)/2, the energy the parasitic capacitance
  stores and dumps into the device every period (effective switching voltages from the simulation);
* ``thermal_floor_j`` = C_th (T_IMT - T_0), T_IMT = T_c + w/2 (heating-branch centre): the least energy that
  heats the device through the transition (no latent heat); ``tau_th_s`` = C_th/S_e;
* ``capacitor_energy_per_spike_j``: the same for the deliberate capacitor C_int;
* ``dominant``: the largest of ``device`` (device dissipation less the two capacitor dumps), ``parasitic``,
  ``capacitor`` and ``load`` (dissipation in R_L).

Each run lasts 30 (tau_th + C_node (R_L || R_ins(T_0))). The time step is the simulator's rule with the electrical
constant floored at tau_th/5 (the integrator is exact for the node over a step, so a metallic-phase C R_m shorter
than that is stepped over, not resolved; against the floor tau_th/20 and twice the duration, f_max and the energy
per spike of vo2x at 1 um, 100 nm and 30 nm moved by < 0.2 %), with at most :data:`MAX_STEPS_PER_RUN` steps per
run; ``resolved`` is False where that cap coarsened dt.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from vo2neuro.units import ParameterError, check_nonnegative
from vo2neuro.device.geometry import Geometry, device_capacitance, from_geometry
from vo2neuro.device.params import VO2DeviceParams

__all__ = ["INTEGRATION", "Integration", "NodeCapacitance", "node_capacitance", "ScaleRecord", "scale_study",
           "sized_geometry", "film_of", "SIZING_RULE", "DEFAULT_THICKNESS_M",
           "log_lengths", "MAX_STEPS_PER_RUN", "AUTO_CAP_TAU_RATIO", "LOAD_FRACTION", "auto_capacitor",
           "check_integration", "plot_scale"]

#: C_node R_L / tau_th that :func:`auto_capacitor` sets [1] (project choice: with LOAD_FRACTION 0.5 the vo2x
#: film oscillates at 3 over 20 nm - 2 um; a node much faster than tau_th does not oscillate).
AUTO_CAP_TAU_RATIO = 3.0
#: R_L / (V_th/I_th) of the study's load [1] (project choice).
LOAD_FRACTION = 0.5
#: Cap on the time steps of one run of the study [1].
MAX_STEPS_PER_RUN = 200_000


class Integration(NamedTuple):
    """An integration scenario: parasitic node capacitance [F] and where the figure comes from."""

    parasitic_f: float
    source: str


#: Integration scenarios (registry).
INTEGRATION: dict[str, Integration] = {
    "on-chip": Integration(3e-15, "on-chip wiring, a few fF per device (scaling.md section 4) [tb]"),
    "probe-station": Integration(145.34619293e-12, "cable parasitic of the zhang2024 set-up (Zhang et al. 2024, "
                                                    "Fig. 1 text; the fitted C of its code) [fit]"),
}


@dataclass(frozen=True)
class NodeCapacitance:
    """Node capacitance split into the device's own, the scenario's parasitic and a deliberate capacitor [F]."""

    device_f: float
    parasitic_f: float
    integration_f: float
    scenario: str

    @property
    def total_f(self) -> float:
        """C_node = C_dev + C_par + C_int [F]."""
        return self.device_f + self.parasitic_f + self.integration_f

    def to_dict(self) -> dict[str, object]:
        """JSON record."""
        return {"device_f": self.device_f, "parasitic_f": self.parasitic_f, "integration_f": self.integration_f,
                "total_f": self.total_f, "scenario": self.scenario}


def node_capacitance(geometry: Geometry, integration: str = "on-chip", *, capacitor: float = 0.0,
                     parasitic: float | None = None) -> NodeCapacitance:
    """Node capacitance of ``geometry`` in the scenario ``integration`` (:data:`INTEGRATION`), plus a deliberate
    ``capacitor`` [F]; ``parasitic`` [F] overrides the scenario's value (e.g. 0 for the ideal limit)."""
    check_integration(integration)
    check_nonnegative("capacitor", capacitor, "F")
    par = INTEGRATION[integration].parasitic_f if parasitic is None else check_nonnegative("parasitic", parasitic, "F")
    return NodeCapacitance(device_capacitance(geometry), float(par), float(capacitor), integration)


def check_integration(name: str) -> str:
    """``name`` if it is a scenario of :data:`INTEGRATION`, else :class:`ParameterError` listing them."""
    if name not in INTEGRATION:
        raise ParameterError(f"integration: unknown scenario {name!r}; valid: {', '.join(INTEGRATION)} [-]")
    return name


def auto_capacitor(params: VO2DeviceParams, r_load: float, node: NodeCapacitance) -> float:
    """Least deliberate capacitor that makes C_node R_L = AUTO_CAP_TAU_RATIO tau_th [F] (0 if already slower).

    A node much faster than the thermal node follows the load line and the device settles (a one-variable system
    cannot oscillate); the relaxation oscillation needs C_node R_L of the order of tau_th or more.
    """
    need = AUTO_CAP_TAU_RATIO * params.tau_th / r_load
    return max(0.0, need - node.device_f - node.parasitic_f)


#: Default thickness cap of :func:`sized_geometry` [m]: a 100 nm film, thinner only when the channel is shorter
#: (assumption: the film is never thicker than the channel is long).
DEFAULT_THICKNESS_M = 100e-9
#: The sizing rule of :func:`sized_geometry`, for reports.
SIZING_RULE = "square channel (W = L), film thickness min(100 nm, L), sapphire substrate"


def sized_geometry(length: float, *, width: float | None = None, aspect: float = 1.0, thickness: float | None = None,
                   substrate: str = "sapphire") -> Geometry:
    """The device of channel length ``length`` [m] as the scale studies size it (:data:`SIZING_RULE`):
    width ``width`` or ``aspect x length`` [m], thickness ``thickness`` or min(100 nm, length) [m]."""
    L = float(length)
    return Geometry(length=L, width=float(width) if width is not None else aspect * L,
                    thickness=float(thickness) if thickness is not None else min(DEFAULT_THICKNESS_M, L),
                    substrate=substrate)


def film_of(preset: str, *, delta: float | None = None, ambient: float | None = None,
            option: str = "preset") -> tuple[str, float, float]:
    """``(pristine base film, delta [-], ambient [K])`` a preset is scaled from: the zhang2024 fit for itself, the
    vo2 film (at the preset's or the given vacancy level) for vo2 and vo2x (:func:`vo2neuro.device.select`)."""
    from vo2neuro.device import get_parameters
    from vo2neuro.device.select import select

    sel = select(preset, delta=delta, ambient=ambient)
    base = "zhang2024" if preset == "zhang2024" else "vo2"
    if get_parameters(base).delta != 0.0:
        raise ParameterError(f"{option}: {preset!r} has no pristine film to scale [-]")
    return base, float(sel.params.delta), float(sel.ambient_k)


def log_lengths(start: float, stop: float, n: int) -> np.ndarray:
    """``n`` log-spaced lengths from ``start`` to ``stop`` [m] (both > 0)."""
    for name, v in (("start", start), ("stop", stop)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ParameterError(f"length {name} must be > 0 [m], got {v!r}")
    if not isinstance(n, int) or n < 1:
        raise ParameterError(f"length count must be an integer >= 1 [1], got {n!r}")
    return np.geomspace(start, stop, n) if n > 1 else np.array([float(start)])


@dataclass(frozen=True)
class ScaleRecord:
    """Figures of one device size (SI; the units are in the names)."""

    length_m: float
    width_m: float
    thickness_m: float
    substrate: str
    integration: str
    r_0_ohm: float
    r_m_ohm: float
    c_th_j_per_k: float
    s_e_w_per_k: float
    tau_th_s: float
    thermal_floor_j: float
    device_capacitance_f: float
    parasitic_capacitance_f: float
    integration_capacitance_f: float
    node_capacitance_f: float
    ambient_k: float
    v_th_v: float
    i_th_a: float
    v_h_v: float
    i_h_a: float
    r_load_ohm: float
    window_lower_v: float
    window_upper_v: float
    v_in_v: float
    f_max_hz: float
    frequency_hz: float
    energy_per_spike_j: float
    device_energy_per_spike_j: float
    load_energy_per_spike_j: float
    parasitic_energy_per_spike_j: float
    capacitor_energy_per_spike_j: float
    dominant: str
    dt_s: float
    resolved: bool

    def to_dict(self) -> dict[str, object]:
        """All fields (JSON)."""
        return dict(self.__dict__)


def _nan_record(**kw: Any) -> dict[str, Any]:
    nan = math.nan
    base = dict(v_th_v=nan, i_th_a=nan, v_h_v=nan, i_h_a=nan, r_load_ohm=nan, window_lower_v=nan,
                window_upper_v=nan, v_in_v=nan, f_max_hz=0.0, frequency_hz=0.0, energy_per_spike_j=nan,
                device_energy_per_spike_j=nan, load_energy_per_spike_j=nan, parasitic_energy_per_spike_j=nan,
                capacitor_energy_per_spike_j=nan,
                dominant="none", dt_s=nan, resolved=True)
    base.update(kw)
    return base


def _timing(p: VO2DeviceParams, c: float, r_load: float, r_ins: float) -> tuple[float, float, bool]:
    tau = p.tau_th
    r_on = r_load * p.R_m / (r_load + p.R_m)
    dt = 0.02 * min(tau, max(c * r_on, tau / 5.0))
    r_off = r_load * r_ins / (r_load + r_ins)
    duration = 30.0 * (tau + c * r_off)
    if duration / dt > MAX_STEPS_PER_RUN:
        return duration, duration / MAX_STEPS_PER_RUN, False
    return duration, dt, True


def scale_study(geometries: Sequence[Geometry], *, base: str | VO2DeviceParams = "vo2", delta: float = 0.0,
                ambient: float = 300.0, integration: str = "on-chip", capacitor: float | str = "auto",
                parasitic: float | None = None, n_points: int = 8,
                progress: Callable[[int, int], None] | None = None) -> list[ScaleRecord]:
    """Figures of the film ``base`` at vacancy level ``delta`` [-] for every geometry (module docstring).

    ``ambient`` [K]; ``integration`` and ``parasitic`` [F] as in :func:`node_capacitance`; ``capacitor`` the
    deliberate integration capacitor [F] or ``"auto"`` (:func:`auto_capacitor`, per size); ``n_points`` sources
    per window; ``progress(i, n)`` after each size.
    """
    from vo2neuro.circuits.analysis import oscillation_window
    from vo2neuro.circuits.simulate import simulate
    from vo2neuro.device import resistance_at, static_iv

    if not isinstance(n_points, int) or n_points < 2:
        raise ParameterError(f"n_points must be an integer >= 2 [1], got {n_points!r}")
    check_integration(integration)
    if capacitor != "auto":
        check_nonnegative("capacitor", capacitor, "F")
    out: list[ScaleRecord] = []
    for i, g in enumerate(geometries):
        p = from_geometry(g, delta=delta, base=base)
        cn = node_capacitance(g, integration, parasitic=parasitic)
        t_imt = p.T_c + p.w / 2.0
        iv = static_iv(p, ambient=ambient)
        r_load = LOAD_FRACTION * iv.v_th_v / iv.i_th_a if iv.has_ndr else math.nan
        c_int = (auto_capacitor(p, r_load, cn) if iv.has_ndr else 0.0) if capacitor == "auto" else float(capacitor)
        cn = NodeCapacitance(cn.device_f, cn.parasitic_f, c_int, integration)
        c = cn.total_f
        fixed: dict[str, Any] = dict(length_m=g.length, width_m=g.width, thickness_m=g.thickness, substrate=g.substrate,
                     integration=integration, r_0_ohm=p.R_0, r_m_ohm=p.R_m, c_th_j_per_k=p.C_th,
                     s_e_w_per_k=p.S_e, tau_th_s=p.tau_th, thermal_floor_j=p.C_th * max(t_imt - ambient, 0.0),
                     device_capacitance_f=cn.device_f, parasitic_capacitance_f=cn.parasitic_f,
                     integration_capacitance_f=cn.integration_f, node_capacitance_f=c, ambient_k=ambient)
        if not iv.has_ndr:
            out.append(ScaleRecord(**_nan_record(**fixed)))
            continue
        ivd: dict[str, Any] = dict(v_th_v=iv.v_th_v, i_th_a=iv.i_th_a, v_h_v=iv.v_h_v, i_h_a=iv.i_h_a, r_load_ohm=r_load)
        r_ins = float(resistance_at(p, ambient, branch="heating"))
        duration, dt, resolved = _timing(p, c, r_load, r_ins)
        ivd.update(dt_s=dt, resolved=resolved)
        win = oscillation_window(p, drive="voltage", r_load=r_load, capacitance=c, ambient=ambient, n_grid=12,
                                 n_refine=1, points_per_round=6, duration=duration, dt=dt,
                                 source_max=3.0 * (iv.v_th_v + iv.i_th_a * r_load))
        if not math.isfinite(win.lower):
            out.append(ScaleRecord(**_nan_record(**fixed, **ivd)))
            continue
        upper = win.upper if math.isfinite(win.upper) else 3.0 * (iv.v_th_v + iv.i_th_a * r_load)
        src = win.lower + (np.arange(n_points) + 0.5) / n_points * (upper - win.lower)
        r = simulate(p, v_in=src, r_load=r_load, capacitance=c, ambient=ambient, duration=duration, dt=dt)
        # full relaxation spikes only: a small ringing near the upper edge of the window is not a spike
        osc = np.asarray(r.oscillating, dtype=bool) & (np.asarray(r.v_th_eff_v) >= 0.5 * iv.v_th_v)
        ivd.update(window_lower_v=win.lower, window_upper_v=win.upper)
        if not osc.any():
            out.append(ScaleRecord(**_nan_record(**fixed, **ivd)))
            continue
        e = np.where(osc, r.energy_per_spike_j, np.inf)
        k = int(np.argmin(e))
        swing = 0.5 * max(float(r.v_th_eff_v[k]) ** 2 - float(r.v_h_eff_v[k]) ** 2, 0.0)
        e_par, e_cap = cn.parasitic_f * swing, cn.integration_f * swing
        e_dev = float(r.device_energy_per_spike_j[k])
        e_load = float(r.load_energy_per_spike_j[k])
        shares = {"device": e_dev - e_par - e_cap, "parasitic": e_par, "capacitor": e_cap, "load": e_load}
        out.append(ScaleRecord(**fixed, **ivd, v_in_v=float(src[k]),
                               f_max_hz=float(np.max(np.where(osc, r.frequency_hz, 0.0))),
                               frequency_hz=float(r.frequency_hz[k]), energy_per_spike_j=float(e[k]),
                               device_energy_per_spike_j=e_dev, load_energy_per_spike_j=e_load,
                               parasitic_energy_per_spike_j=e_par, capacitor_energy_per_spike_j=e_cap,
                               dominant=max(shares, key=lambda k: shares[k])))
        if progress is not None:
            progress(i + 1, len(geometries))
    return out


def plot_scale(records: Sequence[ScaleRecord], path, *, title: str = ""):
    """Log-log figure of a scale study against channel length [m]: energy per spike, its parasitic share and the
    thermal floor [J] (left); f_max [Hz] and V_th [V] (right). Returns the written path."""
    from vo2neuro._plot import pyplot, save

    plt = pyplot()
    L = np.array([r.length_m for r in records])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("energy_per_spike_j", "energy per spike"), ("parasitic_energy_per_spike_j", "parasitic"),
                       ("capacitor_energy_per_spike_j", "integration capacitor"), ("thermal_floor_j", "thermal floor")):
        y = np.array([getattr(r, key) for r in records], dtype=float)
        ok = np.isfinite(y) & (y > 0)
        if ok.any():
            ax1.loglog(L[ok], y[ok], "o-", ms=3, label=label)
    ax1.set_xlabel("channel length L [m]")
    ax1.set_ylabel("energy [J]")
    ax1.legend(fontsize=8)
    f = np.array([r.f_max_hz for r in records], dtype=float)
    v = np.array([r.v_th_v for r in records], dtype=float)
    ok = f > 0
    if ok.any():
        ax2.loglog(L[ok], f[ok], "o-", ms=3, color="C0", label="f_max")
    ax2.set_xlabel("channel length L [m]")
    ax2.set_ylabel("f_max [Hz]")
    ax3 = ax2.twinx()
    okv = np.isfinite(v) & (v > 0)
    if okv.any():
        ax3.loglog(L[okv], v[okv], "s--", ms=3, color="C3", label="V_th")
    ax3.set_ylabel("V_th [V]")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path)
