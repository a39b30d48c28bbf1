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
* R-T: ``T_K``, ``R_ohm`` (optional ``branch``: 1 heating, -1 cooling): residual ``log R``. Without ``branch``
  the model is evaluated along the measured temperature path with the hysteresis memory (:func:`rt_path`).
* I-V: ``I_A``, ``V_V`` (steady state, heating branch below threshold / cooling branch above): residual in V.
  ``max_voltage`` fits only the up-sweep at or below that voltage, on the heating branch.

Instrument files are read as shipped (:func:`load_measurements`): tab-separated R-T tables with a units row, and
Keithley CSV exports with a settings preamble and a byte-order mark. ``ambient`` (the bath temperature) and
``gamma`` (the minor-loop proximity parameter) can be fitted too. The reported ``rms_error`` is in the data's own
units (``RMS_ERROR_UNITS``: decades of R, V, relative frequency).

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
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from scipy.optimize import least_squares

from vo2neuro.units import ParameterError

__all__ = ["CalibrationResult", "calibrate", "load_measurements", "FIT_PARAMETERS", "RMS_ERROR_UNITS",
           "predict_frequency", "write_parameter_file", "physical_start", "window_margin", "frequency_duration",
           "rt_path", "rt_start", "iv_start", "up_sweep"]

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
    "gamma": ("1", False, (-0.9, 1.0)),
    "capacitance": ("F", True, (1e-3, 1e3)),
    "ambient": ("K", False, (-40.0, 40.0)),
}
_CIRCUIT_FIT = {"capacitance", "ambient"}
#: Units of the reported RMS error per data kind (R-T in decades of R, I-V in volts, frequency relative).
RMS_ERROR_UNITS = {"rt": "decades", "iv": "V", "frequency": "1"}


#: Data kinds: the columns each needs (first = the row count) and the unit of every known column.
_KIND_COLUMNS: dict[str, tuple[str, ...]] = {"frequency": ("frequency_hz", "v_in_v", "r_load_ohm"),
                                            "rt": ("T_K", "R_ohm"), "iv": ("I_A", "V_V")}
_COLUMN_UNITS = {"frequency_hz": "Hz", "v_in_v": "V", "r_load_ohm": "Ohm", "capacitance_f": "F", "T_K": "K",
                 "R_ohm": "Ohm", "I_A": "A", "V_V": "V", "branch": "1", "t_s": "s"}
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


def _check_columns(cols: Mapping[str, np.ndarray], kind: str, where: str,
                   names: Mapping[str, str] | None = None) -> None:
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
        label = f"{names[k]!r} ({k})" if names and names.get(k, k) != k else k
        if v.dtype.kind not in "fiu":
            bad = next(((i, x) for i, x in enumerate(v.tolist()) if not _is_float(x)), None)
            at = f": row {bad[0] + 1} holds {bad[1]!r}" if bad else ""
            raise ParameterError(f"{where}: column {label} must be numeric{at} [{unit}]")
        if not np.all(np.isfinite(v)):
            raise ParameterError(f"{where}: column {label} has non-finite values [{unit}]")
        if k in _POSITIVE and np.any(v <= 0):
            raise ParameterError(f"{where}: column {label} must be > 0 [{unit}]")
    if n < 1:
        raise ParameterError(f"{where}: no data rows")


#: Instrument column names (lower case, unit stripped; a ``SMU-n`` channel prefix is dropped) -> (column, SI unit).
_INSTRUMENT_NAMES: dict[str, tuple[str, str]] = {
    "temperature": ("T_K", "K"), "resistance": ("R_ohm", "Ohm"), "voltage": ("V_V", "V"),
    "current": ("I_A", "A"), "time": ("t_s", "s")}
#: Unit spellings of instrument files -> SI unit.
_UNIT_ALIASES = {"k": "K", "kelvin": "K", "ohm": "Ohm", "ohms": "Ohm", "\u03a9": "Ohm", "\u2126": "Ohm",
                 "v": "V", "volt": "V", "a": "A", "amp": "A", "s": "s", "sec": "s", "second": "s"}
_HEADER_UNIT = re.compile(r"^(?P<name>.*?)\s*[\(\[](?P<unit>[^\)\]]*)[\)\]]\s*$")


def _norm_unit(unit: str) -> str:
    return _UNIT_ALIASES.get(unit, _UNIT_ALIASES.get(unit.lower(), unit))


def _split(line: str, sep: str) -> list[str]:
    return [x.strip().strip('"').strip() for x in line.split(sep)]


