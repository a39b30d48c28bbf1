"""Throughput of the batched circuit kernels against Brian2 and a per-neuron solve_ivp loop.

    python benchmarks/bench_circuits.py [--json] [--quick] [--repeats R] [--b2-threads K] [--no-brian2]

Neuron-steps per second (N neurons x n_steps / wall time of one warm call) for the PWL switch and the
electro-thermal (zhang2024) device in the Pearson-Anson circuit, N = 1e2 .. 1e6, against

* Brian2 on the same equations and dt: runtime ``numpy`` and ``cython`` (timed ``Network.run`` calls, the per-run
  code-object set-up included, compilation excluded by a warm run), and ``cpp_standalone`` in a fresh subprocess
  per build (binary run time; the compile time is reported apart; ``--b2-threads`` OpenMP threads, default 0 =
  one thread without OpenMP: with 2 OpenMP threads on the shared 2-vCPU machine the binary ran 10-100x slower
  because of spin-waiting under contention). The Brian2 electro-thermal model (``circuits.brian2_model.build_et_network``)
  has the same electrical node, thermal node and hysteresis with minor-loop memory (reversal points, proximity
  window) and is integrated with forward Euler; its frequencies agree with the Numba kernel within 0.4 % at 1 ns
  (``tests/regression/test_circuits_electrothermal.py``). The Numba PWL kernel is event driven (closed-form legs:
  its cost grows with the number of switching events, not with the number of steps); the electro-thermal kernel
  is stepped (exact node leg and thermal relaxation per step, SIMD over blocks of neurons);
* scipy ``solve_ivp`` per neuron (a few neurons; neuron-steps counted on the kernel's time grid, duration / dt).

All engines of one (model, N) are timed in this process (standalone binaries in subprocesses), interleaved,
``--repeats`` times; the tables give medians. Each engine's run length is calibrated to ~0.5 s of wall time,
longer where its per-call set-up (for ``simulate``: state allocation and the per-neuron result analysis, ~0.4 s at
N = 1e6) would otherwise exceed ~10 % of it (at most 10 s). The 1e6-neuron spike-only run (electro-thermal,
100 steps) is measured in fresh subprocesses: process peak RSS (``VmHWM`` of /proc/self/status, which restarts at
exec, unlike ru_maxrss, which carries the forked benchmark process's own peak) and, separately, the tracemalloc
peak. Timings on a shared 2-vCPU machine are noisy (OpenMP spin-waiting): the load average is recorded in the
output.

The kernels are timed as a user runs them, loaded from Numba's cache (docs/numba-kernels.md explains the cache and
the serial builds for small N). Measured figures, the targets and the measurement history: docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
C_PWL, RL_PWL, VIN_PWL, DT_PWL = 300e-12, 47e3, 14.0, 1e-9
C_ET, RL_ET, VIN_ET, AMB_ET, DT_ET = 145.34619293e-12, 12e3, 12.0, 325.0, 3.377e-9
DT = {"pwl": DT_PWL, "electrothermal": DT_ET}


def _pwl():
    from vo2neuro.circuits import PWLDeviceParams

    return PWLDeviceParams(r_off=100.2e3, r_on=990.0, v_th=1.99, v_h=1.0)


def _et():
    from vo2neuro.device import get_parameters

    return get_parameters("zhang2024")


def _load() -> float:
    return os.getloadavg()[0]


# ------------------------------------------------------------------------------------------------ engines
class Numba:
    name = "numba"

    def __init__(self, model: str, n: int):
        from vo2neuro.circuits import simulate

        self.sim, self.model, self.n = simulate, model, n
        if model == "pwl":
            self.dev, self.kw = _pwl(), dict(v_in=VIN_PWL, r_load=RL_PWL, capacitance=C_PWL, dt=DT_PWL)
        else:
            self.dev, self.kw = _et(), dict(v_in=VIN_ET, r_load=RL_ET, capacitance=C_ET, ambient=AMB_ET, dt=DT_ET)
        self.spikes = 0

    def run(self, steps: int) -> float:
        t0 = time.perf_counter()
        r = self.sim(self.dev, n_neurons=self.n, duration=steps * self.kw["dt"], **self.kw)
        wall = time.perf_counter() - t0
        self.spikes = int(r.n_spikes_total.sum())
        return wall


class Brian2Runtime:
    def __init__(self, model: str, n: int, target: str):
        import brian2 as b2

        from vo2neuro.circuits.brian2_model import build_et_network, build_pwl_network

        self.b2, self.target, self.model, self.n = b2, target, model, n
        self.name = f"brian2-{target}"
        b2.prefs.codegen.target = target
        if model == "pwl":
            _, self.net, _, self.mon = build_pwl_network(_pwl(), v_in=np.full(n, VIN_PWL), r_load=RL_PWL,
                                                         capacitance=C_PWL, dt=DT_PWL)
        else:
            _, self.net, _, self.mon = build_et_network(_et(), v_in=np.full(n, VIN_ET), r_load=RL_ET,
                                                        capacitance=C_ET, ambient=AMB_ET, dt=DT_ET)
        self.spikes = 0

    def run(self, steps: int) -> float:
        b2 = self.b2
        b2.prefs.codegen.target = self.target
        if self.model == "pwl":
            b2.defaultclock.dt = DT_PWL * b2.second
        t0 = time.perf_counter()
        self.net.run(steps * DT[self.model] * b2.second)
        wall = time.perf_counter() - t0
        self.spikes = int(self.mon.num_spikes)
        return wall


def bench_brian2_standalone(model: str, n: int, steps: int, repeats: int, threads: int, *,
                            minor_loops: bool = True) -> dict:
    """cpp_standalone in a fresh subprocess: compile once, run the binary ``repeats`` times (median).

    ``minor_loops=False`` (electro-thermal): Brian2 runs the simpler major-loop model (engine
    ``brian2-cpp_standalone-major``), a reference for what the minor-loop memory costs Brian2.
    """
    code = f"""
