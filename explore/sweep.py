"""Parameter sweeps at scale: grids or random / Latin-hypercube samples over any device or circuit parameter,
chunks vectorised into the kernels, executed on Dask, results written incrementally to a Zarr store as a
labelled xarray Dataset; resumable and failure-tolerant.

Configuration (TOML, or the equivalent :class:`SweepConfig`)::

    [sweep]
    circuit = "pearson_anson"          # evaluator: pearson_anson | current_driven | device
    preset = "vo2x"
    metrics = ["frequency_hz", "energy_per_spike_j", "oscillating"]
    chunk_size = 64                    # points per task (optional)
    [sweep.grid]
    v_in = { start = 8.0, stop = 16.0, num = 33 }        # add scale = "log" for a geometric grid
    delta = [0.0, 0.01, 0.02, 0.03]
    [sweep.fixed]
    r_load = 12e3
    capacitance = 145.35e-12
    ambient = 325.0

or, instead of ``[sweep.grid]``, ``[sweep.sample]`` with ``method = "lhs" | "random"``, ``n``, ``seed`` and
``[sweep.sample.ranges]`` ``name = [low, high]`` (``[low, high, "log"]`` for log-uniform).

The table is checked against its schema before any work (:func:`config_from_dict`): an unknown key or table is an
error with a "did you mean" (``chunk_sise``, ``[sweep.fixd]``), a value of the wrong type names the key and the
type expected, every parameter must act on the chosen evaluator and device and every input it needs be given,
signs known up front are checked (``r_load > 0``, ``v_in >= 0``, ...), and a sweep whose store template would not
fit in memory is refused with its estimate (budgets in :mod:`vo2neuro.circuits.simulate`).

A chunk runs as one kernel call; when that call fails, its points run one by one, so that one impossible value
(an ambient above the set's ``T_max``, a device that cannot be built) marks only its own point.

Store layout: a grid sweep has one dimension per grid parameter (labelled coordinates with ``units``); a sample
sweep has the dimension ``sample`` with each parameter as a coordinate along it. Every metric is a variable with
its unit in ``attrs["units"]``; ``status`` (0 ok, 1 failed, -1 not computed) and ``reason`` record failures per
point; ``chunk_done`` marks finished tasks. The full configuration is in ``attrs["config"]`` (JSON). Chunk files
are written atomically by Zarr's local store and a task is marked done only after its data are in place, so a
killed sweep leaves a readable store and ``resume`` computes only the missing chunks.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import numbers
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from vo2neuro.units import ParameterError

__all__ = ["SweepConfig", "SweepResult", "load_config", "run_sweep", "evaluate_points", "EVALUATORS",
           "PARAMETER_UNITS", "METRIC_UNITS", "sweep_points"]

#: Circuit parameters a sweep may vary, with SI units.
CIRCUIT_PARAMETERS = {"v_in": "V", "i_in": "A", "r_load": "Ohm", "capacitance": "F", "ambient": "K",
                      "duration": "s", "dt": "s"}
#: Parameters of the ideal piecewise-linear switch (``preset = "pwl"``).
PWL_PARAMETERS = {"r_off": "Ohm", "r_on": "Ohm", "v_th": "V", "v_h": "V"}


def _device_units() -> dict[str, str]:
    from vo2neuro.device.params import VO2DeviceParams

    out = {}
    for f in dataclasses.fields(VO2DeviceParams):
        if f.type in ("float", float) or f.name == "delta":
            out[f.name] = f.metadata.get("unit", "")
    return out


PARAMETER_UNITS: dict[str, str] = {**CIRCUIT_PARAMETERS, **PWL_PARAMETERS, **_device_units()}

#: Units of the metrics the evaluators offer.
METRIC_UNITS: dict[str, str] = {
    # circuit
    "frequency_hz": "Hz", "oscillating": "1", "n_spikes": "1", "energy_per_spike_j": "J",
    "device_energy_per_spike_j": "J", "load_energy_per_spike_j": "J", "isi_cv": "1", "mean_power_w": "W",
    # device (steady state)
    "v_th_v": "V", "v_h_v": "V", "i_th_a": "A", "i_h_a": "A", "t_th_k": "K", "t_h_k": "K",
    "t_imt_heating_k": "K", "t_imt_cooling_k": "K", "r_insulating_300k_ohm": "Ohm", "r_metallic_ohm": "Ohm",
}


#: Largest chunk (points per task) [1]: a task holds its points' neurons in memory (~700 B each) and runs them in
#: one kernel call; 1e6 points is ~0.7 GB per worker, and tasks that large leave a multi-worker sweep nothing to
#: balance.
MAX_CHUNK_SIZE = 1_000_000
#: Bytes of a failure reason in the store (fixed-width "<U120": 4 B per character).
_REASON_BYTES = 4 * 120
#: Circuit parameters that must be > 0 and >= 0 (the sign is known before any device is built).
_POSITIVE = {"r_load", "capacitance", "ambient", "duration", "dt", *PWL_PARAMETERS}
_NONNEGATIVE = {"v_in", "i_in"}


def _did_you_mean(name: str, valid) -> str:
    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _check_sign(where: str, name: str, v: float) -> None:
    if name in _POSITIVE and not v > 0:
        raise ParameterError(f"{where} must be > 0 [{PARAMETER_UNITS[name]}], got {v!r}")
    if name in _NONNEGATIVE and not v >= 0:
        raise ParameterError(f"{where} must be >= 0 [{PARAMETER_UNITS[name]}], got {v!r}")


def _n_points(grid, sample) -> int:
    if grid:
        return math.prod(len(v) for _, v in grid)
    return int(sample["n"]) if sample else 0


# ------------------------------------------------------------------------------------------------ config
@dataclass(frozen=True, kw_only=True)
class SweepConfig:
    """A sweep: what to vary, what to hold, what to measure.

    Attributes
    ----------
    circuit : str
        Evaluator name (``EVALUATORS``).
    preset : str
        Device parameter set (``vo2neuro presets``); ``params_file`` overrides it when given.
    metrics : tuple of str
        Metric names (``METRIC_UNITS``).
    grid : tuple of (name, values)
        Grid axes in order, values in SI units.
    sample : dict or None
        ``{"method": "lhs"|"random", "n": int, "seed": int, "ranges": {name: (low, high, scale)}}``.
    fixed : dict name -> value (SI)
    chunk_size : int
        Points per task.
    params_file : str or None
        JSON parameter file used instead of the preset.
    """

    circuit: str = "pearson_anson"
    preset: str = "vo2x"
    metrics: tuple[str, ...] = ("frequency_hz", "energy_per_spike_j", "oscillating")
    grid: tuple[tuple[str, tuple[float, ...]], ...] = ()
    sample: dict[str, Any] | None = None
    fixed: dict[str, float] = field(default_factory=dict)
    chunk_size: int = 64
    params_file: str | None = None

    def __post_init__(self) -> None:
        if self.circuit not in EVALUATORS:
            raise ParameterError(f"circuit: {self.circuit!r} is not valid{_did_you_mean(self.circuit, EVALUATORS)}; "
                                 f"valid: {', '.join(sorted(EVALUATORS))}")
        offered = EVALUATORS[self.circuit].metrics
        bad = [m for m in self.metrics if m not in offered]
        if bad or not self.metrics:
            hint = _did_you_mean(bad[0], offered) if bad else ""
            raise ParameterError(f"metrics: {bad or '[]'} not offered by {self.circuit!r}{hint}; "
                                 f"valid: {', '.join(offered)}")
        if bool(self.grid) == bool(self.sample):
            raise ParameterError("sweep: give exactly one of [sweep.grid] or [sweep.sample] [-]")
        names = [n for n, _ in self.grid] + list((self.sample or {}).get("ranges", {}))
        for n in [*names, *self.fixed]:
            if n not in PARAMETER_UNITS:
                raise ParameterError(f"sweep parameter {n!r} is unknown{_did_you_mean(n, PARAMETER_UNITS)}; "
                                     f"valid: {', '.join(sorted(PARAMETER_UNITS))}")
        dup = set(names) & set(self.fixed)
        if dup or len(set(names)) != len(names):
            raise ParameterError(f"sweep: parameter(s) {sorted(dup) or names} given twice [-]")
        for n, vals in self.grid:
            if len(vals) == 0 or not all(_is_number(v) and math.isfinite(v) for v in vals):
                raise ParameterError(f"grid {n}: needs finite values [{PARAMETER_UNITS[n]}]")
            for v in vals:
                _check_sign(f"grid {n}", n, v)
        for n, v in self.fixed.items():
            if not _is_number(v) or not math.isfinite(v):
                raise ParameterError(f"fixed {n} must be finite [{PARAMETER_UNITS[n]}], got {v}")
            _check_sign(f"fixed {n}", n, v)
        if self.sample:
            s = self.sample
            if s.get("method") not in ("lhs", "random"):
                raise ParameterError(f"sample.method: {s.get('method')!r} is not valid; valid: lhs, random")
            if not _is_int(s.get("n")) or s["n"] < 1:
                raise ParameterError(f"sample.n must be a whole number >= 1 [1], got {s.get('n')!r}")
            if not _is_int(s.get("seed", 0)) or s.get("seed", 0) < 0:
                raise ParameterError(f"sample.seed must be a whole number >= 0 [1], got {s.get('seed')!r}")
            for n, (lo, hi, scale) in s["ranges"].items():
                if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi) or scale not in ("linear", "log") or (
                        scale == "log" and lo <= 0):
                    raise ParameterError(f"sample range {n}: need low < high (> 0 for log) [{PARAMETER_UNITS[n]}]")
                _check_sign(f"sample range {n}", n, lo)
        if not _is_int(self.chunk_size) or not 1 <= self.chunk_size <= MAX_CHUNK_SIZE:
            raise ParameterError(f"chunk_size must be a whole number in [1, {MAX_CHUNK_SIZE}] [1], "
                                 f"got {self.chunk_size!r}")
        self._check_applies(names)
        self._check_size()

    def _check_applies(self, names: Sequence[str]) -> None:
        """Every parameter must act on the chosen evaluator and device, and every input it needs must be given:
        a silently ignored parameter would give a sweep of identical points."""
        given = {*names, *self.fixed}
        pwl = self.preset == "pwl" and not self.params_file
        if self.circuit == "device":
            if pwl:
                raise ParameterError("preset: the device evaluator needs an electro-thermal preset or params_file, "
                                     "not pwl [-]")
            foreign = sorted(given & (set(CIRCUIT_PARAMETERS) - {"ambient"} | set(PWL_PARAMETERS)))
            if foreign:
                raise ParameterError(f"sweep: {', '.join(foreign)} do not act on circuit = 'device' (steady-state "
                                     "device figures); valid: ambient and the device fields [-]")
        else:
            foreign = sorted(given - set(CIRCUIT_PARAMETERS) - set(PWL_PARAMETERS)) if pwl else \
                sorted(given & set(PWL_PARAMETERS))
            if foreign:
                raise ParameterError(f"sweep: {', '.join(foreign)} do not act on preset {self.preset!r} (the "
                                     f"{'ideal PWL switch' if pwl else 'electro-thermal device'}) [-]")
            src = "v_in" if self.circuit == "pearson_anson" else "i_in"
            other = "i_in" if src == "v_in" else "v_in"
            if other in given:
                raise ParameterError(f"sweep: {other} does not act on circuit = {self.circuit!r}; give {src} [-]")
            need = [src, "capacitance"] + (["r_load"] if src == "v_in" else []) + (list(PWL_PARAMETERS) if pwl
                                                                                   else [])
            missing = [n for n in need if n not in given]
            if missing:
                units = ", ".join(PARAMETER_UNITS[n] for n in missing)
                raise ParameterError(f"sweep: circuit = {self.circuit!r} needs {', '.join(missing)} in [sweep.fixed],"
                                     f" [sweep.grid] or the sample ranges [{units}]")
        if not pwl:
            _selection(self)   # an unknown preset or a bad parameter file fails here, not at every point
        if "duration" in given and "dt" in given:
            from vo2neuro.circuits.simulate import check_work

            dur = max(self._values("duration"))
            dt = min(self._values("dt"))
            check_work("pwl" if pwl else "electrothermal", n_neurons=min(self.chunk_size, self.n_points),
                       n_steps=dur / dt, dt=dt, duration=dur)

    def _values(self, name: str) -> list[float]:
        if name in self.fixed:
            return [float(self.fixed[name])]
        if self.grid and name in dict(self.grid):
            return [float(v) for v in dict(self.grid)[name]]
        lo, hi, _ = self.sample["ranges"][name]  # type: ignore[index]
        return [float(lo), float(hi)]

    def _check_size(self) -> None:
        """Refuse a sweep whose store template would not fit in memory (estimate named)."""
        dims = len(self.grid) or len(self.sample["ranges"])  # type: ignore[index]
        _check_memory(self.n_points, len(self.metrics), 0 if self.grid else dims)

    @property
    def n_points(self) -> int:
        return _n_points(self.grid, self.sample)

    def to_dict(self) -> dict[str, Any]:
        return {"circuit": self.circuit, "preset": self.preset, "metrics": list(self.metrics),
                "grid": {n: list(v) for n, v in self.grid}, "sample": self.sample, "fixed": dict(self.fixed),
                "chunk_size": self.chunk_size, "params_file": self.params_file}

    def fingerprint(self) -> str:
        """Hash of everything that determines the results (not the chunking's execution)."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


# TOML schema of the [sweep] table: key -> expected type ("str", "int", "number", "list of str", "table").
_SWEEP_SCHEMA = {"circuit": "str", "preset": "str", "params_file": "str", "metrics": "list of str",
                 "chunk_size": "int", "grid": "table", "sample": "table", "fixed": "table"}
_AXIS_SCHEMA = {"start": "number", "stop": "number", "num": "int", "scale": "str"}
_SAMPLE_SCHEMA = {"method": "str", "n": "int", "seed": "int", "ranges": "table"}
_TYPE_WORDS = {"str": "a string", "int": "a whole number", "number": "a number", "list of str": "a list of strings",
               "table": "a table"}


def _type_name(v: Any) -> str:
    return {bool: "boolean", str: "string", int: "whole number", float: "number", list: "list",
            dict: "table"}.get(type(v), type(v).__name__)


def _matches(v: Any, kind: str) -> bool:
    if kind == "str":
        return isinstance(v, str)
    if kind == "int":
        return _is_int(v)
    if kind == "number":
        return _is_number(v)
    if kind == "list of str":
        return isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v)
    return isinstance(v, Mapping)