def _instrument_column(field: str) -> tuple[str, str | None] | None:
    """(bare lower-case name, unit or None) of an instrument header field, if it names a known quantity."""
    m = _HEADER_UNIT.match(field)
    name, unit = (m.group("name"), m.group("unit").strip()) if m else (field, None)
    name = re.sub(r"^smu-?\d+\s+", "", name.strip().lower())
    return (name, unit) if name in _INSTRUMENT_NAMES else None


def _recognised(fields: list[str]) -> int:
    return sum(1 for f in fields if f in _COLUMN_UNITS or f in ("series",) or _instrument_column(f))


def _find_header(lines: list[str]) -> tuple[int, str]:
    """Index and delimiter of the header line: the first line naming two known columns (instrument files carry a
    settings preamble before it); else the first line, comma-separated (hand-made CSV)."""
    for i, ln in enumerate(lines):
        for sep in ("\t", ","):
            if sep in ln and _recognised(_split(ln, sep)) >= 2:
                return i, sep

    def sep_of(ln: str) -> str:
        return "\t" if "\t" in ln and "," not in ln else ","

    def numeric(ln: str) -> bool:
        fields = [x for x in _split(ln, sep_of(ln)) if x]
        return bool(fields) and all(_is_float(x) for x in fields)

    # no known column: the first line of named fields before the data (a preamble has empty fields), else line 1
    for i, ln in enumerate(lines):
        if numeric(ln):
            break
        fields = _split(ln, sep_of(ln))
        if len(fields) >= 2 and all(fields):
            return i, sep_of(ln)
    return 0, sep_of(lines[0])


def _map_instrument_header(header: list[str], units_row: list[str] | None, where: str) -> list[str]:
    """Rename instrument columns to the hand-made names (``T_K``, ``R_ohm``, ``V_V``, ``I_A``, ``t_s``), checking
    each unit (header ``(unit)``/``[unit]`` or the units row) against the SI unit the model reads."""
    out: list[str] = []
    for j, h in enumerate(header):
        if h in _COLUMN_UNITS or h == "series":
            out.append(h)
            continue
        found = _instrument_column(h)
        if not found:
            out.append(h)
            continue
        name, unit = found
        if units_row is not None and j < len(units_row) and units_row[j]:
            row_unit = units_row[j]
            if unit is not None and _norm_unit(row_unit) != _norm_unit(unit):
                raise ParameterError(f"{where}: column {h!r} states two units, {unit!r} in the header and "
                                     f"{row_unit!r} in the units row (mixed units)")
            unit = row_unit
        col, si_unit = _INSTRUMENT_NAMES[name]
        if unit is not None and _norm_unit(unit) != si_unit:
            raise ParameterError(f"{where}: column {h!r} is in {unit!r}; expected {si_unit} (mixed units: convert the "
                                 f"column to {si_unit})")
        if col in out:
            raise ParameterError(f"{where}: column {h!r} repeats the quantity of another column ({col} [{si_unit}])")
        out.append(col)
    return out


def _check_sweep(out: Mapping[str, np.ndarray], names: Mapping[str, str], kind: str, where: str) -> None:
    """Row order matters for instrument files: time must increase; an I-V sweep rises and then (dual sweep) falls."""
    if "t_s" in out and out["t_s"].dtype.kind == "f" and len(out["t_s"]) > 1:
        d = np.diff(out["t_s"])
        if np.any(d <= 0):
            row = int(np.argmax(d <= 0)) + 2
            raise ParameterError(f"{where}: column {names.get('t_s', 't_s')!r} is not a monotonic sweep: time does "
                                 f"not increase at data row {row} [s]")
    if kind == "iv" and out["V_V"].dtype.kind == "f" and len(out["V_V"]) > 2:
        d = np.diff(out["V_V"])
        s = np.sign(d[np.abs(d) > 1e-9 * max(float(np.max(np.abs(out["V_V"]))), 1e-30)])
        if len(np.flatnonzero(s[1:] != s[:-1])) > 1:
            raise ParameterError(f"{where}: column {names.get('V_V', 'V_V')!r} is not a monotonic sweep (expected "
                                 "0 -> V_max or a dual sweep 0 -> V_max -> 0, in file order) [V]")


