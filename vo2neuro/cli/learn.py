"""``vo2neuro train --learn delta``: the vacancy level learned with the weights (:mod:`vo2neuro.snn.learn_device`).

:func:`add_learn_args` adds the options to the ``train`` parser; :func:`cmd_learn` runs when ``--learn`` is given.
The train options that apply (dataset, epochs, hidden, steps, batch size, lr, out, resume, seed, data-dir, json,
preset) keep their meaning; ``--epochs`` counts the joint epochs. Options that fix the device (``--delta``,
``--params``, ``--device-size``) or a path the learned neuron does not have (``--arch`` other than mlp, a spike
coding, cuda) are refused before any work.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from vo2neuro._io import dumps as _dumps
from vo2neuro.cli._util import check_output_dir, in_file, int_type, si_type, value_type
from vo2neuro.units import ParameterError

__all__ = ["add_learn_args", "cmd_learn", "LEARN_PRESET", "LEARN_OPTIONS"]

#: Pristine film of ``--learn`` when --preset is not given.
LEARN_PRESET = "vo2"
# vo2neuro.snn.learn_device.LEARNABLE, spelled out so that parsing does not import torch (tested equal)
_LEARNABLE = ("delta",)


def _learn_names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    bad = [n for n in names if n not in _LEARNABLE]
    if not names or bad:
        raise ParameterError(f"learn: unknown device parameter {', '.join(bad) or repr(text)}; valid: "
                             f"{', '.join(_LEARNABLE)} [-]")
    return names


def add_learn_args(p: argparse.ArgumentParser) -> None:
    """Add ``--learn``, ``--energy-weight``, ``--lr-delta``, ``--finetune-epochs`` and ``--codesign``."""
    g = p.add_argument_group("gradient co-design (--learn)")
    g.add_argument("--learn", type=value_type("learn", _learn_names), default=None, metavar="delta",
                   help="learn these device parameters with the weights (comma list; valid: delta): the vacancy "
                        "level of the pristine --preset (default vo2), through the circuit-derived neuron map")
    g.add_argument("--energy-weight", type=si_type("energy-weight", "1", nonneg=True), default=None,
                   help="weight of the energy per inference (relative to its starting value) in the loss [-] "
                        "(default 0: accuracy only)")
    g.add_argument("--lr-delta", type=si_type("lr-delta", "1", positive=True), default=None,
                   help="Adam learning rate of the vacancy level's logit [-] (default 0.05)")
    g.add_argument("--finetune-epochs", type=int_type("finetune-epochs", minimum=0), default=None,
                   help="epochs of weight fine-tuning at the learned delta with the exact circuit neuron [-] "
                        "(default 2; writes the checkpoint hw-eval reads)")
    g.add_argument("--map", type=in_file("map"), default=None, metavar="FILE", dest="map_file",
                   help="reuse the neuron map of an earlier --learn run of the same preset (its neuron_map.json) "
                        "instead of fitting it again (default: fit it, ~1 s per grid point)")
    g.add_argument("--codesign", type=in_file("codesign"), default=None, metavar="FILE",
                   help="JSON of `vo2neuro codesign --json`: report where the learned delta sits against its "
                        "Pareto front (default: none)")


#: The options that only apply with --learn: (option, argparse dest).
LEARN_OPTIONS = (("--energy-weight", "energy_weight"), ("--lr-delta", "lr_delta"),
                 ("--finetune-epochs", "finetune_epochs"), ("--map", "map_file"), ("--codesign", "codesign"))

_REFUSED = (("delta", "--delta fixes the vacancy level that --learn learns"),
            ("params", "--params: --learn needs a preset's pristine film (give --preset)"),
            ("device_size", "--device-size is not supported with --learn (the map uses the network circuit)"))


def _read_codesign(path: str) -> tuple[list[float], list[float]]:
    from vo2neuro._io import read_input_text

    try:
        d = json.loads(read_input_text(path, "codesign", "JSON")[1])
        deltas = [float(r["delta"]) for r in d["rows"]]
        pareto = [float(x) for x in d["pareto"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ParameterError(f"codesign: {path} is not the JSON of `vo2neuro codesign --json` "
                             f"({type(exc).__name__}: {exc}) [-]") from None
    if len(deltas) < 2 or not pareto:
        raise ParameterError(f"codesign: {path} holds fewer than 2 deltas or no Pareto point [-]")
    return deltas, pareto


def cmd_learn(args: argparse.Namespace) -> int:
    """Run :func:`vo2neuro.snn.learn_device.learn_device` from the ``train`` options; print the result."""
    for name, why in _REFUSED:
        if getattr(args, name, None) is not None:
            raise ParameterError(f"{why} [-]")
    if getattr(args, "arch", "mlp") != "mlp":
        raise ParameterError(f"arch: --learn trains the fully connected network only, got {args.arch!r} [-]")
    if args.encoding not in (None, "current"):
        raise ParameterError(f"encoding: --learn uses current coding, got {args.encoding!r} [-]")
    if args.device != "cpu":
        raise ParameterError(f"device: --learn runs on the cpu, got {args.device!r} [-]")
    grid = _read_codesign(args.codesign) if args.codesign else None
    out = args.out or f"output/learn-{args.dataset}"
    check_output_dir(out, "out")
    from vo2neuro.snn.learn_device import LearnConfig, learn_device, pareto_position

    kw = {"learn": args.learn, "preset": args.preset or LEARN_PRESET, "dataset": args.dataset, "out_dir": out,
          "data_dir": args.data_dir}
    for name in ("map_file", "energy_weight", "lr_delta", "finetune_epochs", "epochs", "steps", "batch_size", "seed", "lr"):
        if getattr(args, name, None) is not None:
            kw[name] = getattr(args, name)
    if args.hidden:
        kw["hidden"] = tuple(args.hidden)
    cfg = LearnConfig(**kw)
    res = learn_device(cfg, resume=args.resume)
    d = res.to_dict()
    if grid is not None:
        d["codesign"] = {"file": str(Path(args.codesign)), "grid_deltas": grid[0], "pareto": grid[1],
                         **pareto_position(res.delta, *grid)}
    if args.json:
        print(_dumps(d))
    else:
        where = ""
        if grid is not None:
            c = d["codesign"]
            where = (f"  nearest Pareto delta {c['nearest_pareto_delta']:g} "
                     f"({c['distance_in_steps']:.2f} grid steps)")
        print(f"delta {res.delta:.5f} in [{res.delta_range[0]:g}, {res.delta_range[1]:.5f}]  test_accuracy "
              f"{res.test_accuracy:.4f}  train_s {res.train_s:.1f}  checkpoint {res.checkpoint}{where}")
    return 0
