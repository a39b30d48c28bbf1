"""Hardware-level inference throughput [images/s]: the SIMD network kernel against the scalar reference kernel.

    python benchmarks/bench_hw_eval.py --checkpoint CK [--n-images 200] [--repeats 3] [--threads 2]
        [--baseline FILE] [--json]

``vo2neuro hw-eval`` runs every test image through the trained network with each neuron an electro-thermal VO2
circuit (:func:`vo2neuro.snn.hardware.hw_eval`). Both network kernels of
:func:`vo2neuro.circuits.network.simulate_network` are timed in this process on the same checkpoint, images and
device draws: ``kernel="simd"`` (the default: each layer advanced in blocks of 32 neurons through vectorised
stages) and ``kernel="reference"`` (the previous algorithm, one neuron at a time). The rounds alternate the order of
the kernels, so load changes on a shared machine hit both alike; reported are the median images/s of each (hw-eval's
``images_per_s``: simulation wall time, the software forward pass excluded) and the median of the per-round ratios.
Both kernels' accuracy, agreement with the software network, spikes and energy per inference are reported too,
with the share of images whose output spike counts are identical.

The target network is the default MNIST network of the docs (784-800-40, population 4, T = 25, vo2x, 5 %
device-to-device spread), e.g. from::

    vo2neuro train --dataset mnist --preset vo2x --hidden 800 --epochs 1 --lr 5e-3 --batch-size 128 --out DIR

``--baseline FILE`` adds a third contender, ``baseline``: the ``run_network_simd`` of another copy of
``circuits/_network_kernels.py`` (e.g. ``git show REV:circuits/_network_kernels.py > old_kernels.py``), run
through the same ``simulate_network`` in the same rounds, so that a change of the SIMD kernel is measured against
the version before it on the same machine, load and images; its speed-up over it and the share of images with
identical output counts are reported.

The kernels are loaded from Numba's cache (a warm-up call per kernel runs before the clock). The machine (CPU
model, cores, Numba threads, load average) is in the output. Measured figures: docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", required=True, help="checkpoint written by `vo2neuro train`")
    ap.add_argument("--n-images", type=int, default=200, help="first test images per run (default 200)")
    ap.add_argument("--repeats", type=int, default=3, help="rounds of each kernel (default 3)")
    ap.add_argument("--threads", type=int, default=None, help="Numba threads (default: Numba's)")
    ap.add_argument("--data-dir", default=None, help="MNIST folder (default: the checkpoint's, then $VO2NEURO_DATA)")
    ap.add_argument("--baseline", default=None, metavar="FILE",
                    help="another copy of circuits/_network_kernels.py whose SIMD kernel is timed as 'baseline'")
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    a = ap.parse_args(argv)
    if a.baseline and not os.path.isfile(a.baseline):
        ap.error(f"--baseline: no such file: {a.baseline}")

    import numba
    import numpy as np

    import vo2neuro.circuits._network_kernels as NK
    import vo2neuro.circuits.network as net
    from vo2neuro.snn.hardware import hw_eval

    if a.threads:
        numba.set_num_threads(a.threads)
    counts: dict[str, list] = {}
    simulate = net.simulate_network
    simd_kernel = NK.run_network_simd
    kernels: tuple[str, ...] = ("simd", "reference")
    if a.baseline:
        import importlib.util
        import sys

        spec = importlib.util.spec_from_file_location("_bench_baseline_kernels", a.baseline)
        base = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = base   # Numba's cache finds the module again by its name
        spec.loader.exec_module(base)
        kernels += ("baseline",)
    current = {"name": "simd"}

    def recording(*args, **kw):   # keeps the per-image output counts of the last run of each kernel
        run = simulate(*args, **kw)
        counts.setdefault(current["name"], []).append(run.counts)
        return run

    def hw_run(name, n_images):
        """hw_eval with the kernel ``name`` (the baseline runs as "simd" with its own SIMD kernel in place)."""
        current["name"] = name
        NK.run_network_simd = base.run_network_simd if name == "baseline" else simd_kernel
        try:
            return hw_eval(a.checkpoint, n_images=n_images, kernel="simd" if name == "baseline" else name,
                           progress=False, data_dir=a.data_dir)
        finally:
            NK.run_network_simd = simd_kernel

    net.simulate_network = recording
    for k in kernels:   # warm-up: kernel load from the cache, data set, torch
        hw_run(k, 2)
    rates: dict[str, list[float]] = {k: [] for k in kernels}
    walls: dict[str, list[float]] = {k: [] for k in kernels}
    results = {}
    for r in range(a.repeats):
        for k in (kernels if r % 2 == 0 else kernels[::-1]):
            counts[k] = []
            t0 = time.perf_counter()
            res = hw_run(k, a.n_images)
            walls[k].append(time.perf_counter() - t0)
            rates[k].append(res.images_per_s)
            results[k] = res
    net.simulate_network = simulate
    ratio = statistics.median(s / r for s, r in zip(rates["simd"], rates["reference"]))
    c_all = {k: np.concatenate(counts[k]) for k in kernels}
    same = float(np.mean(np.all(c_all["simd"] == c_all["reference"], axis=1)))
    out = {
        "benchmark": "hw_eval",
        "machine": {"cpu": _cpu_model(), "cpu_count": os.cpu_count(), "numba_threads": numba.get_num_threads(),
                    "loadavg_1min": os.getloadavg()[0], "python": platform.python_version()},
        "checkpoint": os.path.basename(a.checkpoint), "n_images": results["simd"].n_images, "repeats": a.repeats,
        "dt_circuit_s": results["simd"].dt_circuit_s, "window_s": results["simd"].window_s,
        "images_per_s": {k: statistics.median(v) for k, v in rates.items()},
        "images_per_s_rounds": rates,
        "hw_eval_wall_s": {k: statistics.median(v) for k, v in walls.items()},
        "speedup_simd_over_reference": ratio,
        "identical_output_counts_fraction": same,
    }
    if a.baseline:
        out["baseline_file"] = os.path.basename(a.baseline)
        out["speedup_simd_over_baseline"] = statistics.median(
            s / r for s, r in zip(rates["simd"], rates["baseline"]))
        out["identical_output_counts_fraction_baseline"] = float(
            np.mean(np.all(c_all["simd"] == c_all["baseline"], axis=1)))
    for k in kernels:
        res = results[k]
        out[k] = {"accuracy": res.accuracy, "software_accuracy": res.software_accuracy, "agreement": res.agreement,
                  "spikes_per_inference": res.spikes_per_inference,
                  "energy_per_inference_j": res.energy_per_inference_j, "latency_s": res.latency_s}
    if a.json:
        print(json.dumps(out))
    else:
        m = out["machine"]
        print(f"machine: {m['cpu']}, {m['cpu_count']} cpus, {m['numba_threads']} Numba threads, "
              f"load {m['loadavg_1min']:.2f}")
        print(f"{out['n_images']} images, dt {out['dt_circuit_s']:g} s, window {out['window_s']:g} s, "
              f"{a.repeats} rounds")
        for k in kernels:
            print(f"{k:>9}: {out['images_per_s'][k]:8.2f} images/s  accuracy {out[k]['accuracy']:.4f}  agreement "
                  f"{out[k]['agreement']:.4f}  spikes {out[k]['spikes_per_inference']:.1f}  energy "
                  f"{out[k]['energy_per_inference_j']:.4g} J")
        print(f"speedup simd/reference: {ratio:.2f}x; identical output counts on {100 * same:.1f} % of images")
        if a.baseline:
            print(f"speedup simd/baseline: {out['speedup_simd_over_baseline']:.2f}x; identical output counts on "
                  f"{100 * out['identical_output_counts_fraction_baseline']:.1f} % of images")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
