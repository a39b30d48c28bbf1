"""Batched simulation of Pearson-Anson oscillators and current-driven VO2 neurons.

``simulate(device, ...)`` integrates N independent neurons (per-neuron drive, load, capacitance, ambient and
device variability) in one Numba call and returns a :class:`SimulationResult` with per-neuron frequency,
ISI CV, energies per spike, effective thresholds and, optionally, traces of a few neurons. ``step(state, inputs,
params)`` advances an explicit :class:`NeuronState` by one step (used by the SNN side).

Time step rule (when ``dt`` is not given)::

    electro-thermal:  dt = 0.02 min( C (R_L || R_m), C_th / S_e )        (C R_m for an ideal current source)
    PWL switch:       dt = 0.02 min( C (R_L || R_on), C (R_L || R_off) ) (only sets trace / drive resolution:
                                                                           switching events are exact)

The electro-thermal integrator is second order in dt (mid-step R from the extrapolated temperature); the
zhang2024 oscillator frequency changes by < 5e-4 between this dt and dt/16 (tests/regression).
"""
from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import numpy as np

from vo2neuro.units import ParameterError, check_nonnegative, check_positive
from vo2neuro.circuits import _kernels as CK
from vo2neuro.circuits.params import CircuitParams, PWLDeviceParams, Variability, check_drive
from vo2neuro.circuits.results import NeuronResult, SimulationResult, Trace
from vo2neuro.device.params import DeviceKernelParams, VO2DeviceParams

__all__ = ["simulate", "simulate_circuit", "SimulationResult", "NeuronResult", "Trace", "PiecewiseDrive",
           "NeuronState", "StepInputs", "initial_state", "step", "default_dt", "resolve_device", "DEVICE_MODELS",
           "device_model", "make_device", "check_work", "check_neurons", "memory_budget_bytes",
           "ET_NEURON_STEPS_PER_S", "MAX_NEURON_STEPS", "MAX_STEPS", "MEMORY_FRACTION", "BYTES_PER_NEURON",
           "DEVICE_SWEEP_BYTES_PER_STEP", "PROGRESS_AFTER_S"]

#: Device models the circuits accept: name -> parameter class.
DEVICE_MODELS = {"electrothermal": VO2DeviceParams, "pwl": PWLDeviceParams}

#: Default node-voltage hysteresis of the spike detector (electro-thermal device) [V].
DV_DETECT = 0.01


def device_model(device: object) -> str:
    """Model name of a parameter record (``electrothermal`` or ``pwl``); a per-neuron tuple of electro-thermal
    records (:func:`resolve_device`) is ``electrothermal``."""
    if isinstance(device, tuple) and device and all(isinstance(d, VO2DeviceParams) for d in device):
        return "electrothermal"
    for name, cls in DEVICE_MODELS.items():
        if isinstance(device, cls):
            return name
    raise ParameterError(f"device: expected a parameter record of one of the models "
                         f"{', '.join(DEVICE_MODELS)}, got {type(device).__name__}")


def make_device(model: str, **fields: object) -> VO2DeviceParams | PWLDeviceParams:
    """Parameters of device ``model`` from keyword fields; unknown model names list the valid ones."""
    if model not in DEVICE_MODELS:
        raise ParameterError(f"model: unknown device model {model!r}; valid: {', '.join(DEVICE_MODELS)}")
    return DEVICE_MODELS[model](**fields)  # type: ignore[arg-type]


def resolve_device(device: str | VO2DeviceParams | PWLDeviceParams | Sequence[VO2DeviceParams]
                   ) -> VO2DeviceParams | PWLDeviceParams | tuple[VO2DeviceParams, ...]:
    """A parameter record from a record or a preset name of :mod:`vo2neuro.device` (errors list the presets); a
    sequence of electro-thermal records (one device per neuron) becomes a tuple."""
    if isinstance(device, (list, tuple)):
        devs = tuple(resolve_device(d) for d in device)
        if not devs or not all(isinstance(d, VO2DeviceParams) for d in devs):
            raise ParameterError("device: a per-neuron sequence must hold one or more electro-thermal parameter "
                                 "records (VO2DeviceParams) [-]")
        return devs
    if isinstance(device, str):
        from vo2neuro.device import get_parameters

        return get_parameters(device)
    device_model(device)
    return device


