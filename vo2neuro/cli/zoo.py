"""Command-line wiring of ``vo2neuro zoo``: ``list``, ``ops``, ``energy`` and ``convert``.

``register(subparsers)`` adds the ``zoo`` group to the main parser (``vo2neuro/cli/__init__.py``); each handler is
``(args) -> int`` set with ``set_defaults(func=...)``. Numbers and JSON go to stdout. Every option is checked when
the command line is parsed (model names against the registry, counts, energies, rates, paths), before any work and
before anything is written; bad input ends as one line on stderr and exit code 2 (argparse errors, or
:class:`vo2neuro.units.ParameterError` printed by the main CLI). torch is imported only by the handlers that
count operations or convert networks.
"""
from __future__ import annotations

import argparse
import sys

from vo2neuro._io import dumps as _dumps
from vo2neuro.cli._util import (in_dir, in_file, int_type, integration_type, out_dir, out_file,
                                parse_length_range, preset_type, si_type, value_type)
from vo2neuro.units import ParameterError

__all__ = ["register", "cmd_list", "cmd_ops", "cmd_energy", "cmd_convert"]

_CONFIGS = ("paper", "small")  # vo2neuro.ml_zoo.registry.CONFIGS (checked by tests/unit/ml_zoo/test_cli_zoo.py)
_DATASETS = ("digits", "mnist")
_NEURONS = ("if", "vo2")
_RATE_UNIT = "spikes/neuron/step"
_MAX_SIZES = 200  # device sizes of one --device-size range (~0.1 s each)


# ---------------------------------------------------------------------------------------------- argument types
def _model_name(text: str) -> str:
    """argparse ``type=``: a registry name; the error lists the valid ones."""
    from vo2neuro.ml_zoo.registry import list_models

    valid = list_models()
    if text not in valid:
        raise argparse.ArgumentTypeError(f"model: unknown model {text!r}; valid: {', '.join(valid)} [-]")
    return text


def _convertible_name(text: str) -> str:
    """argparse ``type=``: a registry name whose entry converts to a rate-coded SNN (``zoo list``: convertible)."""
    from vo2neuro.ml_zoo.registry import get_spec, list_models

    _model_name(text)
    convertible = [n for n in list_models() if get_spec(n).convertible]
    if text not in convertible:
        raise argparse.ArgumentTypeError(f"model: {text!r} is not convertible by rate coding; convertible: "
                                         f"{', '.join(convertible)} (see `zoo list`) [-]")
    return text


