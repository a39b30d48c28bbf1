r"""Fit device and circuit parameters to measurements: R-T loops, static I-V, or oscillator frequencies.

Bounded nonlinear least squares (``scipy.optimize.least_squares``, trust-region reflective) from several
Latin-hypercube starts inside the bounds; positive scale parameters are fitted in log space. Uncertainties are
the standard errors from the Jacobian at the optimum, :math:`\mathrm{cov} = s^2 (J^T J)^{-1}`,
:math:`s^2 = \sum r^2 / (m - p)` (relative for log-space parameters).

Data files (CSV, ``#`` comments allowed; the columns decide the kind):

* frequency: ``frequency_hz`` with ``v_in_v`` and ``r_load_ohm`` (optional ``capacitance_f``, ``series``):
  residual ``log f_model - log f_meas``; a non-oscillating model point costs ``log(f_floor/f_meas)``.
* R-T: ``T_K``, ``R_ohm`` (optional ``branch``: 1 heating, -1 cooling): residual ``log R``.
* I-V: ``I_A``, ``V_V`` (steady state, heating branch below threshold / cooling branch above): residual in V.

The fitted parameters are written as a parameter file (JSON with ``device`` and ``circuit`` sections) that every
command reads with ``--params FILE``.
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

from vo2neuro._units import ParameterError

__all__ = ["CalibrationResult", "calibrate", "load_measurements", "FIT_PARAMETERS", "predict_frequency",
           "write_parameter_file"]

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


def load_measurements(path: str | os.PathLike) -> tuple[str, dict[str, np.ndarray]]:
    """Read a measurement CSV; returns (kind, columns) with kind in {"frequency", "rt", "iv"}."""
    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"data: file not found: {p}")
    lines = [ln.strip() for ln in p.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) < 2:
        raise ParameterError(f"data: {p} has no data rows")
    header = [h.strip() for h in lines[0].split(",")]
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
    if {"frequency_hz", "v_in_v", "r_load_ohm"} <= set(out):
        kind = "frequency"
    elif {"T_K", "R_ohm"} <= set(out):
        kind = "rt"
    elif {"I_A", "V_V"} <= set(out):
        kind = "iv"
    else:
        raise ParameterError(f"data: {p}: columns {header} match no kind; need frequency_hz+v_in_v+r_load_ohm, "
                             "T_K+R_ohm, or I_A+V_V")
    for k, v in out.items():
        if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
            raise ParameterError(f"data: column {k} of {p} has non-finite values")
    return kind, out


def predict_frequency(device, *, v_in: np.ndarray, r_load: np.ndarray, capacitance: float | np.ndarray,
                      ambient: float, duration: float | None = None) -> np.ndarray:
    """Pearson-Anson frequencies of ``device`` at the given drive points (one batched simulation) [Hz]."""
    from vo2neuro.circuits.analysis import auto_duration
    from vo2neuro.circuits.simulate import simulate

    v_in = np.asarray(v_in, float)
    r_load = np.asarray(r_load, float)
    cap = np.broadcast_to(np.asarray(capacitance, float), v_in.shape).copy()
    dur = duration or max(auto_duration(device, drive="voltage", source=float(v), r_load=float(r),
                                        capacitance=float(c), ambient=ambient) for v, r, c in zip(v_in, r_load, cap))
    res = simulate(device, drive="voltage", v_in=v_in, r_load=r_load, capacitance=cap, ambient=ambient,
                   duration=dur)
    return np.asarray(res.frequency_hz, float)


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

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "preset": self.preset, "values": self.values, "stderr": self.stderr,
                "units": self.units, "residuals": self.residuals.tolist(), "rms": self.rms,
                "rms_percent": self.rms_percent, "cost": self.cost, "starts": self.starts,
                "best_start": self.best_start, "ambient_k": self.ambient_k, "circuit": self.circuit}


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
    vals = {n: (math.exp(t) if lg else t) for n, t, lg in zip(names, theta, logs)}
    dev_fields = {n: v for n, v in vals.items() if n not in _CIRCUIT_FIT}
    return (dataclasses.replace(base, **dev_fields) if dev_fields else base), vals


def calibrate(data: Mapping[str, np.ndarray] | str | os.PathLike, base, *, fit: Sequence[str], kind: str | None = None,
              ambient: float = 300.0, capacitance: float | None = None, bounds: Mapping[str, tuple[float, float]]
              | None = None, starts: int = 4, seed: int = 0, f_floor: float = 1e3,
              max_nfev: int = 200) -> CalibrationResult:
    """Fit the parameters ``fit`` of the device ``base`` (and the node capacitance) to measurements.

    Parameters
    ----------
    data : path or dict of columns
        Measurements (see module docstring); ``kind`` is inferred from a path.
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
        Number of starts: the given start plus Latin-hypercube points in the (log-)bounds.
    """
    if not isinstance(data, Mapping):
        kind_f, cols = load_measurements(data)
        kind = kind or kind_f
    else:
        cols = {k: np.asarray(v) for k, v in data.items()}
        if kind is None:
            raise ParameterError("kind: give the data kind (frequency, rt, iv) for in-memory data")
    if kind not in ("frequency", "rt", "iv"):
        raise ParameterError(f"kind: {kind!r} is not valid; valid: frequency, iv, rt")
    names = list(dict.fromkeys(fit))
    bad = [n for n in names if n not in FIT_PARAMETERS]
    if bad or not names:
        raise ParameterError(f"fit: {bad or '[]'} cannot be fitted; valid: {', '.join(FIT_PARAMETERS)}")
    if "capacitance" in names and kind != "frequency":
        raise ParameterError("fit: capacitance only enters frequency data [F]")
    if starts < 1:
        raise ParameterError(f"starts must be >= 1 [1], got {starts}")
    cap0 = capacitance
    if kind == "frequency" and cap0 is None and "capacitance_f" not in cols:
        raise ParameterError("capacitance: give the node capacitance [F] (start value if fitted)")
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
    theta0 = np.clip(theta0, lo_a + 1e-9 * (hi_a - lo_a), hi_a - 1e-9 * (hi_a - lo_a))

    def residuals(theta: np.ndarray) -> np.ndarray:
        try:
            dev, vals = _build(base, names, theta, logs)
        except ParameterError:
            return np.full(_m, 10.0)  # an unphysical corner of the box: a large, finite cost
        if kind == "frequency":
            cap = vals.get("capacitance", cols["capacitance_f"] if "capacitance_f" in cols else cap0)
            f = predict_frequency(dev, v_in=cols["v_in_v"], r_load=cols["r_load_ohm"], capacitance=cap,
                                  ambient=ambient)
            return np.log(np.maximum(f, f_floor)) - np.log(cols["frequency_hz"])
        if kind == "rt":
            from vo2neuro.device.characterize import resistance_at

            br = cols.get("branch", np.ones_like(cols["T_K"]))
            R = np.array([resistance_at(dev, float(t), branch="heating" if b >= 0 else "cooling")
                          for t, b in zip(cols["T_K"], br)])
            return np.log(R) - np.log(cols["R_ohm"])
        from vo2neuro.device.characterize import static_branch

        T = np.linspace(ambient, dev.T_max, 3000)
        out = np.empty(len(cols["I_A"]))
        for branch, sel in (("heating", None), ("cooling", None)):
            pass
        Vh, Ih = static_branch(dev, T, ambient=ambient, branch="heating")
        Vc, Ic = static_branch(dev, T, ambient=ambient, branch="cooling")
        for j, (i_meas, v_meas) in enumerate(zip(cols["I_A"], cols["V_V"])):
            # the model voltage at the measured current on the branch the point lies closest to
            vh = np.interp(i_meas, Ih[: int(np.argmax(Vh)) + 1], Vh[: int(np.argmax(Vh)) + 1])
            kmin = int(np.argmin(np.where(Ic > Ih[int(np.argmax(Vh))], Vc, np.inf)))
            vc = np.interp(i_meas, Ic[kmin:], Vc[kmin:])
            out[j] = min(vh - v_meas, vc - v_meas, key=abs)
        return out

    _m = len(next(iter(cols.values())))
    rng = np.random.default_rng(seed)
    inits = [theta0]
    if starts > 1:
        k = starts - 1
        u = (rng.permuted(np.tile(np.arange(k), (len(names), 1)), axis=1).T + rng.random((k, len(names)))) / k
        inits += [lo_a + ui * (hi_a - lo_a) for ui in u]
    best, best_i = None, -1
    for i, th in enumerate(inits):
        sol = least_squares(residuals, th, bounds=(lo_a, hi_a), method="trf", x_scale="jac", diff_step=1e-3,
                            max_nfev=max_nfev)
        if best is None or sol.cost < best.cost:
            best, best_i = sol, i
    assert best is not None
    dev, vals = _build(base, names, best.x, logs)
    r = best.fun
    m, p = len(r), len(names)
    stderr: dict[str, float] = {}
    try:
        s2 = float(r @ r) / max(m - p, 1)
        cov = np.linalg.pinv(best.jac.T @ best.jac) * s2
        sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        sd = np.full(p, math.nan)
    for n, lg, s, v in zip(names, logs, sd, (vals[n] for n in names)):
        stderr[n] = float(v * s) if lg else float(s)  # d(e^x) = e^x dx
    rms = float(np.sqrt(np.mean(r**2)))
    circuit = {}
    if kind == "frequency":
        circuit["capacitance"] = float(vals.get("capacitance", cap0 if cap0 is not None else math.nan))
        circuit["ambient"] = float(ambient)
    return CalibrationResult(kind=kind, preset=getattr(base, "name", "custom"), values=vals, stderr=stderr,
                             units={n: FIT_PARAMETERS[n][0] for n in names}, residuals=r, rms=rms,
                             rms_percent=100.0 * (math.exp(rms) - 1.0) if kind != "iv" else math.nan,
                             cost=float(best.cost), starts=len(inits), best_start=best_i, ambient_k=float(ambient),
                             device=dev, circuit=circuit)