def _check_table(table: Any, schema: Mapping[str, str], where: str) -> dict[str, Any]:
    """Unknown keys (with a "did you mean") and wrong types are errors naming the key and the expected type."""
    if not isinstance(table, Mapping):
        raise ParameterError(f"config: [{where}] must be a table, got {_type_name(table)} {table!r} [-]")
    for key, value in table.items():
        if key not in schema:
            close = difflib.get_close_matches(str(key), list(schema), n=1, cutoff=0.6)
            if isinstance(value, Mapping):
                hint = f"; did you mean [{where}.{close[0]}]?" if close else ""
                raise ParameterError(f"config: unknown table [{where}.{key}]{hint} (valid keys of [{where}]: "
                                     f"{', '.join(schema)}) [-]")
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ParameterError(f"config: unknown key {key!r} in [{where}]{hint} (valid: {', '.join(schema)}) [-]")
        kind = schema[key]
        if not _matches(value, kind):
            raise ParameterError(f"config: {where}.{key} must be {_TYPE_WORDS[kind]}, got {_type_name(value)} "
                                 f"{value!r} [-]")
    return dict(table)


def _check_names(table: Mapping[str, Any], where: str) -> None:
    for key in table:
        if key not in PARAMETER_UNITS:
            close = difflib.get_close_matches(str(key), list(PARAMETER_UNITS), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ParameterError(f"config: unknown parameter {key!r} in [{where}]{hint} (valid: "
                                 f"{', '.join(sorted(PARAMETER_UNITS))}) [-]")


def _axis_length(name: str, spec: Any) -> int:
    """Number of values of a grid axis, checked against the schema before anything is allocated."""
    unit = PARAMETER_UNITS.get(name, "")
    where = f"sweep.grid.{name}"
    if isinstance(spec, (list, tuple)):
        for v in spec:
            if not _is_number(v):
                raise ParameterError(f"config: {where} must be a list of numbers [{unit}], got {_type_name(v)} {v!r}")
        return len(spec)
    if isinstance(spec, Mapping):
        axis = _check_table(spec, _AXIS_SCHEMA, where)
        missing = [k for k in ("start", "stop", "num") if k not in axis]
        if missing:
            raise ParameterError(f"config: {where} needs {', '.join(missing)} (start, stop [{unit}], num [1])")
        if axis["num"] < 1:
            raise ParameterError(f"config: {where}.num must be >= 1 [1], got {axis['num']}")
        if axis.get("scale", "linear") not in ("linear", "log"):
            raise ParameterError(f"config: {where}.scale must be 'linear' or 'log', got {axis['scale']!r} [-]")
        return int(axis["num"])
    if _is_number(spec):
        return 1
    raise ParameterError(f"config: {where} must be a list of numbers, a table {{start, stop, num}} or a number "
                         f"[{unit}], got {_type_name(spec)} {spec!r}")


def _axis(name: str, spec: Any) -> tuple[float, ...]:
    unit = PARAMETER_UNITS.get(name, "")
    if isinstance(spec, (list, tuple)):
        return tuple(float(v) for v in spec)
    if isinstance(spec, dict):
        try:
            start, stop, num = float(spec["start"]), float(spec["stop"]), int(spec["num"])
        except (KeyError, TypeError, ValueError):
            raise ParameterError(f"grid {name}: need start, stop, num [{unit}]") from None
        if num < 1:
            raise ParameterError(f"grid {name}: num must be >= 1 [1]")
        if spec.get("scale", "linear") == "log":
            if start <= 0 or stop <= 0:
                raise ParameterError(f"grid {name}: log scale needs start, stop > 0 [{unit}]")
            return tuple(np.geomspace(start, stop, num).tolist())
        return tuple(np.linspace(start, stop, num).tolist())
    return (float(spec),)


def config_from_dict(d: Mapping[str, Any]) -> SweepConfig:
    """Build a :class:`SweepConfig` from the ``[sweep]`` table of a TOML file (or an equivalent dict).

    The table is checked against the schema first: unknown keys and tables are errors with a "did you mean",
    values of the wrong type errors naming the key and the expected type, and a grid too large for memory is
    refused before any axis is built.
    """
    if not isinstance(d, Mapping):
        raise ParameterError(f"config: expected a table, got {_type_name(d)} [-]")
    s = _check_table(d["sweep"] if "sweep" in d else d, _SWEEP_SCHEMA, "sweep")
    if "sweep" in d:
        extra = [k for k in d if k != "sweep"]
        if extra:
            raise ParameterError(f"config: unknown top-level key {extra[0]!r}{_did_you_mean(extra[0], ['sweep'])};"
                                 " everything belongs in [sweep] [-]")
    raw_grid = s.get("grid", {})
    _check_names(raw_grid, "sweep.grid")
    _check_names(s.get("fixed", {}), "sweep.fixed")
    for k, v in s.get("fixed", {}).items():
        if not _is_number(v):
            raise ParameterError(f"config: sweep.fixed.{k} must be a number [{PARAMETER_UNITS[k]}], got "
                                 f"{_type_name(v)} {v!r}")
    lengths = {k: _axis_length(str(k), v) for k, v in raw_grid.items()}
    if lengths:
        _check_memory(math.prod(lengths.values()), len(s.get("metrics", SweepConfig.metrics)))
    grid = tuple((str(k), _axis(str(k), v)) for k, v in raw_grid.items())
    sample = None
    if "sample" in s:
        raw = _check_table(s["sample"], _SAMPLE_SCHEMA, "sweep.sample")
        ranges_raw = raw.get("ranges", {})
        _check_names(ranges_raw, "sweep.sample.ranges")
        ranges = {}
        for k, v in ranges_raw.items():
            unit = PARAMETER_UNITS[k]
            ok = isinstance(v, (list, tuple)) and len(v) in (2, 3) and all(_is_number(x) for x in v[:2]) and (
                len(v) == 2 or isinstance(v[2], str))
            if not ok:
                raise ParameterError(f"config: sweep.sample.ranges.{k} must be [low, high] or [low, high, \"log\"] "
                                     f"[{unit}], got {_type_name(v)} {v!r}")
            ranges[str(k)] = (float(v[0]), float(v[1]), str(v[2]) if len(v) > 2 else "linear")
        if not ranges:
            raise ParameterError("config: [sweep.sample.ranges] needs at least one parameter [-]")
        if "n" not in raw:
            raise ParameterError("config: sweep.sample.n is required (number of points) [1]")
        sample = {"method": raw.get("method", "lhs"), "n": raw["n"], "seed": raw.get("seed", 0), "ranges": ranges}
    return SweepConfig(circuit=s.get("circuit", "pearson_anson"), preset=s.get("preset", "vo2x"),
                       metrics=tuple(s.get("metrics", ("frequency_hz", "energy_per_spike_j", "oscillating"))),
                       grid=grid, sample=sample, fixed={str(k): float(v) for k, v in s.get("fixed", {}).items()},
                       chunk_size=s.get("chunk_size", 64), params_file=s.get("params_file"))


def _check_memory(n_points: int, n_metrics: int, sample_dims: int = 0) -> None:
    """Refuse a sweep whose store template (every metric, the status and the failure reason of every point, and
    a sample's coordinates) would exceed the memory budget of :mod:`vo2neuro.circuits.simulate`; the estimate
    is named. Checked from the axis lengths before any axis is built (one axis of 1e12 values is already 8 TB)."""
    from vo2neuro.circuits.simulate import MEMORY_FRACTION, memory_budget_bytes

    per_point = 8 * n_metrics + 1 + _REASON_BYTES + 24 * sample_dims
    need = float(n_points) * per_point
    if need > memory_budget_bytes():
        raise ParameterError(
            f"sweep: {float(n_points):.3g} points need ~{need / 2**30:.3g} GiB for the store template ({per_point} B "
            f"per point: metrics, status and failure reason), more than the budget of "
            f"{memory_budget_bytes() / 2**30:.3g} GiB ({MEMORY_FRACTION:.0%} of RAM); reduce the grid's num or "
            "the sample's n [1]")


def load_config(path: str | os.PathLike) -> SweepConfig:
    """Read a sweep TOML file (checked against the schema of :func:`config_from_dict`)."""
    import tomllib

    from vo2neuro._io import read_input_text

    p, text = read_input_text(path, "config", "TOML")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"config: {p} is not valid TOML ({exc})") from None
    if "sweep" not in data:
        keys = list(data)
        hint = _did_you_mean(keys[0], ["sweep"]) if keys else ""
        raise ParameterError(f"config: {p} has no [sweep] table{hint}; found: {', '.join(keys) or 'nothing'} [-]")
    return config_from_dict(data)