import json, time, tempfile, sys, numpy as np, brian2 as b2
sys.path.insert(0, {HERE!r})
import bench_circuits as B
d = tempfile.mkdtemp(prefix='b2sa_')
b2.set_device('cpp_standalone', directory=d, build_on_run=False)
b2.prefs.devices.cpp_standalone.openmp_threads = {threads}
if {model!r} == 'pwl':
    from vo2neuro.circuits.brian2_model import build_pwl_network
    _, net, G, mon = build_pwl_network(B._pwl(), v_in=np.full({n}, B.VIN_PWL), r_load=B.RL_PWL,
                                       capacitance=B.C_PWL, dt=B.DT_PWL)
else:
    from vo2neuro.circuits.brian2_model import build_et_network
    _, net, G, mon = build_et_network(B._et(), v_in=np.full({n}, B.VIN_ET), r_load=B.RL_ET, capacitance=B.C_ET,
                                      ambient=B.AMB_ET, dt=B.DT_ET, minor_loops={minor_loops})
net.run({steps} * B.DT[{model!r}] * b2.second)
t0 = time.perf_counter()
b2.device.build(directory=d, compile=True, run=False)
t_comp = time.perf_counter() - t0
runs = []
for _ in range({repeats}):
    b2.device.run(directory=d)
    runs.append(float(b2.device._last_run_time))
