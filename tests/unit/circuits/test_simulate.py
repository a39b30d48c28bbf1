"""Kernel building blocks, the step API, determinism, abstraction and figures of vo2neuro.circuits."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy.integrate import quad

from vo2neuro.circuits import (PWLDeviceParams, StepInputs, f_i_curve, initial_state,
                               neuron_abstraction, oscillation_window, pwl_window, simulate, step)
from vo2neuro.circuits import _kernels as CK

DEV = PWLDeviceParams(r_off=100.2e3, r_on=990.0, v_th=1.99, v_h=1.0)


@pytest.mark.parametrize("V0,Vinf,tau,t", [(0.0, 5.0, 1e-6, 3e-7), (3.0, 1.0, 2e-9, 1e-6), (1.0, 1.0 + 1e-9, 1.0, 1e-9)])
def test_leg_integrals_against_quadrature(V0, Vinf, tau, t):
    V1, iV, iV2 = CK.leg(V0, Vinf, tau, t)
    f = lambda s: Vinf + (V0 - Vinf) * math.exp(-s / tau)  # noqa: E731
    assert V1 == pytest.approx(f(t), rel=1e-12)
    assert iV == pytest.approx(quad(f, 0, t, epsabs=0, epsrel=1e-12)[0], rel=1e-9)
    assert iV2 == pytest.approx(quad(lambda s: f(s) ** 2, 0, t, epsabs=0, epsrel=1e-12)[0], rel=1e-9)


def test_et_resistance_is_the_device_kernel():
    from vo2neuro.device import _kernels as DK
    from vo2neuro.device import get_parameters

    p = get_parameters("zhang2024").to_kernel()
    h = DK.hyst_init(330.0, 1.0, p)
    assert CK.device_variant(p, 1.0, 0.0, 0.0) == p
    assert DK.resistance(331.0, 1.0, h, CK.device_variant(p, 2.0, 0.0, 0.0)) > DK.resistance(331.0, 1.0, h, p)


def test_step_api_matches_batched_run():
    st, prm = initial_state(DEV, r_load=47e3, capacitance=300e-12, n_neurons=2)
    dt = 25e-9
    for _ in range(300):
        st = step(st, StepInputs(source=np.array([14.0, 14.0]), dt=dt), prm)
    r = simulate(DEV, v_in=14.0, r_load=47e3, capacitance=300e-12, duration=300 * dt, dt=dt, n_neurons=2)
    np.testing.assert_allclose(st.V, r.final.V, rtol=1e-9)
    assert st.acc[0, CK.A_NSP_ALL] == r.n_spikes_total[0] > 0
    assert st.t == pytest.approx(300 * dt)


def test_state_continuation_matches_one_run():
    from vo2neuro.device import get_parameters

    p = get_parameters("zhang2024")
    kw = dict(v_in=12.0, r_load=12e3, capacitance=145.35e-12, ambient=325.0, dt=2e-9)
    a = simulate(p, duration=10e-6, **kw)
    b = simulate(p, duration=10e-6, state=a.final, **kw)
    c = simulate(p, duration=20e-6, **kw)
    np.testing.assert_allclose(b.final.V, c.final.V, rtol=1e-9)
    np.testing.assert_allclose(b.final.T, c.final.T, rtol=1e-12)


_DET_SCRIPT = """
import json, numpy as np
from vo2neuro.circuits import simulate, Variability, PWLDeviceParams
from vo2neuro.device import get_parameters
out = {}
for seed in (1, 2):
    v = Variability(seed=seed, r_ins_sigma_ln=0.2, t_c_sigma=2.0, thermal_noise=2e-11)
    r = simulate(get_parameters("zhang2024"), v_in=12.0, r_load=12e3, capacitance=145.35e-12, ambient=325.0,
                 duration=15e-6, n_neurons=64, variability=v)
    pw = simulate(PWLDeviceParams(r_off=100e3, r_on=1e3, v_th=2.0, v_h=1.0), v_in=14.0, r_load=47e3,
                  capacitance=300e-12, duration=20e-6, n_neurons=64,
                  variability=Variability(seed=seed, r_ins_sigma_ln=0.2, v_th_sigma_rel=0.05, v_th_c2c_rel=0.03))
    out[seed] = [r.final.V.tolist(), r.final.T.tolist(), r.n_spikes_total.tolist(), pw.final.V.tolist(),
                 pw.n_spikes_total.tolist()]