def sweep_points(cfg: SweepConfig) -> dict[str, np.ndarray]:
    """All points of the sweep, flattened in C order of the grid (or sample order): name -> (n_points,) [SI]."""
    if cfg.grid:
        axes = [np.asarray(v, dtype=float) for _, v in cfg.grid]
        mesh = np.meshgrid(*axes, indexing="ij")
        return {n: m.ravel() for (n, _), m in zip(cfg.grid, mesh)}
    s = cfg.sample
    assert s is not None
    rng = np.random.default_rng(int(s["seed"]))
    n = int(s["n"])
    names = list(s["ranges"])
    if s["method"] == "lhs":
        # Latin hypercube: one point in each of n equal strata per dimension, strata permuted independently
        u = (rng.permuted(np.tile(np.arange(n), (len(names), 1)), axis=1).T + rng.random((n, len(names)))) / n
    else:
        u = rng.random((n, len(names)))
    out = {}
    for j, name in enumerate(names):
        lo, hi, scale = s["ranges"][name]
        out[name] = np.exp(np.log(lo) + u[:, j] * (np.log(hi) - np.log(lo))) if scale == "log" else lo + u[:, j] * (hi - lo)
    return out


# ------------------------------------------------------------------------------------------------ evaluators
@dataclass(frozen=True)
class Evaluator:
    """A vectorised evaluator: ``fn(points, fixed, cfg) -> (metrics dict of (n,) arrays, reasons (n,) str)``."""

    fn: Callable[..., tuple[dict[str, np.ndarray], np.ndarray]]
    metrics: tuple[str, ...]
    description: str