def _firing_rate(text: str) -> float:
    """argparse ``type=``: spikes per neuron per time step, in [0, 1] (a neuron fires at most once per step)."""
    v = si_type("firing-rate", _RATE_UNIT, nonneg=True)(text)
    from vo2neuro.ml_zoo.energy import check_firing_rate

    try:
        return check_firing_rate(v, name="firing-rate")
    except ParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _spike_energy(text: str) -> str | float:
    """argparse ``type=``: ``circuit`` or an energy per spike >= 0 [J]."""
    if text == "circuit":
        return text
    try:
        return si_type("vo2-spike-energy", "J", nonneg=True)(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (give an energy per spike or 'circuit')") from None


def _size_range(text: str) -> tuple[float, ...]:
    """One channel length ``L`` or ``START:STOP:N`` (N log-spaced lengths, 1 <= N <= 200) [m]."""
    from vo2neuro.circuits.scaling import log_lengths

    start, stop, n = parse_length_range(text, "device-size", max_count=_MAX_SIZES)
    return tuple(float(x) for x in log_lengths(start, stop, n))


def _percentile(text: str) -> float:
    """argparse ``type=``: a percentile in (0, 100] [%]."""
    v = si_type("percentile", "%")(text)
    if not 0.0 < v <= 100.0:
        raise argparse.ArgumentTypeError(f"percentile must be in (0, 100] [%], got {text!r}")
    return v


# ---------------------------------------------------------------------------------------------------- handlers
def cmd_list(args: argparse.Namespace) -> int:
    """``zoo list [--json]``: name, task, conversion flag and citation of every entry."""
    from vo2neuro.ml_zoo import get_spec, list_models

    rows = [
        {"name": s.name, "task": s.task, "convertible": s.convertible, "citation": s.citation}
        for s in map(get_spec, list_models())
    ]
    if args.json:
        print(_dumps(rows))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        flag = "yes" if r["convertible"] else "no"
        print(f"{r['name']:<{width}}  convertible={flag:<3}  {r['task']}  ({r['citation']})")
    return 0


def cmd_ops(args: argparse.Namespace) -> int:
    """``zoo ops NAME [--config paper|small] [--json] [--rows]``: parameters and MACs at batch 1 by type."""
    from vo2neuro.ml_zoo.energy import entry_counts
    from vo2neuro.ml_zoo.registry import get_spec

    report, _ = entry_counts(args.name, args.config)
    spec = get_spec(args.name)
    out = {"name": args.name, "config": args.config, **report.to_dict(rows=args.rows)}
    if args.config == "paper":
        out["reported"] = [r.to_dict() for r in spec.reported]
    if args.json:
        print(_dumps(out))
        return 0
    print(f"{args.name} ({args.config}): params {report.params:,}  MACs {report.macs:,} (batch 1)")
    for k, v in report.by_type.items():
        unit = "element ops" if k == "norm" else "MACs"
        print(f"  {k:<7} {v:>16,} {unit}")
    for k, v in report.by_child.items():
        print(f"  child {k or '<root>'}: {v:,} MACs")
    if args.config == "paper":
        for r in spec.reported:
            print(f"  reported {r.quantity}: {r.value:,.6g} {r.unit} {r.source} {r.note}")
    return 0


def cmd_energy(args: argparse.Namespace) -> int:
    """``zoo energy [NAME ...] [--config] [--json] [--csv] [--plot FILE] [...]``: energy per inference per target.

    With ``--device-size`` the VO2-x energy per spike is that of the simulated device of that channel length
    (``ml_zoo.energy.vo2_targets_from_sizes``); one size gives the usual table plus the device description, a range
    the energy against size with the crossover sizes (``ml_zoo.energy.energy_size_study``).

    With ``--measured FILE ...`` (records of ``hw-eval --zoo NAME --record FILE``) the models run at hardware level
    are charged the measured spikes of the layers they ran (flag ``measured``/``mixed`` per row, the run's
    configuration in ``rate_source``), the rest the assumed rate. The files are read and checked before any work: a
    run of a model that is not asked for, two runs of one model, or a run that names no layer of the model is an
    error."""
    from vo2neuro.ml_zoo import energy
    from vo2neuro.ml_zoo.measured import load_measured
    from vo2neuro.ml_zoo.registry import list_models

    names = list(args.names) or None
    runs = [load_measured(f) for f in args.measured or ()]
    if runs:
        energy.measured_by_model(runs, names or list_models(), config=args.config)
    if args.device_size is None:
        if args.integration is not None:
            raise ParameterError("integration: only used with --device-size (the default VO2-x neuron is the "
                                 "zhang2024 circuit, C = 145.35 pF) [-]")
    elif args.vo2_spike_energy != "circuit":
        raise ParameterError("vo2-spike-energy: not used with --device-size (the energy per spike comes from the "
                             "simulated device of that size) [J]")
    if args.vo2_spike_energy == "circuit" and args.vo2_source is not None:
        raise ParameterError("vo2-source: only used with a numeric --vo2-spike-energy (the simulated neuron "
                             "names its own source) [-]")
    if args.device_size is not None:
        return _energy_by_size(args, names, runs)
    if args.vo2_spike_energy == "circuit":
        # energy per spike of the simulated VO2-x neuron (vo2neuro.circuits), mid-window
        vo2 = energy.vo2_target_from_circuit(args.vo2_preset, energy_per_synaptic_event_j=args.vo2_synapse_energy)
    else:
        sources = ({} if args.vo2_source is None
                   else {"spike_source": args.vo2_source, "synapse_source": args.vo2_source})
        vo2 = energy.VO2Target(energy_per_spike_j=args.vo2_spike_energy,
                               energy_per_synaptic_event_j=args.vo2_synapse_energy, **sources)
    table = energy.energy_table(names, config=args.config, targets=energy.default_targets(vo2),
                                firing_rate=args.firing_rate, timesteps=args.timesteps, measured=runs)
    _print_table(args, table)
    return 0


def _print_table(args: argparse.Namespace, table, extra: dict | None = None) -> None:
    from vo2neuro.ml_zoo import energy

    if args.plot:
        energy.plot_energy_table(table, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    if args.json:
        print(_dumps({**table.to_dict(), **(extra or {})}))
    elif args.csv:
        sys.stdout.write(table.to_csv())
    else:
        sys.stdout.write(table.to_markdown())


def _energy_by_size(args: argparse.Namespace, names: list[str] | None, runs: list) -> int:
    """``zoo energy --device-size L|START:STOP:N``."""
    from vo2neuro.ml_zoo import energy

    def progress(i: int, total: int) -> None:
        print(f"zoo energy: device size {i}/{total}", file=sys.stderr)

    study = energy.energy_size_study(names, args.device_size, config=args.config, preset=args.vo2_preset,
                                     integration=args.integration or "on-chip",
                                     energy_per_synaptic_event_j=args.vo2_synapse_energy,
                                     firing_rate=args.firing_rate, timesteps=args.timesteps, progress=progress,
                                     measured=runs)
    if len(study.sizes) == 1:
        table = study.table_at(0)
        _print_table(args, table, {"device": study.sizes[0].to_dict()})
        if not (args.json or args.csv):
            d = study.sizes[0].to_dict()
            print(f"\nDevice: {d['energy_per_spike_source']}; node capacitance: device "
                  f"{d['node_capacitance']['device_f']:.3g} F, parasitic {d['node_capacitance']['parasitic_f']:.3g} F,"
                  f" capacitor {d['node_capacitance']['integration_f']:.3g} F; {d['dominant']} dominates")
        return 0
    if args.plot:
        energy.plot_energy_size(study, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    if args.json:
        print(_dumps(study.to_dict()))
    elif args.csv:
        sys.stdout.write(study.to_csv())
    else:
        sys.stdout.write(study.to_markdown())
    return 0


_CLASSIFIER_ONLY = (("dataset", "--dataset"), ("epochs", "--epochs"), ("n_test", "--n-test"),
                    ("data_dir", "--data-dir"), ("cache_dir", "--cache-dir"))


def cmd_convert(args: argparse.Namespace) -> int:
    """``zoo convert NAME``: train/convert a convertible model and report accuracy (or agreement) against T.

    Everything is checked before training starts (the library refuses counts beyond the dataset and work whose
    estimate is absurd, naming the available count or the estimate)."""
    if args.name == "tddpg_rec":
        given = [opt for key, opt in _CLASSIFIER_ONLY if getattr(args, key) is not None]
        if given:
            raise ParameterError(f"{given[0].lstrip('-')}: not used by tddpg_rec (its actor is converted as "
                                 f"initialised, without a dataset); options of the classifiers only [-]")
    elif args.config is not None:
        raise ParameterError(f"config: only used by tddpg_rec (the {args.name} study has its own size) [-]")
    for key, opt in (("vo2_preset", "vo2-preset"), ("vo2_devices", "vo2-devices")):
        if getattr(args, key) is not None and args.neuron != "vo2":
            raise ParameterError(f"{opt}: only used with --neuron vo2 [-]")
    from vo2neuro.explore.conversion_study import convert_classifier, convert_tddpg_actor

    preset = args.vo2_preset or "vo2x"
    if args.name == "tddpg_rec":
        res = convert_tddpg_actor(config=args.config or "paper", steps=args.steps, seed=args.seed,
                                  neuron=args.neuron, percentile=args.percentile, vo2_preset=preset,
                                  vo2_devices=args.vo2_devices)
    else:
        res = convert_classifier(args.name, dataset=args.dataset or "digits", epochs=args.epochs, steps=args.steps,
                                 seed=args.seed, data_dir=args.data_dir, neuron=args.neuron, n_test=args.n_test,
                                 percentile=args.percentile, cache_dir=args.cache_dir, vo2_preset=preset,
                                 vo2_devices=args.vo2_devices)
    if args.json:
        print(_dumps(res.to_dict()))
    else:
        print(res.table_md())
    return 0


# ------------------------------------------------------------------------------------------------------ parser
def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``zoo {list, ops, energy, convert}`` to the main CLI's ``subparsers``; returns the ``zoo`` parser."""
    zoo = subparsers.add_parser("zoo", help="reference networks: list, op counts, energy estimates",
                                description="ML zoo: the project's reference workloads.")
    sub = zoo.add_subparsers(dest="zoo_command", metavar="{list,ops,energy,convert}", required=True)

    p = sub.add_parser("list", help="list the registered models")
    p.add_argument("--json", action="store_true", help="JSON list of {name, task, convertible, citation}")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("ops", help="parameters and MACs of one model (batch 1)")
    p.add_argument("name", type=_model_name, help="registry name (see 'zoo list')")
    p.add_argument("--config", choices=_CONFIGS, default="paper", help="model size (default: paper)")
    p.add_argument("--json", action="store_true", help="JSON with params, macs, by_type, by_child")
    p.add_argument("--rows", action="store_true", help="include per-layer rows in the JSON")
    p.set_defaults(func=cmd_ops)

    p = sub.add_parser("energy", help="energy per inference on CMOS / neuromorphic / VO2-x targets")
    p.add_argument("names", nargs="*", type=_model_name, help="registry names (default: all)")
    p.add_argument("--config", choices=_CONFIGS, default="paper", help="model size (default: paper)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON rows, workloads, constants and assumptions")
    fmt.add_argument("--csv", action="store_true", help="CSV instead of the markdown table")
    p.add_argument("--plot", metavar="FILE", type=out_file("plot", suffixes=(".png",)),
                   help="write a PNG bar chart (with a --device-size range: energy against size, log-log)")
    p.add_argument("--firing-rate", type=_firing_rate, default="0.1",
                   help=f"assumed spikes per neuron per time step, in [0, 1] [{_RATE_UNIT}] (default 0.1)")
    p.add_argument("--timesteps", type=int_type("timesteps", minimum=1), default="8",
                   help="assumed time steps per inference (default 8)")
    p.add_argument("--measured", metavar="FILE", nargs="+", action="extend", type=in_file("measured"), default=None,
                   help="records of hardware-level runs (`hw-eval --zoo NAME --record FILE`, or its --json "
                        "output saved to a file), one per model: the layers each run simulated are charged its "
                        "measured spikes (rate x its T, matched by layer name, also across configurations), the rest "
                        "the assumed rate; rows are flagged measured, mixed or assumed. Give model names before "
                        "this option")
    p.add_argument("--vo2-spike-energy", type=_spike_energy, default="circuit",
                   help="VO2-x energy per spike [J], or 'circuit' (default): simulate the --vo2-preset neuron "
                        "(R_L 12k, C 145.35p, the preset's ambient, mid-window) and use its source energy per spike")
    p.add_argument("--vo2-preset", type=preset_type("vo2-preset"), default="vo2x",
                   help="device preset of the simulated VO2-x neuron (default vo2x)")
    p.add_argument("--vo2-synapse-energy", type=si_type("vo2-synapse-energy", "J", nonneg=True), default="0.9p",
                   help="VO2-x energy per synaptic event [J] (default 0.9p, assumption)")
    p.add_argument("--vo2-source", default=None,
                   help="provenance of the two VO2-x values, with a numeric --vo2-spike-energy "
                        "(default: the documented assumptions)")
    p.add_argument("--device-size", type=value_type("device-size", _size_range), default=None, metavar="L|START:STOP:N",
                   help="VO2-x energy per spike from the simulated device of channel length L [m] (square channel, "
                        "thickness min(100n, L), as `device scale`); START:STOP:N log-spaced sizes give the energy "
                        "against size with the crossover sizes (e.g. 2u:20n:8)")
    p.add_argument("--integration", type=integration_type(), default=None,
                   help="parasitic scenario of the sized device, with --device-size: on-chip (a few fF, default) or "
                        "probe-station (145 pF)")
    p.set_defaults(func=cmd_energy)

    p = sub.add_parser("convert", help="ANN-to-SNN conversion: accuracy (or action agreement) against T")
    p.add_argument("name", type=_convertible_name, help="dpdnet, psdnet or tddpg_rec")
    p.add_argument("--steps", type=int_type("steps", minimum=1), nargs="+", default=[8, 16, 32, 64, 128],
                   help="time steps T to evaluate (default 8 16 32 64 128)")
    p.add_argument("--dataset", choices=_DATASETS, default=None,
                   help="training data of the classifiers (default: the bundled 8x8 digits)")
    p.add_argument("--epochs", type=int_type("epochs", minimum=1), default=None,
                   help="training epochs of the classifiers (default 40 digits / 3 MNIST)")
    p.add_argument("--n-test", type=int_type("n-test", minimum=1), default=None,
                   help="evaluate the classifiers on the first N test images (default: all 450 of digits; the first "
                        "2000 of MNIST's 10000, so that the default MNIST command stays within 10 minutes on 2 "
                        "cores; 10k: all)")
    p.add_argument("--config", choices=_CONFIGS, default=None, help="TDDPG actor size (default paper)")
    p.add_argument("--neuron", choices=_NEURONS, default="if",
                   help="neuron replacing ReLU: integrate-and-fire (default) or the VO2-x device neuron derived from "
                        "the circuit, driven through an integrating synapse (same ANN and thresholds, no fine-tune)")
    p.add_argument("--vo2-preset", type=preset_type("vo2-preset"), default=None,
                   help="device preset of the VO2 neurons, with --neuron vo2 (default vo2x)")
    p.add_argument("--vo2-devices", type=int_type("vo2-devices", minimum=1, maximum=64), default=None,
                   help="VO2 oscillators per converted neuron sharing its synapse, with --neuron vo2 (default: "
                        "n_ref + 1, 3 for vo2x, which gives the IF neuron's resolution; 1: one oscillator, a 3x "
                        "coarser code)")
    p.add_argument("--data-dir", type=in_dir("data-dir"), default=None,
                   help="MNIST folder, with --dataset mnist (default $VO2NEURO_DATA, then the cache)")
    p.add_argument("--percentile", type=_percentile, default=99.9,
                   help="activation percentile used as firing threshold, in (0, 100] [%%] (default 99.9)")
    p.add_argument("--cache-dir", type=out_dir("cache-dir"), default=None,
                   help="store/reuse the trained classifier here (compare settings cheaply)")
    p.add_argument("--seed", type=int_type("seed", minimum=0, maximum=2**32 - 1), default=0,
                   help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="JSON record instead of the markdown table")
    p.set_defaults(func=cmd_convert)
    return zoo
