r"""Fit device and circuit parameters to measurements: R-T loops, static I-V, or oscillator frequencies.

Bounded nonlinear least squares (``scipy.optimize.least_squares``, trust-region reflective) from several
Latin-hypercube starts inside the bounds; positive scale parameters are fitted in log space. Uncertainties are
the standard errors from the Jacobian at the optimum, :math:`\mathrm{cov} = s^2 (J^T J)^{-1}`,
:math:`s^2 = \sum r^2 / (m - p)` (relative for log-space parameters).

Data files (CSV, ``#`` comments allowed; the columns decide the kind):

* frequency: ``frequency_hz`` with ``v_in_v`` and ``r_load_ohm`` (optional ``capacitance_f``, ``series``):
  residual ``log f_model - log f_meas``; a non-oscillating model point costs ``log(f_floor/f_meas)`` minus its
  (negative) log distance to the static oscillation window (:func:`window_margin`), so the optimiser is led into
  the window. The simulated time is fixed by the data (15 settled periods of the slowest measurement, one batched
  ``simulate`` call per evaluation) and the start is physical (:func:`physical_start`).
* R-T: ``T_K``, ``R_ohm`` (optional ``branch``: 1 heating, -1 cooling): residual ``log R``.
* I-V: ``I_A``, ``V_V`` (steady state, heating branch below threshold / cooling branch above): residual in V.

The fitted parameters are written as a parameter file (JSON with ``device`` and ``circuit`` sections) that every
command reads with ``--params FILE``.

Limitation (frequency data near a window edge): the electro-thermal threshold is the smooth maximum of the static
heating-branch I-V, so the charging time stays finite as a load line approaches the edge and the simulated
oscillation stops at a finite frequency; a sweep whose measured frequency falls steeply towards the edge (the
Duan et al. f(R_L) sweep) is fitted too flat there. ``tests/integration/test_calibrate.py`` records the figures.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from scipy.optimize import least_squares

from vo2neuro.units import ParameterError

__all__ = ["CalibrationResult", "calibrate", "load_measurements", "FIT_PARAMETERS", "predict_frequency",
           "write_parameter_file", "physical_start", "window_margin", "frequency_duration"]

#: Parameters that can be fitted: name -> (unit, log-space?, default bounds as factors or offsets of the start).
FIT_PARAMETERS: dict[str, tuple[str, bool, tuple[float, float]]] = {
    "R_0": ("Ohm", True, (1e-3, 1e3)),
    "Ea_over_k": ("K", True, (0.3, 2.0)),
    "R_m": ("Ohm", True, (0.1, 10.0)),
    "C_th": ("J K-1", True, (1e-3, 10.0)),
    "S_e": ("W K-1", True, (0.05, 20.0)),
    "T_c": ("K", False, (-30.0, 30.0)),
    "w": ("K", True, (0.2, 5.0)),
    "beta": ("K-1", True, (0.2, 5.0)),
    "capacitance": ("F", True, (1e-3, 1e3)),
}
_CIRCUIT_FIT = {"capacitance"}


#: Data kinds: the columns each needs (first = the row count) and the unit of every known column.
_KIND_COLUMNS: dict[str, tuple[str, ...]] = {"frequency": ("frequency_hz", "v_in_v", "r_load_ohm"),
                                            "rt": ("T_K", "R_ohm"), "iv": ("I_A", "V_V")}
_COLUMN_UNITS = {"frequency_hz": "Hz", "v_in_v": "V", "r_load_ohm": "Ohm", "capacitance_f": "F", "T_K": "K",
                 "R_ohm": "Ohm", "I_A": "A", "V_V": "V", "branch": "1"}
_POSITIVE = {"frequency_hz", "v_in_v", "r_load_ohm", "capacitance_f", "T_K", "R_ohm"}


def _kind_of(cols: Mapping[str, np.ndarray], where: str) -> str:
    present = set(cols)
    for kind, need in _KIND_COLUMNS.items():
        if set(need) <= present:
            return kind
    # name the missing columns of the kind the file is closest to
    kind = max(_KIND_COLUMNS, key=lambda k: len(set(_KIND_COLUMNS[k]) & present))
    missing = [c for c in _KIND_COLUMNS[kind] if c not in present]
    raise ParameterError(f"{where}: missing column(s) {', '.join(f'{c} [{_COLUMN_UNITS[c]}]' for c in missing)} "
                         f"for {kind} data (have {', '.join(sorted(present))}); kinds: frequency_hz+v_in_v+"
                         "r_load_ohm, T_K+R_ohm, I_A+V_V")


def _is_float(x: object) -> bool:
    try:
        float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def _check_columns(cols: Mapping[str, np.ndarray], kind: str, where: str) -> None:
    missing = [c for c in _KIND_COLUMNS[kind] if c not in cols]
    if missing:
        raise ParameterError(f"{where}: missing column(s) {', '.join(f'{c} [{_COLUMN_UNITS[c]}]' for c in missing)} "
                             f"for {kind} data")
    n = len(cols[_KIND_COLUMNS[kind][0]])
    for k, v in cols.items():
        if len(v) != n:
            raise ParameterError(f"{where}: column {k} has {len(v)} values, {_KIND_COLUMNS[kind][0]} has {n}")
        unit = _COLUMN_UNITS.get(k)
        if unit is None:
            continue
        if v.dtype.kind not in "fiu":
            bad = next(((i, x) for i, x in enumerate(v.tolist()) if not _is_float(x)), None)
            at = f": row {bad[0] + 1} holds {bad[1]!r}" if bad else ""
            raise ParameterError(f"{where}: column {k} must be numeric{at} [{unit}]")
        if not np.all(np.isfinite(v)):
            raise ParameterError(f"{where}: column {k} has non-finite values [{unit}]")
        if k in _POSITIVE and np.any(v <= 0):
            raise ParameterError(f"{where}: column {k} must be > 0 [{unit}]")
    if n < 1:
        raise ParameterError(f"{where}: no data rows")


def load_measurements(path: str | os.PathLike, *, series: str | None = None) -> tuple[str, dict[str, np.ndarray]]:
    """Read a measurement CSV; returns (kind, columns) with kind in {"frequency", "rt", "iv"}.

    ``series`` keeps only the rows whose ``series`` column equals it (e.g. one sweep of a shipped table).
    Missing columns, non-numeric or non-finite values raise :class:`ParameterError` naming the column and unit.
    """
    from vo2neuro._io import read_input_text

    p, text = read_input_text(path, "data", "CSV")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) < 2:
        raise ParameterError(f"data: {p} has no data rows (expected a CSV header and one row per measurement)")
    header = [h.strip() for h in lines[0].split(",")]
    if any(not h for h in header) or len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise ParameterError(f"data: {p}: the header {lines[0]!r} has "
                             f"{'an empty column name' if any(not h for h in header) else f'repeated columns {dup}'}")
    cols: dict[str, list[str]] = {h: [] for h in header}
    for ln in lines[1:]:
        parts = [x.strip() for x in ln.split(",")]
        if len(parts) != len(header):
            raise ParameterError(f"data: {p}: row {ln!r} has {len(parts)} fields, header has {len(header)}")
        for h, v in zip(header, parts):
            cols[h].append(v)
    out: dict[str, np.ndarray] = {}
    for h, v in cols.items():
        try:
            out[h] = np.array([float(x) for x in v])
        except ValueError:
            out[h] = np.array(v)
    kind = _kind_of(out, f"data {p.name}")
    if series is not None:
        if "series" not in out:
            raise ParameterError(f"series: {p.name} has no series column")
        keep = out["series"] == series
        if not np.any(keep):
            raise ParameterError(f"series: {series!r} not in {p.name}; valid: {', '.join(sorted(set(out['series'])))}")
        out = {k: v[keep] for k, v in out.items()}
    _check_columns(out, kind, f"data {p.name}")
    return kind, out


def frequency_duration(f_meas: np.ndarray, *, periods: float = 15.0, settle_fraction: float = 0.3) -> float:
    """Simulated time holding ``periods`` settled periods at the slowest measured frequency [s].

    The duration comes from the data, not from the model, so that it stays fixed while the parameters move
    (a smooth residual); the first ``settle_fraction`` of it is discarded as start-up transient.
    """
    return periods / float(np.min(f_meas)) / (1.0 - settle_fraction)


def predict_frequency(device, *, v_in: np.ndarray, r_load: np.ndarray, capacitance: float | np.ndarray,
                      ambient: float, duration: float | None = None, dt: float | None = None) -> np.ndarray:
    """Pearson-Anson frequencies of ``device`` at the given drive points (one batched simulation) [Hz].

    ``duration`` defaults to ``auto_duration`` of the slowest point; ``dt`` to the circuit rule of
    :func:`vo2neuro.circuits.simulate.default_dt`. Non-oscillating points give 0.
    """
    from vo2neuro.circuits.analysis import auto_duration
    from vo2neuro.circuits.simulate import simulate

    v_in = np.atleast_1d(np.asarray(v_in, float))
    r_load = np.broadcast_to(np.asarray(r_load, float), v_in.shape).copy()
    cap = np.broadcast_to(np.asarray(capacitance, float), v_in.shape).copy()
    dur = duration or max(auto_duration(device, drive="voltage", source=float(v), r_load=float(r),
                                        capacitance=float(c), ambient=ambient) for v, r, c in zip(v_in, r_load, cap))
    res = simulate(device, drive="voltage", v_in=v_in, r_load=r_load, capacitance=cap, ambient=ambient,
                   duration=dur, dt=dt)
    return np.asarray(res.frequency_hz, float)


def window_margin(device, *, v_in: np.ndarray, r_load: np.ndarray, ambient: float,
                  n_points: int = 600) -> np.ndarray:
    r"""Log distance of each load line inside the static oscillation window (> 0 inside, < 0 outside) [-].

    From the steady-state I-V (vo2_physics.md sections 5 and 8) a Pearson-Anson oscillator needs the load line
    :math:`I = (V_{in} - V)/R_L` to pass above the threshold point and below the hold point,
    :math:`I_{th} < (V_{in} - V_{th})/R_L` and :math:`(V_{in} - V_h)/R_L < I_h`; the margin is
    :math:`\min(\ln[(V_{in} - V_{th})/(R_L I_{th})], \ln[R_L I_h/(V_{in} - V_h)])`. A device without NDR
    gives -10 everywhere.
    """
    from vo2neuro.device.characterize import static_iv

    v_in = np.atleast_1d(np.asarray(v_in, float))
    r_load = np.broadcast_to(np.asarray(r_load, float), v_in.shape)
    iv = static_iv(device, ambient=ambient, n_points=n_points)
    if not iv.has_ndr:
        return np.full(v_in.shape, -10.0)
    tiny = 1e-30
    m_th = np.log(np.maximum(v_in - iv.v_th_v, tiny) / (r_load * iv.i_th_a))
    m_h = np.log(r_load * iv.i_h_a / np.maximum(v_in - iv.v_h_v, tiny))
    return np.maximum(np.minimum(m_th, m_h), -10.0)


@dataclass(frozen=True)
class CalibrationResult:
    """Fitted values with standard errors, residuals and the model it produced.

    Attributes
    ----------
    kind : "frequency" | "rt" | "iv"
    values, stderr : dict name -> SI value / standard error (same unit)
    units : dict name -> unit
    residuals : (m,) residuals at the optimum (log units for frequency and R-T, V for I-V)
    rms : root-mean-square residual; ``rms_percent`` for log residuals, 100 (e^rms - 1)
    cost : 0.5 sum r^2; ``starts``: number of starts; ``best_start``: index of the winning one
    """

    kind: str
    preset: str
    values: dict[str, float]
    stderr: dict[str, float]
    units: dict[str, str]
    residuals: np.ndarray = field(repr=False)
    rms: float
    rms_percent: float
    cost: float
    starts: int
    best_start: int
    ambient_k: float
    device: Any = field(repr=False)
    circuit: dict[str, float] = field(default_factory=dict)
    dof: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "preset": self.preset, "values": self.values, "stderr": self.stderr,
                "units": self.units, "residuals": self.residuals.tolist(), "rms": self.rms,
                "rms_percent": self.rms_percent, "cost": self.cost, "starts": self.starts,
                "best_start": self.best_start, "ambient_k": self.ambient_k, "circuit": self.circuit,
                "dof": self.dof}


def write_parameter_file(result: CalibrationResult, path: str | os.PathLike) -> Path:
    """Write the calibrated parameters as a JSON file that ``--params FILE`` reads (atomically)."""
    from vo2neuro._io import atomic_write_text, to_jsonable

    dev = result.device.to_dict()
    dev["name"] = f"calibrated-{result.preset}"
    dev["description"] = f"{result.preset} calibrated to {result.kind} data (vo2neuro calibrate)"
    doc = {"device": dev, "circuit": result.circuit,
           "calibration": {k: v for k, v in result.to_dict().items() if k not in ("residuals",)}}
    return atomic_write_text(path, json.dumps(to_jsonable(doc), indent=2) + "\n")


def _build(base, names: Sequence[str], theta: np.ndarray, logs: Sequence[bool]):
    vals = {n: (math.exp(t) if lg else float(t)) for n, t, lg in zip(names, theta, logs)}
    dev_fields = {n: v for n, v in vals.items() if n not in _CIRCUIT_FIT}
    return (dataclasses.replace(base, **dev_fields) if dev_fields else base), vals


def _static_vth(device, ambient: float) -> float:
    from vo2neuro.device.characterize import static_iv

    iv = static_iv(device, ambient=ambient, n_points=600)
    return iv.v_th_v if iv.has_ndr else math.nan


def _scale_to_vth(device, v_th: float, ambient: float, *, iterations: int = 6):
    """Scale R_0 so that the static threshold at ``ambient`` is ``v_th``.

    Without R_m, :math:`V^2 = S_e (T - T_0) R(T)` makes V_th proportional to sqrt(R_0) exactly; R_m in series
    bends this a little, so a few fixed-point steps converge it.
    """
    for _ in range(iterations):
        v = _static_vth(device, ambient)
        if not math.isfinite(v):
            return None
        if abs(v / v_th - 1.0) < 1e-3:
            break
        device = dataclasses.replace(device, R_0=device.R_0 * (v_th / v) ** 2)
    return device


def physical_start(base, *, fit: Sequence[str], cols: Mapping[str, np.ndarray], ambient: float,
                   capacitance: float, v_th: float | None = None, duration: float | None = None,
                   log=None) -> tuple[Any, float]:
    r"""A start inside the oscillation window for the electro-thermal model: (device, capacitance).

    1. Window: the static I-V scales exactly with R_0 -> a R_0, S_e -> b S_e when R_m is small
       (:math:`V \propto \sqrt{ab}`, :math:`I \propto \sqrt{b/a}`). For each b on a log grid (if ``S_e`` is
       fitted), R_0 is set so that the static V_th equals ``v_th`` (if given and ``R_0`` is fitted; else a grid
       over a); the (a, b) whose static window holds every measured load line with the largest log margin
       (:func:`window_margin`) wins.
    2. Time scale: scaling C and C_th by the same k scales every time constant by k, so f -> f/k exactly. The
       ratio C / C_th (the shape of f(V_in, R_L)) is scanned on a log grid with one batched simulation per
       value; the ratio with the smallest spread of log(f_model / f_meas) over oscillating points wins and k
       (if both are fitted) removes the mean offset.
    """
    names = set(fit)
    v_in, r_l, f_meas = cols["v_in_v"], cols["r_load_ohm"], cols["frequency_hz"]
    dev = base
    if names & {"R_0", "S_e"}:
        b_grid = np.exp(np.linspace(math.log(0.02), math.log(5.0), 13)) if "S_e" in names else np.ones(1)
        a_grid = np.ones(1) if (v_th is not None or "R_0" not in names) else np.exp(np.linspace(-9.0, 2.0, 12))
        best = (-math.inf, dev)
        for b in b_grid:
            for a in a_grid:
                try:
                    cand = dataclasses.replace(base, R_0=base.R_0 * a, S_e=base.S_e * b)
                    if v_th is not None and "R_0" in names:
                        cand = _scale_to_vth(cand, v_th, ambient)
                    if cand is None:
                        continue
                    score = float(np.min(window_margin(cand, v_in=v_in, r_load=r_l, ambient=ambient)))
                except ParameterError:
                    continue
                if score > best[0]:
                    best = (score, cand)
        dev = best[1]
        if log:
            log(f"start: window margin {best[0]:.3f} at R_0={dev.R_0:.4g} Ohm, S_e={dev.S_e:.4g} W/K")
    cap = capacitance
    if names & {"capacitance", "C_th"}:
        from vo2neuro.circuits.simulate import simulate

        dur = duration or frequency_duration(f_meas)
        r_typ = float(np.exp(np.mean(np.log(r_l))))
        c_ref = dev.tau_th / r_typ  # electrical time C R_L equal to the thermal time
        ratios = np.exp(np.linspace(math.log(0.03), math.log(30.0), 11))
        best_s = (math.inf, cap, dev)
        for q in ratios:
            if "capacitance" in names:
                c_try, d_try = c_ref * q, dev
            else:
                c_try, d_try = cap, dataclasses.replace(dev, C_th=dev.C_th * (c_ref / cap) / q)
            # f scales as 1/k under (C, C_th) -> k (C, C_th): simulate at the measured time scale
            try:
                f = np.asarray(simulate(d_try, v_in=v_in, r_load=r_l, capacitance=c_try, ambient=ambient,
                                        duration=dur).frequency_hz)
            except ParameterError:
                continue
            ok = f > 0
            if not np.any(ok):
                continue
            lr = np.log(f[ok] / f_meas[ok])
            k = math.exp(float(np.mean(lr))) if names >= {"capacitance", "C_th"} else 1.0
            spread = float(np.sum((lr - math.log(k)) ** 2)) + 25.0 * int(np.sum(~ok))
            if spread < best_s[0]:
                best_s = (spread, c_try * k, dataclasses.replace(d_try, C_th=d_try.C_th * k))
        if math.isfinite(best_s[0]):
            _, cap, dev = best_s
        if log:
            log(f"start: C={cap:.4g} F, C_th={dev.C_th:.4g} J/K (tau_th={dev.tau_th:.3g} s), cost {best_s[0]:.3g}")
    return dev, cap


def calibrate(data: Mapping[str, np.ndarray] | str | os.PathLike, base, *, fit: Sequence[str], kind: str | None = None,
              ambient: float = 300.0, capacitance: float | None = None, bounds: Mapping[str, tuple[float, float]]
              | None = None, starts: int = 4, seed: int = 0, f_floor: float | None = None, v_th: float | None = None,
              init: str = "physical", spread: float = 0.3, max_nfev: int = 60, diff_step: float = 1e-2,
              log=None) -> CalibrationResult:
    r"""Fit the parameters ``fit`` of the device ``base`` (and the node capacitance) to measurements.

    Parameters
    ----------
    data : path or dict of columns
        Measurements (see module docstring); ``kind`` is inferred from a path or from the columns.
    base : VO2DeviceParams
        Starting device (a preset or parameter file); unfitted fields stay fixed.
    fit : sequence of str
        Names from ``FIT_PARAMETERS``.
    ambient : float
        Bath temperature of the measurement [K].
    capacitance : float, optional
        Node capacitance [F] (start value when fitted; required for frequency data unless the data has a
        ``capacitance_f`` column).
    bounds : dict name -> (low, high), optional
        Absolute bounds in SI (default: ``FIT_PARAMETERS`` factors around the start).
    starts : int
        Number of starts: the (physical) start plus starts scattered around it by ``exp(spread N(0, 1))``.
    f_floor : float, optional
        Frequency a non-oscillating point is scored at [Hz] (default a tenth of the slowest measurement); the
        residual adds ``-margin`` (:func:`window_margin`, negative outside the static window) so that the
        optimiser is pushed towards the window instead of seeing a flat floor.
    v_th : float, optional
        Published static threshold voltage [V]: an extra residual ``ln(V_th,model / v_th)`` (weighted like one
        log-frequency point) and the R_0 scale of the physical start.
    init : {"physical", "given"}
        Frequency data and electro-thermal device: ``physical`` searches a start inside the oscillation window
        (:func:`physical_start`); ``given`` starts from ``base`` as is.
    max_nfev, diff_step : least-squares budget per start and relative finite-difference step.

    Returns
    -------
    CalibrationResult
        Standard errors :math:`\sqrt{\mathrm{diag}\,s^2 (J^T J)^{-1}}`, :math:`s^2 = \sum r^2/(m - p)`.
    """
    if not isinstance(data, Mapping):
        kind_f, cols = load_measurements(data)
        kind = kind or kind_f
    else:
        cols = {k: np.asarray(v) for k, v in data.items()}
        kind = kind or _kind_of(cols, "data")
        _check_columns(cols, kind, "data")
    if kind not in ("frequency", "rt", "iv"):
        raise ParameterError(f"kind: {kind!r} is not valid; valid: frequency, iv, rt")
    names = list(dict.fromkeys(fit))
    bad = [n for n in names if n not in FIT_PARAMETERS]
    if bad or not names:
        raise ParameterError(f"fit: {', '.join(bad) or 'nothing'} cannot be fitted; valid: {', '.join(FIT_PARAMETERS)}")
    if "capacitance" in names and kind != "frequency":
        raise ParameterError("fit: capacitance only enters frequency data [F]")
    if starts < 1:
        raise ParameterError(f"starts must be >= 1 [1], got {starts}")
    if not (math.isfinite(ambient) and base.T_min <= ambient < base.T_max):
        # the model clamps R(T) to this range, and the fitted parameter file would carry an unusable bath temperature
        raise ParameterError(f"ambient must lie in [T_min, T_max) = [{base.T_min:g}, {base.T_max:g}) K of "
                             f"{base.name} [K], got {ambient!r}")
    if init not in ("physical", "given"):
        raise ParameterError(f"init: {init!r} is not valid; valid: physical, given")
    if v_th is not None and not (math.isfinite(v_th) and v_th > 0):
        raise ParameterError(f"v_th must be > 0 [V], got {v_th!r}")
    cap0 = capacitance
    if kind == "frequency" and cap0 is None and "capacitance_f" not in cols:
        raise ParameterError("capacitance: give the node capacitance [F] (start value if fitted)")
    if kind == "frequency" and cap0 is not None and not (math.isfinite(cap0) and cap0 > 0):
        raise ParameterError(f"capacitance must be > 0 [F], got {cap0!r}")
    dur = frequency_duration(cols["frequency_hz"]) if kind == "frequency" else None
    if kind == "frequency" and init == "physical" and "capacitance_f" not in cols:
        base, cap0 = physical_start(base, fit=names, cols=cols, ambient=ambient, capacitance=float(cap0),
                                    v_th=v_th, duration=dur, log=log)
    start_vals = {n: (cap0 if n == "capacitance" else float(getattr(base, n))) for n in names}
    logs = [FIT_PARAMETERS[n][1] for n in names]
    lo, hi = [], []
    for n, lg in zip(names, logs):
        if bounds and n in bounds:
            a, b = bounds[n]
        else:
            fa, fb = FIT_PARAMETERS[n][2]
            a, b = ((start_vals[n] * fa, start_vals[n] * fb) if lg else (start_vals[n] + fa, start_vals[n] + fb))
        if not (a < b) or (lg and a <= 0):
            raise ParameterError(f"bounds {n}: need 0 < low < high [{FIT_PARAMETERS[n][0]}]")
        lo.append(math.log(a) if lg else a)
        hi.append(math.log(b) if lg else b)
    lo_a, hi_a = np.array(lo), np.array(hi)
    theta0 = np.array([math.log(start_vals[n]) if lg else start_vals[n] for n, lg in zip(names, logs)])
    theta0 = np.clip(theta0, lo_a + 1e-6 * (hi_a - lo_a), hi_a - 1e-6 * (hi_a - lo_a))
    m_data = len(cols[_KIND_COLUMNS[kind][0]])
    m = m_data + (1 if v_th is not None else 0)
    floor = f_floor if f_floor is not None else (0.1 * float(np.min(cols["frequency_hz"])) if kind == "frequency"
                                                 else 0.0)

    def model_residuals(dev, vals) -> np.ndarray:
        if kind == "frequency":
            cap = vals.get("capacitance", cols["capacitance_f"] if "capacitance_f" in cols else cap0)
            f = predict_frequency(dev, v_in=cols["v_in_v"], r_load=cols["r_load_ohm"], capacitance=cap,
                                  ambient=ambient, duration=dur)
            r = np.log(np.maximum(f, floor)) - np.log(cols["frequency_hz"])
            off = f <= 0
            if np.any(off):
                marg = window_margin(dev, v_in=cols["v_in_v"][off], r_load=cols["r_load_ohm"][off], ambient=ambient)
                r[off] -= np.maximum(-marg, 0.0)  # further below the floor the further from the window
            return r
        if kind == "rt":
            from vo2neuro.device.characterize import resistance_at

            br = cols.get("branch", np.ones_like(cols["T_K"]))
            R = np.array([float(resistance_at(dev, float(t), branch="heating" if b >= 0 else "cooling"))
                          for t, b in zip(cols["T_K"], br)])
            return np.log(R) - np.log(cols["R_ohm"])
        return _iv_residuals(dev, cols, ambient)

    def residuals(theta: np.ndarray) -> np.ndarray:
        try:
            dev, vals = _build(base, names, theta, logs)
            r = model_residuals(dev, vals)
            if v_th is not None:
                vt = _static_vth(dev, ambient)
                r = np.append(r, math.log(vt / v_th) if math.isfinite(vt) else 5.0)
        except ParameterError:
            return np.full(m, 10.0)  # an unphysical corner of the box: a large, finite cost
        return r

    rng = np.random.default_rng(seed)
    inits = [theta0]
    for _ in range(starts - 1):
        th = theta0 + spread * rng.standard_normal(len(names)) * np.array([1.0 if lg else 0.0 for lg in logs])
        th = th + (~np.array(logs)) * spread * 10.0 * rng.standard_normal(len(names))
        inits.append(np.clip(th, lo_a + 1e-6 * (hi_a - lo_a), hi_a - 1e-6 * (hi_a - lo_a)))
    best, best_i = None, -1
    for i, th in enumerate(inits):
        sol = least_squares(residuals, th, bounds=(lo_a, hi_a), method="trf", x_scale=1.0, diff_step=diff_step,
                            max_nfev=max_nfev)
        if log:
            log(f"start {i}: cost {sol.cost:.4g} after {sol.nfev} evaluations")
        if best is None or sol.cost < best.cost:
            best, best_i = sol, i
    assert best is not None
    dev, vals = _build(base, names, best.x, logs)
    r = best.fun
    p = len(names)
    try:
        s2 = float(r @ r) / max(m - p, 1)
        cov = np.linalg.pinv(best.jac.T @ best.jac) * s2
        sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        sd = np.full(p, math.nan)
    stderr: dict[str, float] = {}
    for n, lg, s, v in zip(names, logs, sd, (vals[n] for n in names)):
        stderr[n] = float(v * s) if lg else float(s)  # d(e^x) = e^x dx
    rd = r[:m_data]
    rms = float(np.sqrt(np.mean(rd**2)))
    circuit: dict[str, float] = {}
    if kind == "frequency":
        circuit["capacitance"] = float(vals.get("capacitance", cap0 if cap0 is not None else math.nan))
        circuit["ambient"] = float(ambient)
    return CalibrationResult(kind=kind, preset=getattr(base, "name", "custom"), values=vals, stderr=stderr,
                             units={n: FIT_PARAMETERS[n][0] for n in names}, residuals=r, rms=rms,
                             rms_percent=100.0 * (math.exp(rms) - 1.0) if kind != "iv" else math.nan,
                             cost=float(best.cost), starts=len(inits), best_start=best_i, ambient_k=float(ambient),
                             device=dev, circuit=circuit, dof=m - p)


def _iv_residuals(dev, cols: Mapping[str, np.ndarray], ambient: float) -> np.ndarray:
    """Model voltage at each measured current minus the measured voltage, on the nearer static branch [V]."""
    from vo2neuro.device.characterize import static_branch

    T = np.linspace(ambient, dev.T_max, 1500)
    Vh, Ih = static_branch(dev, T, ambient=ambient, branch="heating")
    Vc, Ic = static_branch(dev, T, ambient=ambient, branch="cooling")
    k_th = int(np.argmax(Vh))
    kmin = int(np.argmin(np.where(Ic > Ih[k_th], Vc, np.inf)))
    out = np.empty(len(cols["I_A"]))
    for j, (i_meas, v_meas) in enumerate(zip(cols["I_A"], cols["V_V"])):
        vh = np.interp(i_meas, Ih[: k_th + 1], Vh[: k_th + 1])
        vc = np.interp(i_meas, Ic[kmin:], Vc[kmin:])
        out[j] = min(vh - v_meas, vc - v_meas, key=abs)
    return out
