r"""Energy ledger: energy per inference of the zoo workloads on CMOS, digital-neuromorphic and VO2-x analog targets.

Recipe (``ml_zoo_papers.md`` §13-14; Spikformer, Yao et al. TPAMI 2023, SpikingJelly ``estimate_compute_energy``)::

    E_ANN  = E_MAC x MACs                                            (+ optional weight traffic)
    E_SNN  = E_MAC x (MACs_first + MACs_rest) + E_syn x SynOps  [+ E_spike x Spikes]
    SynOps = sum over synaptic layers l >= 2 of spikes_in(l) x fan-out(l)        (vo2neuro.ml_zoo.synaptic.synops)

* ``MACs_first``: the first synaptic layer, fed with the real-valued input, stays a MAC layer (the recipe's layer 1).
* ``MACs_rest``: every MAC not done by a synaptic module (``nn.Linear``/``nn.Conv*``): attention and other
  activation x activation matmuls, RNN cells, sparse graph propagation and functional linears. These cannot be driven
  by spikes after conversion, so they are charged as CMOS MACs on every spiking target (the conservative choice).
* Spikes per inference: measured counts when given (``measured_spikes``, the interface of :func:`vo2neuro.ml_zoo.synaptic.synops`),
  otherwise the **assumed** ``firing_rate`` [spikes / neuron / time step] x ``timesteps`` for every presynaptic neuron of
  the layers >= 2 (defaults 0.1 and 8: 0.8 spikes per neuron per inference, inside the 0.15-1.38 spikes/synapse window
  where Dampfhoffer et al. (IEEE TETCI 2023) find SNNs competitive).

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
    "plot_energy_table",
    "DEFAULT_FIRING_RATE",
    "DEFAULT_TIMESTEPS",
    "check_firing_rate",
    "check_timesteps",
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
        ``"measured"`` or ``"assumed: <rate> spikes/step x <T> steps"``.
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
) -> Workload:
    """Counts of zoo entry ``name`` needed by the energy targets.

    Parameters
    ----------
    name, config : str
        Registry entry and ``"paper"``/``"small"``.
    firing_rate : float
        Assumed spikes per neuron per time step [1], used when ``measured_spikes`` is None.
    timesteps : int
        Assumed time steps per inference.
    measured_spikes : mapping layer name -> float or tensor, optional
        Presynaptic spikes per inference per synaptic layer, as accepted by :func:`vo2neuro.ml_zoo.synaptic.synops`
        (from ``vo2neuro.snn`` once a converted network has run).
    """
    from vo2neuro.ml_zoo import synaptic

    firing_rate = check_firing_rate(firing_rate)
    timesteps = check_timesteps(timesteps)
    _check_entry(name, config)
    report, table = entry_counts(name, config)
    covered = {n for n in table}
    synaptic_macs = sum(r.count for r in report.rows if r.name in covered and r.category in ("conv", "linear"))
    first = next((fo.name for fo in table.values() if fo.order == 0), None)
    first_macs = sum(r.count for r in report.rows if r.name == first and r.category in ("conv", "linear"))
    if measured_spikes is None:
        spikes = synaptic.uniform_spikes(table, firing_rate * timesteps, skip_first=True)
        source = f"assumed: {firing_rate:g} spikes/step x {timesteps} steps"
    else:
        spikes = dict(measured_spikes)
        source = "measured"
    syn = synaptic.synops(table, spikes)
    return Workload(
        name=name, config=config, params=report.params, macs=report.macs, first_layer_macs=first_macs,
        rest_macs=report.macs - synaptic_macs, synops=syn.synops, spikes=syn.spikes, rate_source=source,
    )


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
        head = ["model", "MACs", "synops", *[f"{t} [J]" for t in targets]]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for m in models:
            w = wl.get(m)
            cells = [m, f"{w.macs:.4g}" if w else "", f"{w.synops:.4g}" if w else ""]
            cells += [f"{e[(m, t)]:.3e}" for t in targets]
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", "Constants:", ""]
        lines += [f"* `{c.name}` = {c.value_j:.4g} J: {c.source}" + (f" ({c.note})" if c.note else "")
                  for c in self.constants]
        lines += ["", "Assumptions:", ""]
        lines += [f"* {a}" for a in self.assumptions]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["model", "config", "target", "energy_j", "macs", "synops", "spikes", "rate_source"])
        for r in self.rows:
            writer.writerow([r.model, r.config, r.target, f"{r.energy_j:.6e}", r.macs, f"{r.synops:.6g}",
                             f"{r.spikes:.6g}", r.rate_source])
        for c in self.constants:
            writer.writerow([f"# constant {c.name}", "", "", f"{c.value_j:.6e}", "", "", "", c.source])
        for a in self.assumptions:
            writer.writerow([f"# assumption: {a}", "", "", "", "", "", "", ""])
        return buf.getvalue()


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
    rows, workloads = [], []
    for n in names:
        w = workload(n, config, firing_rate=firing_rate, timesteps=timesteps, measured_spikes=measured_spikes.get(n))
        workloads.append(w)
        for t in targets:
            rows.append(EnergyRow(model=n, config=config, target=t.name, energy_j=t.energy(w), macs=w.macs,
                                  synops=w.synops, spikes=w.spikes, rate_source=w.rate_source))
    constants = tuple({c.name: c for t in targets for c in t.constants()}.values())
    assumptions = list(_ASSUMPTIONS)
    if any(w.rate_source != "measured" for w in workloads):
        assumptions.append(f"assumed firing rate {firing_rate:g} spikes/neuron/step x {timesteps} steps = "
                           f"{firing_rate * timesteps:g} spikes per presynaptic neuron per inference")
    return EnergyTable(rows=tuple(rows), constants=constants, assumptions=tuple(assumptions), workloads=tuple(workloads))


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