print(json.dumps(out))
"""


def test_variability_deterministic_across_threads(tmp_path):
    """Bitwise equal with 1 and 2 threads, and between a freshly compiled kernel (empty cache directory, first run)
    and the same kernel loaded from Numba's cache (second run): implicit FMA contraction once made the two differ
    in the last bits."""
    res = {}
    for threads in ("1", "2"):
        env = {**os.environ, "NUMBA_NUM_THREADS": threads, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
        proc = subprocess.run([sys.executable, "-c", _DET_SCRIPT], capture_output=True, text=True, env=env,
                              check=True, timeout=300)
        res[threads] = json.loads(proc.stdout)
    assert res["1"] == res["2"]
    assert res["1"]["1"] != res["1"]["2"]
    V = np.array(res["1"]["1"][0])
    assert np.unique(V).size > 32  # D2D: the 64 neurons differ


def test_pwl_window_analytic_and_simulated_edges():
    w = pwl_window(DEV, r_load=47e3)
    assert w.lower == pytest.approx(DEV.v_th * (1 + 47e3 / DEV.r_off))
    assert w.upper == pytest.approx(DEV.v_h * (1 + 47e3 / DEV.r_on))
    r = simulate(DEV, v_in=[0.99 * w.lower, 1.01 * w.lower, 0.99 * w.upper, 1.01 * w.upper], r_load=47e3,
                 capacitance=300e-12, duration=2e-4)
    assert list(r.oscillating) == [False, True, True, False]
    assert oscillation_window(DEV, r_load=47e3, capacitance=300e-12).method == "closed-form"


def test_neuron_abstraction_pwl_current_drive():
    i = 0.5 * DEV.v_h / DEV.r_on
    a = neuron_abstraction(DEV, i_in=i, capacitance=300e-12)
    assert a.v_th == pytest.approx(DEV.v_th) and a.v_h == pytest.approx(DEV.v_h)
    # metallic leg of the closed form: tau_m ln((V_th - I R_on)/(V_h - I R_on)), tau_m = R_on C
    t_m = DEV.r_on * 300e-12 * math.log((DEV.v_th - i * DEV.r_on) / (DEV.v_h - i * DEV.r_on))
    assert a.t_ref == pytest.approx(t_m, rel=1e-6)
    assert a.r_leak == DEV.r_off and a.v_bias == 0.0 and a.i_max == pytest.approx(DEV.v_h / DEV.r_on)
    assert set(("capacitance", "r_leak", "v_bias", "v_th", "v_h", "t_ref", "i_max", "dt")) <= set(a.to_dict())


def test_neuron_abstraction_zhang_subthreshold_probes_window():
    from vo2neuro.device import get_parameters, static_iv

    p = get_parameters("zhang2024")
    a = neuron_abstraction(p, v_in=8.0, r_load=12e3, capacitance=145.35e-12, ambient=325.0)
    iv = static_iv(p, ambient=325.0)
    assert a.probe_source > 10.0  # 8 V is below the window; probed inside it
    r_ins = iv.v_th_v / iv.i_th_a
    assert a.r_leak == pytest.approx(r_ins * 12e3 / (r_ins + 12e3))
    assert a.v_bias == pytest.approx(8.0 * r_ins / (r_ins + 12e3))
    assert a.v_th > a.v_h > 0 and 0 < a.t_ref < 1 / a.frequency_hz
    assert a.i_max == pytest.approx(iv.i_h_a)


def test_f_i_curve_pwl_matches_closed_form():
    from vo2neuro.circuits import pwl_frequency

    i = np.linspace(0.1e-3, 0.9e-3, 5)
    c = f_i_curve(DEV, i_in=i, capacitance=300e-12)
    ref = [pwl_frequency(DEV, drive="current", source=x, r_load=math.inf, capacitance=300e-12) for x in i]
    np.testing.assert_allclose(c.frequency_hz, ref, rtol=1e-6)
    np.testing.assert_allclose(c.closed_form_hz, ref, rtol=1e-12)


def test_figures(tmp_path):
    from vo2neuro.circuits import transfer_curve
    from vo2neuro.circuits.plotting import plot_traces, plot_transfer

    r = simulate("zhang2024", v_in=12.0, r_load=12e3, capacitance=145.35e-12, duration=10e-6, record=[0],
                 record_every=4)
    assert plot_traces(r, tmp_path / "t.png").stat().st_size > 1000
    c = transfer_curve(DEV, parameter="v_in", values=[5, 10, 20], v_in=1.0, r_load=47e3, capacitance=300e-12)
    assert plot_transfer([c], tmp_path / "f.png").stat().st_size > 1000


def test_no_torch_import():
    code = ("import sys, vo2neuro.circuits, vo2neuro.circuits.netlist, vo2neuro.circuits.plotting, "
            "vo2neuro.circuits.brian2_model; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_per_neuron_devices_match_separate_runs():
    """One device per neuron (the sweep path: a kernel call over several parameter sets) gives, neuron by neuron,
    the waveforms of separate single-device runs at the same dt; wrong lengths and PWL records are refused."""
    from vo2neuro.units import ParameterError
    from vo2neuro.device import get_parameters

    devs = [get_parameters("vo2", delta=d) for d in (0.0, 0.01, 0.02)]
    kw = dict(r_load=12e3, capacitance=145.35e-12, ambient=300.0, duration=20e-6, dt=3e-9)
    v_in = [18.0, 14.0, 12.0]
    together = simulate(devs, v_in=v_in, **kw)
    for k, (dev, v) in enumerate(zip(devs, v_in)):
        alone = simulate(dev, v_in=v, **kw)
        assert together.final.V[k] == alone.final.V[0] and together.final.T[k] == alone.final.T[0]
        assert together.n_spikes_total[k] == alone.n_spikes_total[0]
    assert len(set(together.n_spikes_total.tolist())) > 1   # the three devices really differ
    with pytest.raises(ParameterError, match="device"):
        simulate(devs[:2], v_in=v_in, **kw)
    with pytest.raises(ParameterError, match="device"):
        simulate([devs[0], DEV], v_in=12.0, **kw)


# ------------------------------------------------------------------------------------------------ work budget
def test_absurd_work_refused_before_running():
    """Sizes are refused with their estimate before any allocation or kernel call (these would run for days or
    need terabytes): one neuron for 1 s at 1 ps is 1e12 steps of a 32-neuron SIMD block."""
    from vo2neuro.device import get_parameters
    from vo2neuro.units import ParameterError

    p = get_parameters("zhang2024")
    kw = dict(v_in=12.0, r_load=12e3, capacitance=145.35e-12, ambient=325.0)
    with pytest.raises(ParameterError, match=r"3\.2e\+13 neuron-steps"):
        simulate(p, duration=1.0, dt=1e-12, **kw)
    with pytest.raises(ParameterError, match=r"steps .*exceed the limit"):
        simulate(DEV, v_in=14.0, r_load=47e3, capacitance=300e-12, duration=1.0, dt=1e-30)
    with pytest.raises(ParameterError, match="GiB"):
        simulate(DEV, v_in=14.0, r_load=47e3, capacitance=300e-12, duration=1e-3, n_neurons=10**13)
    with pytest.raises(ParameterError, match="traces"):
        simulate(DEV, v_in=14.0, r_load=47e3, capacitance=300e-12, duration=1.0, dt=1e-15, record=[0])


def test_progress_segments_continue_the_run_exactly(monkeypatch):
    """A run that reports progress runs in segments (here forced: threshold 0, 6 segments); with a piecewise
    drive and recorded traces it agrees with the single call to rounding, and reports every step once."""
    import importlib

    from vo2neuro.circuits import PiecewiseDrive
    from vo2neuro.device import get_parameters

    sim = importlib.import_module("vo2neuro.circuits.simulate")
    p = get_parameters("zhang2024")
    kw = dict(v_in=PiecewiseDrive(values=np.array([[11.0, 13.0], [14.0, 12.0], [12.5, 11.5]]), sample_time=6e-6),
              r_load=12e3, capacitance=145.35e-12, ambient=325.0, duration=36e-6, dt=2e-9, record=[0, 1],
              record_every=8)
    one = simulate(p, **kw)
    monkeypatch.setattr(sim, "PROGRESS_AFTER_S", 0.0)
    monkeypatch.setattr(sim, "_SEGMENT_S", 1e-4)
    calls = []
    seg = simulate(p, progress=lambda done, total: calls.append((done, total)), **kw)
    assert len(calls) > 3 and calls[-1] == (18000, 18000)
    assert all(b[0] > a[0] for a, b in zip(calls, calls[1:]))
    assert seg.n_spikes_total.tolist() == one.n_spikes_total.tolist() and one.n_spikes_total.min() > 2
    np.testing.assert_allclose(seg.frequency_hz, one.frequency_hz, rtol=1e-9)
    np.testing.assert_allclose(seg.final.V, one.final.V, rtol=1e-9)
    np.testing.assert_allclose(seg.trace.V, one.trace.V, rtol=1e-9, atol=1e-12)
    assert seg.final.t == one.final.t and not np.isnan(seg.trace.V).any()