def load_measurements(path: str | os.PathLike, *, series: str | None = None) -> tuple[str, dict[str, np.ndarray]]:
    """Read a measurement file; returns (kind, columns) with kind in {"frequency", "rt", "iv"}.

    Formats (the columns decide the kind):

    * hand-made CSV with the SI column names of the module docstring (``#`` comments allowed);
    * instrument tables as shipped: tab- or comma-separated, UTF-8 with or without a byte-order mark, any line
      endings, a settings preamble before the header (Keithley 2400-series exports), units either in the header
      (``SMU-1 Voltage (V)``) or in a units row under it (``Temperature<TAB>Resistance`` / ``K<TAB>Ohm``).
      ``Temperature`` [K], ``Resistance`` [Ohm], ``Voltage`` [V], ``Current`` [A] and ``Time`` [s] become
      ``T_K``, ``R_ohm``, ``V_V``, ``I_A`` and ``t_s``; other columns are kept under their own names. A unit
      other than the SI one is refused (mixed units), as is a time column that does not increase and an I-V
      voltage column that reverses more than once (not a single or dual sweep).

    ``series`` keeps only the rows whose ``series`` column equals it (e.g. one sweep of a shipped table).
    Missing columns, non-numeric or non-finite values raise :class:`ParameterError` naming the file, the column and
    its unit. An R-T table without a ``branch`` column is evaluated along its temperature path (the branch follows
    from the sign of the temperature change, see :func:`calibrate`).
    """
    from vo2neuro._io import read_input_text

    p, text = read_input_text(path, "data", "CSV")
    where = f"data {p.name}"
    text = text.lstrip("\ufeff")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) < 2:
        raise ParameterError(f"data: {p} has no data rows (expected a CSV header and one row per measurement)")
    hi, sep = _find_header(lines)
    raw_header = _split(lines[hi], sep)
    body = lines[hi + 1:]
    units_row = None
    if body and not any(_is_float(x) for x in _split(body[0], sep) if x) and \
            any(_instrument_column(h) for h in raw_header):
        units_row, body = _split(body[0], sep), body[1:]
    body = [ln for ln in body if any(_split(ln, sep))]
    if not body:
        raise ParameterError(f"data: {p} has no data rows (expected a header and one row per measurement)")
    if any(not h for h in raw_header) or len(set(raw_header)) != len(raw_header):
        dup = sorted({h for h in raw_header if raw_header.count(h) > 1})
        what = "an empty column name" if any(not h for h in raw_header) else f"repeated columns {dup}"
        raise ParameterError(f"data: {p}: the header {lines[hi]!r} has {what}")
    header = _map_instrument_header(raw_header, units_row, where)
    instrument = header != raw_header
    names = {h: r for h, r in zip(header, raw_header)}
    cols: dict[str, list[str]] = {h: [] for h in header}
    for ln in body:
        parts = _split(ln, sep)
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
    kind = _kind_of(out, where)
    if series is not None:
        if "series" not in out:
            raise ParameterError(f"series: {p.name} has no series column")
        keep = out["series"] == series
        if not np.any(keep):
            raise ParameterError(f"series: {series!r} not in {p.name}; valid: {', '.join(sorted(set(out['series'])))}")
        out = {k: v[keep] for k, v in out.items()}
    _check_columns(out, kind, where, names)
    if instrument:
        _check_sweep(out, names, kind, where)
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
    residuals : (m,) residuals at the optimum (natural-log units for frequency and R-T, V for I-V)
    rms : root-mean-square residual (same units); ``rms_percent`` for log residuals, 100 (e^rms - 1);
        ``rms_error`` / ``rms_error_unit``: the same in the data's own units (decades of R, V, relative)
    ambient_k : bath temperature of the fit [K] (the fitted one when ``ambient`` is in ``fit``)
    points_used : number of measured points the fit used (after ``max_voltage`` selection)
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
    points_used: int = 0

    @property
    def rms_error(self) -> float:
        """RMS error in the data's own units: decades of R (log10) for R-T, V for I-V, relative for frequency."""
        return self.rms / math.log(10.0) if self.kind == "rt" else self.rms

    @property
    def rms_error_unit(self) -> str:
        """Unit of :attr:`rms_error`: ``decades``, ``V`` or ``1``."""
        return RMS_ERROR_UNITS[self.kind]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "preset": self.preset, "values": self.values, "stderr": self.stderr,
                "units": self.units, "rms_error": self.rms_error, "rms_error_unit": self.rms_error_unit,
                "points_used": self.points_used, "residuals": self.residuals.tolist(), "rms": self.rms,
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
              max_voltage: float | None = None, log=None) -> CalibrationResult:
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
        Bath temperature of the measurement [K] (the start value when ``ambient`` is in ``fit``).
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
    max_voltage : float, optional
        I-V data: fit only the up-sweep (the rows up to the first maximum of ``V_V``, in file order) at or below
        this voltage [V], against the heating branch of the static I-V (the branch a rising sweep follows below
        its threshold). Without it every point is fitted on the nearer static branch.

    R-T data without a ``branch`` column are evaluated along the measured temperature path in file order, with
    the de Almeida hysteresis memory (reversals and minor loops, vo2_physics.md section 3.2), starting on the
    branch of the first temperature change; the start of ``R_0``, ``Ea_over_k``, ``R_m``, ``T_c`` and ``w`` is
    then read off the data (:func:`rt_start`). With a ``branch`` column each point is evaluated on its major
    branch.

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
    if "ambient" in names and kind == "rt":
        raise ParameterError("fit: ambient (the bath temperature) does not enter R-T data [K]; fit it on I-V or "
                             "frequency data")
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
    heating_only = False
    if max_voltage is not None:
        if kind != "iv":
            raise ParameterError(f"max_voltage: only I-V data are selected by voltage [V], this is {kind} data")
        if not (math.isfinite(max_voltage) and max_voltage > 0):
            raise ParameterError(f"max_voltage must be > 0 [V], got {max_voltage!r}")
        keep = up_sweep(cols["V_V"]) & (np.abs(cols["V_V"]) <= max_voltage)
        if np.sum(keep) < len(names) + 1:
            raise ParameterError(f"max_voltage: {int(np.sum(keep))} up-sweep point(s) at or below {max_voltage:g} V, "
                                 f"need more than the {len(names)} fitted parameter(s) [V]")
        cols = {k: v[keep] for k, v in cols.items()}
        heating_only = True
    path_mode = kind == "rt" and "branch" not in cols
    if path_mode and init == "physical":
        base = rt_start(base, fit=names, cols=cols, log=log)
    if kind == "iv" and heating_only and init == "physical":
        base = iv_start(base, fit=names, cols=cols, ambient=ambient, log=log)
    cap0 = capacitance
    if kind == "frequency" and cap0 is None and "capacitance_f" not in cols:
        raise ParameterError("capacitance: give the node capacitance [F] (start value if fitted)")
    if kind == "frequency" and cap0 is not None and not (math.isfinite(cap0) and cap0 > 0):
        raise ParameterError(f"capacitance must be > 0 [F], got {cap0!r}")
    dur = frequency_duration(cols["frequency_hz"]) if kind == "frequency" else None
    if kind == "frequency" and init == "physical" and "capacitance_f" not in cols:
        base, cap0 = physical_start(base, fit=names, cols=cols, ambient=ambient, capacitance=float(cap0),
                                    v_th=v_th, duration=dur, log=log)
    start_vals = {n: (cap0 if n == "capacitance" else ambient if n == "ambient" else float(getattr(base, n)))
                  for n in names}
    limits = {"gamma": (1e-3, 2.0), "ambient": (base.T_min, base.T_max - 1e-3),
              "T_c": (base.T_min + 1e-3, base.T_max - 1e-3)}
    logs = [FIT_PARAMETERS[n][1] for n in names]
    lo, hi = [], []
    for n, lg in zip(names, logs):
        if bounds and n in bounds:
            a, b = bounds[n]
        else:
            fa, fb = FIT_PARAMETERS[n][2]
            a, b = ((start_vals[n] * fa, start_vals[n] * fb) if lg else (start_vals[n] + fa, start_vals[n] + fb))
        if n in limits and not (bounds and n in bounds):
            a, b = max(a, limits[n][0]), min(b, limits[n][1])
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
        amb = vals.get("ambient", ambient)
        if kind == "frequency":
            cap = vals.get("capacitance", cols["capacitance_f"] if "capacitance_f" in cols else cap0)
            f = predict_frequency(dev, v_in=cols["v_in_v"], r_load=cols["r_load_ohm"], capacitance=cap,
                                  ambient=amb, duration=dur)
            r = np.log(np.maximum(f, floor)) - np.log(cols["frequency_hz"])
            off = f <= 0
            if np.any(off):
                marg = window_margin(dev, v_in=cols["v_in_v"][off], r_load=cols["r_load_ohm"][off], ambient=amb)
                r[off] -= np.maximum(-marg, 0.0)  # further below the floor the further from the window
            return r
        if kind == "rt" and path_mode:
            return np.log(rt_path(dev, cols["T_K"])) - np.log(cols["R_ohm"])
        if kind == "iv" and heating_only:
            return _iv_heating_residuals(dev, cols, amb)
        if kind == "rt":
            from vo2neuro.device.characterize import resistance_at

            br = cols.get("branch", np.ones_like(cols["T_K"]))
            R = np.array([float(resistance_at(dev, float(t), branch="heating" if b >= 0 else "cooling"))
                          for t, b in zip(cols["T_K"], br)])
            return np.log(R) - np.log(cols["R_ohm"])
        return _iv_residuals(dev, cols, amb)

    def residuals(theta: np.ndarray) -> np.ndarray:
        try:
            dev, vals = _build(base, names, theta, logs)
            r = model_residuals(dev, vals)
            if v_th is not None:
                vt = _static_vth(dev, vals.get("ambient", ambient))
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
    amb_fit = float(vals.get("ambient", ambient))
    circuit: dict[str, float] = {}
    if kind == "frequency":
        circuit["capacitance"] = float(vals.get("capacitance", cap0 if cap0 is not None else math.nan))
        circuit["ambient"] = amb_fit
    return CalibrationResult(kind=kind, preset=getattr(base, "name", "custom"), values=vals, stderr=stderr,
                             units={n: FIT_PARAMETERS[n][0] for n in names}, residuals=r, rms=rms,
                             rms_percent=100.0 * (math.exp(rms) - 1.0) if kind != "iv" else math.nan,
                             cost=float(best.cost), starts=len(inits), best_start=best_i, ambient_k=amb_fit,
                             device=dev, circuit=circuit, dof=m - p, points_used=m_data)


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


