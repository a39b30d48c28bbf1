"""ANN-to-SNN conversion time: VO2 device neurons against integrate-and-fire neurons, and the default command.

    python benchmarks/bench_convert.py [--n-test 500] [--steps 16 32 64] [--repeats 2] [--cache-dir DIR]
                                       [--threads N] [--default-command] [--json]

Part 1 (always): ``convert_classifier("dpdnet", dataset="mnist")`` with ``neuron="if"`` and ``neuron="vo2"`` on
the same trained ANN (stored in ``--cache-dir``; trained there first if missing, the training time is reported),
the first ``--n-test`` test images and ``--steps``, in this process. Each round times both, alternating the order,
so load changes on a shared machine hit both alike; reported are the median wall time of each, the median of the
per-round ratios VO2/IF, and both accuracy tables. Conversion time is everything after training: ANN accuracy,
threshold balancing, the simulation to max T (:func:`vo2neuro.ml_zoo.convert.predictions_vs_steps`) and the spike
count.

Part 2 (``--default-command``): the wall time of ``vo2neuro zoo convert dpdnet --neuron vo2 --dataset mnist --json``
with its defaults and no cache (training included), run as a subprocess, with its JSON record.

The machine (CPU model, cores, torch threads, load average before and after) is in the output: on a shared
machine quote the ratio, not the absolute times. Measured figures: docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

from bench_hw_eval import _cpu_model  # run as a script: benchmarks/ is on sys.path


def _default_command(data_dir: str | None) -> dict:
    """Wall time [s] and JSON record of the default VO2 conversion command (fresh training, no cache)."""
    argv = [sys.executable, "-m", "vo2neuro", "zoo", "convert", "dpdnet", "--neuron", "vo2", "--dataset", "mnist",
            "--json"]
    if data_dir:
        argv += ["--data-dir", data_dir]
    t0 = time.perf_counter()
    run = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    out = {"argv": argv[2:], "wall_s": wall, "returncode": run.returncode}
    if run.returncode == 0:
        rec = json.loads(run.stdout)
        out.update(train_s=rec["train_s"], ann_accuracy=rec["ann_accuracy"], snn_accuracy=rec["snn_accuracy"],
                   n_test=rec["n_test"], spikes_per_inference=rec["spikes_per_inference"])
    else:
        out["stderr_tail"] = run.stderr[-2000:]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-test", type=int, default=500, help="first test images per run (default 500)")
    ap.add_argument("--steps", type=int, nargs="+", default=[16, 32, 64], help="time steps T (default 16 32 64)")
    ap.add_argument("--repeats", type=int, default=2, help="rounds of both neurons (default 2)")
    ap.add_argument("--cache-dir", default=None,
                    help="folder of the trained ANN (default: a temporary folder, trained once here)")
    ap.add_argument("--data-dir", default=None, help="MNIST folder (default $VO2NEURO_DATA, then the cache)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--default-command", action="store_true",
                    help="also time the default `zoo convert dpdnet --neuron vo2 --dataset mnist` (long)")
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    a = ap.parse_args(argv)

    import tempfile

    import torch

    from vo2neuro.explore.conversion_study import convert_classifier

    if a.threads:
        torch.set_num_threads(a.threads)
    load0 = os.getloadavg()[0]
    tmp = None
    cache = a.cache_dir
    if cache is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_convert_")
        cache = tmp.name
    kw = dict(dataset="mnist", n_test=a.n_test, steps=a.steps, cache_dir=cache, data_dir=a.data_dir, progress=False)
    t0 = time.perf_counter()
    first = convert_classifier("dpdnet", neuron="if", **{**kw, "n_test": 1, "steps": [1]})  # trains or loads
    prepare_s = time.perf_counter() - t0
    walls: dict[str, list[float]] = {"if": [], "vo2": []}
    results = {}
    for r in range(a.repeats):
        for neuron in (("if", "vo2") if r % 2 == 0 else ("vo2", "if")):
            t0 = time.perf_counter()
            results[neuron] = convert_classifier("dpdnet", neuron=neuron, **kw)
            walls[neuron].append(time.perf_counter() - t0)
    ratio = statistics.median(v / i for v, i in zip(walls["vo2"], walls["if"]))
    out = {
        "benchmark": "convert",
        "machine": {"cpu": _cpu_model(), "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "loadavg_1min_before": load0, "loadavg_1min_after": os.getloadavg()[0],
                    "python": platform.python_version(), "torch": torch.__version__},
        "model": "dpdnet", "dataset": "mnist", "n_test": a.n_test, "steps": sorted(set(a.steps)),
        "repeats": a.repeats, "train_s": first.train_s, "prepare_s": prepare_s,
        "convert_wall_s": {k: statistics.median(v) for k, v in walls.items()}, "convert_wall_s_rounds": walls,
        "ratio_vo2_over_if": ratio,
        "ann_accuracy": results["vo2"].ann_accuracy,
        "snn_accuracy": {k: {str(t): acc for t, acc in res.snn_accuracy.items()} for k, res in results.items()},
        "spikes_per_inference": {k: res.spikes_per_inference for k, res in results.items()},
    }
    if tmp is not None:
        tmp.cleanup()
    if a.default_command:
        out["default_command"] = _default_command(a.data_dir)
    if a.json:
        print(json.dumps(out))
    else:
        m = out["machine"]
        print(f"machine: {m['cpu']}, {m['cpu_count']} cpus, {m['torch_threads']} torch threads, load "
              f"{m['loadavg_1min_before']:.2f} -> {m['loadavg_1min_after']:.2f}")
        print(f"dpdnet on MNIST, {a.n_test} test images, T = {out['steps']}, {a.repeats} rounds "
              f"(ANN {100 * out['ann_accuracy']:.2f} %)")
        for k in ("if", "vo2"):
            acc = " / ".join(f"{100 * v:.2f}" for v in out["snn_accuracy"][k].values())
            print(f"{k:>4}: {out['convert_wall_s'][k]:8.1f} s  accuracy {acc} %")
        print(f"VO2 / IF conversion time: {ratio:.2f}")
        if "default_command" in out:
            d = out["default_command"]
            print(f"default command: {d['wall_s']:.0f} s (rc {d['returncode']}), accuracy "
                  f"{d.get('snn_accuracy')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
