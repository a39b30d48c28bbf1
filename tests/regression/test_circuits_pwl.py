"""PWL oscillator / neuron against the closed form (vo2_physics.md section 8) and Brian2 (anchors.md section 2.3)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from vo2neuro.circuits import PWLDeviceParams, Variability, simulate

# "RC oscillator" values of Wehzie/master-thesis VO2_Sto_rand.cir (vo2_physics.md sections 9.3 and 10)
DEV = PWLDeviceParams(r_off=100.2e3, r_on=990.0, v_th=1.99, v_h=1.0)
C = 300e-12


def closed_form(dev, *, J: float, gL: float, C: float) -> float:
    """f = 1/(t_i + t_m), written out from vo2_physics.md section 8 (independent of circuits.analysis)."""
    Gi, Gm = gL + 1 / dev.r_off, gL + 1 / dev.r_on
    vi, vm = J / Gi, J / Gm
    ti = C / Gi * math.log((vi - dev.v_h) / (vi - dev.v_th))
    tm = C / Gm * math.log((dev.v_th - vm) / (dev.v_h - vm))
    return 1.0 / (ti + tm)


def test_voltage_drive_matches_closed_form():
    rl = np.array([30e3, 47e3, 70e3, 100e3, 200e3])
    r = simulate(DEV, v_in=14.0, r_load=rl, capacitance=C, duration=60e-6)
    ref = np.array([closed_form(DEV, J=14.0 / x, gL=1 / x, C=C) for x in rl])
    assert r.oscillating.all()
    assert np.max(np.abs(r.frequency_hz / ref - 1)) < 1e-3
    # vo2_physics.md section 9.3 quotes 0.97 / 0.70 / 0.49 MHz for 30 / 47 / 70 kOhm
    assert np.allclose(r.frequency_hz[:3] / 1e6, [0.97, 0.70, 0.49], atol=0.006)


def test_current_drive_matches_closed_form_and_window():
    lo, hi = DEV.v_th / DEV.r_off, DEV.v_h / DEV.r_on  # oscillates iff V_th/R_off < I < V_h/R_on
    i_in = np.array([0.5 * lo, 1.2 * lo, 0.3 * hi, 0.9 * hi, 1.1 * hi])
    r = simulate(DEV, drive="current", i_in=i_in, capacitance=C, duration=2e-4)
    assert list(r.oscillating) == [False, True, True, True, False]
    ref = np.array([closed_form(DEV, J=i, gL=0.0, C=C) for i in i_in[1:4]])
    assert np.max(np.abs(r.frequency_hz[1:4] / ref - 1)) < 1e-3


def test_time_varying_drive_switches_oscillation_on():
    """Piecewise drive: below the window for the first half, inside it for the second half."""
    from vo2neuro.circuits import PiecewiseDrive

    v_on = 14.0
    drive = PiecewiseDrive(values=np.array([1.0, v_on]), sample_time=30e-6)
    r = simulate(DEV, v_in=drive, r_load=47e3, capacitance=C, duration=60e-6, dt=10e-9, settle=35e-6)
    assert r.n_spikes_total[0] == r.n_spikes[0] + 1 or r.n_spikes_total[0] >= r.n_spikes[0]
    assert r.oscillating[0]
    ref = closed_form(DEV, J=v_on / 47e3, gL=1 / 47e3, C=C)
    assert abs(r.frequency_hz[0] / ref - 1) < 1e-3


def test_threshold_c2c_noise_raises_cv():
    var = Variability(seed=3, v_th_c2c_rel=0.03)
    r = simulate(DEV, v_in=14.0, r_load=47e3, capacitance=C, duration=200e-6, n_neurons=4, variability=var)
    r0 = simulate(DEV, v_in=14.0, r_load=47e3, capacitance=C, duration=200e-6)
    assert r0.isi_cv[0] < 1e-6  # sum-of-squares round-off only
    assert np.all(r.isi_cv > 0.005)


def test_brian2_numpy_matches_kernel():
    pytest.importorskip("brian2")
    from vo2neuro.circuits.brian2_model import brian2_pwl_frequency

    rl = np.array([30e3, 47e3, 70e3])
    fb = brian2_pwl_frequency(DEV, v_in=np.full(3, 14.0), r_load=rl, capacitance=C, duration=20e-6, dt=1e-9)
    fk = simulate(DEV, v_in=14.0, r_load=rl, capacitance=C, duration=20e-6).frequency_hz
    assert np.max(np.abs(fb / fk - 1)) < 5e-3, (fb, fk)
