"""Time-domain simulation of a single VO2 device (electro-thermal dynamics with hysteresis memory).

The circuit around the device here is only what a measurement needs: a voltage source with a series resistor
or an ideal current source, no capacitance. Oscillator circuits live in :mod:`vo2neuro.circuits`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from vo2neuro.units import ParameterError, check_nonnegative, check_positive
from vo2neuro.device import _kernels as K
from vo2neuro.device.params import VO2DeviceParams

__all__ = ["DeviceState", "DeviceTrace", "initial_state", "simulate_device", "step"]

_DRIVES = ("voltage", "current")


class DeviceState(NamedTuple):
    """Explicit state of one device: temperature [K] and hysteresis memory (see ``_kernels.HystState``)."""

    T: float
    hyst: K.HystState


@dataclass(frozen=True)
class DeviceTrace:
    """Sampled device transient (all arrays of shape (n_steps,), sampled at the start of each step).

    Attributes
    ----------
    t : time [s]
    T : device temperature [K]
    R : device resistance [Ohm]
    V : device voltage [V]
    I : device current [A]
    final : state after the last step (feed it back in to continue)
    """

    t: np.ndarray
    T: np.ndarray
    R: np.ndarray
    V: np.ndarray
    I: np.ndarray
    final: DeviceState


def initial_state(params: VO2DeviceParams, T0: float, *, branch: str = "heating") -> DeviceState:
    """A device at rest at T0 [K] on the ``heating`` (insulating side) or ``cooling`` major branch."""
    check_positive("T0", T0, "K")
    if branch not in ("heating", "cooling"):
        raise ParameterError(f"branch: {branch!r} is not valid; valid: cooling, heating")
    p = params.to_kernel()
    return DeviceState(float(T0), K.hyst_init(float(T0), 1.0 if branch == "heating" else -1.0, p))


def step(state: DeviceState, power_w: float, params: VO2DeviceParams, *, ambient: float, dt: float,
         xi: float = 0.0) -> DeviceState:
    r"""One explicit-state step of the thermal node: ``step(state, P, params) -> new_state``.

    .. math:: C_{th}\,\dot T = P - S_e (T - T_0) + \sigma\,\eta(t)

    integrated exactly for P frozen over ``dt`` [s], followed by the hysteresis-memory update.
    ``xi`` is the standard-normal noise sample of this step (ignored when ``thermal_noise`` is 0).
    """
    p = params.to_kernel()
    T = K.thermal_step(state.T, float(power_w), float(ambient), float(dt), float(xi), p)
    return DeviceState(T, K.hyst_update(T, state.hyst, p))


def _as_samples(drive: float | np.ndarray | Callable[[np.ndarray], np.ndarray], t: np.ndarray, name: str,
                unit: str) -> np.ndarray:
    if callable(drive):
        values = np.asarray(drive(t), dtype=float)
        if values.shape == ():
            values = np.full_like(t, float(values))
    else:
        values = np.asarray(drive, dtype=float)
        if values.ndim == 0:
            values = np.full_like(t, float(values))
    if values.shape != t.shape:
        raise ParameterError(f"{name}: expected {t.shape[0]} samples [{unit}], got shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ParameterError(f"{name}: drive contains non-finite values [{unit}]")
    return values


def simulate_device(params: VO2DeviceParams, drive, *, duration: float, dt: float, ambient: float,
                    mode: str = "voltage", r_series: float = 0.0, state: DeviceState | None = None,
                    seed: int = 0) -> DeviceTrace:
    r"""Integrate the lumped electro-thermal device under a voltage or current drive.

    .. math::
        C_{th}\,\dot T = V^2/R(T, H) - S_e (T - T_0) + \sigma\eta(t), \qquad
        V = V_{src} \frac{R}{R + R_s} \ (\text{voltage}), \quad V = I_{src} R \ (\text{current})

    Exponential integration of T with the Joule power frozen over each step (first order in ``dt``; keep
    ``dt`` below ~1 % of ``C_th/S_e`` near switching), then the de Almeida reversal update.

    Parameters
    ----------
    params : VO2DeviceParams
    drive : float, array of shape (n,), or callable ``t [s] -> value``
        Source voltage [V] (``mode="voltage"``) or current [A] (``mode="current"``).
    duration, dt : float
        Simulated time and step [s]; ``n = round(duration/dt)`` steps.
    ambient : float
        Bath temperature T_0 [K].
    mode : {"voltage", "current"}
    r_series : float
        Series resistor of the voltage drive [Ohm] (0: ideal source).
    state : DeviceState, optional
        Initial state (default: at rest at ``ambient`` on the heating branch).
    seed : int
        Seed of the thermal-noise stream (used only when ``params.thermal_noise > 0``).

    Returns
    -------
    DeviceTrace

    References
    ----------
    Zhang et al. 2024 (Nat. Commun.); de Almeida et al. 2002 (Opt. Eng. 41, 2582).

    Examples
    --------
    >>> from vo2neuro.device import get_parameters
    >>> tr = simulate_device(get_parameters("zhang2024"), 2.0, duration=1e-6, dt=1e-9, ambient=325.0)
    >>> bool(tr.T[-1] > 325.0)
    True
    """
    check_positive("duration", duration, "s")
    check_positive("dt", dt, "s")
    check_positive("ambient", ambient, "K")
    check_nonnegative("r_series", r_series, "Ohm")
    if mode not in _DRIVES:
        raise ParameterError(f"mode: {mode!r} is not valid; valid: {', '.join(_DRIVES)}")
    n = int(round(duration / dt))
    if n < 1:
        raise ParameterError(f"duration must be at least one step dt={dt} [s], got {duration}")
    t = np.arange(n) * dt
    src = _as_samples(drive, t, "drive", "V" if mode == "voltage" else "A")
    st = state if state is not None else initial_state(params, ambient)
    p = params.to_kernel()
    T = np.empty(n)
    R = np.empty(n)
    V = np.empty(n)
    seed_u = np.uint64(int(seed) & 0xFFFFFFFFFFFFFFFF)
    if mode == "voltage":
        I = np.empty(n)
        T_end, h = K.series_transient(float(dt), src, float(r_series), float(ambient), float(st.T), st.hyst, p, seed_u,
                               T, R, V, I)
    else:
        T_end, h = K.current_transient(float(dt), src, float(ambient), float(st.T), st.hyst, p, seed_u, T, R, V)
        I = src.copy()
    return DeviceTrace(t=t, T=T, R=R, V=V, I=I, final=DeviceState(T_end, h))