@dataclass(frozen=True)
class PiecewiseDrive:
    """A source that varies in time: piecewise constant over samples of length ``sample_time`` [s].

    ``values`` has shape (n_samples,) (same for every neuron) or (n_samples, N) [V or A]; after the last sample
    the last value holds. ``sample_time`` must be a whole number of time steps.
    """

    values: np.ndarray
    sample_time: float

    def __post_init__(self) -> None:
        v = np.asarray(self.values, dtype=float)
        if v.ndim not in (1, 2) or v.shape[0] < 1:
            raise ParameterError(f"drive.values must have shape (n_samples,) or (n_samples, N) [V or A], "
                                 f"got {v.shape}")
        if not np.all(np.isfinite(v)) or np.any(v < 0):
            raise ParameterError("drive.values must be finite and >= 0 [V or A]")
        check_positive("drive.sample_time", self.sample_time, "s")
        object.__setattr__(self, "values", v)

# ------------------------------------------------------------------------------------------------- work budget
# Every size is checked before any allocation or kernel call, so a mistyped step (``dt=1e-30``) or an enormous
# batch is refused in milliseconds with its estimate named, instead of running for days or exhausting memory.
# These constants are the one place the budgets live (the sweeps and the command line use them too).

#: Throughput of the electro-thermal kernel per core [neuron-steps/s]: ~1.1e8 measured (README benchmark; SIMD
#: blocks of ``ET_BLOCK`` = 32 neurons, and a partly filled block costs a full one, so one neuron costs as much
#: as 32; measured: 1e6 steps of one neuron and of 32 neurons both take ~0.9 s on a loaded 2-vCPU machine).
ET_NEURON_STEPS_PER_S = 1e8
#: Largest electro-thermal run accepted [neuron-steps, neurons padded to whole SIMD blocks]: 1e12 is ~1e4 s
#: (~3 h) on one core at the rate above. More is almost always a mistyped dt or duration (``--duration 1 --dt 1p``
#: of one neuron is 3.2e13: days); a legitimate larger study is a sweep, which chunks it.
MAX_NEURON_STEPS = 1e12
#: Largest step count of any run [1]: the kernels count steps in int64 and form t = t0 + k dt in float64, whose
#: step index is exact only below 2**53 (the event-driven PWL kernel's cost follows its events, not its steps).
MAX_STEPS = 2**53
#: Share of the machine's physical memory one run may plan for (traces, per-neuron state, a sweep's store
#: template): beyond about half the RAM a run swaps or is killed by the OOM killer, with everything else running.
MEMORY_FRACTION = 0.5
#: Memory per simulated neuron [bytes]: state, counters and results (the README's 1e6-neuron spike-only run peaks
#: at 677 MB RSS, interpreter and kernels included).
BYTES_PER_NEURON = 700
#: Memory of one step of ``vo2neuro device sweep`` [bytes]: the device transient keeps t, T, R, V, I and the source
#: per step (80 B/step peak measured with tracemalloc at 2e6 steps), and the CSV table and figure roughly double it.
DEVICE_SWEEP_BYTES_PER_STEP = 200
#: A run asked to show progress does so (on stderr) when its estimated time exceeds this [s].
PROGRESS_AFTER_S = 5.0
#: Work of one progress segment [s of estimated kernel time].
_SEGMENT_S = 1.0


