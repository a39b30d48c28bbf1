"""Oscillator analysis: closed form and window of the PWL oscillator, numerical window of the electro-thermal one,
transfer curves f(V_in), f(R_L), f(I_in), and the neuron abstraction consumed by ``vo2neuro.snn``.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import numpy as np

from vo2neuro.units import ParameterError, check_positive
from vo2neuro.circuits.params import PWLDeviceParams, check_drive
from vo2neuro.circuits.simulate import (_default_ambient, check_neurons, check_work, default_dt, device_model,
                                        resolve_device, simulate)

__all__ = ["pwl_legs", "pwl_frequency", "pwl_window", "OscillationWindow", "oscillation_window", "TransferCurve",
           "transfer_curve", "f_i_curve", "NeuronAbstraction", "neuron_abstraction", "auto_duration", "SWEEPS"]

#: A transfer curve with at least this many points shows the progress of its per-point durations when asked to
#: (``progress=True``): ~70 us each, 1e5 points take ~7 s.
_PROGRESS_POINTS = 10_000
#: Sweepable circuit quantities of :func:`transfer_curve`: name -> unit.
SWEEPS = {"v_in": "V", "i_in": "A", "r_load": "Ohm", "capacitance": "F"}


def _g(r_load: float) -> float:
    return 0.0 if math.isinf(r_load) else 1.0 / r_load


def pwl_legs(dev: PWLDeviceParams, *, drive: str = "voltage", source: float, r_load: float,
             capacitance: float) -> tuple[float, float]:
    r"""Closed-form leg durations (t_i, t_m) of the PWL oscillator [s] (vo2_physics.md section 8).

    With J = V_in/R_L (voltage) or I_in (current) and G_L = 1/R_L:

    .. math::
        V_{\infty,i} = \frac{J}{G_L + 1/R_{off}},\ \tau_i = \frac{C}{G_L + 1/R_{off}},\
        t_i = \tau_i\ln\frac{V_{\infty,i} - V_h}{V_{\infty,i} - V_{th}};\qquad
        t_m = \tau_m\ln\frac{V_{th} - V_{\infty,m}}{V_h - V_{\infty,m}}

    Returns ``(inf, inf)``-containing values when the source lies outside the oscillation window.
    """
    check_drive(drive)
    gL = _g(r_load)
    J = source * gL if drive == "voltage" else source
    out = []
    for r, a, b in ((dev.r_off, dev.v_h, dev.v_th), (dev.r_on, dev.v_th, dev.v_h)):
        G = gL + 1.0 / r
        vinf, tau = J / G, capacitance / G
        num, den = vinf - a, vinf - b
        out.append(tau * math.log(num / den) if num / den > 0 and den != 0 and num / den > 1 else math.inf)
    return out[0], out[1]


def pwl_frequency(dev: PWLDeviceParams, *, drive: str = "voltage", source: float, r_load: float,
                  capacitance: float) -> float:
    """Closed-form frequency 1/(t_i + t_m) [Hz]; 0 outside the oscillation window."""
    ti, tm = pwl_legs(dev, drive=drive, source=source, r_load=r_load, capacitance=capacitance)
    return 0.0 if not math.isfinite(ti + tm) else 1.0 / (ti + tm)


@dataclass(frozen=True)
class OscillationWindow:
    """Range of the source (V_in [V] or I_in [A]) over which the circuit oscillates.

    ``lower``/``upper``: onset values (NaN when no oscillation was found); ``unit``; ``method``
    (``closed-form`` or ``bisection``); ``tolerance``: bracket width of a numerical edge [unit].
    """

    drive: str
    lower: float
    upper: float
    unit: str
    method: str
    tolerance: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """Fields for JSON."""
        return {"drive": self.drive, "lower": self.lower, "upper": self.upper, "unit": self.unit,
                "method": self.method, "tolerance": self.tolerance}


def pwl_window(dev: PWLDeviceParams, *, drive: str = "voltage", r_load: float) -> OscillationWindow:
    r"""Analytic window of the PWL oscillator (vo2_physics.md section 8; Duan et al. eqs. 1-2).

    .. math:: V_{th}\,(G_L + 1/R_{off}) \le J \le V_h\,(G_L + 1/R_{on}),\quad J = V_{in}/R_L\ \text{or}\ I_{in}
    """
    check_drive(drive)
    gL = _g(r_load)
    lo, hi = dev.v_th * (gL + 1.0 / dev.r_off), dev.v_h * (gL + 1.0 / dev.r_on)
    if drive == "voltage":
        lo, hi = lo * r_load, hi * r_load
    if lo > hi:
        lo = hi = math.nan
    return OscillationWindow(drive, lo, hi, "V" if drive == "voltage" else "A", "closed-form")


def auto_duration(device, *, drive: str, source: float, r_load: float, capacitance: float,
                  ambient: float | None = None) -> float:
    """A simulated time that holds the start-up transient and >= ~20 settled periods [s].

    PWL: 40 closed-form periods (or 40 (tau_i + tau_m) outside the window). Electro-thermal:
    60 (C_th/S_e + C (R_L || R_ins(T_0))), R_ins at the ambient on the heating branch.
    """
    if isinstance(device, PWLDeviceParams):
        f = pwl_frequency(device, drive=drive, source=source, r_load=r_load, capacitance=capacitance)
        gL = _g(r_load)
        slow = capacitance / (gL + 1.0 / device.r_off) + capacitance / (gL + 1.0 / device.r_on)
        return 40.0 / f if f > 0 else 40.0 * slow
    from vo2neuro.device import resistance_at

    amb = _default_ambient(device) if ambient is None else ambient
    r_ins = float(resistance_at(device, amb, branch="heating"))
    r_par = r_ins if math.isinf(r_load) else r_ins * r_load / (r_ins + r_load)
    return 60.0 * (device.C_th / device.S_e + capacitance * r_par)


def _osc(device, drive, sources, r_load, capacitance, ambient, duration, dt) -> np.ndarray:
    kw = {"v_in": sources} if drive == "voltage" else {"i_in": sources}
    r = simulate(device, drive=drive, r_load=r_load, capacitance=capacitance, ambient=ambient, duration=duration,
                 dt=dt, **kw)
    return r.oscillating


def oscillation_window(device, *, drive: str = "voltage", r_load: float = math.inf, capacitance: float,
                       ambient: float | None = None, source_max: float | None = None, n_grid: int = 32,
                       n_refine: int = 3, points_per_round: int = 8, duration: float | None = None,
                       dt: float | None = None) -> OscillationWindow:
    """Oscillation window: closed form for the PWL switch, batched bisection for the electro-thermal device.

    Electro-thermal: one batched run over ``n_grid`` sources in (0, ``source_max``] brackets the lower and the
    upper onset; each of ``n_refine`` rounds then simulates ``points_per_round`` points inside both brackets in
    one kernel call (multi-section bisection), shrinking each bracket by ``points_per_round + 1``. Oscillation
    means persistent spiking at the end of the run (:class:`~vo2neuro.circuits.simulate.SimulationResult`).
    ``source_max`` defaults to 3 V_th-equivalents from the static I-V (V_th (1 + R_L/R_th) or 3 I_h).
    """
    dev = resolve_device(device)
    check_drive(drive)
    if isinstance(dev, PWLDeviceParams):
        return pwl_window(dev, drive=drive, r_load=r_load)
    amb = _default_ambient(dev) if ambient is None else ambient
    if source_max is None:
        from vo2neuro.device import static_iv

        iv = static_iv(dev, ambient=amb)
        if not iv.has_ndr:
            return OscillationWindow(drive, math.nan, math.nan, "V" if drive == "voltage" else "A", "bisection")
        if drive == "voltage":
            source_max = 3.0 * (iv.v_th_v + iv.i_th_a * r_load)
        else:
            source_max = 3.0 * iv.i_h_a + (iv.v_h_v / r_load if math.isfinite(r_load) else 0.0)
    check_positive("source_max", source_max, "V" if drive == "voltage" else "A")
    grid = np.linspace(source_max / n_grid, source_max, n_grid)
    mid = float(grid[len(grid) // 2])
    dur = duration or auto_duration(dev, drive=drive, source=mid, r_load=r_load, capacitance=capacitance,
                                    ambient=amb)
    osc = _osc(dev, drive, grid, r_load, capacitance, amb, dur, dt)
    unit = "V" if drive == "voltage" else "A"
    if not osc.any():
        return OscillationWindow(drive, math.nan, math.nan, unit, "bisection")
    idx = np.nonzero(osc)[0]
    lo_br = (float(grid[idx[0] - 1]) if idx[0] > 0 else 0.0, float(grid[idx[0]]))
    hi_br = (float(grid[idx[-1]]), float(grid[idx[-1] + 1]) if idx[-1] + 1 < n_grid else math.inf)
    for _ in range(n_refine):
        pts = []
        brackets = [lo_br] + ([hi_br] if math.isfinite(hi_br[1]) else [])
        for a, b in brackets:
            pts.append(np.linspace(a, b, points_per_round + 2)[1:-1])
        o = _osc(dev, drive, np.concatenate(pts), r_load, capacitance, amb, dur, dt).reshape(len(brackets), -1)
        new = []
        for (a, b), x, ob, rising in zip(brackets, pts, o, (True, False)):
            xs = np.concatenate([[a], x, [b]])
            os_ = np.concatenate([[not rising], ob, [rising]])
            k = int(np.nonzero(os_ == rising)[0][0])  # first point past the edge
            new.append((float(xs[k - 1]), float(xs[k])) if k > 0 else (a, b))
        lo_br = new[0]
        if len(new) > 1:
            hi_br = new[1]
    lower = 0.5 * (lo_br[0] + lo_br[1])
    upper = 0.5 * (hi_br[0] + hi_br[1]) if math.isfinite(hi_br[1]) else math.inf
    tol = max(lo_br[1] - lo_br[0], (hi_br[1] - hi_br[0]) if math.isfinite(hi_br[1]) else 0.0)
    return OscillationWindow(drive, lower, upper, unit, "bisection", tol)


# ------------------------------------------------------------------------------------------------ transfer
@dataclass(frozen=True)
class TransferCurve:
    """Frequency and energy versus one swept circuit quantity (arrays of shape (n,)).

    ``parameter`` / ``unit``: the swept quantity; ``values``; ``frequency_hz`` (0 where not oscillating);
    ``oscillating``; ``energy_per_spike_j`` (source), ``device_energy_per_spike_j``, ``isi_cv``;
    ``closed_form_hz``: the PWL closed form (NaN for the electro-thermal device). ``fixed``: the other circuit
    values.
    """

    model: str
    drive: str
    parameter: str
    unit: str
    values: np.ndarray
    frequency_hz: np.ndarray
    oscillating: np.ndarray
    energy_per_spike_j: np.ndarray
    device_energy_per_spike_j: np.ndarray
    isi_cv: np.ndarray
    closed_form_hz: np.ndarray
    fixed: dict = field(default_factory=dict)
    seed: int = 0

    def to_dict(self) -> dict[str, object]:
        """Fields for JSON."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def table(self) -> tuple[list[str], np.ndarray]:
        """CSV header and rows."""
        return ([f"{self.parameter}_{self.unit}", "frequency_hz", "oscillating", "energy_per_spike_j",
                 "device_energy_per_spike_j", "isi_cv", "closed_form_hz"],
                np.column_stack([self.values, self.frequency_hz, self.oscillating.astype(float),
                                 self.energy_per_spike_j, self.device_energy_per_spike_j, self.isi_cv,
                                 self.closed_form_hz]))


