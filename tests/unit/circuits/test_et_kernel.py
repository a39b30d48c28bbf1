"""The blocked, vectorised electro-thermal kernel against the step composed from the device primitives.

``circuits._kernels.run_et`` writes one step of the Pearson-Anson / current-driven neuron out in SIMD stages
(vectorisable exp, lanes padded to a block). The reference here is the same step written per neuron in plain
Python from ``device._kernels`` (``resistance``, ``thermal_step``, ``hyst_update``, libm exp through them) and
``circuits._kernels.leg``: node leg exact with R frozen at the extrapolated mid-step temperature, thermal node
with the step-mean Joule power, then the memory update. Both must give the same waveforms to round-off.
"""
from __future__ import annotations

import numpy as np
import pytest

from vo2neuro.circuits import simulate
from vo2neuro.circuits import _kernels as CK
from vo2neuro.device import _kernels as DK
from vo2neuro.device import get_parameters


def _reference(p, *, drive, src, r_load, cap, ambient, dt, n_steps):
    """(V, T, R) of shape (n_steps,) sampled at step starts, per-neuron plain-Python composition."""
    k = p.to_kernel()
    gL = 0.0 if not np.isfinite(r_load) else 1.0 / r_load
    J = src * gL if drive == "voltage" else src
    V, T, Tprev = 0.0, ambient, ambient
    h = DK.hyst_init(ambient, 1.0, k)
    out = np.empty((3, n_steps))
    for n in range(n_steps):
        R = DK.resistance(T + 0.5 * (T - Tprev), V, h, k)
        out[:, n] = V, T, R
        G = gL + 1.0 / R
        V, _, iV2 = CK.leg(V, J / G, cap / G, dt)
        Tprev = T
        T = DK.thermal_step(T, iV2 / R / dt, ambient, dt, 0.0, k)
        h = DK.hyst_update(T, h, k)
    return out


@pytest.mark.parametrize("drive", ["voltage", "current"])
def test_blocked_kernel_matches_composed_step(drive):
    p = get_parameters("zhang2024")
    n = CK.ET_BLOCK + 5            # one full block and a partial one (padded lanes)
    dt, n_steps = 3.377e-9, 4000   # 13.5 us: several spikes at every drive level
    cap = np.linspace(120e-12, 160e-12, n)
    ambient = np.linspace(320.0, 330.0, n)
    if drive == "voltage":
        src, r_load = np.linspace(10.5, 16.0, n), 12e3
    else:
        src, r_load = np.linspace(0.8e-3, 1.3e-3, n), np.inf
    kw = {"v_in": src} if drive == "voltage" else {"i_in": src}
    res = simulate(p, drive=drive, r_load=r_load, capacitance=cap, ambient=ambient, duration=n_steps * dt, dt=dt,
                   record=list(range(n)), **kw)
    assert (res.n_spikes_total >= 2).sum() >= n // 2   # switching lanes and quiet ones
    for i in (0, 7, CK.ET_BLOCK - 1, CK.ET_BLOCK, n - 1):
        ref = _reference(p, drive=drive, src=src[i], r_load=r_load, cap=cap[i], ambient=ambient[i], dt=dt,
                         n_steps=n_steps)
        # chaotic amplification is absent (dissipative relaxation oscillator): round-off stays at round-off
        np.testing.assert_allclose(res.trace.V[i], ref[0], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(res.trace.T[i], ref[1], rtol=1e-11)
        np.testing.assert_allclose(res.trace.R[i], ref[2], rtol=1e-8)
