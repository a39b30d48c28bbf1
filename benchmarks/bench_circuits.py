"""Throughput of the batched circuit kernels against Brian2 and a per-neuron solve_ivp loop.

    python benchmarks/bench_circuits.py [--json] [--quick]

Neuron-steps per second (N neurons x n_steps / wall time of the warm kernel call) for the PWL switch and the
electro-thermal (zhang2024) device in the Pearson-Anson circuit, N = 1e2 .. 1e6; Brian2 on the same PWL equations
and dt (runtime numpy and cython, and cpp_standalone with the compile time reported apart); scipy solve_ivp per
neuron (small N, extrapolated per neuron-step); peak Python-heap memory (tracemalloc) of 1e6 neurons in
spike-only mode. Brian2 runs the PWL oscillator only (the de Almeida memory is not expressed in Brian2 here).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import tracemalloc

import numpy as np

C_PWL, RL_PWL, VIN_PWL, DT_PWL = 300e-12, 47e3, 14.0, 1e-9
C_ET, RL_ET, VIN_ET, AMB_ET = 145.34619293e-12, 12e3, 12.0, 325.0


def _pwl():
    from vo2neuro.circuits import PWLDeviceParams

    return PWLDeviceParams(r_off=100.2e3, r_on=990.0, v_th=1.99, v_h=1.0)


def bench_numba(model: str, n: int, steps: int) -> dict:
    from vo2neuro.circuits import simulate
    from vo2neuro.device import get_parameters

    if model == "pwl":
        dev, kw = _pwl(), dict(v_in=VIN_PWL, r_load=RL_PWL, capacitance=C_PWL, dt=DT_PWL)
    else:
        dev, kw = get_parameters("zhang2024"), dict(v_in=VIN_ET, r_load=RL_ET, capacitance=C_ET, ambient=AMB_ET)
    simulate(dev, n_neurons=n, duration=10 * kw.get("dt", 3e-9), **kw)  # compile / warm
    dt = kw.pop("dt", None) or 3.377e-9
    t0 = time.perf_counter()
    r = simulate(dev, n_neurons=n, duration=steps * dt, dt=dt, **kw)
    wall = time.perf_counter() - t0
    return {"engine": "numba", "model": model, "n": n, "steps": steps, "wall_s": wall,
            "neuron_steps_per_s": n * steps / wall, "spikes": int(r.n_spikes_total.sum())}


def _brian_net(b2, n: int, dt: float):
    from vo2neuro.circuits.brian2_model import build_pwl_network

    return build_pwl_network(_pwl(), v_in=np.full(n, VIN_PWL), r_load=RL_PWL, capacitance=C_PWL, dt=dt)


def bench_brian2_runtime(target: str, n: int, steps: int) -> dict:
    import brian2 as b2

    b2.prefs.codegen.target = target
    b2.start_scope()
    _, net, G, mon = _brian_net(b2, n, DT_PWL)
    net.run(10 * DT_PWL * b2.second)  # code generation / compilation
    t0 = time.perf_counter()
    net.run(steps * DT_PWL * b2.second)
    wall = time.perf_counter() - t0
    return {"engine": f"brian2-{target}", "model": "pwl", "n": n, "steps": steps, "wall_s": wall,
            "neuron_steps_per_s": n * steps / wall, "spikes": int(mon.num_spikes)}


def bench_brian2_standalone(n: int, steps: int) -> dict:
    """cpp_standalone in a subprocess (a fresh device per build); run time of the binary and compile time."""
    code = f"""
import json, time, numpy as np, brian2 as b2, tempfile, sys
sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
from bench_circuits import _brian_net
d = tempfile.mkdtemp(prefix='b2sa_')
b2.set_device('cpp_standalone', directory=d, build_on_run=False)
_, net, G, mon = _brian_net(b2, {n}, {DT_PWL})
net.run({steps} * {DT_PWL} * b2.second)
t0 = time.perf_counter()
b2.device.build(directory=d, compile=True, run=False)
t_comp = time.perf_counter() - t0
t0 = time.perf_counter()
b2.device.run(directory=d)
t_run = time.perf_counter() - t0
print(json.dumps({{'compile_s': t_comp, 'run_s': t_run, 'binary_s': float(b2.device._last_run_time),
                  'spikes': int(mon.num_spikes)}}))