def transfer_curve(device, *, parameter: str, values, drive: str = "voltage", v_in: float | None = None,
                   i_in: float | None = None, r_load: float = math.inf, capacitance: float | None = None,
                   ambient: float | None = None, duration: float | None = None, dt: float | None = None,
                   **kw: object) -> TransferCurve:
    """f(parameter) for ``parameter`` in :data:`SWEEPS`, all sweep points in one batched kernel call.

    The other quantities are fixed at the given values. ``duration`` defaults to the longest
    :func:`auto_duration` over the sweep. Extra keywords go to :func:`simulate` (``progress=True`` for a
    progress bar on stderr of a long run); work beyond the budget of
    :func:`~vo2neuro.circuits.simulate.check_work` is refused before it starts.
    """
    dev = resolve_device(device)
    check_drive(drive)
    if parameter not in SWEEPS:
        raise ParameterError(f"parameter: unknown sweep {parameter!r}; valid: {', '.join(SWEEPS)}")
    if parameter == "v_in" and drive != "voltage" or parameter == "i_in" and drive != "current":
        raise ParameterError(f"parameter: {parameter!r} cannot be swept with drive={drive!r}")
    vals = np.asarray(values, dtype=float)
    if vals.ndim != 1 or vals.size < 1 or not np.all(np.isfinite(vals)) or np.any(vals <= 0):
        raise ParameterError(f"values must be a non-empty 1-D array of finite values > 0 [{SWEEPS[parameter]}]")
    check_neurons(vals.size, what="values")
    base = {"v_in": v_in, "i_in": i_in, "r_load": r_load, "capacitance": capacitance}
    src_key = "v_in" if drive == "voltage" else "i_in"
    base[parameter] = vals
    if base[src_key] is None:
        raise ParameterError(f"{src_key}: required [{SWEEPS[src_key]}]")
    if base["capacitance"] is None:
        raise ParameterError("capacitance: required [F]")
    amb = _default_ambient(dev) if ambient is None else ambient
    if duration is None:
        b = {k: np.broadcast_to(np.asarray(v, dtype=float), vals.shape) for k, v in base.items() if v is not None}
        # the work budget before the per-point durations (~70 us each): the electro-thermal duration grows with
        # R_L || R_ins and C, so its maximum lies at an end of the swept range
        ends = [auto_duration(dev, drive=drive, source=float(b[src_key][j]), r_load=float(b["r_load"][j]),
                              capacitance=float(b["capacitance"][j]), ambient=amb)
                for j in {int(np.argmin(vals)), int(np.argmax(vals))}]
        step = dt if dt is not None else default_dt(dev, capacitance=np.asarray(base["capacitance"], dtype=float),
                                                    r_load=np.asarray(base["r_load"], dtype=float))
        check_positive("dt", step, "s")
        check_work(device_model(dev), n_neurons=vals.size, n_steps=max(ends) / step, dt=step, duration=max(ends))
        points = range(vals.size)
        if kw.get("progress") is True and vals.size >= _PROGRESS_POINTS:
            from tqdm import tqdm

            points = tqdm(points, desc="durations", unit="point", unit_scale=True, file=sys.stderr, mininterval=1.0)
        duration = max(auto_duration(dev, drive=drive, source=float(b[src_key][j]), r_load=float(b["r_load"][j]),
                                     capacitance=float(b["capacitance"][j]), ambient=amb)
                       for j in points)
    if dt is None:
        dt = default_dt(dev, capacitance=np.asarray(base["capacitance"], dtype=float),
                        r_load=np.asarray(base["r_load"], dtype=float))
    res = simulate(dev, drive=drive, **{src_key: base[src_key]}, r_load=base["r_load"],
                   capacitance=base["capacitance"], ambient=amb, duration=duration, dt=dt, **kw)
    cf = np.full(vals.size, np.nan)
    if isinstance(dev, PWLDeviceParams):
        b = {k: np.broadcast_to(np.asarray(v, dtype=float), vals.shape) for k, v in base.items() if v is not None}
        cf = np.array([pwl_frequency(dev, drive=drive, source=float(b[src_key][j]), r_load=float(b["r_load"][j]),
                                     capacitance=float(b["capacitance"][j])) for j in range(vals.size)])
    fixed = {k: float(v) for k, v in base.items() if v is not None and k != parameter}
    fixed["ambient"] = float(amb)
    return TransferCurve(res.model, drive, parameter, SWEEPS[parameter], vals, res.frequency_hz, res.oscillating,
                         res.energy_per_spike_j, res.device_energy_per_spike_j, res.isi_cv, cf, fixed, res.seed)


