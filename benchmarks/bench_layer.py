"""Circuit-layer kernel throughput [neuron-steps/s]: the SIMD layer kernel against the scalar reference.

    python benchmarks/bench_layer.py [--neurons 37632] [--images 4] [--steps 32] [--repeats 3] [--threads 2]
        [--json]

:func:`vo2neuro.circuits.layer.step_layer` advances one layer of VO2 oscillator circuits by network steps; the
converted zoo networks at circuit level (``vo2neuro hw-eval --zoo NAME``, :mod:`vo2neuro.ml_zoo.circuit_level`)
call it once per layer and network step (``S = 1``) on a batch of images, each converted neuron being ``k`` device
circuits. This script times that call pattern on one layer with both kernels, ``kernel="simd"`` (the default:
blocks of 32 neurons in lock-step through vectorised stages, ``circuits._layer_kernels.advance_layer_simd``) and
``kernel="reference"`` (one neuron at a time, ``advance_layer``), from the same state and drive, in rounds that
alternate the order of the kernels (load changes on a shared machine hit both alike). Reported: the median
neuron-steps per second of each (circuit steps x neurons x images / wall time of the ``step_layer`` calls), the
median of the per-round ratios, and whether both kernels gave identical spikes.

The layer defaults to the largest of DPDNet converted for MNIST as ``vo2neuro hw-eval --zoo dpdnet --dataset
mnist`` runs it: the vo2x circuit neuron (``snn.presets.circuit_neuron_for_preset("vo2x")``, its network step and
compliance), 20 ns circuit steps, ``k = 3`` devices per converted neuron, ``--neurons`` = k x 12544 (the 16 x 28 x
28 activations of its first two blocks), a batch of 4 images (hw-eval batches up to 16) and 32 network steps
(hw-eval's default; a round of the reference kernel takes about 15 s on one core). Drive: the sigma-delta loop of
:class:`vo2neuro.ml_zoo.circuit_level.CircuitDeviceNeuron` turns an insulating device's drive ``i_on`` on or off per
step; here each insulating device is on with probability 0.4 per step (a fixed random sequence). The kernels are
loaded from Numba's cache (a warm-up call per kernel runs before the clock). Machine, threads and load average are
in the output.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

from bench_hw_eval import _cpu_model


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--neurons", type=int, default=3 * 12544, help="device circuits in the layer (default 37632)")
    ap.add_argument("--images", type=int, default=4, help="images in the batch (default 4)")
    ap.add_argument("--steps", type=int, default=32, help="network steps per round (default 32)")
    ap.add_argument("--repeats", type=int, default=3, help="rounds of each kernel (default 3)")
    ap.add_argument("--threads", type=int, default=None, help="Numba threads (default: Numba's)")
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    a = ap.parse_args(argv)
    for name in ("neurons", "images", "steps", "repeats"):
        if getattr(a, name) < 1:
            ap.error(f"--{name} must be >= 1")

    import numba
    import numpy as np

    from vo2neuro.circuits.layer import draw_layer_devices, initial_layer_state, step_layer
    from vo2neuro.device import select
    from vo2neuro.ml_zoo.convert import drive_current
    from vo2neuro.snn.hardware_conv import neuron_layer_circuit
    from vo2neuro.snn.presets import circuit_neuron_for_preset

    if a.threads:
        numba.set_num_threads(a.threads)
    cn = circuit_neuron_for_preset("vo2x")
    dev = select("vo2x").params
    circ = neuron_layer_circuit(cn, dev, cn.params, dt_circuit=20e-9)
    i_on = drive_current(cn)
    devs = draw_layer_devices(a.neurons, seed=0, r_ins_sigma_ln=0.05, t_c_sigma=0.05 * max(dev.T_c - cn.ambient_k, 0))
    st0 = initial_layer_state(circ, devs, a.images, seed=0)
    coin = np.random.default_rng(0).random((a.steps, a.images, a.neurons)) < 0.4

    def run(kernel: str, steps: int):
        st, spikes = st0, []
        t = 0.0
        for s in range(steps):
            cur = np.where(st.armed & coin[s], i_on, 0.0)
            t0 = time.perf_counter()
            res = step_layer(st, cur, circ, devs, kernel=kernel)
            t += time.perf_counter() - t0
            st = res.state
            spikes.append(res.spikes[0])
        return t, np.array(spikes), st

    kernels = ("simd", "reference")
    for k in kernels:   # warm-up: kernel load from the cache
        run(k, 1)
    work = float(a.neurons) * a.images * a.steps * circ.n_sub
    rates: dict[str, list[float]] = {k: [] for k in kernels}
    last = {}
    for r in range(a.repeats):
        for k in (kernels if r % 2 == 0 else kernels[::-1]):
            t, spk, st = run(k, a.steps)
            rates[k].append(work / t)
            last[k] = (spk, st)
    ratio = statistics.median(s / r for s, r in zip(rates["simd"], rates["reference"]))
    (s_spk, s_st), (r_spk, r_st) = last["simd"], last["reference"]
    e_rel = float(np.max(np.abs(s_st.energy_j - r_st.energy_j)) / np.max(np.abs(r_st.energy_j)))
    out = {
        "benchmark": "layer",
        "machine": {"cpu": _cpu_model(), "cpu_count": os.cpu_count(), "numba_threads": numba.get_num_threads(),
                    "loadavg_1min": os.getloadavg()[0], "python": platform.python_version()},
        "neurons": a.neurons, "images": a.images, "steps": a.steps, "n_sub": circ.n_sub, "dt_circuit_s": circ.dt,
        "repeats": a.repeats,
        "neuron_steps_per_s": {k: statistics.median(v) for k, v in rates.items()},
        "neuron_steps_per_s_rounds": rates,
        "speedup_simd_over_reference": ratio,
        "spikes": {"simd": float(s_spk.sum()), "reference": float(r_spk.sum())},
        "identical_spikes": bool(np.array_equal(s_spk, r_spk)),
        "energy_max_rel_diff": e_rel,
    }
    if a.json:
        print(json.dumps(out))
    else:
        for k in kernels:
            print(f"{k:9s} {out['neuron_steps_per_s'][k]:.3e} neuron-steps/s")
        print(f"simd / reference: {ratio:.2f}x; identical spikes: {out['identical_spikes']} "
              f"({out['spikes']['simd']:.0f} vs {out['spikes']['reference']:.0f}); energy max rel diff {e_rel:.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
