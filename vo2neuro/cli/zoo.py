"""Command-line wiring of ``vo2neuro zoo``: ``list``, ``ops`` and ``energy``.

``register(subparsers)`` adds the ``zoo`` group to the main parser (``vo2neuro/cli.py``); each handler is
``(args) -> int`` set with ``set_defaults(func=...)``. Numbers and JSON go to stdout, bad input raises
:class:`vo2neuro.units.ParameterError` (printed on one line by the main CLI, exit 2). torch is imported only by the
handlers that count operations.
"""
from __future__ import annotations

import argparse
import sys

from vo2neuro._io import dumps as _dumps
from vo2neuro.units import ParameterError, parse_si

__all__ = ["register", "cmd_list", "cmd_ops", "cmd_energy"]


def _check_names(names: list[str]) -> None:
    from vo2neuro.ml_zoo import list_models

    valid = list_models()
    for n in names:
        if n not in valid:
            raise ParameterError(f"model: unknown model {n!r}; valid: {', '.join(valid)} [-]")


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
    _check_names([args.name])
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
    """``zoo energy [NAME ...] [--config] [--json] [--csv] [--plot FILE] [...]``: energy per inference per target."""
    names = list(args.names) or None
    if names:
        _check_names(names)
    from vo2neuro.ml_zoo import energy

    rate = parse_si(args.firing_rate, name="firing-rate", unit="")
    if rate < 0.0:
        raise ParameterError(f"firing-rate: must be >= 0 [spikes/step], got {args.firing_rate!r}")
    if args.timesteps < 1:
        raise ParameterError(f"timesteps: must be >= 1 [steps], got {args.timesteps}")
    e_syn = parse_si(args.vo2_synapse_energy, name="vo2-synapse-energy", unit="J")
    if e_syn < 0:
        raise ParameterError(f"vo2-synapse-energy: must be >= 0 [J], got {e_syn!r}")
    if args.vo2_spike_energy == "circuit":
        # energy per spike of the simulated VO2-x neuron (vo2neuro.circuits), mid-window
        vo2 = energy.vo2_target_from_circuit(args.vo2_preset, energy_per_synaptic_event_j=e_syn)
    else:
        e_spike = parse_si(args.vo2_spike_energy, name="vo2-spike-energy", unit="J")
        if e_spike < 0:
            raise ParameterError(f"vo2-spike-energy: must be >= 0 [J], got {e_spike!r}")
        sources = ({} if args.vo2_source is None
                   else {"spike_source": args.vo2_source, "synapse_source": args.vo2_source})
        vo2 = energy.VO2Target(energy_per_spike_j=e_spike, energy_per_synaptic_event_j=e_syn, **sources)
    table = energy.energy_table(names, config=args.config, targets=energy.default_targets(vo2),
                                firing_rate=rate, timesteps=args.timesteps)
    if args.plot:
        energy.plot_energy_table(table, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    if args.json:
        print(_dumps(table.to_dict()))
    elif args.csv:
        sys.stdout.write(table.to_csv())
    else:
        sys.stdout.write(table.to_markdown())
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    """``zoo convert NAME``: train/convert a convertible model and report accuracy (or agreement) against T."""
    from vo2neuro.ml_zoo.registry import get_spec, list_models

    if args.name not in list_models():
        raise ParameterError(f"name: unknown model {args.name!r}; valid: {', '.join(list_models())}")
    spec = get_spec(args.name)
    if args.name not in ("dpdnet", "psdnet", "tddpg_rec"):
        why = "not convertible" if not spec.convertible else "only partly convertible"
        raise ParameterError(f"name: {args.name!r} is {why} by rate coding (convertible: dpdnet, psdnet, "
                             f"tddpg_rec); see `zoo list`")
    steps = sorted(set(args.steps))
    if any(t < 1 for t in steps):
        raise ParameterError(f"steps must be >= 1 [1], got {steps}")
    from vo2neuro.explore.conversion_study import convert_classifier, convert_tddpg_actor

    if args.name == "tddpg_rec":
        res = convert_tddpg_actor(config=args.config, steps=steps, seed=args.seed, neuron=args.neuron)
    else:
        res = convert_classifier(args.name, dataset=args.dataset, epochs=args.epochs, steps=steps, seed=args.seed,
                                 data_dir=args.data_dir, neuron=args.neuron, n_test=args.n_test,
                                 percentile=args.percentile, cache_dir=args.cache_dir)
    if args.json:
        print(_dumps(res.to_dict()))
    else:
        print(res.table_md())
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``zoo {list, ops, energy}`` to the main CLI's ``subparsers``; returns the ``zoo`` parser."""
    zoo = subparsers.add_parser("zoo", help="reference networks: list, op counts, energy estimates",
                                description="ML zoo: the project's reference workloads.")
    sub = zoo.add_subparsers(dest="zoo_command", metavar="{list,ops,energy,convert}", required=True)

    p = sub.add_parser("list", help="list the registered models")
    p.add_argument("--json", action="store_true", help="JSON list of {name, task, convertible, citation}")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("ops", help="parameters and MACs of one model (batch 1)")
    p.add_argument("name", help="registry name (see 'zoo list')")
    p.add_argument("--config", choices=("paper", "small"), default="paper", help="model size (default: paper)")
    p.add_argument("--json", action="store_true", help="JSON with params, macs, by_type, by_child")
    p.add_argument("--rows", action="store_true", help="include per-layer rows in the JSON")
    p.set_defaults(func=cmd_ops)

    p = sub.add_parser("energy", help="energy per inference on CMOS / neuromorphic / VO2-x targets")
    p.add_argument("names", nargs="*", help="registry names (default: all)")
    p.add_argument("--config", choices=("paper", "small"), default="paper", help="model size (default: paper)")
    p.add_argument("--json", action="store_true", help="JSON rows, workloads, constants and assumptions")
    p.add_argument("--csv", action="store_true", help="CSV instead of the markdown table")
    p.add_argument("--plot", metavar="FILE", help="write a PNG bar chart")
    p.add_argument("--firing-rate", default="0.1", help="assumed spikes per neuron per time step (default 0.1)")
    p.add_argument("--timesteps", type=int, default=8, help="assumed time steps per inference (default 8)")
    p.add_argument("--vo2-spike-energy", default="circuit",
                   help="VO2-x energy per spike [J], or 'circuit' (default): simulate the --vo2-preset neuron "
                        "(R_L 12k, C 145.35p, 300 K, mid-window) and use its source energy per spike")
    p.add_argument("--vo2-preset", default="vo2x", help="device preset of the simulated VO2-x neuron (default vo2x)")
    p.add_argument("--vo2-synapse-energy", default="0.9p",
                   help="VO2-x energy per synaptic event [J] (default 0.9p, assumption)")
    p.add_argument("--vo2-source", default=None,
                   help="provenance of the two VO2-x values (default: the documented assumptions)")
    p.set_defaults(func=cmd_energy)

    p = sub.add_parser("convert", help="ANN-to-SNN conversion: accuracy (or action agreement) against T")
    p.add_argument("name", help="dpdnet, psdnet or tddpg_rec")
    p.add_argument("--steps", type=int, nargs="+", default=[8, 16, 32, 64, 128], help="time steps T to evaluate")
    p.add_argument("--dataset", choices=("digits", "mnist"), default="digits",
                   help="training data of the classifiers (default: the bundled 8x8 digits)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default 40 digits / 3 MNIST)")
    p.add_argument("--n-test", type=int, default=None, help="evaluate on the first N test images")
    p.add_argument("--config", choices=("paper", "small"), default="paper", help="TDDPG actor size")
    p.add_argument("--neuron", choices=("if", "vo2"), default="if",
                   help="neuron replacing ReLU: integrate-and-fire (default) or the VO2-x device-derived neuron")
    p.add_argument("--data-dir", default=None, help="MNIST folder (default $VO2NEURO_DATA, then the cache)")
    p.add_argument("--percentile", type=float, default=99.9,
                   help="activation percentile used as firing threshold [%%] (default 99.9)")
    p.add_argument("--cache-dir", default=None, help="store/reuse the trained ANN here (compare settings cheaply)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_convert)
    return zoo
