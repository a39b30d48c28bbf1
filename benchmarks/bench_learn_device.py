"""Gradient co-design against the grid co-design on digits: training cost and where the learned delta lands.

Same process, same settings as ``vo2neuro codesign`` (vo2 film, digits, hidden 128, seed 0):

* grid: ``vo2neuro.snn.train.train`` at each grid delta (default 0, 0.005, 0.01, 0.015, 0.02; 10 epochs each), the
  network neuron derived from each film's circuit (part of each training's cost, as in the co-design);
* gradient: :func:`vo2neuro.snn.learn_device.learn_device` (neuron map fit + joint epochs + fine-tuning epochs at
  the learned delta), run with ``--energy-weight`` values; the first run fits the film's neuron map, later runs
  reuse it (``map_file``), as a user sweeping the energy weight would.

A one-epoch training first compiles the kernels (outside the timings). The neuron derivations are not shared
between the grid and the gradient runs (caches cleared in between). Then
:func:`vo2neuro.explore.codesign.codesign` completes the grid with circuit-level inference (its trainings resume
from the checkpoints above, so they are not paid twice) and gives the Pareto front over (energy, latency,
accuracy); each learned network is run at circuit level too (same images, same device spread).

Reported (one JSON line): grid and gradient training wall times and their ratio, the learned delta per energy
weight, its distance to the nearest Pareto point in grid steps, and circuit-level accuracy and energy of each.

Usage: ``python benchmarks/bench_learn_device.py [--out DIR] [--energy-weights 0,1] [--epochs 10]
[--joint-epochs 6] [--finetune-epochs 4] [--n-images 150]``
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=None)
    ap.add_argument("--deltas", default="0,0.005,0.01,0.015,0.02")
    ap.add_argument("--energy-weights", default="0,1")
    ap.add_argument("--epochs", type=int, default=10, help="grid epochs per delta (codesign default 10)")
    ap.add_argument("--joint-epochs", type=int, default=6)
    ap.add_argument("--finetune-epochs", type=int, default=4)
    ap.add_argument("--n-images", type=int, default=150)
    args = ap.parse_args(argv)

    from vo2neuro.explore.codesign import codesign
    from vo2neuro.snn.hardware import hw_eval
    from vo2neuro.snn.learn_device import learn_device, pareto_position
    from vo2neuro.snn.presets import circuit_neuron_for_device
    from vo2neuro.snn.train import TrainConfig, train

    out = Path(args.out or tempfile.mkdtemp(prefix="bench_learn_"))
    deltas = [float(d) for d in args.deltas.split(",")]
    weights = [float(w) for w in args.energy_weights.split(",")]
    # warm-up outside the timings: Numba compiles (or loads from its cache) the circuit kernels on first use
    train(TrainConfig(dataset="digits", epochs=1, hidden=(128,), seed=0, preset="vo2", delta=deltas[0],
                      out_dir=str(out / "warmup"), progress=False))
    circuit_neuron_for_device.cache_clear()
    t0 = time.perf_counter()
    for d in deltas:
        train(TrainConfig(dataset="digits", epochs=args.epochs, hidden=(128,), seed=0, preset="vo2", delta=d,
                          out_dir=str(out / "grid" / f"delta_{d:g}"), progress=False))
    grid_s = time.perf_counter() - t0
    learned = []
    circuit_neuron_for_device.cache_clear()
    map_file = None
    for w in weights:
        t0 = time.perf_counter()
        r = learn_device(preset="vo2", hidden=(128,), epochs=args.joint_epochs, finetune_epochs=args.finetune_epochs,
                         energy_weight=w, out_dir=str(out / f"learn_w{w:g}"), progress=False, map_file=map_file)
        learned.append((w, r, time.perf_counter() - t0))
        map_file = str(out / f"learn_w{w:g}" / "neuron_map.json")  # later runs reuse the film's map
    grid = codesign(deltas, preset="vo2", epochs=args.epochs, hidden=(128,), n_images=args.n_images,
                    out=out / "grid", progress=False)
    rows = []
    for w, r, wall in learned:
        hw = hw_eval(r.checkpoint, n_images=args.n_images, progress=False)
        rows.append({"energy_weight": w, "delta": r.delta, "wall_s": wall, "map_s": r.map_s,
                     "map_reused": r.config["map_file"] is not None,
                     "cost_ratio_to_grid": wall / grid_s, **pareto_position(r.delta, deltas, grid.pareto),
                     "software_accuracy": hw.software_accuracy, "hardware_accuracy": hw.accuracy,
                     "energy_per_inference_j": hw.energy_per_inference_j, "latency_s": hw.latency_s})
    report = {"machine": f"{platform.machine()} {os.cpu_count()} cpus", "grid_deltas": deltas,
              "grid_train_s": grid_s, "grid_pareto": grid.pareto,
              "grid_rows": [{k: r.get(k) for k in ("delta", "hardware_accuracy", "energy_per_inference_j",
                                                     "latency_s", "diagnosis")} for r in grid.rows],
              "learned": rows}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