def up_sweep(v: np.ndarray) -> np.ndarray:
    """Mask of the rising part of a voltage sweep in file order: the rows up to the first maximum of |V|."""
    a = np.abs(np.asarray(v, float))
    keep = np.zeros(a.shape, bool)
    keep[: int(np.argmax(a)) + 1] = True
    return keep


def _path_directions(T: np.ndarray) -> np.ndarray:
    """+1 where the temperature rises, -1 where it falls (sign of the change; a pause keeps the last sign)."""
    d = np.sign(np.diff(T))
    first = d[d != 0][0] if np.any(d != 0) else 1.0
    out = np.empty(len(T))
    cur = first
    out[0] = first
    for i, s in enumerate(d, start=1):
        cur = s if s != 0 else cur
        out[i] = cur
    return out


def rt_path(device, T: np.ndarray) -> np.ndarray:
    """Zero-field resistance along the temperature path ``T`` in file order, with the hysteresis memory [Ohm].

    The memory starts on the branch of the first temperature change (a cooling sweep starts on the cooling
    branch); every reversal by more than the dead band records a reversal point (vo2_physics.md section 3.2).
    """
    from vo2neuro.device import _kernels as K

    T = np.ascontiguousarray(T, dtype=float)
    p = device.to_kernel()
    g, R = np.empty_like(T), np.empty_like(T)
    K.path_fraction(T, K.hyst_init(float(T[0]), float(_path_directions(T)[0]), p), p, g, R)
    return R