def memory_budget_bytes() -> int:
    """Memory a run may plan for [bytes]: :data:`MEMORY_FRACTION` of the physical RAM (8 GiB if unknown)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        total = 16 * 2**30
    return int(MEMORY_FRACTION * total)


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.3g} GiB"


def check_neurons(n: int, *, what: str = "neurons") -> None:
    """Refuse a batch whose per-neuron state alone would exceed :func:`memory_budget_bytes` (before allocating)."""
    need = float(n) * BYTES_PER_NEURON
    if need > memory_budget_bytes():
        raise ParameterError(f"{what}: {n:.3g} neurons need ~{_gib(need)} of memory ({BYTES_PER_NEURON} B each), "
                             f"more than the budget of {_gib(memory_budget_bytes())} "
                             f"({MEMORY_FRACTION:.0%} of RAM); use fewer points [1]")


def _threads(model: str, n: int) -> int:
    if n < CK.SERIAL_MAX_N:
        return 1
    try:
        import numba

        threads = int(numba.get_num_threads())
    except (ImportError, ValueError):
        threads = 1
    return max(1, min(threads, -(-n // CK.ET_BLOCK) if model == "electrothermal" else n))


def check_work(model: str, *, n_neurons: int, n_steps: float, dt: float, duration: float,
               trace_bytes: float = 0.0) -> float:
    """Refuse a run beyond the budgets above, naming the estimate; returns its estimated kernel time [s].

    Electro-thermal: ``n_steps`` x the neurons padded to whole SIMD blocks against :data:`MAX_NEURON_STEPS`;
    every model: ``n_steps`` against :data:`MAX_STEPS`, and the traces plus the per-neuron state against
    :func:`memory_budget_bytes`.
    """
    if not n_steps < MAX_STEPS:
        raise ParameterError(f"dt: {n_steps:.3g} steps (duration {duration:g} s / dt {dt:g} s) exceed the limit of "
                             f"{float(MAX_STEPS):.3g} steps; raise dt or shorten duration [s]")
    memory = trace_bytes + float(n_neurons) * BYTES_PER_NEURON
    if memory > memory_budget_bytes():
        raise ParameterError(f"memory: the run needs ~{_gib(memory)} (traces {_gib(trace_bytes)}, {n_neurons} neurons),"
                             f" more than the budget of {_gib(memory_budget_bytes())} ({MEMORY_FRACTION:.0%} of RAM); "
                             "record fewer neurons, raise record_every, raise dt or shorten duration [s]")
    if model != "electrothermal":
        return 0.0
    lanes = -(-int(n_neurons) // CK.ET_BLOCK) * CK.ET_BLOCK
    work = float(lanes) * n_steps
    if work > MAX_NEURON_STEPS:
        raise ParameterError(
            f"dt: {work:.3g} neuron-steps ({n_neurons} neurons, padded to {lanes}, x {n_steps:.3g} steps of dt "
            f"{dt:g} s over duration {duration:g} s) exceed the budget of {MAX_NEURON_STEPS:.0e} (~"
            f"{work / ET_NEURON_STEPS_PER_S:.2g} s of kernel time at {ET_NEURON_STEPS_PER_S:.0e} neuron-steps/s per "
            "core); raise dt, shorten duration or use fewer neurons [s]")
    return work / (ET_NEURON_STEPS_PER_S * _threads(model, int(n_neurons)))


class NeuronState(NamedTuple):
    """Explicit state of N neurons (arrays of shape (N,) unless noted).

    t : simulated time [s] (scalar); V : node voltage [V]; T, T_prev : device temperature now and one step
    earlier [K] (electro-thermal; ambient for PWL); hyst : (6, N) hysteresis memory (delta, r, T_r, g_r, T_pr,
    T_last); phase : 1 while metallic / falling, else 0 [-]; v_th : current PWL threshold [V]; rng : splitmix64
    state (uint64); acc : (N, NACC) counters (energies [J], spike statistics) of ``circuits._kernels``.
    """

    t: float
    V: np.ndarray
    T: np.ndarray
    T_prev: np.ndarray
    hyst: np.ndarray
    phase: np.ndarray
    v_th: np.ndarray
    rng: np.ndarray
    acc: np.ndarray


class StepInputs(NamedTuple):
    """Inputs of :func:`step`: source value per neuron (N,) [V or A], and the step dt [s]."""

    source: np.ndarray
    dt: float


class _Setup(NamedTuple):
    model: str
    mode: int
    n: int
    g_load: np.ndarray
    cap: np.ndarray
    ambient: np.ndarray
    r0_factor: np.ndarray   # electro-thermal R_0 factor / PWL R_off factor
    tc_shift: np.ndarray    # electro-thermal T_c shift [K]
    vth: np.ndarray         # PWL per-neuron threshold [V]
    ptab: np.ndarray        # electro-thermal device table (CK.NP, 1 or N), thermal noise sigma included
    variability: Variability


# ------------------------------------------------------------------------------------------------- helpers
def _as_array(name: str, value: object, unit: str, *, positive: bool = True, allow_inf: bool = False) -> np.ndarray:
    a = np.atleast_1d(np.asarray(value, dtype=float))
    if a.ndim != 1:
        raise ParameterError(f"{name} must be a scalar or shape (N,) [{unit}], got shape {a.shape}")
    if np.any(np.isnan(a)) or (np.any(np.isinf(a)) and not allow_inf):
        raise ParameterError(f"{name} must be finite [{unit}], got {value!r}")
    if positive and np.any(a <= 0):
        raise ParameterError(f"{name} must be > 0 [{unit}], got {value!r}")
    if not positive and np.any(a < 0):
        raise ParameterError(f"{name} must be >= 0 [{unit}], got {value!r}")
    return a


def _broadcast(n: int, *arrays: np.ndarray) -> list[np.ndarray]:
    return [np.ascontiguousarray(np.broadcast_to(a, (n,)), dtype=float) for a in arrays]


def default_dt(device: VO2DeviceParams | PWLDeviceParams, *, capacitance: float | np.ndarray,
               r_load: float | np.ndarray) -> float:
    """Time step from the circuit time constants [s] (module docstring rule)."""
    c = float(np.min(capacitance))
    rl = float(np.min(r_load))
    if isinstance(device, tuple):   # one device per neuron: the smallest step of any (each distinct record once)
        return min(default_dt(d, capacitance=c, r_load=rl) for d in {id(d): d for d in device}.values())
    if isinstance(device, VO2DeviceParams):
        r_par = device.R_m if math.isinf(rl) else rl * device.R_m / (rl + device.R_m)
        return 0.02 * min(c * r_par, device.C_th / device.S_e)
    r_par = device.r_on if math.isinf(rl) else rl * device.r_on / (rl + device.r_on)
    return 0.02 * c * r_par


def _setup(device, drive: str, r_load, capacitance, ambient, n_hint: int,
           variability: Variability | None) -> _Setup:
    model = device_model(device)
    check_drive(drive)
    mode = 0 if drive == "voltage" else 1
    rl = _as_array("r_load", r_load, "Ohm", allow_inf=(mode == 1))
    c = _as_array("capacitance", capacitance, "F")
    amb = _as_array("ambient", ambient, "K")
    n_dev = len(device) if isinstance(device, tuple) else 1
    n = max(n_hint, rl.size, c.size, amb.size, n_dev)
    if n_dev not in (1, n):
        raise ParameterError(f"device: {n_dev} per-neuron parameter records do not match N={n} neurons [-]")
    for name, a in (("r_load", rl), ("capacitance", c), ("ambient", amb)):
        if a.size not in (1, n):
            raise ParameterError(f"{name}: {a.size} values do not broadcast to N={n} neurons")
    rl, c, amb = _broadcast(n, rl, c, amb)
    g_load = np.where(np.isinf(rl), 0.0, 1.0 / rl)
    var = variability if variability is not None else Variability()
    z = np.zeros((n, 2))
    if not var.is_zero:
        CK.draw_normals(np.uint64(var.seed), 1, n, z)
    ptab = np.zeros((CK.NP, 0))
    if model == "electrothermal":
        # a row per distinct record (a sweep chunk repeats a few devices many times), then a column per neuron
        index: dict[int, int] = {}
        uniq, cols = [], []
        for d in (device if isinstance(device, tuple) else (device,)):
            if id(d) not in index:
                index[id(d)] = len(uniq)
                uniq.append(d)
            cols.append(index[id(d)])
        ptab = np.ascontiguousarray(np.array([d.to_kernel() for d in uniq], dtype=float).T[:, cols])
        if var.thermal_noise is not None:
            ptab[CK.NP - 1] = var.thermal_noise
        t_min, t_max = ptab[DeviceKernelParams._fields.index("T_min")], ptab[DeviceKernelParams._fields.index("T_max")]
        if np.any(amb < t_min) or np.any(amb >= t_max):
            raise ParameterError(f"ambient must lie in [T_min, T_max) = [{t_min.max()}, {t_max.min()}) K of the "
                                 f"parameter set [K], got {ambient!r}")
        r0 = np.exp(var.r_ins_sigma_ln * z[:, 0])
        tc = var.t_c_sigma * z[:, 1]
        vth = np.zeros(n)
    else:
        r0 = np.exp(var.r_ins_sigma_ln * z[:, 0])
        tc = np.zeros(n)
        vth = device.v_th * (1.0 + var.v_th_sigma_rel * z[:, 1])
        if np.any(vth <= device.v_h):
            raise ParameterError("v_th_sigma_rel [1]: a drawn threshold fell below v_h; reduce the spread")
    return _Setup(model, mode, n, g_load, c, amb, r0, tc, vth, ptab, var)


def _new_state(device, s: _Setup) -> NeuronState:
    """N neurons at rest: V = 0, T = ambient, insulating, hysteresis on the heating branch at ambient."""
    n = s.n
    acc = np.zeros((n, CK.NACC))
    acc[:, CK.A_TFIRE] = -1.0
    acc[:, CK.A_VEXT] = -np.inf
    rng = np.empty(n, dtype=np.uint64)
    CK.init_streams(np.uint64(s.variability.seed), 2, rng)
    hyst = np.zeros((6, n))
    if s.model == "electrothermal":
        CK.init_hyst(s.ptab, s.tc_shift, s.ambient, hyst)
    T = s.ambient.copy()
    return NeuronState(0.0, np.zeros(n), T, T.copy(), hyst, np.zeros(n), s.vth.copy(), rng, acc)


def _results(device, s: _Setup, drive: str, src: np.ndarray, rl: np.ndarray, st: NeuronState, v0: np.ndarray,
             duration: float, dt: float, settle: float, trace: Trace | None) -> SimulationResult:
    acc = st.acc
    n_sp = acc[:, CK.A_NSP]
    span = acc[:, CK.A_TLAST] - acc[:, CK.A_TFIRST]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_isi = np.where(n_sp >= 2, span / np.maximum(n_sp - 1, 1), np.nan)
        var = acc[:, CK.A_ISI2] / np.maximum(n_sp - 1, 1) - mean_isi**2
        cv = np.where(n_sp >= 3, np.sqrt(np.maximum(var, 0.0)) / mean_isi, np.nan)
        t_end = st.t
        osc = (n_sp >= 3) & (t_end - acc[:, CK.A_TLAST] <= 2.0 * mean_isi)
        freq = np.where(osc, 1.0 / mean_isi, 0.0)
        per = np.maximum(n_sp - 1, 1)
        e_src = np.where(n_sp >= 2, (acc[:, CK.A_ESRC_L] - acc[:, CK.A_ESRC_F]) / per, np.nan)
        e_dev = np.where(n_sp >= 2, (acc[:, CK.A_EDEV_L] - acc[:, CK.A_EDEV_F]) / per, np.nan)
        e_load = np.where(n_sp >= 2, (acc[:, CK.A_ELOAD_L] - acc[:, CK.A_ELOAD_F]) / per, np.nan)
        vth = np.where(n_sp >= 1, acc[:, CK.A_VMAX_SUM] / np.maximum(n_sp, 1), np.nan)
        vh = np.where(acc[:, CK.A_NREF] >= 1, acc[:, CK.A_VMIN_SUM] / np.maximum(acc[:, CK.A_NREF], 1), np.nan)
        tm = np.where(acc[:, CK.A_NREF] >= 1, acc[:, CK.A_TREF_SUM] / np.maximum(acc[:, CK.A_NREF], 1), np.nan)
    dEc = 0.5 * s.cap * (st.V**2 - v0**2)
    return SimulationResult(
        model=s.model, drive=drive, source=src, r_load_ohm=rl, capacitance_f=s.cap, ambient_k=s.ambient,
        frequency_hz=freq, oscillating=osc, n_spikes=n_sp.astype(np.int64), isi_cv=cv, mean_isi_s=mean_isi,
        energy_per_spike_j=e_src, device_energy_per_spike_j=e_dev, load_energy_per_spike_j=e_load,
        v_th_eff_v=vth, v_h_eff_v=vh, t_metal_s=tm, source_energy_j=acc[:, CK.A_ESRC].copy(),
        device_energy_j=acc[:, CK.A_EDEV].copy(), load_energy_j=acc[:, CK.A_ELOAD].copy(),
        capacitor_energy_change_j=dEc, n_spikes_total=acc[:, CK.A_NSP_ALL].astype(np.int64),
        duration_s=float(duration), dt_s=float(dt), settle_s=float(settle), seed=s.variability.seed,
        variability=s.variability, final=st, trace=trace)


def _advance(device, s: _Setup, st: NeuronState, n_steps: int, dt: float, drive_arr: np.ndarray, stride: int,
             t_settle: float, dv_detect: float, rec_row: np.ndarray, rec_every: int,
             trace: np.ndarray, *, in_place: bool = False) -> NeuronState:
    """Run the kernel on copies of the state arrays (in place when ``in_place``: a state nobody else holds,
    which saves the copies, 1e6 neurons: ~0.3 GB); return the new state."""
    arrays = (st.V, st.T, st.T_prev, st.hyst, st.phase, st.v_th, st.rng, st.acc)
    V, T, Tp, hyst, phase, vth, rng, acc = arrays if in_place else (a.copy() for a in arrays)
    serial = s.n < CK.SERIAL_MAX_N
    if s.model == "electrothermal":
        run_et = CK.run_et_serial if serial else CK.run_et
        run_et(n_steps, dt, st.t, s.mode, drive_arr, stride, s.g_load, s.cap, s.ambient, s.ptab, s.r0_factor,
               s.tc_shift, dv_detect, t_settle, V, T, Tp, hyst, phase, rng, acc, rec_row, rec_every, trace)
    else:
        r_off = device.r_off * s.r0_factor
        run_pwl = CK.run_pwl_serial if serial else CK.run_pwl
        run_pwl(n_steps, dt, st.t, s.mode, drive_arr, stride, s.g_load, s.cap, r_off, float(device.r_on), s.vth,
                float(device.v_h), float(s.variability.v_th_c2c_rel), t_settle, V, phase, vth, rng, acc, rec_row,
                rec_every, trace)
    return NeuronState(st.t + n_steps * dt, V, T, Tp, hyst, phase, vth, rng, acc)


def _segment_steps(n_steps: int, est_s: float, stride: int, rec_every: int) -> int:
    """Steps per progress segment: about :data:`_SEGMENT_S` of work, a whole number of drive samples (a
    piecewise drive) and of trace samples, so each segment starts on a sample boundary."""
    unit = rec_every if stride >= n_steps else math.lcm(stride, rec_every)
    want = max(1, int(n_steps * _SEGMENT_S / max(est_s, 1e-9)))
    return max(unit, want // unit * unit)


def _advance_segments(device, s: _Setup, st: NeuronState, n_steps: int, dt: float, drive_arr: np.ndarray,
                      stride: int, t_settle: float, dv_detect: float, rec_row: np.ndarray, rec_every: int,
                      trace: np.ndarray, *, in_place: bool, seg_steps: int,
                      report: Callable[[int, int], None] | None) -> NeuronState:
    """:func:`_advance` in segments of ``seg_steps`` with progress after each (a bar on stderr unless ``report``).

    Each segment continues the state of the previous one from ``t0 + k0 dt`` with the drive samples and trace
    rows from its first step on; the kernels are unchanged (the same continuation as ``simulate(state=...)``).
    """
    bar = None
    if report is None:
        from tqdm import tqdm

        bar = tqdm(total=n_steps, desc="simulate", unit="step", unit_scale=True, file=sys.stderr, mininterval=1.0)
    t0 = st.t
    n_samp_total = drive_arr.shape[0]
    cur = st
    k0 = 0
    try:
        while k0 < n_steps:
            n = min(seg_steps, n_steps - k0)
            if stride >= n_steps:
                d_arr, d_stride = drive_arr, stride
            else:
                off = min(k0 // stride, n_samp_total - 1)
                d_arr, d_stride = drive_arr[off:], stride
            if trace.shape[0]:
                r0 = k0 // rec_every
                seg_tr = np.full((trace.shape[0], (n + rec_every - 1) // rec_every, trace.shape[2]), np.nan)
            else:
                seg_tr = trace
            cur = _advance(device, s, cur._replace(t=t0 + k0 * dt), n, dt, d_arr, d_stride, t_settle, dv_detect,
                           rec_row, rec_every, seg_tr, in_place=in_place or k0 > 0)
            if trace.shape[0]:
                trace[:, r0:r0 + seg_tr.shape[1]] = seg_tr
            k0 += n
            if bar is not None:
                bar.update(n)
            else:
                report(k0, n_steps)
    finally:
        if bar is not None:
            bar.close()
    return cur._replace(t=t0 + n_steps * dt)


# ------------------------------------------------------------------------------------------------- API
def simulate(device: str | VO2DeviceParams | PWLDeviceParams | Sequence[VO2DeviceParams], *, drive: str = "voltage",
             v_in: float | np.ndarray | PiecewiseDrive | None = None,
             i_in: float | np.ndarray | PiecewiseDrive | None = None,
             r_load: float | np.ndarray = math.inf, capacitance: float | np.ndarray,
             ambient: float | np.ndarray | None = None, duration: float, dt: float | None = None,
             settle: float | None = None, variability: Variability | None = None, n_neurons: int | None = None,
             record: Sequence[int] | None = None, record_every: int = 1, dv_detect: float = DV_DETECT,
             state: NeuronState | None = None,
             progress: bool | Callable[[int, int], None] | None = None) -> SimulationResult:
    r"""Simulate N Pearson-Anson oscillators (``drive="voltage"``) or current-driven neurons (``"current"``).

    .. math::
        C\,\dot V = (V_{in} - V)/R_L - V/R_{dev}\quad\text{or}\quad C\,\dot V = I_{in} - V/R_L - V/R_{dev},
        \qquad C_{th}\dot T = V^2/R_{dev} - S_e (T - T_0) + \sigma\eta

    with R_dev = R(T, H) of :mod:`vo2neuro.device` (electro-thermal) or the PWL switch (vo2_physics.md §2, §8).

    Parameters
    ----------
    device : VO2DeviceParams, PWLDeviceParams, preset name, or a sequence of N VO2DeviceParams
        One device for every neuron, or one electro-thermal device per neuron (a sweep over device parameters
        in one kernel call; D2D variability is applied on top). The default ``dt`` is then the smallest of the
        devices' steps.
    drive : {"voltage", "current"}
    v_in, i_in : float, array (N,) or PiecewiseDrive
        Source voltage [V] (voltage drive) or current [A] (current drive).
    r_load : float or array (N,)
        Load R_L [Ohm] (voltage drive) or the current source's parallel resistance [Ohm] (``inf`` = ideal).
    capacitance : float or array (N,)
        Node capacitance [F].
    ambient : float or array (N,), optional
        Bath temperature [K] (default: the preset's recommended ambient, else 300 K).
    duration : float
        Simulated time [s].
    dt : float, optional
        Time step [s] (default :func:`default_dt`).
    settle : float, optional
        Transient discarded before the steady-state figures [s] (default 30 % of ``duration``).
    variability : Variability, optional
        Seeded D2D and C2C variability (default none).
    n_neurons : int, optional
        N when every per-neuron input is a scalar (copies of one neuron, e.g. with variability).
    record : sequence of int, optional
        Neurons whose traces are kept (default none: spike/energy counters only, O(N) memory).
    record_every : int
        Trace decimation [steps].
    dv_detect : float
        Node-voltage hysteresis of the electro-thermal spike detector [V].
    state : NeuronState, optional
        Continue from a previous ``result.final``.
    progress : bool or callable, optional
        A run estimated to take longer than :data:`PROGRESS_AFTER_S` runs in segments of about a second and
        reports after each: ``True`` draws a progress bar on stderr, a callable gets ``(steps_done, n_steps)``.
        (Segments continue the state exactly as ``state=`` does: results agree with one call to rounding.)

    Raises
    ------
    ParameterError
        Also for work beyond the budget of :func:`check_work` (steps, neuron-steps, memory), before any run.

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> from vo2neuro.circuits import PWLDeviceParams
    >>> dev = PWLDeviceParams(r_off=100.2e3, r_on=990.0, v_th=1.99, v_h=1.0)
    >>> r = simulate(dev, v_in=14.0, r_load=47e3, capacitance=300e-12, duration=50e-6)
    >>> round(float(r.frequency_hz[0]) / 1e3)
    696
    """
    dev = resolve_device(device)
    check_drive(drive)
    check_positive("duration", duration, "s")
    check_positive("dv_detect", dv_detect, "V")
    if not isinstance(record_every, (int, np.integer)) or record_every < 1:
        raise ParameterError(f"record_every must be an integer >= 1 [1], got {record_every!r}")
    if ambient is None:
        ambient = _default_ambient(dev)
    src_in = v_in if drive == "voltage" else i_in
    other = i_in if drive == "voltage" else v_in
    src_name, src_unit = ("v_in", "V") if drive == "voltage" else ("i_in", "A")
    if src_in is None:
        raise ParameterError(f"{src_name}: required for drive={drive!r} [{src_unit}]")
    if other is not None:
        raise ParameterError(f"{'i_in' if drive == 'voltage' else 'v_in'}: not used with drive={drive!r}; "
                             f"give {src_name} [{src_unit}]")
    if drive == "voltage" and np.any(np.isinf(np.asarray(r_load, dtype=float))):
        raise ParameterError("r_load must be finite for the voltage drive (Pearson-Anson) [Ohm]")
    if isinstance(src_in, PiecewiseDrive):
        vals = src_in.values
        n_src = vals.shape[1] if vals.ndim == 2 else 1
        src_amp = vals[-1] if vals.ndim == 2 else np.full(1, vals[-1])
    else:
        src_amp = _as_array(src_name, src_in, src_unit, positive=False)
        n_src = src_amp.size
    n_hint = max(n_src, int(n_neurons or 1))
    check_neurons(n_hint)
    s = _setup(dev, drive, r_load, capacitance, ambient, n_hint, variability)
    if n_neurons is not None and s.n != n_neurons:
        raise ParameterError(f"n_neurons={n_neurons} [1] does not match the per-neuron inputs (N={s.n})")
    if n_src not in (1, s.n):
        raise ParameterError(f"{src_name}: {n_src} values do not broadcast to N={s.n} neurons [{src_unit}]")
    rl = np.ascontiguousarray(np.broadcast_to(np.asarray(r_load, dtype=float), (s.n,)))
    if dt is None:
        dt = default_dt(dev, capacitance=s.cap, r_load=rl)
    check_positive("dt", dt, "s")
    n_float = duration / dt
    rec = np.asarray(list(record) if record is not None else [], dtype=np.int64)
    est_s = check_work(s.model, n_neurons=s.n, n_steps=n_float, dt=dt, duration=duration,
                       trace_bytes=rec.size * (n_float / record_every + 1) * CK.NTR * 8.0)
    n_steps = int(round(n_float))
    if n_steps < 1:
        raise ParameterError(f"duration must cover at least one step dt={dt:g} s [s], got {duration!r}")
    settle = 0.3 * duration if settle is None else check_nonnegative("settle", settle, "s")
    if settle >= duration:
        raise ParameterError(f"settle must be < duration [s], got settle={settle}, duration={duration}")
    if isinstance(src_in, PiecewiseDrive):
        stride = int(round(src_in.sample_time / dt))
        if stride < 1 or abs(stride * dt - src_in.sample_time) > 1e-9 * src_in.sample_time:
            raise ParameterError(f"drive.sample_time must be a whole number of steps dt={dt:g} s [s], "
                                 f"got {src_in.sample_time!r}")
        drive_arr = np.ascontiguousarray(vals.reshape(vals.shape[0], -1))
    else:
        stride = n_steps
        drive_arr = np.ascontiguousarray(src_amp.reshape(1, -1))
    st = state if state is not None else _new_state(dev, s)
    if st.V.shape[0] != s.n:
        raise ParameterError(f"state: has {st.V.shape[0]} neurons, inputs have N={s.n} [1]")
    if rec.size and (rec.min() < 0 or rec.max() >= s.n):
        raise ParameterError(f"record: neuron indices must lie in [0, {s.n}) [1], got {list(rec)}")
    rec_row = np.full(s.n, -1, dtype=np.int64)
    rec_row[rec] = np.arange(rec.size)
    n_samp = (n_steps + record_every - 1) // record_every if rec.size else 0
    tr = np.full((rec.size, n_samp, CK.NTR), np.nan) if rec.size else np.zeros((0, 0, CK.NTR))
    v0 = st.V.copy()
    t_start = st.t
    if progress and est_s > PROGRESS_AFTER_S:
        new = _advance_segments(dev, s, st, n_steps, float(dt), drive_arr, stride, t_start + settle,
                                float(dv_detect), rec_row, int(record_every), tr, in_place=state is None,
                                seg_steps=_segment_steps(n_steps, est_s, stride, int(record_every)),
                                report=progress if callable(progress) else None)
    else:
        new = _advance(dev, s, st, n_steps, float(dt), drive_arr, stride, t_start + settle, float(dv_detect),
                       rec_row, int(record_every), tr, in_place=state is None)
    trace = None
    if rec.size:
        trace = Trace(t=t_start + np.arange(n_samp) * record_every * dt, V=tr[:, :, CK.TR_V], I=tr[:, :, CK.TR_I],
                      T=tr[:, :, CK.TR_T], R=tr[:, :, CK.TR_R], I_src=tr[:, :, CK.TR_ISRC], neurons=rec)
    src_out = np.ascontiguousarray(np.broadcast_to(src_amp, (s.n,)), dtype=float)
    return _results(dev, s, drive, src_out, rl, new, v0, duration, float(dt), settle, trace)


def _default_ambient(dev) -> float:
    """Bath temperature [K] when none is given: the electro-thermal device's preset ambient
    (:func:`vo2neuro.device.select.default_ambient`), room temperature for the PWL switch (no temperature)."""
    from vo2neuro.device.select import ROOM_TEMPERATURE_K, default_ambient

    if isinstance(dev, tuple):
        dev = dev[0]
    return default_ambient(dev) if isinstance(dev, VO2DeviceParams) else ROOM_TEMPERATURE_K


def simulate_circuit(device: str | VO2DeviceParams | PWLDeviceParams, circuit: CircuitParams, *, duration: float,
                     **kw: object) -> SimulationResult:
    """:func:`simulate` for one neuron described by a :class:`CircuitParams` record."""
    src = {"v_in": circuit.v_in} if circuit.drive == "voltage" else {"i_in": circuit.i_in}
    return simulate(device, drive=circuit.drive, r_load=circuit.r_load, capacitance=circuit.capacitance,
                    ambient=circuit.ambient, duration=duration, **src, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------- step API
class _StepParams(NamedTuple):
    device: object
    setup: _Setup


def initial_state(device: str | VO2DeviceParams | PWLDeviceParams, *, drive: str = "voltage",
                  r_load: float | np.ndarray = math.inf, capacitance: float | np.ndarray,
                  ambient: float | np.ndarray | None = None, n_neurons: int = 1,
                  variability: Variability | None = None) -> tuple[NeuronState, _StepParams]:
    """(state, params) for :func:`step`: N neurons at rest (V = 0, T = ambient, heating branch, insulating)."""
    dev = resolve_device(device)
    if ambient is None:
        ambient = _default_ambient(dev)
    s = _setup(dev, drive, r_load, capacitance, ambient, int(n_neurons), variability)
    return _new_state(dev, s), _StepParams(dev, s)


def step(state: NeuronState, inputs: StepInputs, params: _StepParams) -> NeuronState:
    """Advance every neuron by one step ``inputs.dt`` [s] with source ``inputs.source`` (N,) [V or A].

    Pure: returns a new :class:`NeuronState` (spike counters in ``state.acc``; a spike happened in this step when
    ``acc[:, A_NSP_ALL]`` increased).
    """
    src = np.ascontiguousarray(np.broadcast_to(np.asarray(inputs.source, dtype=float), (params.setup.n,)))
    check_positive("dt", inputs.dt, "s")
    empty = np.zeros((0, 0, CK.NTR))
    return _advance(params.device, params.setup, state, 1, float(inputs.dt), src.reshape(1, -1), 1, 0.0, DV_DETECT,
                    np.full(params.setup.n, -1, dtype=np.int64), 1, empty)
