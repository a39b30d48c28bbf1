r"""Energy ledger: energy per inference of the zoo workloads on CMOS, digital-neuromorphic and VO2-x analog targets.

Recipe (``ml_zoo_papers.md`` §13-14; Spikformer, Yao et al. TPAMI 2023, SpikingJelly ``estimate_compute_energy``)::

    E_ANN  = E_MAC x MACs                                            (+ optional weight traffic)
    E_SNN  = E_MAC x (MACs_first + MACs_rest) + E_syn x SynOps  [+ E_spike x Spikes]
    SynOps = sum over synaptic layers l >= 2 of spikes_in(l) x fan-out(l)        (vo2neuro.ml_zoo.synaptic.synops)

* ``MACs_first``: the first synaptic layer, fed with the real-valued input, stays a MAC layer (the recipe's layer 1).
* ``MACs_rest``: every MAC not done by a synaptic module (``nn.Linear``/``nn.Conv*``): attention and other
  activation x activation matmuls, RNN cells, sparse graph propagation and functional linears. These cannot be driven
  by spikes after conversion, so they are charged as CMOS MACs on every spiking target (the conservative choice).
* Spikes per inference: **measured** where a hardware-level run of the model exists (``measured=[MeasuredRun, ...]``,
  :mod:`vo2neuro.ml_zoo.measured`: the events per presynaptic neuron per step of each layer it ran x the run's T, the
  layers matched by name), or measured counts given directly (``measured_spikes``, the interface of
  :func:`vo2neuro.ml_zoo.synaptic.synops`); otherwise the **assumed** ``firing_rate`` [spikes / neuron / time step] x
  ``timesteps`` for every presynaptic neuron of the layers >= 2 (defaults 0.1 and 8: 0.8 spikes per neuron per
  inference, inside the 0.15-1.38 spikes/synapse window where Dampfhoffer et al. (IEEE TETCI 2023) find SNNs
  competitive). Every workload and row says which (``spike_source``: ``measured``, ``mixed`` or ``assumed``, and the
  run's configuration in ``rate_source``).

Energy against device size: :func:`vo2_targets_from_sizes` takes the VO2-x energy per spike from the simulated device
of each channel length (:func:`vo2neuro.circuits.scaling.scale_study`, geometry :data:`SIZE_GEOMETRY_RULE`, in a named
integration scenario); :func:`energy_size_study` puts it beside the size-independent targets with the crossover size
of each (:func:`crossover_size`), :func:`plot_energy_size` draws it.

All energies are in joules per inference at batch 1; constants are :class:`EnergyConstant` records with their sources.
Compute-only estimates ignore data movement unless a memory term is selected; see the caveats in ``ml_zoo_papers.md`` §14.
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from vo2neuro.units import ParameterError, check_finite, check_nonnegative, check_positive
from vo2neuro.circuits.scaling import SIZING_RULE

__all__ = [
    "EnergyConstant",
    "HOROWITZ_45NM",
    "Workload",
    "workload",
    "entry_counts",
    "CMOSTarget",
    "SNNOnCMOSTarget",
    "NeuromorphicTarget",
    "VO2Target",
    "vo2_target_from_circuit",
    "default_targets",
    "EnergyRow",
    "EnergyTable",
    "energy_table",
    "measured_by_model",
    "plot_energy_table",
    "DEFAULT_FIRING_RATE",
    "DEFAULT_TIMESTEPS",
    "check_firing_rate",
    "check_timesteps",
    "SIZE_GEOMETRY_RULE",
    "size_geometry",
    "SizedVO2",
    "vo2_targets_from_sizes",
    "crossover_size",
    "EnergySizeStudy",
    "energy_size_study",
    "plot_energy_size",
]

DEFAULT_FIRING_RATE = 0.1
"""Assumed mean firing rate [spikes / neuron / time step] when no measured counts are given (assumption)."""
DEFAULT_TIMESTEPS = 8
"""Assumed time steps per inference (assumption; QCFS VGG-16 on CIFAR-10 is within ~1 pp of the ANN at T = 8)."""

_RATE_UNIT = "spikes/neuron/step"


def check_firing_rate(value: float, name: str = "firing_rate") -> float:
    """``value`` as a float if it is a firing rate in [0, 1] [spikes / neuron / time step], else
    :class:`ParameterError`: a rate-coded neuron (integrate-and-fire with reset by subtraction, the VO2 node)
    emits at most one spike per time step.

    Examples
    --------
    >>> check_firing_rate(0.1)
    0.1
    """
    v = check_nonnegative(name, value, _RATE_UNIT)
    if v > 1.0:
        raise ParameterError(f"{name} must be <= 1 [{_RATE_UNIT}] (a neuron fires at most once per time step), "
                             f"got {value!r}")
    return v


def check_timesteps(value: int, name: str = "timesteps") -> int:
    """``value`` as an int if it is a whole number of time steps >= 1 [steps], else :class:`ParameterError`."""
    v = check_positive(name, value, "steps")
    if v != int(v):
        raise ParameterError(f"{name} must be a whole number >= 1 [steps], got {value!r}")
    return int(v)


@dataclass(frozen=True)
class EnergyConstant:
    """An energy per operation [J] with its source."""

    name: str
    value_j: float
    source: str
    note: str = ""

    def __post_init__(self) -> None:
        check_nonnegative(self.name, self.value_j, "J")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_H = "Horowitz, ISSCC 2014 (45 nm, 0.9 V)"
HOROWITZ_45NM: dict[str, EnergyConstant] = {
    c.name: c for c in (
        EnergyConstant("fp32_mac", 4.6e-12, _H, "fp32 mult 3.7 pJ + add 0.9 pJ"),
        EnergyConstant("fp32_add", 0.9e-12, _H, "accumulate (AC) of a spike-driven synapse"),
        EnergyConstant("fp16_mac", 1.5e-12, _H, "fp16 mult 1.1 pJ + add 0.4 pJ"),
        EnergyConstant("fp16_add", 0.4e-12, _H),
        EnergyConstant("int8_mac", 0.23e-12, _H, "int8 mult 0.2 pJ + add 0.03 pJ"),
        EnergyConstant("int8_add", 0.03e-12, _H),
        EnergyConstant("sram_8kb_64b", 10e-12, _H, "per 64-bit read"),
        EnergyConstant("sram_32kb_64b", 20e-12, _H, "per 64-bit read"),
        EnergyConstant("sram_1mb_64b", 100e-12, _H, "per 64-bit read"),
        EnergyConstant("dram_64b", 1.3e-9, _H + " [unverified]", "1.3-2.6 nJ per 64-bit access; lower end"),
    )
}
"""The Horowitz 45 nm table (``ml_zoo_papers.md`` §13). SpikingJelly's fp32/fp16/int8 presets use the same numbers."""