def rt_start(base, *, fit: Sequence[str], cols: Mapping[str, np.ndarray], log=None):
    r"""Start values of an R-T fit read off the data (only the fitted fields change).

    * ``R_m``: 0.98 x the lowest measured resistance (the metallic plateau, leads included);
    * ``Ea_over_k``, ``R_0``: a straight line through :math:`\ln(R - R_m)` against 1/T over the coldest quarter of
      the points (insulating, g ~ 1);
    * ``T_c``, ``w``: the mean and the difference of the temperatures where log R crosses the middle of its range
      on the heating and the cooling points (branch from the sign of the temperature change).
    """
    names = set(fit)
    T, R = np.asarray(cols["T_K"], float), np.asarray(cols["R_ohm"], float)
    ch: dict[str, float] = {}
    r_m = 0.98 * float(np.min(R)) if "R_m" in names else base.R_m
    if "R_m" in names:
        ch["R_m"] = r_m
    cold = T <= np.quantile(T, 0.25)
    excess = R[cold] - r_m
    if names & {"R_0", "Ea_over_k"} and np.sum(cold) >= 3 and np.all(excess > 0) and np.ptp(T[cold]) > 0:
        slope = float(np.polyfit(1.0 / T[cold], np.log(excess), 1)[0])
        ea = slope if ("Ea_over_k" in names and slope > 0) else base.Ea_over_k
        if "Ea_over_k" in names and slope > 0:
            ch["Ea_over_k"] = ea
        if "R_0" in names:
            ch["R_0"] = float(np.exp(np.mean(np.log(excess) - ea / T[cold])))
    if names & {"T_c", "w"}:
        lr = np.log(R)
        mid = 0.5 * (lr.max() + lr.min())
        d = _path_directions(T)
        cross = {}
        for s in (1.0, -1.0):
            on = d == s
            if np.sum(on) >= 2 and lr[on].min() < mid < lr[on].max():
                order = np.argsort(lr[on])
                cross[s] = float(np.interp(mid, lr[on][order], T[on][order]))
        if len(cross) == 2:
            t_c, w = 0.5 * (cross[1.0] + cross[-1.0]), cross[1.0] - cross[-1.0]
        else:
            t_c, w = (next(iter(cross.values())), base.w) if cross else (base.T_c, base.w)
        if "T_c" in names and base.T_min < t_c < base.T_max:
            ch["T_c"] = t_c
        if "w" in names and w > 0:
            ch["w"] = w
    try:
        dev = dataclasses.replace(base, **ch)
    except ParameterError:
        return base
    if log:
        log("start (from the data): " + ", ".join(f"{k}={v:.4g}" for k, v in ch.items()))
    return dev