def _selection(cfg: SweepConfig, delta: float | None = None):
    from vo2neuro.device.select import select

    if cfg.params_file:
        return select(params_file=cfg.params_file, delta=delta)
    return select(cfg.preset, delta=delta)


def _default_ambient(cfg: SweepConfig) -> float:
    """Bath temperature [K] of points that set none: the preset's or the parameter file's (device.select)."""
    from vo2neuro.device.select import ROOM_TEMPERATURE_K

    return ROOM_TEMPERATURE_K if cfg.preset == "pwl" and not cfg.params_file else _selection(cfg).ambient_k


def _device_for(cfg: SweepConfig, values: Mapping[str, float]):
    dev_fields = {k: v for k, v in values.items() if k in PARAMETER_UNITS and k not in CIRCUIT_PARAMETERS}
    delta = dev_fields.pop("delta", None)
    base = _selection(cfg, delta).params
    return dataclasses.replace(base, **dev_fields) if dev_fields else base


def _groups(points: Mapping[str, np.ndarray], fixed: Mapping[str, float], keys: Sequence[str]):
    """Group point indices by the values of ``keys`` (the device parameters), so each group is one kernel call."""
    n = len(next(iter(points.values())))
    cols = [np.asarray(points[k]) if k in points else np.full(n, fixed[k]) for k in keys]
    if not cols:
        yield {}, np.arange(n)
        return
    table = np.column_stack(cols)
    uniq, inv = np.unique(table, axis=0, return_inverse=True)
    for j, row in enumerate(uniq):
        yield dict(zip(keys, row.tolist())), np.nonzero(inv.ravel() == j)[0]