_PRECISION = {"fp32": ("fp32_mac", "fp32_add", 32), "fp16": ("fp16_mac", "fp16_add", 16),
              "int8": ("int8_mac", "int8_add", 8)}
_MEMORY = {"sram_8kb": "sram_8kb_64b", "sram_32kb": "sram_32kb_64b", "sram_1mb": "sram_1mb_64b", "dram": "dram_64b"}


def _choice(name: str, value: str, options: Mapping[str, Any]) -> Any:
    try:
        return options[value]
    except KeyError:
        raise ParameterError(f"{name}={value!r}; valid: {sorted(options)}") from None


# --------------------------------------------------------------------------------------------------------- workloads
@dataclass(frozen=True)
class Workload:
    """Operation counts of one zoo model for one inference at batch 1.

    Attributes
    ----------
    name, config : str
        Registry entry and configuration.
    params, macs : int
        Parameters and total MACs (:func:`vo2neuro.ml_zoo.ops.count_ops`).
    first_layer_macs : int
        MACs of the first synaptic layer (analog input).
    rest_macs : int
        MACs outside the synaptic modules (attention matmuls, RNN, sparse propagation, functional linears).
    synops : float
        Synaptic operations of the synaptic layers >= 2 per inference.
    spikes : float
        Presynaptic spikes of those layers per inference.
    rate_source : str
        Where the spike counts come from: ``"assumed: <rate> spikes/step x <T> steps"``, ``"measured"`` (counts given
        directly) or ``"measured: <run configuration> (<k> of <n> layers ...)"`` (a hardware-level run).
    spike_source : {"assumed", "measured", "mixed"}
        ``mixed``: some layers measured in a run, the rest assumed.
    graded_events : float
        Of the measured layer inputs, the routed graded values (after a pooling, a residual addition or a neuron-free
        linear layer, the run's ``layer_inputs``) per inference: synaptic operations (in ``synops``) that no neuron
        fired, so not in ``spikes`` [-].
    """

    name: str
    config: str
    params: int
    macs: int
    first_layer_macs: int
    rest_macs: int
    synops: float
    spikes: float
    rate_source: str
    spike_source: str = "assumed"
    graded_events: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=32)
def entry_counts(name: str, config: str = "paper"):
    """(OpsReport, fan-out table) of zoo entry ``name`` at batch 1, cached; dense models are traced on the meta device
    (nothing allocated), graph models run on the CPU with a synthetic graph of the dataset's size (seed 0)."""
    import torch

    from vo2neuro.ml_zoo import ops, synaptic
    from vo2neuro.ml_zoo.registry import create, get_spec

    spec = get_spec(name)
    gen = torch.Generator().manual_seed(0)
    model = create(name, config, device="meta" if spec.meta_forward else None).eval()
    inputs = model.example_inputs(1, generator=gen)
    return ops.count_ops(model, inputs), synaptic.fan_out_table(model, inputs)


def workload(
    name: str,
    config: str = "paper",
    *,
    firing_rate: float = DEFAULT_FIRING_RATE,
    timesteps: int = DEFAULT_TIMESTEPS,
    measured_spikes: Mapping[str, Any] | None = None,
    measured: Any = None,
) -> Workload:
    """Counts of zoo entry ``name`` needed by the energy targets.

    Parameters
    ----------
    name, config : str
        Registry entry and ``"paper"``/``"small"``.
    firing_rate : float
        Assumed spikes per neuron per time step [1], used for the layers without measured spikes.
    timesteps : int
        Assumed time steps per inference.
    measured_spikes : mapping layer name -> float or tensor, optional
        Presynaptic spikes per inference per synaptic layer, as accepted by :func:`vo2neuro.ml_zoo.synaptic.synops`
        (from ``vo2neuro.snn`` once a converted network has run).
    measured : MeasuredRun, optional
        A hardware-level run of this model (:func:`vo2neuro.ml_zoo.measured.load_measured`). Each synaptic layer
        (after the first) whose name is in the run's ``layer_rates`` gets ``rate x run.steps`` presynaptic spikes
        per neuron x its ``n_presynaptic`` in ``config``; so a rate measured on another configuration (DPDNet's
        MNIST one) charges the same-named layer of this one, per presynaptic neuron (the flag names both). The
        other layers keep the assumed ``firing_rate x timesteps``. Names of the run that are not layers of
        ``config`` are ignored; a run that matches none is refused.

    Examples
    --------
    >>> w = workload("tddpg_rec", firing_rate=0.1, timesteps=8)
    >>> w.spike_source, w.rate_source
    ('assumed', 'assumed: 0.1 spikes/step x 8 steps')
    """
    from vo2neuro.ml_zoo import synaptic

    firing_rate = check_firing_rate(firing_rate)
    timesteps = check_timesteps(timesteps)
    _check_entry(name, config)
    if measured_spikes is not None and measured is not None:
        raise ParameterError(f"measured: give measured_spikes or a measured run for {name}, not both [-]")
    report, table = entry_counts(name, config)
    covered = {n for n in table}
    synaptic_macs = sum(r.count for r in report.rows if r.name in covered and r.category in ("conv", "linear"))
    first = next((fo.name for fo in table.values() if fo.order == 0), None)
    first_macs = sum(r.count for r in report.rows if r.name == first and r.category in ("conv", "linear"))
    kind = "assumed"
    graded: set[str] = set()
    if measured is not None:
        spikes, source, kind = _measured_spikes(name, config, table, measured, firing_rate, timesteps)
        graded = {n for n in spikes if measured.inputs.get(n) == "graded"}
    elif measured_spikes is None:
        spikes = synaptic.uniform_spikes(table, firing_rate * timesteps, skip_first=True)
        source = f"assumed: {firing_rate:g} spikes/step x {timesteps} steps"
    else:
        spikes = dict(measured_spikes)
        source, kind = "measured", "measured"
    syn = synaptic.synops(table, spikes)
    # graded values are routed (synaptic operations) but are not spikes of a neuron (no device fires for them)
    graded_events = float(sum(spikes[n] for n in graded))
    return Workload(
        name=name, config=config, params=report.params, macs=report.macs, first_layer_macs=first_macs,
        rest_macs=report.macs - synaptic_macs, synops=syn.synops, spikes=syn.spikes - graded_events,
        rate_source=source, spike_source=kind, graded_events=graded_events,
    )


