"""Sweeps: a small sweep on a local Dask cluster, kill-and-resume equals an uninterrupted run, failing points are
recorded (NaN and a reason), Latin-hypercube stratification, bad configurations rejected."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("zarr")

from vo2neuro.units import ParameterError  # noqa: E402
from vo2neuro.explore.sweep import config_from_dict, load_config, run_sweep, sweep_points  # noqa: E402
from vo2neuro.device import get_parameters, static_iv  # noqa: E402

DEVICE_TOML = """
[sweep]
circuit = "device"
preset = "vo2"
metrics = ["v_th_v", "v_h_v"]
chunk_size = {chunk}
[sweep.grid]
delta = {{ start = 0.0, stop = 0.03, num = {n} }}
ambient = [300.0, 305.0]
"""


def _write(tmp_path, text, name="s.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_small_sweep_on_local_dask_cluster(tmp_path):
    cfg = load_config(_write(tmp_path, DEVICE_TOML.format(chunk=4, n=4)))
    res = run_sweep(cfg, tmp_path / "a.zarr", workers=2, progress=False)
    assert res.chunks_computed == res.n_chunks and res.n_failed == 0
    ds = xr.open_zarr(tmp_path / "a.zarr")
    assert ds["v_th_v"].dims == ("delta", "ambient") and ds["v_th_v"].attrs["units"] == "V"
    assert ds["delta"].attrs["units"] == "1" and "config" in ds.attrs
    # every stored value equals a direct evaluation of the device at that point
    for d in ds["delta"].values:
        for a in ds["ambient"].values:
            ref = static_iv(get_parameters("vo2", delta=float(d)), ambient=float(a)).v_th_v
            assert float(ds["v_th_v"].sel(delta=d, ambient=a)) == pytest.approx(ref, rel=1e-12, nan_ok=True)
    assert int((ds["status"] == 0).sum()) == 8


def test_kill_and_resume_equals_uninterrupted(tmp_path):
    cfg_path = _write(tmp_path, DEVICE_TOML.format(chunk=2, n=13))
    full = tmp_path / "full.zarr"
    run_sweep(load_config(cfg_path), full, workers=0, progress=False)
    store = tmp_path / "killed.zarr"
    cmd = [sys.executable, "-m", "vo2neuro.cli", "sweep", str(cfg_path), "--out", str(store), "--workers", "0",
           "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    done = 0
    try:
        while time.time() < deadline:
            if (store / "chunk_done").exists():
                try:
                    done = int(xr.open_zarr(store)["chunk_done"].values.sum())
                except Exception:  # noqa: BLE001 - metadata being created; retry
                    done = 0
                if done >= 2:
                    break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    partial = xr.open_zarr(store)  # readable after a kill
    n_done = int(partial["chunk_done"].values.sum())
    assert 0 < n_done < partial.sizes["chunk"], "the kill must land mid-sweep"
    res = run_sweep(load_config(cfg_path), store, workers=0, progress=False, resume=True)
    assert res.chunks_computed == partial.sizes["chunk"] - n_done
    a, b = xr.open_zarr(store).load(), xr.open_zarr(full).load()
    assert a.drop_attrs().equals(b.drop_attrs())


def test_failing_point_is_recorded_not_fatal(tmp_path):
    # T_c outside the parameter set's clamp range is rejected by the device record: that point fails
    cfg = config_from_dict({"sweep": {"circuit": "device", "preset": "vo2", "metrics": ["v_th_v"],
                                      "grid": {"T_c": [330.0, 333.0, 450.0]}}})
    res = run_sweep(cfg, tmp_path / "f.zarr", workers=0, progress=False)
    ds = xr.open_zarr(tmp_path / "f.zarr").load()
    assert res.n_failed == 1
    assert ds["status"].values.tolist() == [0, 0, 1]
    assert np.isnan(ds["v_th_v"].values[2]) and "T_c" in str(ds["reason"].values[2])
    assert np.all(np.isfinite(ds["v_th_v"].values[:2]))


def test_latin_hypercube_is_stratified():
    cfg = config_from_dict({"sweep": {"circuit": "device", "preset": "vo2", "metrics": ["v_th_v"],
                                      "sample": {"method": "lhs", "n": 50, "seed": 3,
                                                 "ranges": {"delta": [0.0, 0.03], "ambient": [290.0, 310.0]}}}})
    pts = sweep_points(cfg)
    for name, (lo, hi) in (("delta", (0.0, 0.03)), ("ambient", (290.0, 310.0))):
        strata = np.floor((pts[name] - lo) / (hi - lo) * 50).astype(int)
        assert sorted(strata.tolist()) == list(range(50))  # exactly one point per stratum


@pytest.mark.parametrize("sweep,needle", [
    ({"circuit": "nope", "metrics": ["v_th_v"], "grid": {"delta": [0.0]}}, "device"),
    ({"circuit": "device", "metrics": ["wattage"], "grid": {"delta": [0.0]}}, "v_th_v"),
    ({"circuit": "device", "metrics": ["v_th_v"], "grid": {"colour": [1.0]}}, "colour"),
    ({"circuit": "device", "metrics": ["v_th_v"]}, "grid"),
])
def test_bad_configuration_rejected(sweep, needle):
    with pytest.raises(ParameterError, match=needle):
        config_from_dict({"sweep": sweep})


def test_existing_store_needs_resume_and_same_config(tmp_path):
    cfg = load_config(_write(tmp_path, DEVICE_TOML.format(chunk=4, n=2)))
    run_sweep(cfg, tmp_path / "x.zarr", workers=0, progress=False)
    with pytest.raises(ParameterError, match="resume"):
        run_sweep(cfg, tmp_path / "x.zarr", workers=0, progress=False)
    other = load_config(_write(tmp_path, DEVICE_TOML.format(chunk=4, n=3), "o.toml"))
    with pytest.raises(ParameterError, match="different sweep"):
        run_sweep(other, tmp_path / "x.zarr", workers=0, progress=False, resume=True)


def test_pwl_sweep_matches_the_closed_form_window_and_frequency(tmp_path):
    # vo2_physics.md section 8: window V_th (1 + R_L/R_off) <= V_in <= V_h (1 + R_L/R_on); period from the
    # two exponential legs. Written out here, independent of the code under test.
    r_off, r_on, v_th, v_h, c = 100.2e3, 990.0, 1.99, 1.0, 300e-12
    cfg = config_from_dict({"sweep": {
        "circuit": "pearson_anson", "preset": "pwl", "metrics": ["frequency_hz", "oscillating"], "chunk_size": 40,
        "grid": {"r_load": {"start": 20e3, "stop": 110e3, "num": 7}, "v_in": {"start": 2.0, "stop": 40.0, "num": 9}},
        "fixed": {"r_off": r_off, "r_on": r_on, "v_th": v_th, "v_h": v_h, "capacitance": c}}})
    run_sweep(cfg, tmp_path / "p.zarr", workers=0, progress=False)
    ds = xr.open_zarr(tmp_path / "p.zarr").load()
    checked = 0
    for rl in ds["r_load"].values:
        lo, hi = v_th * (1 + rl / r_off), v_h * (1 + rl / r_on)
        for vin in ds["v_in"].values:
            if min(abs(vin - lo) / lo, abs(vin - hi) / hi) < 0.02:
                continue  # too close to an edge for a finite simulation window to decide
            inside = lo < vin < hi
            got = ds.sel(r_load=rl, v_in=vin)
            assert bool(got["oscillating"]) == inside, (rl, vin)
            if inside:
                vi, ti = vin * r_off / (r_off + rl), c * rl * r_off / (rl + r_off)
                vm, tm = vin * r_on / (r_on + rl), c * rl * r_on / (rl + r_on)
                period = ti * np.log((vi - v_h) / (vi - v_th)) + tm * np.log((v_th - vm) / (v_h - vm))
                assert float(got["frequency_hz"]) == pytest.approx(1 / period, rel=1e-3)
                checked += 1
    assert checked >= 10


def test_electrothermal_chunk_in_one_call_matches_direct_runs(tmp_path):
    """A chunk of several devices (delta) runs as one kernel call with a device per point; every stored frequency
    equals a direct single-device simulation, and a point whose device cannot be built fails alone."""
    from vo2neuro.circuits.simulate import simulate

    cfg = config_from_dict({"sweep": {
        "circuit": "pearson_anson", "preset": "vo2", "metrics": ["frequency_hz", "n_spikes"], "chunk_size": 100,
        "grid": {"v_in": [16.0, 19.0], "delta": [0.0, 0.01, 0.5]},
        "fixed": {"r_load": 12e3, "capacitance": 145.35e-12, "ambient": 300.0, "duration": 30e-6}}})
    res = run_sweep(cfg, tmp_path / "et.zarr", workers=0, progress=False)
    ds = xr.open_zarr(tmp_path / "et.zarr").load()
    assert res.n_chunks == 1 and res.n_failed == 2
    assert ds["status"].sel(delta=0.5).values.tolist() == [1, 1]
    assert "delta" in str(ds["reason"].sel(delta=0.5)[0].values)
    n_osc = 0
    for v in (16.0, 19.0):
        for d in (0.0, 0.01):
            ref = simulate(get_parameters("vo2", delta=d), v_in=v, r_load=12e3, capacitance=145.35e-12,
                           ambient=300.0, duration=30e-6)
            assert float(ds["frequency_hz"].sel(v_in=v, delta=d)) == float(ref.frequency_hz[0])
            n_osc += bool(ref.oscillating[0])
    assert n_osc >= 2   # the comparison covers oscillating points, not only zeros


def test_one_impossible_value_fails_only_its_point(tmp_path):
    """ambient = 450 K lies above the vo2 set's T_max = 400 K: only the points at 450 K fail (NaN and the reason);
    the points that shared their kernel call are evaluated and equal direct single-point simulations."""
    from vo2neuro.circuits.simulate import simulate

    cfg = config_from_dict({"sweep": {
        "circuit": "pearson_anson", "preset": "vo2", "metrics": ["frequency_hz", "n_spikes"], "chunk_size": 100,
        "grid": {"delta": [0.0, 0.01], "ambient": [300.0, 450.0, 305.0]},
        "fixed": {"v_in": 21.0, "r_load": 12e3, "capacitance": 145.35e-12, "duration": 20e-6}}})
    res = run_sweep(cfg, tmp_path / "one.zarr", workers=0, progress=False)
    ds = xr.open_zarr(tmp_path / "one.zarr").load()
    assert res.n_chunks == 1 and res.n_failed == 2
    assert ds["status"].values.tolist() == [[0, 1, 0], [0, 1, 0]]
    assert all("ambient" in str(r) and "T_max" in str(r) for r in ds["reason"].sel(ambient=450.0).values)
    assert np.all(np.isnan(ds["frequency_hz"].sel(ambient=450.0).values))
    spikes = 0
    for d in (0.0, 0.01):
        for a in (300.0, 305.0):
            ref = simulate(get_parameters("vo2", delta=d), v_in=21.0, r_load=12e3, capacitance=145.35e-12,
                           ambient=a, duration=20e-6)
            assert float(ds["frequency_hz"].sel(delta=d, ambient=a)) == float(ref.frequency_hz[0])
            spikes += int(ref.n_spikes[0])
    assert spikes > 0   # the comparison covers spiking points, not only zeros


def test_one_impossible_value_with_automatic_durations(tmp_path):
    # one device, durations from the circuit: the group's call fails, its good points run one by one
    from vo2neuro.circuits.analysis import auto_duration
    from vo2neuro.circuits.simulate import simulate

    cfg = config_from_dict({"sweep": {
        "circuit": "pearson_anson", "preset": "zhang2024", "metrics": ["frequency_hz"],
        "grid": {"ambient": [325.0, 401.0]},
        "fixed": {"v_in": 12.0, "r_load": 12e3, "capacitance": 145.35e-12}}})
    run_sweep(cfg, tmp_path / "auto.zarr", workers=0, progress=False)
    ds = xr.open_zarr(tmp_path / "auto.zarr").load()
    assert ds["status"].values.tolist() == [0, 1]
    dev = get_parameters("zhang2024")
    dur = auto_duration(dev, drive="voltage", source=12.0, r_load=12e3, capacitance=145.35e-12, ambient=325.0)
    ref = simulate(dev, v_in=12.0, r_load=12e3, capacitance=145.35e-12, ambient=325.0, duration=dur)
    assert float(ds["frequency_hz"].values[0]) == float(ref.frequency_hz[0]) > 0


@pytest.mark.parametrize("sweep,needle", [
    ({"circuit": "device", "metrics": ["v_th_v"], "grid": {"delta": [0.0]}, "chunk_sise": 4},
     "did you mean 'chunk_size'"),
    ({"circuit": "device", "metrics": ["v_th_v"], "grid": {"delta": [0.0]}, "fixd": {"ambient": 300.0}},
     r"did you mean \[sweep.fixed\]"),
    ({"circuit": "device", "metrics": ["v_th_v"], "grid": {"delta": "0.0"}}, "list of numbers"),
    ({"circuit": "device", "metrics": ["v_th_v"], "grid": {"delta": [0.0]}, "chunk_size": "4"}, "whole number"),
    ({"circuit": "device", "metrics": ["v_th_v"], "grid": {"delta": {"start": 0.0, "stop": 0.1, "num": 10**12}}},
     "GiB"),
])
def test_schema_errors(sweep, needle):
    with pytest.raises(ParameterError, match=needle):
        config_from_dict({"sweep": sweep})