def _reason(exc: BaseException) -> str:
    """A point's failure reason as stored (``status`` 1): the error type and its one-line message."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:120]


def _eval_device(points, fixed, cfg):
    from vo2neuro.device import rt_loop, static_iv

    n = len(next(iter(points.values())))
    out = {m: np.full(n, np.nan) for m in cfg.metrics}
    reasons = np.full(n, "", dtype="<U120")
    dev_keys = [k for k in {**points, **fixed} if k not in CIRCUIT_PARAMETERS or k == "ambient"]
    for values, idx in _groups(points, fixed, dev_keys):
        try:
            dev = _device_for(cfg, values)
            amb = values.get("ambient", fixed.get("ambient", _default_ambient(cfg)))
            rec = {**static_iv(dev, ambient=amb).to_dict(), **rt_loop(dev).to_dict()}
            for m in cfg.metrics:
                out[m][idx] = float(rec[m])
        except (ParameterError, ValueError, FloatingPointError, ArithmeticError) as exc:
            reasons[idx] = _reason(exc)
    return out, reasons


_CIRCUIT_METRICS = ("frequency_hz", "oscillating", "n_spikes", "energy_per_spike_j", "device_energy_per_spike_j",
                    "load_energy_per_spike_j", "isi_cv", "mean_power_w")


def _circuit_device(cfg: SweepConfig, values: Mapping[str, float]):
    """Electro-thermal device of the point, or the PWL switch when ``preset == "pwl"``."""
    if cfg.preset == "pwl":
        from vo2neuro.circuits.params import PWLDeviceParams

        missing = [k for k in PWL_PARAMETERS if k not in values]
        if missing:
            raise ParameterError(f"preset pwl needs {', '.join(missing)} in [sweep.fixed] or the grid "
                                 f"[{', '.join(PWL_PARAMETERS[k] for k in missing)}]")
        return PWLDeviceParams(**{k: values[k] for k in PWL_PARAMETERS})
    return _device_for(cfg, values)


def _eval_circuit(drive: str):
    def fn(points, fixed, cfg):
        from vo2neuro.circuits.analysis import auto_duration
        from vo2neuro.circuits.simulate import simulate

        n = len(next(iter(points.values())))
        out = {m: np.full(n, np.nan) for m in cfg.metrics}
        reasons = np.full(n, "", dtype="<U120")
        src_name = "v_in" if drive == "voltage" else "i_in"

        def col(name: str, default: float | None = None) -> np.ndarray:
            if name in points:
                return np.asarray(points[name], dtype=float)
            if name in fixed:
                return np.full(n, float(fixed[name]))
            if default is None:
                raise ParameterError(f"{name} must be given in [sweep.fixed] or the grid [{PARAMETER_UNITS[name]}]")
            return np.full(n, default)

        def run(dev, idx: np.ndarray) -> None:
            """Simulate the points ``idx`` in one kernel call (``dev``: one device, or one per point)."""
            src = col(src_name)[idx]
            rl = col("r_load", math.inf if drive == "current" else None)[idx]
            cap = col("capacitance")[idx]
            amb = col("ambient", _default_ambient(cfg))[idx]
            if "duration" in points or "duration" in fixed:
                dur = float(np.max(col("duration")[idx]))
            else:
                dur = max(auto_duration(dev, drive=drive, source=float(s), r_load=float(r), capacitance=float(c),
                                        ambient=float(a)) for s, r, c, a in zip(src, rl, cap, amb))
            dt = float(np.min(col("dt")[idx])) if ("dt" in points or "dt" in fixed) else None
            kw = {"v_in": src} if drive == "voltage" else {"i_in": src}
            res = simulate(dev, drive=drive, r_load=rl, capacitance=cap, ambient=amb, duration=dur, dt=dt, **kw)
            for m in cfg.metrics:
                if m == "mean_power_w":
                    out[m][idx] = res.source_energy_j / res.duration_s
                else:
                    out[m][idx] = np.asarray(getattr(res, m), dtype=float)

        errors = (ParameterError, ValueError, FloatingPointError, ArithmeticError)
        circuit_keys = set(CIRCUIT_PARAMETERS)
        dev_keys = [k for k in {**points, **fixed} if k not in circuit_keys]
        built = []
        for values, idx in _groups(points, fixed, dev_keys):
            try:
                built.append((_circuit_device(cfg, values), idx))
            except errors as exc:
                reasons[idx] = _reason(exc)
        fixed_duration = "duration" in points or "duration" in fixed
        if cfg.preset != "pwl" and fixed_duration and len(built) > 1:
            # the whole chunk in one kernel call, a device per point (full SIMD blocks instead of one padded
            # block per device group); on a failure the groups run apart so only the failing points are lost
            idx_all = np.concatenate([idx for _, idx in built])
            try:
                run(tuple(dev for dev, idx in built for _ in idx), idx_all)
                return out, reasons
            except errors:
                pass
        for dev, idx in built:
            try:
                run(dev, idx)
            except errors as exc:
                if len(idx) == 1:
                    reasons[idx] = _reason(exc)
                    continue
                # one impossible value must not cost the points it shares a kernel call with: those run one by
                # one, so only the failing points carry NaN and their own reason
                for j in idx:
                    try:
                        run(dev, idx[j == idx])
                    except errors as exc_j:
                        reasons[j] = _reason(exc_j)
        return out, reasons

    return fn


EVALUATORS: dict[str, Evaluator] = {
    "device": Evaluator(_eval_device, ("v_th_v", "v_h_v", "i_th_a", "i_h_a", "t_th_k", "t_h_k", "t_imt_heating_k",
                                       "t_imt_cooling_k", "r_insulating_300k_ohm", "r_metallic_ohm"),
                        "steady-state device figures (static I-V and R-T loop)"),
    "pearson_anson": Evaluator(_eval_circuit("voltage"), _CIRCUIT_METRICS,
                               "V_in through R_L into device || C (relaxation oscillator)"),
    "current_driven": Evaluator(_eval_circuit("current"), _CIRCUIT_METRICS, "I_in into device || C"),
}


def evaluate_points(cfg: SweepConfig, points: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Evaluate one chunk of points (the unit of work of a task); failures become NaN plus a reason."""
    try:
        import numba

        numba.set_num_threads(1)  # one task per core: no oversubscription inside Dask workers
    except (ImportError, ValueError):
        pass
    ev = EVALUATORS[cfg.circuit]
    metrics, reasons = ev.fn(points, cfg.fixed, cfg)
    return {m: np.asarray(metrics[m], dtype=float) for m in cfg.metrics}, reasons