"""
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        return {"engine": "brian2-cpp_standalone", "n": n, "error": out.stderr.strip().splitlines()[-1:]}
    d = json.loads(out.stdout.strip().splitlines()[-1])
    return {"engine": "brian2-cpp_standalone", "model": "pwl", "n": n, "steps": steps, "wall_s": d["binary_s"],
            "compile_s": d["compile_s"], "neuron_steps_per_s": n * steps / d["binary_s"], "spikes": d["spikes"]}


def bench_solve_ivp(model: str, n: int, duration: float) -> dict:
    """Per-neuron scipy loop; neuron-steps counted on the kernel's time grid (duration / dt)."""
    from scipy.integrate import solve_ivp

    from vo2neuro.device import _kernels as DK
    from vo2neuro.device import get_parameters

    t0 = time.perf_counter()
    if model == "pwl":
        dev = _pwl()
        dt = DT_PWL
        for _ in range(n):  # event-driven legs
            t, V, metal = 0.0, 0.0, False
            while t < duration:
                R = dev.r_on if metal else dev.r_off
                tgt = dev.v_h if metal else dev.v_th
                ev = lambda t_, y, tgt=tgt: y[0] - tgt  # noqa: E731
                ev.terminal, ev.direction = True, (-1 if metal else 1)
                s = solve_ivp(lambda t_, y, R=R: [((VIN_PWL - y[0]) / RL_PWL - y[0] / R) / C_PWL], (t, duration),
                              [V], events=ev, rtol=1e-8, atol=1e-10)
                t, V, metal = s.t[-1], s.y[0, -1], not metal
    else:
        p = get_parameters("zhang2024")
        k = p.to_kernel()
        dt = 3.377e-9
        for _ in range(n):
            h = DK.hyst_init(AMB_ET, 1.0, k)

            def rhs(t_, y):
                R = DK.resistance(y[1], y[0], h, k)
                return [((VIN_ET - y[0]) / RL_ET - y[0] / R) / C_ET, (y[0] ** 2 / R - p.S_e * (y[1] - AMB_ET)) / p.C_th]

            solve_ivp(rhs, (0, duration), [0.0, AMB_ET], method="Radau", rtol=1e-8, atol=1e-9)
    wall = time.perf_counter() - t0
    ns = n * duration / dt
    return {"engine": "scipy-solve_ivp", "model": model, "n": n, "steps": int(duration / dt), "wall_s": wall,
            "neuron_steps_per_s": ns / wall}


def bench_memory(n: int) -> dict:
    from vo2neuro.circuits import simulate
    from vo2neuro.device import get_parameters

    simulate("zhang2024", v_in=VIN_ET, r_load=RL_ET, capacitance=C_ET, ambient=AMB_ET, duration=30e-9, n_neurons=8)
    tracemalloc.start()
    simulate(get_parameters("zhang2024"), v_in=VIN_ET, r_load=RL_ET, capacitance=C_ET, ambient=AMB_ET,
             duration=100 * 3.377e-9, dt=3.377e-9, n_neurons=n)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    import resource

    return {"engine": "memory", "n": n, "peak_traced_bytes": peak,
            "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true", help="smaller grid (N up to 1e5, fewer steps)")
    a = ap.parse_args(argv)
    ns = [100, 1000, 10_000, 100_000] + ([] if a.quick else [1_000_000])
    work = 2e7 if a.quick else 1e8       # neuron-steps per Numba measurement
    rows = []

    def log(r):
        rows.append(r)
        if not a.json:
            extra = f"  compile {r['compile_s']:.1f} s" if "compile_s" in r else ""
            if "neuron_steps_per_s" in r:
                print(f"{r['engine']:<22} {r.get('model', ''):<15} N={r['n']:>8}  steps={r['steps']:>7}  "
                      f"{r['neuron_steps_per_s']:.3e} neuron-steps/s{extra}", file=sys.stderr, flush=True)
            else:
                print(r, file=sys.stderr, flush=True)

    import numba

    for model in ("pwl", "electrothermal"):
        for n in ns:
            log(bench_numba(model, n, max(200, int(work / n))))
    b2_work = 2e6 if a.quick else 1e7
    try:
        import brian2  # noqa: F401

        for n in ([100, 10_000] if a.quick else [100, 10_000, 100_000]):
            steps = max(200, int(b2_work / n))
            log(bench_brian2_runtime("numpy", n, steps))
            log(bench_brian2_runtime("cython", n, steps))
            log(bench_brian2_standalone(n, max(1000, int(10 * b2_work / n))))
    except ImportError:
        print("brian2 not installed: skipped", file=sys.stderr)
    log(bench_solve_ivp("pwl", 4, 20e-6))
    log(bench_solve_ivp("electrothermal", 2, 10e-6))
    log(bench_memory(1_000_000))
    meta = {"numba_threads": numba.get_num_threads(), "cpu_count": os.cpu_count(), "quick": a.quick}
    if a.json:
        print(json.dumps({"meta": meta, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