def _measured_spikes(name: str, config: str, table: Mapping[str, Any], run: Any, firing_rate: float,
                     timesteps: int) -> tuple[dict[str, float], str, str]:
    """(spikes per layer, rate_source, spike_source) of ``name`` in ``config`` from the measured run ``run``."""
    from vo2neuro.ml_zoo.measured import MeasuredRun

    if not isinstance(run, MeasuredRun):
        raise ParameterError(f"measured: expected a MeasuredRun (vo2neuro.ml_zoo.measured.load_measured), got "
                             f"{type(run).__name__} [-]")
    if run.model != name:
        raise ParameterError(f"measured: {run.source} is a run of {run.model}, not {name} [-]")
    charged = [fo for fo in table.values() if fo.order != 0]
    rates = run.rates
    matched = {fo.name: rates[fo.name] for fo in charged if fo.name in rates}
    if not matched:
        raise ParameterError(f"measured: {run.source}: none of its layer_rates names ({', '.join(list(rates)[:3])}"
                             f"{', ...' if len(rates) > 3 else ''}) is a synaptic layer after the first of {name} "
                             f"({config}) [-]")
    spikes = {fo.name: (matched[fo.name] * run.steps if fo.name in matched else firing_rate * timesteps)
              * fo.n_presynaptic for fo in charged}
    k, n = len(matched), len(charged)
    kinds = [run.inputs.get(m) for m in matched]
    fed = (f", {kinds.count('spikes')} fed by spikes and {kinds.count('graded')} by graded values"
           if kinds and all(x in ("spikes", "graded") for x in kinds) else "")
    rest = "" if k == n else f"; the rest assumed {firing_rate:g} x {timesteps}"
    source = f"measured: {run.describe(applied_to=config)} ({k} of {n} layers{fed}{rest})"
    return spikes, source, ("measured" if k == n else "mixed")


def _check_entry(name: str, config: str) -> None:
    """Refuse an unknown registry name or config with a :class:`ParameterError` listing the valid ones."""
    from vo2neuro.ml_zoo.registry import CONFIGS, list_models

    if not isinstance(name, str) or name not in list_models():
        raise ParameterError(f"model: unknown model {name!r}; valid: {', '.join(list_models())} [-]")
    if not isinstance(config, str) or config not in CONFIGS:
        raise ParameterError(f"config: {config!r} is not valid; valid: {', '.join(CONFIGS)} [-]")


# ----------------------------------------------------------------------------------------------------------- targets
@dataclass(frozen=True)
class CMOSTarget:
    """Dense ANN inference on 45 nm CMOS: ``E = E_MAC x MACs [+ weight reads]``.

    Attributes
    ----------
    precision : {"fp32", "fp16", "int8"}
        Arithmetic (Horowitz MAC energy).
    memory : {None, "sram_8kb", "sram_32kb", "sram_1mb", "dram"}
        Optional weight traffic: every weight read once per inference in 64-bit words (a lower bound; activations
        and re-reads ignored).
    """

    precision: str = "fp32"
    memory: str | None = None

    def __post_init__(self) -> None:
        _choice("precision", self.precision, _PRECISION)
        if self.memory is not None:
            _choice("memory", self.memory, _MEMORY)

    @property
    def name(self) -> str:
        return f"cmos45_{self.precision}" + (f"+{self.memory}" if self.memory else "")

    def constants(self) -> tuple[EnergyConstant, ...]:
        mac, _, _ = _PRECISION[self.precision]
        out = [HOROWITZ_45NM[mac]]
        if self.memory:
            out.append(HOROWITZ_45NM[_MEMORY[self.memory]])
        return tuple(out)

    def energy(self, w: Workload) -> float:
        mac, _, bits = _PRECISION[self.precision]
        e = HOROWITZ_45NM[mac].value_j * w.macs
        if self.memory:
            e += HOROWITZ_45NM[_MEMORY[self.memory]].value_j * math.ceil(w.params * bits / 64)
        return e


@dataclass(frozen=True)
class SNNOnCMOSTarget:
    """The standard SNN recipe on CMOS: ``E = E_MAC (MACs_first + MACs_rest) + E_AC x SynOps``."""

    precision: str = "fp32"

    def __post_init__(self) -> None:
        _choice("precision", self.precision, _PRECISION)

    @property
    def name(self) -> str:
        return f"snn_cmos45_{self.precision}"

    def constants(self) -> tuple[EnergyConstant, ...]:
        mac, add, _ = _PRECISION[self.precision]
        return HOROWITZ_45NM[mac], HOROWITZ_45NM[add]

    def energy(self, w: Workload) -> float:
        mac, add, _ = _PRECISION[self.precision]
        return HOROWITZ_45NM[mac].value_j * (w.first_layer_macs + w.rest_macs) + HOROWITZ_45NM[add].value_j * w.synops


