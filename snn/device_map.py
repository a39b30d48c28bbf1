r"""The network neuron as a differentiable function of the vacancy level delta, fitted to circuit simulations.

:func:`vo2neuro.snn.circuit_neuron.neuron_from_circuit` derives the network neuron of one film from circuit
simulations (f-I curve of the relaxation oscillator, fitted rate function). That derivation is a numerical
procedure with no gradient. :func:`fit_neuron_map` runs it on a grid of vacancy levels ``delta_k`` (same preset,
same network circuit, same bath temperature) and interpolates each neuron quantity between the grid points with a
shape-preserving piecewise cubic (PCHIP; Fritsch & Carlson, SIAM J. Numer. Anal. 17, 238 (1980)), which neither
overshoots nor oscillates where a quantity changes regime (the vo2 film's metallic-phase reset jumps between
delta 0.018 and 0.020). :meth:`NeuronMap.torch_params` evaluates the same cubic pieces in torch, so that a
training loss can be differentiated with respect to delta.

The interpolated quantities are those the network neuron depends on in its normalised form (input ``x`` in
rheobase units, membrane ``u = (v - v_bias)/(v_th - v_bias)``, threshold 1)::

    u_{t+1} = a u_t + (1 - a) x_t,   a = exp(-dt/tau),   spike when u >= 1,   reset to u_h,
    u_h = (v_h - v_bias)/(v_th - v_bias),   latch (no spikes) for x >= m = i_max / I_rh,
    n_ref = round(t_ref/dt) refractory steps,

namely ``log tau``, ``log dt``, ``log t_ref``, ``u_h``, ``log m``, plus the circuit's supply energy per spike
``log E_spike`` [J] and ``log f_max`` [Hz] for the energy and latency terms of a co-design objective. Logarithms
keep the positive quantities positive between grid points.

The allowed range is ``[0, delta_hi]``: from the pristine film up to the largest vacancy level whose circuit
still oscillates (found by bisection to ``resolution``), never above :data:`vo2neuro.device.vacancy.DELTA_MAX`.
"""
from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from vo2neuro.units import ParameterError

__all__ = ["NeuronMap", "fit_neuron_map", "MAP_QUANTITIES"]

#: Interpolated quantities: name -> (unit, True when interpolated in log space).
MAP_QUANTITIES: dict[str, tuple[str, bool]] = {
    "tau": ("s", True), "dt": ("s", True), "t_ref": ("s", True), "u_h": ("1", False), "m": ("1", True),
    "energy_per_spike": ("J", True), "f_max": ("Hz", True),
}


def _row(cn) -> dict[str, float]:
    p = cn.params
    span = p.v_th - p.v_bias
    return {"tau": p.tau, "dt": p.dt, "t_ref": p.t_ref, "u_h": (p.v_h - p.v_bias) / span,
            "m": p.i_max / p.rheobase, "energy_per_spike": cn.energy_per_spike_j, "f_max": cn.f_max_hz}


