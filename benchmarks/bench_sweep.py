"""Sweep throughput on Dask: points per second of the frequency sweep with 1 and 2 local workers (same machine)
and the wall time of a 1e5-point sweep.

    python benchmarks/bench_sweep.py [--json] [--quick] [--repeats R]

The sweep is vo2x in the Pearson-Anson circuit over V_in x delta (R_L 12 kOhm, C 145.35 pF, 300 K; the example
of ``vo2neuro.explore.sweep`` with more points), in 1000-point chunks. Each run writes a fresh store; cluster
start-up and the workers' warm-up are excluded from the points-per-second figure (the clock starts when the first
task is submitted) and included in total_wall_s. 1- and 2-worker runs alternate ``--repeats`` times; the ratio is
of the medians.
Measured figures and their history: docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: Points per task: ~0.2 s of work per chunk on this machine (Dask's guidance: tasks well above 100 ms).
CHUNK = 1000


def _config(n_vin: int, n_delta: int, chunk: int):
    from vo2neuro.explore.sweep import config_from_dict

    return config_from_dict({"sweep": {
        "circuit": "pearson_anson", "preset": "vo2x", "metrics": ["frequency_hz", "energy_per_spike_j", "oscillating"],
        "chunk_size": chunk,
        "grid": {"v_in": {"start": 12.0, "stop": 28.0, "num": n_vin},
                 "delta": {"start": 0.0, "stop": 0.02, "num": n_delta}},
        "fixed": {"r_load": 12e3, "capacitance": 145.35e-12, "ambient": 300.0, "duration": 40e-6}}})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved 1- and 2-worker runs (median reported)")
    args = ap.parse_args(argv)
    from vo2neuro.explore.sweep import run_sweep

    tmp = Path(tempfile.mkdtemp(prefix="vo2neuro-bench-sweep-"))
    out: dict = {"machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg()}, "runs": {}}
    try:
        n_vin, n_delta = (40, 5) if args.quick else (1600, 25)
        cfg = _config(n_vin, n_delta, chunk=CHUNK)
        repeats = 1 if args.quick else args.repeats
        rates: dict[int, list[float]] = {1: [], 2: []}
        for rep in range(repeats):      # interleaved: slow drifts of the shared machine hit both alike
            for workers in (1, 2):
                t0 = time.perf_counter()
                res = run_sweep(cfg, tmp / f"w{workers}-{rep}.zarr", workers=workers, progress=False)
                out["runs"][f"workers_{workers}_rep{rep}"] = {**res.to_dict(),
                                                              "total_wall_s": time.perf_counter() - t0}
                rates[workers].append(res.points_per_s)
                print(f"{workers} worker(s): {res.points_per_s:.1f} points/s", file=sys.stderr)
        r1, r2 = float(np.median(rates[1])), float(np.median(rates[2]))
        out["points_per_s"] = {"workers_1": rates[1], "workers_2": rates[2], "median_1": r1, "median_2": r2}
        out["ratio_2_over_1"] = r2 / r1
        out["ratios_per_repeat"] = [b / a for a, b in zip(rates[1], rates[2])]
        big = _config(2000 if not args.quick else 100, 50 if not args.quick else 5, chunk=CHUNK)
        t0 = time.perf_counter()
        res = run_sweep(big, tmp / "big.zarr", workers=2, progress=not args.json)
        out["sweep_1e5"] = {"n_points": big.n_points, "wall_s": time.perf_counter() - t0,
                            "points_per_s": res.points_per_s, "workers": 2}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"points/s: 1 worker {r1:.1f}, 2 workers {r2:.1f}, ratio {out['ratio_2_over_1']:.2f}")
        print(f"{out['sweep_1e5']['n_points']} points: {out['sweep_1e5']['wall_s']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