@dataclass(frozen=True)
class NeuromorphicTarget:
    """A digital neuromorphic chip: ``E = E_SOP x SynOps + E_MAC,fp32 (MACs_first + MACs_rest)`` (host for non-spiking ops).

    Attributes
    ----------
    energy_per_synop_j : float
        Energy per synaptic operation [J]. Default 23.6 pJ: Loihi (Davies et al., IEEE Micro 2018), commonly quoted,
        table value unverified (``ml_zoo_papers.md`` §13). TrueNorth: 26 pJ per synaptic event [unverified].
    source : str
        Where ``energy_per_synop_j`` comes from.
    label : str
        Target name in tables.
    """

    energy_per_synop_j: float = 23.6e-12
    source: str = "Loihi, Davies et al., IEEE Micro 2018 (commonly quoted; table value unverified)"
    label: str = "loihi"

    def __post_init__(self) -> None:
        check_nonnegative("energy_per_synop_j", self.energy_per_synop_j, "J")

    @property
    def name(self) -> str:
        return self.label

    def constants(self) -> tuple[EnergyConstant, ...]:
        return EnergyConstant(f"{self.label}_synop", self.energy_per_synop_j, self.source), HOROWITZ_45NM["fp32_mac"]

    def energy(self, w: Workload) -> float:
        return self.energy_per_synop_j * w.synops + HOROWITZ_45NM["fp32_mac"].value_j * (w.first_layer_macs + w.rest_macs)


@dataclass(frozen=True)
class VO2Target:
    """VO2-x oscillator neurons: ``E = E_spike x Spikes + E_syn x SynOps + E_MAC,fp32 (MACs_first + MACs_rest)``.

    The two device/circuit energies are parameters: ``vo2neuro.circuits`` will supply them from the simulated neuron
    (energy per spike, ``vo2_physics.md`` §14, device or circuit definition) and the synapse model.

    Attributes
    ----------
    energy_per_spike_j : float
        Energy per neuron spike [J]. Default 39 pJ, an **assumption**: the order of the Technion VO2 oscillator
        simulation (~39 pJ per cycle at 57 MHz, ``vo2_physics.md`` §14 [code, historical]); measured micrometre
        devices are 2.75-4.7 nJ and nanoscale VO2 a few fJ per switching event.
    energy_per_synaptic_event_j : float
        Energy per synaptic event [J]. Default 0.9 pJ, an **assumption**: one digital accumulate (Horowitz fp32 add).
    spike_source, synapse_source : str
        Provenance of the two values.
    """

    energy_per_spike_j: float = 39e-12
    energy_per_synaptic_event_j: float = 0.9e-12
    spike_source: str = "assumption (order of the Technion VO2 simulation, ~39 pJ/cycle; vo2_physics.md §14)"
    synapse_source: str = "assumption (one fp32 accumulate, Horowitz ISSCC 2014)"
    label: str = "vo2x"

    def __post_init__(self) -> None:
        check_nonnegative("energy_per_spike_j", self.energy_per_spike_j, "J")
        check_nonnegative("energy_per_synaptic_event_j", self.energy_per_synaptic_event_j, "J")

    @property
    def name(self) -> str:
        return self.label

    def constants(self) -> tuple[EnergyConstant, ...]:
        return (
            EnergyConstant(f"{self.label}_spike", self.energy_per_spike_j, self.spike_source),
            EnergyConstant(f"{self.label}_synaptic_event", self.energy_per_synaptic_event_j, self.synapse_source),
            HOROWITZ_45NM["fp32_mac"],
        )

    def energy(self, w: Workload) -> float:
        return (self.energy_per_spike_j * w.spikes + self.energy_per_synaptic_event_j * w.synops
                + HOROWITZ_45NM["fp32_mac"].value_j * (w.first_layer_macs + w.rest_macs))


Target = CMOSTarget | SNNOnCMOSTarget | NeuromorphicTarget | VO2Target


def vo2_target_from_circuit(preset: str = "vo2x", *, r_load: float = 12e3, capacitance: float = 145.35e-12,
                            ambient: float | None = None, position: float = 0.5, definition: str = "source",
                            energy_per_synaptic_event_j: float = 0.9e-12) -> VO2Target:
    """A :class:`VO2Target` whose energy per spike comes from the simulated Pearson-Anson neuron.

    The neuron is driven ``position`` of the way into its oscillation window (0 = onset, 1 = upper edge) and the
    energy per spike is measured over the settled periods (``vo2neuro.circuits.simulate``): ``definition="source"``
    takes the energy drawn from the supply per spike (system figure, includes R_L), ``"device"`` the energy
    dissipated in the VO2 device (vo2_physics.md section 14).
    """
    from vo2neuro.circuits import oscillation_window, simulate
    from vo2neuro.device.select import select

    if definition not in ("source", "device"):
        raise ParameterError(f"definition: {definition!r} is not valid; valid: device, source")
    check_positive("r_load", r_load, "Ohm")
    check_positive("capacitance", capacitance, "F")
    check_nonnegative("energy_per_synaptic_event_j", energy_per_synaptic_event_j, "J")
    if not 0.0 <= check_finite("position", position, "1") <= 1.0:
        raise ParameterError(f"position must be in [0, 1] [1] (0 = onset, 1 = upper edge of the window), "
                             f"got {position!r}")
    dev, preset_ambient, _ = select(preset)
    ambient = preset_ambient if ambient is None else ambient
    win = oscillation_window(dev, drive="voltage", r_load=r_load, capacitance=capacitance, ambient=ambient)
    v_in = win.lower + position * (win.upper - win.lower)
    nr = simulate(dev, v_in=v_in, r_load=r_load, capacitance=capacitance, ambient=ambient, duration=60e-6).neuron(0)
    e = nr.energy_per_spike_j if definition == "source" else nr.device_energy_per_spike_j
    src = (f"simulated: {preset} Pearson-Anson neuron, V_in={v_in:.3g} V, R_L={r_load:g} Ohm, C={capacitance:g} F, "
           f"{ambient:g} K, f={nr.frequency_hz / 1e3:.4g} kHz, {definition} energy per spike (vo2neuro.circuits)")
    return VO2Target(energy_per_spike_j=float(e), energy_per_synaptic_event_j=energy_per_synaptic_event_j,
                     spike_source=src, label=preset)


def default_targets(vo2: VO2Target | None = None) -> tuple[Target, ...]:
    """CMOS fp32 and int8 ANN, the SNN recipe on CMOS fp32, Loihi-class neuromorphic, and VO2-x (``vo2`` or defaults)."""
    return (CMOSTarget("fp32"), CMOSTarget("int8"), SNNOnCMOSTarget("fp32"), NeuromorphicTarget(), vo2 or VO2Target())