@dataclass(frozen=True)
class NeuronMap:
    """Neuron quantities against delta: the grid, the circuit values there and their PCHIP pieces.

    Attributes
    ----------
    preset : str
        Device preset of the pristine film.
    ambient_k : float
        Bath temperature of the circuits [K].
    deltas : numpy.ndarray, shape ``[K]``
        Grid of vacancy levels, increasing [-]; ``deltas[-1]`` is ``delta_hi``.
    values : dict of numpy.ndarray, shape ``[K]``
        The circuit-derived quantity at each grid point (units in :data:`MAP_QUANTITIES`).
    coefficients : dict of numpy.ndarray, shape ``[4, K-1]``
        PCHIP coefficients per piece (of the log for log quantities), highest power first.
    """

    preset: str
    ambient_k: float
    deltas: np.ndarray = field(repr=False)
    values: dict[str, np.ndarray] = field(repr=False)
    coefficients: dict[str, np.ndarray] = field(repr=False)

    @property
    def delta_range(self) -> tuple[float, float]:
        """Allowed vacancy levels ``(0, delta_hi)`` [-]."""
        return float(self.deltas[0]), float(self.deltas[-1])

    def _check(self, delta: float) -> None:
        lo, hi = self.delta_range
        if not (math.isfinite(delta) and lo - 1e-12 <= delta <= hi + 1e-12):
            raise ParameterError(f"delta must be in [{lo:g}, {hi:g}] (the range whose circuit oscillates) [-], "
                                 f"got {delta!r}")

    def at(self, delta: float) -> dict[str, float]:
        """Every quantity at ``delta`` (NumPy; units in :data:`MAP_QUANTITIES`)."""
        self._check(float(delta))
        k = int(np.clip(np.searchsorted(self.deltas, delta, side="right") - 1, 0, len(self.deltas) - 2))
        t = float(delta) - float(self.deltas[k])
        out = {}
        for name, (_, log) in MAP_QUANTITIES.items():
            c = self.coefficients[name][:, k]
            y = ((c[0] * t + c[1]) * t + c[2]) * t + c[3]
            out[name] = math.exp(y) if log else y
        return out

    def torch_params(self, delta) -> dict[str, Any]:
        """Every quantity at the scalar tensor ``delta``, differentiable with respect to it.

        The piece is chosen without gradient; within a piece the cubic is evaluated in torch (float64 pieces,
        cast to ``delta``'s dtype). The derivative is that of the interpolant, continuous across grid points
        (PCHIP is C1).
        """
        import torch

        d = float(delta.detach())
        self._check(d)
        k = int(np.clip(np.searchsorted(self.deltas, d, side="right") - 1, 0, len(self.deltas) - 2))
        t = delta - float(self.deltas[k])
        out = {}
        for name, (_, log) in MAP_QUANTITIES.items():
            c = [float(v) for v in self.coefficients[name][:, k]]
            y = ((c[0] * t + c[1]) * t + c[2]) * t + c[3]
            out[name] = torch.exp(y) if log else y
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"preset": self.preset, "ambient_k": self.ambient_k, "deltas": self.deltas.tolist(),
                "values": {k: v.tolist() for k, v in self.values.items()},
                "units": {k: u for k, (u, _) in MAP_QUANTITIES.items()}}

    @classmethod
    def from_dict(cls, d: Any, *, where: str = "map") -> "NeuronMap":
        """Rebuild a map from :meth:`to_dict` (the circuit values; the PCHIP pieces are recomputed, so the map is
        the same function); a malformed record is a one-line ParameterError naming ``where``."""
        try:
            deltas = np.asarray(d["deltas"], float)
            values = {k: np.asarray(d["values"][k], float) for k in MAP_QUANTITIES}
            preset, ambient = str(d["preset"]), float(d["ambient_k"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ParameterError(f"{where}: not a neuron map ({type(exc).__name__}: {exc}) [-]") from None
        if (deltas.ndim != 1 or len(deltas) < 3 or np.any(np.diff(deltas) <= 0)
                or any(v.shape != deltas.shape or not np.all(np.isfinite(v)) for v in values.values())
                or any(np.any(values[k] <= 0) for k, (_, log) in MAP_QUANTITIES.items() if log)):
            raise ParameterError(f"{where}: the map's grid or values are not consistent [-]")
        return _build(preset, ambient, deltas, values)


def _oscillates(preset: str, delta: float, ambient: float | None):
    from vo2neuro.device.select import select
    from vo2neuro.snn.presets import circuit_neuron_for_device

    sel = select(preset, delta=delta, ambient=ambient)
    try:
        return circuit_neuron_for_device(sel.params, sel.ambient_k), sel.ambient_k
    except ParameterError:
        return None, sel.ambient_k


def _window_exists(preset: str, delta: float, ambient: float | None) -> bool:
    """Whether the film's circuit has an oscillation window (the cheap half of a neuron derivation)."""
    from vo2neuro.circuits import oscillation_window
    from vo2neuro.device.select import select
    from vo2neuro.snn.circuit_neuron import NETWORK_CIRCUIT

    sel = select(preset, delta=delta, ambient=ambient)
    # existence is decided by the bracketing run alone; refining the edges would not change it
    win = oscillation_window(sel.params, drive="current", r_load=NETWORK_CIRCUIT["r_load"],
                             capacitance=NETWORK_CIRCUIT["capacitance"], ambient=sel.ambient_k, n_refine=0)
    return math.isfinite(win.lower) and math.isfinite(win.upper)


def fit_neuron_map(preset: str = "vo2", *, n_points: int = 9, delta_max: float | None = None,
                   ambient: float | None = None, resolution: float = 2.5e-4,
                   deltas: Sequence[float] | None = None) -> NeuronMap:
    """Derive the network neuron at a grid of vacancy levels and fit the interpolating map.

    Parameters
    ----------
    preset : str
        Pristine film (``vo2neuro presets``; its delta must be 0).
    n_points : int
        Grid points, evenly spaced over ``[0, delta_hi]`` (>= 3). Each costs one neuron derivation (about a
        second); ``delta_hi`` is bisected on the cheaper oscillation-window test.
    delta_max : float, optional
        Upper end to search [-] (default :data:`~vo2neuro.device.vacancy.DELTA_MAX`).
    ambient : float, optional
        Bath temperature [K] (default: the preset's).
    resolution : float
        Bisection resolution of ``delta_hi``, the last vacancy level whose circuit oscillates [-].
    deltas : sequence of float, optional
        Explicit increasing grid instead (every point must oscillate).

    Returns
    -------
    NeuronMap

    Raises
    ------
    ParameterError
        Unknown preset, a preset that is not pristine, a grid with too few points, or a pristine film that does
        not oscillate in the network circuit.
    """
    from vo2neuro.device import get_parameters
    from vo2neuro.device.vacancy import DELTA_MAX

    base = get_parameters(preset)  # ParameterError lists the valid names
    if base.delta != 0.0:
        raise ParameterError(f"preset: {preset!r} is not a pristine film (delta = {base.delta:g}); the map needs "
                             "delta = 0 at its origin [-]")
    if deltas is None:
        if isinstance(n_points, bool) or int(n_points) != n_points or n_points < 3:
            raise ParameterError(f"n_points must be a whole number >= 3 [1], got {n_points!r}")
        top = DELTA_MAX if delta_max is None else float(delta_max)
        if not 0.0 < top <= DELTA_MAX:
            raise ParameterError(f"delta_max must be in (0, {DELTA_MAX:g}] [-], got {delta_max!r}")
        cn0, amb = _oscillates(preset, 0.0, ambient)
        if cn0 is None:
            raise ParameterError(f"preset: {preset!r} does not oscillate in the network circuit at delta 0 [-]")
        lo, hi = 0.0, top
        if not _window_exists(preset, hi, ambient):
            while hi - lo > resolution:
                mid = 0.5 * (lo + hi)
                if _window_exists(preset, mid, ambient):
                    lo = mid
                else:
                    hi = mid
            top = lo
        # a window can exist with too few oscillating calibration points for a neuron: step down to one that has
        while top > 0 and _oscillates(preset, top, ambient)[0] is None:
            top = max(top - resolution, 0.0)
        if top < (n_points - 1) * 1e-5:
            raise ParameterError(f"preset: {preset!r} oscillates in the network circuit only up to delta {top:g}; "
                                 "too narrow a range for a map [-]")
        grid = np.linspace(0.0, top, int(n_points))
    else:
        grid = np.asarray(deltas, float)
        if grid.ndim != 1 or len(grid) < 3 or np.any(np.diff(grid) <= 0):
            raise ParameterError("deltas must be >= 3 increasing vacancy levels [-]")
    # the derivations are independent and their small simulations run serial kernels that release the GIL
    with ThreadPoolExecutor(max_workers=max(1, min(len(grid), os.cpu_count() or 1))) as pool:
        derived = list(pool.map(lambda d: _oscillates(preset, float(d), ambient), grid))
    rows = []
    for d, (cn, amb) in zip(grid, derived):
        if cn is None:
            raise ParameterError(f"deltas: the circuit of {preset!r} at delta {d:g} does not oscillate [-]")
        rows.append(_row(cn))
    values = {k: np.array([r[k] for r in rows]) for k in MAP_QUANTITIES}
    return _build(preset, float(amb), grid, values)


def _build(preset: str, ambient: float, grid: np.ndarray, values: dict[str, np.ndarray]) -> NeuronMap:
    from scipy.interpolate import PchipInterpolator

    coef = {k: PchipInterpolator(grid, np.log(values[k]) if log else values[k]).c
            for k, (_, log) in MAP_QUANTITIES.items()}
    return NeuronMap(preset=preset, ambient_k=ambient, deltas=grid, values=values, coefficients=coef)