# ------------------------------------------------------------------------------------------------ store
@dataclass(frozen=True)
class SweepResult:
    """Outcome of :func:`run_sweep`: store path, points, chunks computed now / before, failures, wall time of the
    computation [s] (a Dask cluster's start-up and the workers' warm-up, imports and kernel cache, excluded) and
    points per second."""

    store: str
    n_points: int
    n_chunks: int
    chunks_computed: int
    chunks_skipped: int
    n_failed: int
    wall_time_s: float
    points_per_s: float
    workers: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _layout(cfg: SweepConfig) -> tuple[list[str], list[int], str, int]:
    """Dims, shape, the dimension chunked into tasks and the task length along it."""
    if cfg.grid:
        dims = [n for n, _ in cfg.grid]
        shape = [len(v) for _, v in cfg.grid]
        k = int(np.argmax(shape))
        inner = int(np.prod(shape)) // shape[k]
        return dims, shape, dims[k], max(1, cfg.chunk_size // max(inner, 1))
    return ["sample"], [cfg.n_points], "sample", cfg.chunk_size


def _template(cfg: SweepConfig):
    import xarray as xr

    dims, shape, cdim, clen = _layout(cfg)
    coords: dict[str, Any] = {}
    if cfg.grid:
        for (n, v) in cfg.grid:
            coords[n] = xr.Variable((n,), np.asarray(v), attrs={"units": PARAMETER_UNITS[n]})
    else:
        pts = sweep_points(cfg)
        coords["sample"] = np.arange(cfg.n_points)
        for n, v in pts.items():
            coords[n] = xr.Variable(("sample",), v, attrs={"units": PARAMETER_UNITS[n]})
    data = {m: xr.Variable(dims, np.full(shape, np.nan), attrs={"units": METRIC_UNITS.get(m, "")}) for m in cfg.metrics}
    data["status"] = xr.Variable(dims, np.full(shape, -1, dtype=np.int8),
                                 attrs={"flag_values": "-1 0 1", "flag_meanings": "not_computed ok failed"})
    data["reason"] = xr.Variable(dims, np.full(shape, "", dtype="<U120"), attrs={"doc": "why a point failed"})
    n_chunks = math.ceil(shape[dims.index(cdim)] / clen)
    data["chunk_done"] = xr.Variable(("chunk",), np.zeros(n_chunks, dtype=np.int8))
    attrs = {"config": json.dumps(cfg.to_dict()), "fingerprint": cfg.fingerprint(), "chunk_dim": cdim,
             "chunk_len": clen, "fixed": json.dumps(cfg.fixed), "fixed_units": json.dumps(
                 {k: PARAMETER_UNITS[k] for k in cfg.fixed}), "created_by": "vo2neuro sweep"}
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    enc = {}
    for name in [*cfg.metrics, "status", "reason"]:
        enc[name] = {"chunks": tuple(clen if d == cdim else s for d, s in zip(dims, shape))}
    enc["chunk_done"] = {"chunks": (1,)}
    return ds, enc, dims, shape, cdim, clen, n_chunks


def _chunk_points(cfg: SweepConfig, dims, shape, cdim, clen, i: int) -> tuple[dict[str, np.ndarray], tuple[slice, ...]]:
    sl = tuple(slice(i * clen, min((i + 1) * clen, s)) if d == cdim else slice(0, s) for d, s in zip(dims, shape))
    if cfg.grid:
        axes = [np.asarray(v, dtype=float)[s] for (_, v), s in zip(cfg.grid, sl)]
        mesh = np.meshgrid(*axes, indexing="ij")
        return {n: m.ravel() for (n, _), m in zip(cfg.grid, mesh)}, sl
    pts = sweep_points(cfg)
    return {n: v[sl[0]] for n, v in pts.items()}, sl


def _from_plain(d: dict[str, Any]) -> SweepConfig:
    """Inverse of :meth:`SweepConfig.to_dict` (plain JSON types, as sent to Dask workers)."""
    sample = None
    if d.get("sample"):
        sample = {**d["sample"], "ranges": {k: tuple(v) for k, v in d["sample"]["ranges"].items()}}
    return SweepConfig(circuit=d["circuit"], preset=d["preset"], metrics=tuple(d["metrics"]),
                       grid=tuple((k, tuple(v)) for k, v in d["grid"].items()), sample=sample,
                       fixed=dict(d["fixed"]), chunk_size=int(d["chunk_size"]), params_file=d.get("params_file"))


def _task(cfg_plain: dict[str, Any], i: int):
    """Worker entry point (module-level so Dask can pickle it by reference): evaluate chunk ``i``."""
    cfg = _from_plain(cfg_plain)
    dims, shape, cdim, clen = _layout(cfg)
    pts, sl = _chunk_points(cfg, dims, shape, cdim, clen, i)
    metrics, reasons = evaluate_points(cfg, pts)
    sub_shape = tuple(x.stop - x.start for x in sl)
    return i, {m: v.reshape(sub_shape) for m, v in metrics.items()}, reasons.reshape(sub_shape)


def _warm_worker(cfg_plain: dict[str, Any]) -> bool:
    """Import the evaluator and load its compiled kernels from the cache in this worker (the first points of
    chunk 0, results discarded; as many as make the population kernels take their parallel build, whose first
    call also starts the threading layer), so that the first real chunk does not pay seconds of start-up;
    failures are ignored here (the real chunk records them)."""
    from vo2neuro.circuits._kernels import SERIAL_MAX_N

    cfg = _from_plain(cfg_plain)
    dims, shape, cdim, clen = _layout(cfg)
    pts = _chunk_points(cfg, dims, shape, cdim, clen, 0)[0]
    evaluate_points(cfg, {k: v[:SERIAL_MAX_N] for k, v in pts.items()})
    return True


def _task_write(cfg_plain: dict[str, Any], i: int, store: str) -> tuple[int, int]:
    """Worker entry point that also writes its chunk into the store (disjoint chunk files, atomic writes), so the
    driver is not a serial bottleneck; returns (chunk, failed points). Needs the store on a filesystem the workers
    share with the driver (always true for the local cluster)."""
    cfg = _from_plain(cfg_plain)
    _, metrics, reasons = _task(cfg_plain, i)
    dims, shape, cdim, clen = _layout(cfg)
    sl = _chunk_points(cfg, dims, shape, cdim, clen, i)[1]
    return i, _write_chunk(Path(store), sl, i, metrics, reasons)


def _open_or_create(cfg: SweepConfig, store: Path, resume: bool):
    import xarray as xr

    ds, enc, dims, shape, cdim, clen, n_chunks = _template(cfg)
    if store.exists():
        if not resume:
            raise ParameterError(f"out: store {store} exists; pass --resume to continue it or choose another path")
        if not store.is_dir():
            raise ParameterError(f"out: {store} is a file, not a sweep store; choose another path")
        try:
            old = xr.open_zarr(store)
        except Exception as exc:  # noqa: BLE001 - zarr/xarray raise many types for a damaged or foreign folder
            raise ParameterError(f"out: {store} exists but is not a readable sweep store ({type(exc).__name__}); "
                                 "choose another path") from None
        if old.attrs.get("fingerprint") != cfg.fingerprint():
            raise ParameterError(f"out: store {store} was written by a different sweep configuration; "
                                 "use a new path")
        done = np.asarray(old["chunk_done"].values, dtype=bool)
        return dims, shape, cdim, clen, n_chunks, done
    tmp = store.with_name(store.name + ".creating")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    # metadata is consolidated once here; region writes never change it, so it stays valid
    ds.to_zarr(tmp, mode="w", compute=True, encoding=enc, zarr_format=2, consolidated=True)
    os.replace(tmp, store)  # the store appears only once its metadata and fill values are complete
    return dims, shape, cdim, clen, n_chunks, np.zeros(n_chunks, dtype=bool)


def _write_chunk(store: Path, sl: tuple[slice, ...], i: int, metrics, reasons) -> int:
    """Write chunk ``i`` (its own Zarr chunk files: tasks never share one), then mark it done; returns the number
    of failed points. Written through zarr directly: the arrays were laid out by xarray when the store was
    created (float metrics without CF encoding, int8 status, fixed-width unicode reasons), so no encoding is
    needed, and opening the group once costs a fraction of two ``Dataset.to_zarr(region=...)`` calls."""
    import zarr

    failed = np.array([bool(r) for r in reasons.ravel()]).reshape(reasons.shape)
    group = zarr.open_group(str(store), mode="r+", zarr_format=2)
    for m, v in metrics.items():
        group[m][sl] = np.asarray(v, dtype=float)
    group["status"][sl] = np.where(failed, 1, 0).astype(np.int8)
    group["reason"][sl] = reasons.astype("<U120")
    group["chunk_done"][i] = 1   # last: a chunk counts as done only once its data is in the store
    return int(failed.sum())


def run_sweep(cfg: SweepConfig, out: str | os.PathLike, *, scheduler: str | None = None, workers: int | None = None,
              resume: bool = False, progress: bool = True, max_chunks: int | None = None) -> SweepResult:
    """Run (or resume) a sweep into the Zarr store ``out``.

    Parameters
    ----------
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``); default a local cluster.
    workers : int, optional
        Workers of the local cluster (default: the machine's cores), one thread each. ``0`` runs in-process.
    resume : bool
        Continue an existing store of the same configuration, computing only missing chunks.
    max_chunks : int, optional
        Stop after this many chunks (for tests of interruption).
    """
    store = Path(out)
    dims, shape, cdim, clen, n_chunks, done = _open_or_create(cfg, store, resume)
    todo = [i for i in range(n_chunks) if not done[i]]
    if max_chunks is not None:
        todo = todo[:max_chunks]
    n_workers = os.cpu_count() or 1 if workers is None else int(workers)
    t0 = time.perf_counter()  # reset below once a cluster is up: start-up is not part of the throughput
    n_failed = 0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="sweep", unit="chunk", file=sys.stderr)
    cfg_plain = json.loads(json.dumps(cfg.to_dict()))
    if n_workers == 0 and scheduler is None:
        for i in todo:
            _, metrics, reasons = _task(cfg_plain, i)
            pts_sl = _chunk_points(cfg, dims, shape, cdim, clen, i)[1]
            n_failed += _write_chunk(store, pts_sl, i, metrics, reasons)
            if bar:
                bar.update(1)
    else:
        from dask.distributed import Client, LocalCluster, as_completed

        cluster = None
        if scheduler:
            client = Client(scheduler)
        else:
            cluster = LocalCluster(n_workers=max(n_workers, 1), threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=40)
            client = Client(cluster)
        try:
            if todo:
                client.run(_warm_worker, cfg_plain)   # imports and kernel cache: start-up, not throughput
            t0 = time.perf_counter()
            if cluster is not None:
                # local cluster: the workers write their own chunks (same filesystem)
                futures = [client.submit(_task_write, cfg_plain, i, str(store.resolve()), pure=False) for i in todo]
                for fut in as_completed(futures):
                    _, nf = fut.result()
                    n_failed += nf
                    if bar:
                        bar.update(1)
            else:
                # external scheduler: workers may not see this filesystem, so results come back to the driver
                futures = [client.submit(_task, cfg_plain, i, pure=False) for i in todo]
                for fut in as_completed(futures):
                    i, metrics, reasons = fut.result()
                    sl = _chunk_points(cfg, dims, shape, cdim, clen, i)[1]
                    n_failed += _write_chunk(store, sl, i, metrics, reasons)
                    if bar:
                        bar.update(1)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    if bar:
        bar.close()
    wall = time.perf_counter() - t0
    n_pts = sum(int(np.prod([s.stop - s.start for s in _chunk_points(cfg, dims, shape, cdim, clen, i)[1]]))
                for i in todo)
    return SweepResult(store=str(store), n_points=cfg.n_points, n_chunks=n_chunks, chunks_computed=len(todo),
                       chunks_skipped=n_chunks - len(todo) if max_chunks is None else int(done.sum()),
                       n_failed=n_failed, wall_time_s=wall, points_per_s=n_pts / wall if wall > 0 else math.inf,
                       workers=n_workers)
