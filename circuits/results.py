"""Result records of the circuit simulator (frozen; units in the field names and docstrings).

:class:`SimulationResult` holds per-neuron arrays of a batched run (``vo2neuro.circuits.simulate``);
:class:`NeuronResult` is the scalar record of one neuron; :class:`Trace` the recorded waveforms.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from vo2neuro.circuits.params import Variability

if TYPE_CHECKING:
    from vo2neuro.circuits.simulate import NeuronState

__all__ = ["Trace", "NeuronResult", "SimulationResult"]


@dataclass(frozen=True)
class Trace:
    """Recorded waveforms of a few neurons, sampled at the start of every ``record_every``-th step.

    ``t`` (n_samples,) [s]; ``V`` node/device voltage [V], ``I`` device current [A], ``T`` device temperature [K]
    (NaN for the PWL switch), ``R`` device resistance [Ohm], ``I_src`` source current [A]: each
    (n_rec, n_samples); ``neurons`` (n_rec,) the neuron indices.
    """

    t: np.ndarray
    V: np.ndarray
    I: np.ndarray
    T: np.ndarray
    R: np.ndarray
    I_src: np.ndarray
    neurons: np.ndarray


_SCALAR_FIELDS = ("frequency_hz", "oscillating", "n_spikes", "isi_cv", "mean_isi_s", "energy_per_spike_j",
                  "device_energy_per_spike_j", "load_energy_per_spike_j", "v_th_eff_v", "v_h_eff_v",
                  "t_metal_s", "source_energy_j", "device_energy_j", "load_energy_j", "capacitor_energy_change_j",
                  "n_spikes_total")


@dataclass(frozen=True)
class NeuronResult:
    """Scalar results of one neuron (see :class:`SimulationResult` for the definitions)."""

    model: str
    drive: str
    source: float
    r_load_ohm: float
    capacitance_f: float
    ambient_k: float
    frequency_hz: float
    oscillating: bool
    n_spikes: int
    isi_cv: float
    mean_isi_s: float
    energy_per_spike_j: float
    device_energy_per_spike_j: float
    load_energy_per_spike_j: float
    v_th_eff_v: float
    v_h_eff_v: float
    t_metal_s: float
    source_energy_j: float
    device_energy_j: float
    load_energy_j: float
    capacitor_energy_change_j: float
    n_spikes_total: int
    duration_s: float
    dt_s: float
    settle_s: float
    seed: int

    def to_dict(self) -> dict[str, object]:
        """All fields (JSON-ready with :func:`vo2neuro._io.dumps`)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class SimulationResult:
    r"""Per-neuron results of a batched run (arrays of shape (N,)).

    Spikes are insulator-to-metal switching events: exact threshold crossings for the PWL switch, node-voltage
    maxima confirmed by a ``dv_detect`` fall for the electro-thermal device (module ``_kernels.detect``). Only
    spikes at ``t >= settle_s`` count for the steady-state figures.

    Attributes
    ----------
    frequency_hz : (n_spikes - 1)/(t_last - t_first) over settled spikes; 0 when not oscillating [Hz]
    oscillating : >= 3 settled spikes and the last one within 2 mean ISIs of the end (persists) [-]
    n_spikes : settled spikes [-]; ``n_spikes_total`` all spikes
    isi_cv : std/mean of the settled ISIs [-] (NaN below 3 spikes)
    mean_isi_s : mean settled ISI [s]
    energy_per_spike_j : source energy per period, :math:`\int V_{in} I_{src} dt` (voltage drive) or
        :math:`\int V I_{in} dt` (current drive) between the first and last settled spikes / (n - 1) [J]
    device_energy_per_spike_j : :math:`\int V^2/R\,dt` per period [J]; ``load_energy_per_spike_j``: in R_L [J]
    v_th_eff_v, v_h_eff_v : mean node voltage at the settled switching events (to metal / back) [V]
    t_metal_s : mean duration of the metallic phase (spike to return) [s]
    source_energy_j, device_energy_j, load_energy_j : totals over the run [J]
    capacitor_energy_change_j : C (V_end^2 - V_0^2)/2 [J] (balance: source = device + load + this)
    """

    model: str
    drive: str
    source: np.ndarray
    r_load_ohm: np.ndarray
    capacitance_f: np.ndarray
    ambient_k: np.ndarray
    frequency_hz: np.ndarray
    oscillating: np.ndarray
    n_spikes: np.ndarray
    isi_cv: np.ndarray
    mean_isi_s: np.ndarray
    energy_per_spike_j: np.ndarray
    device_energy_per_spike_j: np.ndarray
    load_energy_per_spike_j: np.ndarray
    v_th_eff_v: np.ndarray
    v_h_eff_v: np.ndarray
    t_metal_s: np.ndarray
    source_energy_j: np.ndarray
    device_energy_j: np.ndarray
    load_energy_j: np.ndarray
    capacitor_energy_change_j: np.ndarray
    n_spikes_total: np.ndarray
    duration_s: float
    dt_s: float
    settle_s: float
    seed: int
    variability: Variability
    final: NeuronState = field(repr=False)
    trace: Trace | None = field(default=None, repr=False)

    @property
    def n_neurons(self) -> int:
        """Number of neurons N."""
        return int(self.frequency_hz.shape[0])

    def neuron(self, i: int = 0) -> NeuronResult:
        """Scalar record of neuron ``i``."""
        kw = {k: getattr(self, k)[i].item() for k in _SCALAR_FIELDS}
        kw["oscillating"] = bool(kw["oscillating"])
        kw["n_spikes"] = int(kw["n_spikes"])
        kw["n_spikes_total"] = int(kw["n_spikes_total"])
        return NeuronResult(model=self.model, drive=self.drive, source=float(self.source[i]),
                            r_load_ohm=float(self.r_load_ohm[i]), capacitance_f=float(self.capacitance_f[i]),
                            ambient_k=float(self.ambient_k[i]), duration_s=self.duration_s, dt_s=self.dt_s,
                            settle_s=self.settle_s, seed=self.seed, **kw)

    def to_dict(self) -> dict[str, object]:
        """Per-neuron arrays as lists plus run metadata (seed, variability) for JSON."""
        d: dict[str, object] = {"model": self.model, "drive": self.drive, "source": self.source,
                                "r_load_ohm": self.r_load_ohm, "capacitance_f": self.capacitance_f,
                                "ambient_k": self.ambient_k}
        d.update({k: getattr(self, k) for k in _SCALAR_FIELDS})
        d.update({"duration_s": self.duration_s, "dt_s": self.dt_s, "settle_s": self.settle_s, "seed": self.seed,
                  "variability": self.variability.to_dict()})
        return d