# ------------------------------------------------------------------------------------------------------------- table
@dataclass(frozen=True)
class EnergyRow:
    """Energy of one workload on one target [J per inference]."""

    model: str
    config: str
    target: str
    energy_j: float
    macs: int
    synops: float
    spikes: float
    rate_source: str
    spike_source: str = "assumed"
    graded_events: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EnergyTable:
    """Rows per (model, target) plus every constant used with its source and the assumptions made."""

    rows: tuple[EnergyRow, ...]
    constants: tuple[EnergyConstant, ...]
    assumptions: tuple[str, ...]
    workloads: tuple[Workload, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": [r.to_dict() for r in self.rows],
            "workloads": [w.to_dict() for w in self.workloads],
            "constants": [c.to_dict() for c in self.constants],
            "assumptions": list(self.assumptions),
        }

    def pivot(self) -> tuple[list[str], list[str], dict[tuple[str, str], float]]:
        """(models, targets, {(model, target): energy_j})."""
        models = list(dict.fromkeys(r.model for r in self.rows))
        targets = list(dict.fromkeys(r.target for r in self.rows))
        return models, targets, {(r.model, r.target): r.energy_j for r in self.rows}

    def to_markdown(self) -> str:
        models, targets, e = self.pivot()
        wl = {w.name: w for w in self.workloads}
        head = ["model", "MACs", "synops", "spikes", *[f"{t} [J]" for t in targets]]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for m in models:
            w = wl.get(m)
            cells = [m, f"{w.macs:.4g}" if w else "", f"{w.synops:.4g}" if w else "", w.spike_source if w else ""]
            cells += [f"{e[(m, t)]:.3e}" for t in targets]
            lines.append("| " + " | ".join(cells) + " |")
        lines += _spike_lines(self.workloads)
        lines += ["", "Constants:", ""]
        lines += [f"* `{c.name}` = {c.value_j:.4g} J: {c.source}" + (f" ({c.note})" if c.note else "")
                  for c in self.constants]
        lines += ["", "Assumptions:", ""]
        lines += [f"* {a}" for a in self.assumptions]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["model", "config", "target", "energy_j", "macs", "synops", "spikes", "rate_source",
                         "spike_source"])
        for r in self.rows:
            writer.writerow([r.model, r.config, r.target, f"{r.energy_j:.6e}", r.macs, f"{r.synops:.6g}",
                             f"{r.spikes:.6g}", r.rate_source, r.spike_source])
        for c in self.constants:
            writer.writerow([f"# constant {c.name}", "", "", f"{c.value_j:.6e}", "", "", "", c.source, ""])
        for a in self.assumptions:
            writer.writerow([f"# assumption: {a}", "", "", "", "", "", "", "", ""])
        return buf.getvalue()


def _spike_lines(workloads: Sequence[Workload]) -> list[str]:
    """Markdown lines naming where each workload's spike counts come from, when any is measured (else none)."""
    if all(w.spike_source == "assumed" for w in workloads):
        return []
    return ["", "Spike counts:", ""] + [f"* {w.name}: {w.rate_source}" for w in workloads]


_ASSUMPTIONS = (
    "energies are per inference at batch 1; compute only unless a memory term is selected (no activation traffic)",
    "the first synaptic layer (analog input) and every MAC outside nn.Linear/nn.Conv modules (attention matmuls, "
    "RNN cells, sparse graph propagation, functional linears) are charged as CMOS fp32 MACs on the spiking targets",
    "spiking targets treat every synaptic layer after the first as spike-driven, also for models whose conversion "
    "flag is False (an upper bound on what conversion can give)",
    "spikes = presynaptic spikes of the synaptic layers >= 2; a population feeding two layers is counted twice",
)


def energy_table(
    names: Iterable[str] | None = None,
    *,
    config: str = "paper",
    targets: Sequence[Target] | None = None,
    firing_rate: float = DEFAULT_FIRING_RATE,
    timesteps: int = DEFAULT_TIMESTEPS,
    measured_spikes: Mapping[str, Mapping[str, Any]] | None = None,
    measured: Sequence[Any] | None = None,
) -> EnergyTable:
    """Energy per inference of zoo workloads on several hardware targets.

    Parameters
    ----------
    names : iterable of str, optional
        Registry names (all ten by default).
    config : {"paper", "small"}
        Model size.
    targets : sequence of targets, optional
        :func:`default_targets` by default; pass ``VO2Target(energy_per_spike_j=..., energy_per_synaptic_event_j=...)``
        with the circuit simulator's values.
    firing_rate, timesteps : float, int
        Assumed spikes per neuron per step and steps per inference, for models without measured spikes.
    measured_spikes : mapping model name -> (layer name -> spikes), optional
        Measured presynaptic spike counts per inference (see :func:`vo2neuro.ml_zoo.synaptic.synops`).
    measured : sequence of MeasuredRun, optional
        Hardware-level runs (:func:`vo2neuro.ml_zoo.measured.load_measured`), at most one per model, each of a
        model in ``names`` (a run of another model is refused, not ignored: it was given to be used). The layers
        a run measured are charged its rates (:func:`workload`), the rows flagged ``measured`` or ``mixed``.

    Returns
    -------
    EnergyTable
        ``.to_markdown()``, ``.to_csv()``, ``.to_dict()``.

    Examples
    --------
    >>> t = energy_table(["tddpg_rec"], targets=[CMOSTarget("fp32")])
    >>> round(t.rows[0].energy_j / 4.6e-12)   # = MACs
    415100
    """
    from vo2neuro.ml_zoo.registry import list_models

    names = list(list_models() if names is None else names)
    for n in names:
        _check_entry(n, config)
    firing_rate = check_firing_rate(firing_rate)
    timesteps = check_timesteps(timesteps)
    targets = tuple(default_targets() if targets is None else targets)
    measured_spikes = dict(measured_spikes or {})
    unknown = sorted(set(measured_spikes) - set(names))
    if unknown:
        raise ParameterError(f"measured_spikes: models {unknown} are not in names {names} [-]")
    runs = measured_by_model(measured, names, measured_spikes=measured_spikes)
    rows, workloads = [], []
    for n in names:
        w = workload(n, config, firing_rate=firing_rate, timesteps=timesteps, measured_spikes=measured_spikes.get(n),
                     measured=runs.get(n))
        workloads.append(w)
        for t in targets:
            rows.append(EnergyRow(model=n, config=config, target=t.name, energy_j=t.energy(w), macs=w.macs,
                                  synops=w.synops, spikes=w.spikes, rate_source=w.rate_source,
                                  spike_source=w.spike_source))
    constants = tuple({c.name: c for t in targets for c in t.constants()}.values())
    assumptions = list(_ASSUMPTIONS)
    if any(w.spike_source != "measured" for w in workloads):
        assumptions.append(f"assumed firing rate {firing_rate:g} spikes/neuron/step x {timesteps} steps = "
                           f"{firing_rate * timesteps:g} spikes per presynaptic neuron per inference")
    if runs:
        assumptions.append("measured spikes: events per presynaptic neuron per step of each layer a hardware-level "
                           "run simulated (a nonzero layer input per step: a spike, or a routed graded value after "
                           "a pooling, residual addition or neuron-free linear layer) x the run's T, matched to "
                           "this configuration's layers by name (vo2neuro.ml_zoo.measured); graded values count "
                           "as synaptic operations, not as neuron spikes (the record's layer_inputs)")
    return EnergyTable(rows=tuple(rows), constants=constants, assumptions=tuple(assumptions), workloads=tuple(workloads))