def f_i_curve(device, *, i_in, capacitance: float, r_load: float = math.inf, ambient: float | None = None,
              duration: float | None = None, dt: float | None = None, **kw: object) -> TransferCurve:
    """Frequency versus input current of the current-driven neuron (I_in into device || C) [Hz vs A].

    One batched kernel call over ``i_in`` (shape (n,)); ``r_load`` is the source's parallel resistance
    (``inf`` = ideal source). The SNN side calibrates its neuron against this curve.
    """
    return transfer_curve(device, parameter="i_in", values=i_in, drive="current", i_in=0.0, r_load=r_load,
                          capacitance=capacitance, ambient=ambient, duration=duration, dt=dt, **kw)


# ------------------------------------------------------------------------------------------------ abstraction
@dataclass(frozen=True)
class NeuronAbstraction:
    r"""What an SNN (leaky integrate-and-fire) neuron needs, derived from the device physics and the circuit.

    Field names match the consumer ``vo2neuro.snn`` (units in this docstring, SI):

    capacitance : node capacitance C [F]
    r_leak : R_L || R_ins, R_ins the insulating resistance near threshold (static I-V: V_th/I_th; PWL: R_off)
        [Ohm] (R_ins alone for an ideal current drive)
    v_bias : resting voltage V_in R_ins/(R_ins + R_L) (voltage drive; 0 for current drive) [V]
    v_th, v_h : mean node voltage at the insulator-to-metal / metal-to-insulator switching events of the
        simulated oscillation [V]
    t_ref : mean duration of the metallic phase (spike to return) from the simulation [s]
    i_max : current above which the device stays metallic: hold current I_h of the static I-V
        (PWL: V_h/R_on) [A]
    dt : suggested SNN time step, min(t_ref, 1/f)/20 [s]
    energy_per_spike_j : source energy per spike at the probe point [J]
    device_energy_per_spike_j : device (Joule) energy per spike [J]
    frequency_hz : frequency at the probe point [Hz]
    probe_source : drive (V [V] or I [A]) at which v_th, v_h, t_ref and the energies were measured: the given
        drive if it oscillates, otherwise 25 % into the oscillation window
    """

    model: str
    drive: str
    capacitance: float
    r_leak: float
    v_bias: float
    v_th: float
    v_h: float
    t_ref: float
    i_max: float
    dt: float
    energy_per_spike_j: float
    device_energy_per_spike_j: float
    frequency_hz: float
    probe_source: float
    r_ins_ohm: float
    r_load_ohm: float
    ambient_k: float

    def to_dict(self) -> dict[str, object]:
        """Fields for JSON."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def neuron_abstraction(preset_or_params, *, v_in: float | None = None, i_in: float | None = None,
                       r_load: float = math.inf, capacitance: float, ambient: float | None = None,
                       duration: float | None = None, dt: float | None = None) -> NeuronAbstraction:
    """Neuron-model numbers of a VO2 neuron circuit (see :class:`NeuronAbstraction`).

    Give ``v_in`` (Pearson-Anson with ``r_load``) or ``i_in`` (current drive; ``r_load`` = parallel output
    resistance, ``inf`` = ideal). The thresholds, refractory time and energies are measured from a simulation at
    the operating point, or 25 % into the oscillation window when the operating point is sub-threshold.
    """
    dev = resolve_device(preset_or_params)
    if (v_in is None) == (i_in is None):
        raise ParameterError("v_in / i_in: give exactly one of them [V or A]")
    drive = "voltage" if v_in is not None else "current"
    source = float(v_in if v_in is not None else i_in)  # type: ignore[arg-type]
    check_positive("capacitance", capacitance, "F")
    amb = _default_ambient(dev) if ambient is None else float(ambient)
    if isinstance(dev, PWLDeviceParams):
        r_ins, i_max = dev.r_off, dev.v_h / dev.r_on
    else:
        from vo2neuro.device import static_iv

        iv = static_iv(dev, ambient=amb)
        if not iv.has_ndr:
            raise ParameterError(f"ambient: {dev.name} has no negative-differential-resistance region at "
                                 f"{amb} K, so it cannot spike [K]")
        r_ins, i_max = iv.v_th_v / iv.i_th_a, iv.i_h_a
    r_leak = r_ins if math.isinf(r_load) else r_ins * r_load / (r_ins + r_load)
    v_bias = source * r_ins / (r_ins + r_load) if drive == "voltage" else 0.0

    def run(src: float):
        dur = duration or auto_duration(dev, drive=drive, source=src, r_load=r_load, capacitance=capacitance,
                                        ambient=amb)
        kw = {"v_in": src} if drive == "voltage" else {"i_in": src}
        return simulate(dev, drive=drive, r_load=r_load, capacitance=capacitance, ambient=amb, duration=dur,
                        dt=dt, **kw).neuron(0)

    res = run(source)
    probe = source
    if not res.oscillating:
        win = oscillation_window(dev, drive=drive, r_load=r_load, capacitance=capacitance, ambient=amb)
        if not math.isfinite(win.lower):
            raise ParameterError(f"{'v_in' if drive == 'voltage' else 'i_in'}: the circuit does not oscillate at "
                                 f"any drive (C={capacitance:g} F, R_L={r_load:g} Ohm) [V or A]")
        hi = win.upper if math.isfinite(win.upper) else 2.0 * win.lower
        probe = win.lower + 0.25 * (hi - win.lower)
        res = run(probe)
        if not res.oscillating:
            raise ParameterError(f"no persistent oscillation at the probe drive {probe:g} inside the window "
                                 f"[{win.lower:g}, {win.upper:g}]")
    step = min(res.t_metal_s, 1.0 / res.frequency_hz) / 20.0
    return NeuronAbstraction(model=res.model, drive=drive, capacitance=float(capacitance), r_leak=float(r_leak),
                             v_bias=float(v_bias), v_th=res.v_th_eff_v, v_h=res.v_h_eff_v, t_ref=res.t_metal_s,
                             i_max=float(i_max), dt=float(step), energy_per_spike_j=res.energy_per_spike_j,
                             device_energy_per_spike_j=res.device_energy_per_spike_j,
                             frequency_hz=res.frequency_hz, probe_source=float(probe), r_ins_ohm=float(r_ins),
                             r_load_ohm=float(r_load), ambient_k=amb)