print(json.dumps({{'compile_s': t_comp, 'runs_s': runs, 'spikes': int(mon.num_spikes)}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1800)
    engine = "brian2-cpp_standalone" + ("" if minor_loops else "-major")
    row = {"engine": engine, "model": model, "n": n, "steps": steps, "threads": threads}
    if out.returncode != 0:
        row["error"] = out.stderr.strip().splitlines()[-1:]
        return row
    d = json.loads(out.stdout.strip().splitlines()[-1])
    rates = [n * steps / w for w in d["runs_s"]]
    row.update(compile_s=d["compile_s"], wall_s=d["runs_s"], rates=rates, spikes=d["spikes"],
               neuron_steps_per_s=float(np.median(rates)))
    return row


def bench_solve_ivp(model: str, n: int, duration: float) -> dict:
    """Per-neuron scipy loop; neuron-steps counted on the kernel's time grid (duration / dt)."""
    from scipy.integrate import solve_ivp

    from vo2neuro.device import _kernels as DK

    t0 = time.perf_counter()
    if model == "pwl":
        dev = _pwl()
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
        p = _et()
        k = p.to_kernel()
        for _ in range(n):
            h = DK.hyst_init(AMB_ET, 1.0, k)

            def rhs(t_, y):
                R = DK.resistance(y[1], y[0], h, k)
                return [((VIN_ET - y[0]) / RL_ET - y[0] / R) / C_ET, (y[0] ** 2 / R - p.S_e * (y[1] - AMB_ET)) / p.C_th]

            solve_ivp(rhs, (0, duration), [0.0, AMB_ET], method="Radau", rtol=1e-8, atol=1e-9)
    wall = time.perf_counter() - t0
    steps = int(round(duration / DT[model]))
    return {"engine": "scipy-solve_ivp", "model": model, "n": n, "steps": steps, "wall_s": wall,
            "neuron_steps_per_s": n * steps / wall}


# ------------------------------------------------------------------------------------------------ memory
_MEM_CODE = """
import json, resource, sys, tracemalloc
from vo2neuro.circuits import simulate


def peak_rss():
    # VmHWM restarts at exec; ru_maxrss would carry the peak of the forked parent (the benchmark process)
    try:
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


kw = dict(v_in={v}, r_load={rl}, capacitance={c}, ambient={amb})
simulate("zhang2024", duration=30e-9, n_neurons=1000, **kw)  # imports, parallel kernel: compile or cache load
base = peak_rss()
if {traced}:
    tracemalloc.start()
simulate("zhang2024", duration=100 * {dt}, dt={dt}, n_neurons={n}, **kw)
peak = tracemalloc.get_traced_memory()[1] if {traced} else None
print(json.dumps({{"rss_before_bytes": base, "max_rss_bytes": peak_rss(), "peak_traced_bytes": peak}}))
"""


def bench_memory(n: int) -> dict:
    """1e6 neurons, spike-only, electro-thermal, 100 steps, in fresh subprocesses (RSS run without tracemalloc)."""
    row = {"engine": "memory", "model": "electrothermal", "n": n}
    # a first process loads (or compiles and caches) the kernels: compilation would otherwise set the peak RSS
    warm = _MEM_CODE.format(v=VIN_ET, rl=RL_ET, c=C_ET, amb=AMB_ET, dt=DT_ET, n=1000, traced=False)
    subprocess.run([sys.executable, "-c", warm], capture_output=True, text=True, timeout=900)
    for traced in (False, True):
        code = _MEM_CODE.format(v=VIN_ET, rl=RL_ET, c=C_ET, amb=AMB_ET, dt=DT_ET, n=n, traced=traced)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900)
        if out.returncode != 0:
            row["error"] = out.stderr.strip().splitlines()[-1:]
            return row
        d = json.loads(out.stdout.strip().splitlines()[-1])
        if traced:
            row["peak_traced_bytes"] = d["peak_traced_bytes"]
        else:
            row["max_rss_bytes"] = d["max_rss_bytes"]
            row["rss_after_warmup_bytes"] = d["rss_before_bytes"]
    return row


# ------------------------------------------------------------------------------------------------ driver
def _steps_for(wall_1: float, steps_1: int, target_s: float, lo: int = 100, hi: int = 10**8) -> int:
    rate = steps_1 / max(wall_1, 1e-6)
    return int(min(hi, max(lo, rate * target_s)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print every figure and the ratios as JSON on stdout")
    ap.add_argument("--quick", action="store_true", help="reduced grid (N = 1e2, 1e4; short runs), ~2 minutes")
    ap.add_argument("--repeats", type=int, default=None, help="interleaved repeats (default 3, quick 2)")
    ap.add_argument("--b2-threads", type=int, default=0,
                    help="OpenMP threads of the Brian2 standalone binary (0: no OpenMP, one thread)")
    ap.add_argument("--no-brian2", action="store_true")
    a = ap.parse_args(argv)
    import numba

    reps = a.repeats or (2 if a.quick else 3)
    ns = [100, 10_000] if a.quick else [100, 1000, 10_000, 100_000, 1_000_000]
    target_s = 0.15 if a.quick else 0.5          # wall time per timed run
    sa_work = 2e6 if a.quick else 2e7            # neuron-steps per standalone binary run
    meta = {"numba_threads": numba.get_num_threads(), "cpu_count": os.cpu_count(), "quick": a.quick,
            "repeats": reps, "b2_threads": a.b2_threads, "loadavg_start": os.getloadavg(),
            "dt_s": DT, "note": "Brian2 electro-thermal: same equations incl. minor-loop memory, forward Euler; Numba PWL event driven"}
    have_b2 = False
    if not a.no_brian2:
        try:
            import brian2  # noqa: F401

            have_b2 = True
        except ImportError:
            print("brian2 not installed: skipped", file=sys.stderr)
    rows = []

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    for model in ("pwl", "electrothermal"):
        for n in ns:
            engines = [Numba(model, n)]
            if have_b2:
                engines += [Brian2Runtime(model, n, "numpy"), Brian2Runtime(model, n, "cython")]
            steps = {}
            for e in engines:  # warm (compile) + calibration
                e.run(10)
                lo, hi = max(5, min(100, int(1e6 / n))), max(100, int(3e10 / n))
                # incremental rate: the per-call set-up (O(N) arrays, Brian2 code objects) is paid once per timed
                # run and would otherwise make the calibrated runs too short at large N
                s1 = max(10, int(2e6 / n)) if e.name == "numba" else (20 if n <= 10_000 else 4)
                w1, w2 = e.run(s1), e.run(5 * s1)
                # timed runs last long enough that the per-call set-up (state allocation, result analysis of a
                # `simulate` call; Brian2's network is built once, outside the timing) is < ~10 % of the wall
                fixed = max(w1 - (w2 - w1) / 4.0, 0.0)
                steps[e.name] = _steps_for(max(w2 - w1, 1e-3), 4 * s1, min(max(target_s, 10.0 * fixed), 10.0),
                                           lo=lo, hi=hi)
            walls = {e.name: [] for e in engines}
            for _ in range(reps):
                for e in engines:
                    walls[e.name].append(e.run(steps[e.name]))
            for e in engines:
                rates = [n * steps[e.name] / w for w in walls[e.name]]
                row = {"engine": e.name, "model": model, "n": n, "steps": steps[e.name], "wall_s": walls[e.name],
                       "rates": rates, "neuron_steps_per_s": float(np.median(rates)), "spikes": e.spikes,
                       "loadavg": _load()}
                rows.append(row)
                log(f"{e.name:<22} {model:<15} N={n:>8}  steps={steps[e.name]:>8}  "
                    f"{row['neuron_steps_per_s']:.3e} neuron-steps/s  (load {row['loadavg']:.1f})")
            if have_b2:
                sa_steps = max(200, int(sa_work / n))
                row = bench_brian2_standalone(model, n, sa_steps, reps, a.b2_threads)
                row["loadavg"] = _load()
                rows.append(row)
                log(f"{'brian2-cpp_standalone':<22} {model:<15} N={n:>8}  steps={sa_steps:>8}  "
                    + (f"{row['neuron_steps_per_s']:.3e} neuron-steps/s  compile {row['compile_s']:.1f} s"
                       if "error" not in row else str(row["error"])))
                if model == "electrothermal" and n >= 10_000:
                    row = bench_brian2_standalone(model, n, sa_steps, reps, a.b2_threads, minor_loops=False)
                    row["loadavg"] = _load()
                    rows.append(row)
                    log(f"{'  (major loop only)':<22} {model:<15} N={n:>8}  steps={sa_steps:>8}  "
                        + (f"{row['neuron_steps_per_s']:.3e} neuron-steps/s" if "error" not in row
                           else str(row["error"])))
    for model, n, dur in (("pwl", 4, 20e-6), ("electrothermal", 2, 10e-6)):
        row = bench_solve_ivp(model, n, dur)
        rows.append(row)
        log(f"{'scipy-solve_ivp':<22} {model:<15} N={n:>8}  {row['neuron_steps_per_s']:.3e} neuron-steps/s")
    mem = bench_memory(1_000_000)
    rows.append(mem)
    log(f"memory 1e6 neurons spike-only: {mem}")
    # ratios numba / other, per model and N (solve_ivp: per-neuron rate, independent of N)
    ratios = []
    for model in ("pwl", "electrothermal"):
        ivp = next((r["neuron_steps_per_s"] for r in rows if r["engine"] == "scipy-solve_ivp"
                    and r["model"] == model), None)
        for n in ns:
            get = {r["engine"]: r.get("neuron_steps_per_s") for r in rows if r.get("model") == model
                   and r.get("n") == n}
            nb = get.get("numba")
            rr = {"model": model, "n": n, "numba": nb}
            for other in ("brian2-numpy", "brian2-cython", "brian2-cpp_standalone", "brian2-cpp_standalone-major"):
                if get.get(other):
                    rr[other] = get[other]
                    rr[f"x_{other}"] = nb / get[other]
            if ivp:
                rr["scipy-solve_ivp"] = ivp
                rr["x_scipy-solve_ivp"] = nb / ivp
            ratios.append(rr)
    meta["loadavg_end"] = os.getloadavg()
    cols = ("brian2-numpy", "brian2-cython", "brian2-cpp_standalone", "scipy-solve_ivp")
    log(f"\n{'model':<15} {'N':>8} {'numba':>10} " + " ".join(f"{'x ' + c[:18]:>22}" for c in cols))
    for rr in ratios:
        log(f"{rr['model']:<15} {rr['n']:>8} {rr['numba']:>10.3e} "
            + " ".join(f"{rr.get('x_' + c, float('nan')):>22.1f}" for c in cols))
    if a.json:
        print(json.dumps({"meta": meta, "rows": rows, "ratios": ratios}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