def measured_by_model(measured: Sequence[Any] | None, names: Sequence[str], *, config: str | None = None,
                      measured_spikes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """{model: MeasuredRun} of the runs ``measured``, checked as :func:`energy_table` uses them: one run per model,
    each of a model in ``names``, none of a model that also has ``measured_spikes``; with ``config``, each run must
    also name at least one synaptic layer (after the first) of its model in that configuration. Call it to refuse
    bad runs before any other work; raises a one-line :class:`ParameterError` naming the run's file."""
    from vo2neuro.ml_zoo.measured import MeasuredRun

    measured_spikes = measured_spikes or {}
    runs: dict[str, Any] = {}
    for run in measured or ():
        if not isinstance(run, MeasuredRun):
            raise ParameterError(f"measured: expected MeasuredRun records (vo2neuro.ml_zoo.measured.load_measured), "
                                 f"got {type(run).__name__} [-]")
        if run.model not in names:
            raise ParameterError(f"measured: {run.source} is a run of {run.model}, which is not among the models "
                                 f"asked for ({', '.join(names)}) [-]")
        if run.model in runs:
            raise ParameterError(f"measured: two runs of {run.model} ({runs[run.model].source}, {run.source}); give "
                                 f"one per model [-]")
        if run.model in measured_spikes:
            raise ParameterError(f"measured: {run.model} has both measured_spikes and a measured run [-]")
        runs[run.model] = run
    if config is not None:
        for name, run in runs.items():
            _check_entry(name, config)
            _measured_spikes(name, config, entry_counts(name, config)[1], run, DEFAULT_FIRING_RATE, DEFAULT_TIMESTEPS)
    return runs


def plot_energy_table(table: EnergyTable, path: str) -> None:
    """Grouped bar chart (log scale) of energy per inference, one group per model, one bar per target, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    models, targets, e = table.pivot()
    x = np.arange(len(models))
    width = 0.8 / max(len(targets), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(models) + 2), 4.0))
    try:
        for k, t in enumerate(targets):
            ax.bar(x + (k - (len(targets) - 1) / 2) * width, [e[(m, t)] for m in models], width, label=t)
        ax.set_yscale("log")
        ax.set_xticks(x, models, rotation=30, ha="right")
        ax.set_ylabel("energy per inference [J]")
        ax.legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(path, format="png", dpi=120)
    finally:
        plt.close(fig)


# ------------------------------------------------------------------------------------------- energy against size
#: How :func:`size_geometry` turns a channel length into a device (the defaults of `vo2neuro device scale`).
SIZE_GEOMETRY_RULE = SIZING_RULE


def size_geometry(length: float):
    """The :class:`~vo2neuro.device.geometry.Geometry` of channel length ``length`` [m]
    (:func:`vo2neuro.circuits.scaling.sized_geometry`, as ``vo2neuro device scale`` sizes it)."""
    from vo2neuro.circuits.scaling import sized_geometry

    return sized_geometry(check_positive("device-size", length, "m"))


@dataclass(frozen=True)
class SizedVO2:
    """The VO2-x target of one device size with the device it comes from.

    Attributes
    ----------
    preset : str
        Film preset (its vacancy level and ambient).
    record : vo2neuro.circuits.scaling.ScaleRecord
        The scale study of that size (:func:`vo2neuro.circuits.scaling.scale_study`).
    target : VO2Target or None
        Energy target with ``energy_per_spike_j = record.energy_per_spike_j``; None where the device does not
        oscillate (no energy per spike).
    """

    preset: str
    delta: float
    record: Any
    target: VO2Target | None

    @property
    def energy_per_spike_j(self) -> float:
        return float(self.record.energy_per_spike_j)

    def to_dict(self) -> dict[str, Any]:
        """Device description: preset, delta, geometry, integration, node capacitance split, energy per spike."""
        from vo2neuro.circuits.scaling import INTEGRATION

        r = self.record
        return {
            "preset": self.preset, "delta": self.delta, "ambient_k": r.ambient_k,
            "geometry": {"length_m": r.length_m, "width_m": r.width_m, "thickness_m": r.thickness_m,
                         "substrate": r.substrate, "rule": SIZE_GEOMETRY_RULE},
            "integration": {"name": r.integration, "source": INTEGRATION[r.integration].source},
            "node_capacitance": {"device_f": r.device_capacitance_f, "parasitic_f": r.parasitic_capacitance_f,
                                 "integration_f": r.integration_capacitance_f, "total_f": r.node_capacitance_f},
            "r_load_ohm": r.r_load_ohm, "v_in_v": r.v_in_v, "frequency_hz": r.frequency_hz,
            "energy_per_spike_j": r.energy_per_spike_j,
            "energy_per_spike_shares_j": {"device": r.device_energy_per_spike_j - r.parasitic_energy_per_spike_j
                                          - r.capacitor_energy_per_spike_j,
                                          "parasitic": r.parasitic_energy_per_spike_j,
                                          "capacitor": r.capacitor_energy_per_spike_j,
                                          "load": r.load_energy_per_spike_j},
            "dominant": r.dominant,
            "energy_per_spike_source": (self.target.spike_source if self.target is not None
                                        else "none: the device does not oscillate at this size"),
        }


def vo2_targets_from_sizes(lengths: Sequence[float], *, preset: str = "vo2x", integration: str = "on-chip",
                           energy_per_synaptic_event_j: float = 0.9e-12,
                           progress: Any = None) -> tuple[SizedVO2, ...]:
    """VO2-x targets whose energy per spike is that of the simulated neuron of a device of each channel length [m].

    The device is :func:`size_geometry` of the length, the film ``preset`` (its vacancy level and ambient), in the
    integration scenario ``integration`` (:data:`vo2neuro.circuits.scaling.INTEGRATION`); the figure is the source
    energy per spike of :func:`vo2neuro.circuits.scaling.scale_study` (its load R_L = V_th/(2 I_th), the least
    capacitor that oscillates, the operating point of least energy). ``progress(i, n)`` after each size.
    """
    from vo2neuro.circuits.scaling import check_integration, scale_study

    check_integration(integration)
    check_nonnegative("energy_per_synaptic_event_j", energy_per_synaptic_event_j, "J")
    geos = [size_geometry(float(L)) for L in lengths]
    if not geos:
        raise ParameterError("device-size: give at least one size [m]")
    from vo2neuro.circuits.scaling import film_of

    base, delta, ambient = film_of(preset, option="vo2-preset")
    recs = scale_study(geos, base=base, delta=delta, ambient=ambient, integration=integration, progress=progress)
    out = []
    for r in recs:
        e = float(r.energy_per_spike_j)
        target = None
        if math.isfinite(e):
            src = (f"simulated: {preset} (delta={delta:g}) device L={r.length_m:.3g} m, W={r.width_m:.3g} m, "
                   f"t={r.thickness_m:.3g} m, {integration}, C_node={r.node_capacitance_f:.3g} F, "
                   f"R_L={r.r_load_ohm:.3g} Ohm, V_in={r.v_in_v:.3g} V, f={r.frequency_hz:.4g} Hz, {ambient:g} K, "
                   f"source energy per spike at the least-energy operating point (vo2neuro.circuits.scaling)")
            target = VO2Target(energy_per_spike_j=e, energy_per_synaptic_event_j=energy_per_synaptic_event_j,
                               spike_source=src, label=preset)
        out.append(SizedVO2(preset=preset, delta=delta, record=r, target=target))
    return tuple(out)


def crossover_size(lengths: Sequence[float], vo2_energies: Sequence[float], reference: float) -> float | None:
    """Channel length [m] where the VO2-x energy equals ``reference`` [J], or None when it does not cross.

    Between two neighbouring finite sizes whose energies straddle the reference, log E is interpolated linearly in
    log L (exact for a power law). Sizes are scanned from the largest down; the first crossing is returned (the
    size below which VO2-x is cheaper when its energy falls with size).
    """
    pts = sorted(((float(L), float(e)) for L, e in zip(lengths, vo2_energies, strict=True)
                  if math.isfinite(float(e)) and float(e) > 0), reverse=True)
    ref = check_positive("reference", reference, "J")
    for (l1, e1), (l2, e2) in zip(pts, pts[1:]):
        if e1 == ref:
            return l1
        if (e1 - ref) * (e2 - ref) < 0:
            f = math.log(ref / e1) / math.log(e2 / e1)
            return math.exp(math.log(l1) + f * math.log(l2 / l1))
    if pts and pts[-1][1] == ref:
        return pts[-1][0]
    return None


@dataclass(frozen=True)
class EnergySizeStudy:
    """VO2-x energy per inference against device size beside the size-independent reference targets.

    ``vo2_energy[model]`` is per size [J] (NaN where the device does not oscillate); ``crossovers[model][target]``
    the crossover size [m] or None.
    """

    sizes: tuple[SizedVO2, ...]
    reference: EnergyTable
    vo2_energy: dict[str, tuple[float, ...]]
    crossovers: dict[str, dict[str, float | None]]

    @property
    def lengths(self) -> tuple[float, ...]:
        return tuple(s.record.length_m for s in self.sizes)

    def table_at(self, i: int) -> EnergyTable:
        """The full energy table (references and VO2-x) at size ``i``."""
        s = self.sizes[i]
        if s.target is None:
            raise ParameterError(f"device-size: the {s.preset} device of L={s.record.length_m:.3g} m does not "
                                 f"oscillate in the {s.record.integration} scenario (no energy per spike) [m]")
        rows = list(self.reference.rows)
        for w in self.reference.workloads:
            rows.append(EnergyRow(model=w.name, config=w.config, target=s.target.name, energy_j=s.target.energy(w),
                                  macs=w.macs, synops=w.synops, spikes=w.spikes, rate_source=w.rate_source,
                                  spike_source=w.spike_source))
        order = {w.name: k for k, w in enumerate(self.reference.workloads)}
        rows.sort(key=lambda r: order[r.model])  # stable: targets keep their order within a model
        constants = tuple({c.name: c for c in (*self.reference.constants, *s.target.constants())}.values())
        return EnergyTable(rows=tuple(rows), constants=constants, assumptions=self.reference.assumptions,
                           workloads=self.reference.workloads)

    def device(self) -> dict[str, Any]:
        """What every size shares: preset, delta, ambient, integration scenario, geometry rule."""
        from vo2neuro.circuits.scaling import INTEGRATION

        s = self.sizes[0]
        r = s.record
        return {"preset": s.preset, "delta": s.delta, "ambient_k": r.ambient_k,
                "integration": {"name": r.integration, "parasitic_f": INTEGRATION[r.integration].parasitic_f,
                                "source": INTEGRATION[r.integration].source},
                "geometry_rule": SIZE_GEOMETRY_RULE,
                "synaptic_event_j": (next(x.target for x in self.sizes if x.target is not None)
                                     .energy_per_synaptic_event_j
                                     if any(x.target is not None for x in self.sizes) else None)}

    def to_dict(self) -> dict[str, Any]:
        ref = self.reference.to_dict()
        sizes = []
        for k, s in enumerate(self.sizes):
            d = s.to_dict()
            d["energy_per_inference_j"] = {m: e[k] for m, e in self.vo2_energy.items()}
            sizes.append(d)
        return {"device": self.device(), "sizes": sizes, "reference_rows": ref["rows"],
                "workloads": ref["workloads"], "constants": ref["constants"], "assumptions": ref["assumptions"],
                "crossover_size_m": self.crossovers}

    def to_markdown(self) -> str:
        d = self.device()
        models = list(self.vo2_energy)
        head = ["L [m]", "W [m]", "t [m]", "C_node [F]", "E/spike [J]", "dominant",
                *[f"{m} [J]" for m in models]]
        lines = [f"VO2-x ({d['preset']}, delta={d['delta']:g}, {d['integration']['name']}; {SIZE_GEOMETRY_RULE}): "
                 f"energy per inference against device size", "",
                 "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for k, s in enumerate(self.sizes):
            r = s.record
            cells = [f"{r.length_m:.3g}", f"{r.width_m:.3g}", f"{r.thickness_m:.3g}", f"{r.node_capacitance_f:.3g}",
                     f"{r.energy_per_spike_j:.3g}", r.dominant, *[f"{self.vo2_energy[m][k]:.3e}" for m in models]]
            lines.append("| " + " | ".join(cells) + " |")
        _, targets, e = self.reference.pivot()
        lines += ["", "Crossover size (VO2-x energy equals the target's) [m]:", "",
                  "| model | " + " | ".join(targets) + " |", "|" + "---|" * (len(targets) + 1)]
        for m in models:
            cells = [m]
            for t in targets:
                x = self.crossovers[m][t]
                cells.append(("none in range" if x is None else f"{x:.3g} m") + f" (E = {e[(m, t)]:.3e} J)")
            lines.append("| " + " | ".join(cells) + " |")
        lines += _spike_lines(self.reference.workloads)
        lines += ["", "Assumptions:", ""] + [f"* {a}" for a in self.reference.assumptions]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["model", "config", "target", "length_m", "energy_j", "energy_per_spike_j", "crossover_size_m"])
        for w in self.reference.workloads:
            for k, s in enumerate(self.sizes):
                writer.writerow([w.name, w.config, s.preset, f"{s.record.length_m:.6e}",
                                 f"{self.vo2_energy[w.name][k]:.6e}", f"{s.record.energy_per_spike_j:.6e}", ""])
            for r in self.reference.rows:
                if r.model == w.name:
                    x = self.crossovers[w.name][r.target]
                    writer.writerow([r.model, r.config, r.target, "", f"{r.energy_j:.6e}", "",
                                     "" if x is None else f"{x:.6e}"])
        return buf.getvalue()


def energy_size_study(
    names: Iterable[str] | None,
    lengths: Sequence[float],
    *,
    config: str = "paper",
    preset: str = "vo2x",
    integration: str = "on-chip",
    energy_per_synaptic_event_j: float = 0.9e-12,
    firing_rate: float = DEFAULT_FIRING_RATE,
    timesteps: int = DEFAULT_TIMESTEPS,
    progress: Any = None,
    measured: Sequence[Any] | None = None,
) -> EnergySizeStudy:
    """Energy per inference of the workloads ``names`` on VO2-x devices of channel lengths ``lengths`` [m]
    (:func:`vo2_targets_from_sizes`) and on the size-independent targets of :func:`default_targets` (CMOS 45 nm
    fp32/int8, SNN on CMOS, Loihi), with the crossover size of each (:func:`crossover_size`); ``measured`` as in
    :func:`energy_table`."""
    refs = default_targets()[:-1]
    table = energy_table(names, config=config, targets=refs, firing_rate=firing_rate, timesteps=timesteps,
                         measured=measured)
    sizes = vo2_targets_from_sizes(lengths, preset=preset, integration=integration,
                                   energy_per_synaptic_event_j=energy_per_synaptic_event_j, progress=progress)
    vo2 = {w.name: tuple(s.target.energy(w) if s.target is not None else math.nan for s in sizes)
           for w in table.workloads}
    L = [s.record.length_m for s in sizes]
    _, targets, e = table.pivot()
    cross = {m: {t: crossover_size(L, vo2[m], e[(m, t)]) for t in targets} for m in vo2}
    return EnergySizeStudy(sizes=sizes, reference=table, vo2_energy=vo2, crossovers=cross)


def plot_energy_size(study: EnergySizeStudy, path: str) -> None:
    """Log-log VO2-x energy per inference against channel length, one panel per workload, the reference targets as
    horizontal lines and each crossover size marked (legend: the size, or "none in range"); saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    models = list(study.vo2_energy)
    _, targets, e = study.reference.pivot()
    ncol = min(len(models), 3)
    nrow = math.ceil(len(models) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.6 * nrow), squeeze=False)
    L = np.array(study.lengths)
    d = study.device()
    try:
        for ax, m in zip(axes.flat, models):
            y = np.array(study.vo2_energy[m], dtype=float)
            ok = np.isfinite(y) & (y > 0)
            ax.loglog(L[ok], y[ok], "o-", ms=3, color="k", label=f"VO2-x ({d['preset']})")
            for k, t in enumerate(targets):
                color = f"C{k}"
                x = study.crossovers[m][t]
                label = f"{t}: " + ("none in range" if x is None else f"crossover {x:.3g} m")
                ax.axhline(e[(m, t)], color=color, ls="--", lw=1, label=label)
                if x is not None:
                    ax.axvline(x, color=color, ls=":", lw=1)
                    ax.plot([x], [e[(m, t)]], "D", color=color, ms=5)
            ax.set_title(m, fontsize=9)
            ax.set_xlabel("channel length L [m]")
            ax.set_ylabel("energy per inference [J]")
            ax.legend(fontsize=6)
        for ax in list(axes.flat)[len(models):]:
            ax.set_visible(False)
        fig.suptitle(f"VO2-x energy against device size ({d['integration']['name']})", fontsize=10)
        fig.tight_layout()
        fig.savefig(path, format="png", dpi=120)
    finally:
        plt.close(fig)