def _heating_branch(dev, T: np.ndarray, ambient: float) -> tuple[np.ndarray, np.ndarray]:
    """Static heating-branch V(T), I(T) (vectorised form of ``static_branch`` without Poole-Frenkel)."""
    if dev.poole_frenkel:
        from vo2neuro.device.characterize import static_branch

        return static_branch(dev, T, ambient=ambient, branch="heating")
    Tc = np.clip(T, dev.T_min, dev.T_max)
    g = 0.5 + 0.5 * np.tanh(dev.beta * (0.5 * dev.w + dev.T_c - Tc))
    R = dev.R_0 * np.exp(dev.Ea_over_k / Tc) * g + dev.R_m
    V = np.sqrt(dev.S_e * np.maximum(T - ambient, 0.0) * R)
    return V, V / R


def _iv_heating_residuals(dev, cols: Mapping[str, np.ndarray], ambient: float) -> np.ndarray:
    """Model voltage at each measured current on the heating branch up to its threshold, minus the measured [V].

    A current above the model's threshold current is scored at the threshold voltage (the model switches there).
    """
    T = np.linspace(ambient, dev.T_max, 4000)
    V, I = _heating_branch(dev, T, ambient)
    k = int(np.argmax(V))
    return np.interp(np.abs(cols["I_A"]), I[: k + 1], V[: k + 1]) - np.abs(cols["V_V"])


def iv_start(base, *, fit: Sequence[str], cols: Mapping[str, np.ndarray], ambient: float, log=None):
    """Start of an up-sweep I-V fit: over a grid of ``S_e`` (x0.1 ... x100) and ``T_c`` (ambient + 5 ... 40 K),
    each with ``R_0`` set so that the zero-bias resistance matches the lowest-current point, the candidate with
    the smallest voltage residual wins (only fitted fields change)."""
    names = set(fit)
    i0 = int(np.argmin(np.abs(cols["I_A"])))
    r_low = abs(float(cols["V_V"][i0] / cols["I_A"][i0])) if cols["I_A"][i0] != 0 else math.nan
    se_grid = base.S_e * np.array([0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]) if "S_e" in names else [base.S_e]
    tc_grid = [ambient + d for d in (5.0, 15.0, 25.0, 40.0)] if "T_c" in names else [base.T_c]
    best = (math.inf, base)
    for se in se_grid:
        for tc in tc_grid:
            try:
                cand = dataclasses.replace(base, S_e=float(se), T_c=float(tc))
                if "R_0" in names and math.isfinite(r_low):
                    V, I = _heating_branch(cand, np.array([ambient + 1e-3]), ambient)
                    r_ins = (V / I)[0] - cand.R_m
                    if r_low - cand.R_m <= 0 or r_ins <= 0:
                        continue
                    cand = dataclasses.replace(cand, R_0=cand.R_0 * (r_low - cand.R_m) / r_ins)
                cost = float(np.sum(_iv_heating_residuals(cand, cols, ambient) ** 2))
            except ParameterError:
                continue
            if cost < best[0]:
                best = (cost, cand)
    if log:
        log(f"start: S_e={best[1].S_e:.4g} W/K, T_c={best[1].T_c:.4g} K, R_0={best[1].R_0:.4g} Ohm")
    return best[1]
