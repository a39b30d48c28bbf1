"""The VO2-x energy target takes its energy per spike from the simulated neuron, bounded below by the capacitor
energy dumped into the device per spike, C (V_th^2 - V_h^2) / 2 (vo2_physics.md section 14)."""
from __future__ import annotations

import pytest

pytest.importorskip("torch")

from vo2neuro.circuits import oscillation_window, simulate  # noqa: E402
from vo2neuro.device import get_parameters  # noqa: E402
from vo2neuro.ml_zoo.energy import vo2_target_from_circuit  # noqa: E402


def test_circuit_energy_per_spike_respects_the_capacitor_bound():
    c = 145.35e-12
    dev_t = vo2_target_from_circuit("vo2x", definition="device", capacitance=c)
    src_t = vo2_target_from_circuit("vo2x", definition="source", capacitance=c)
    dev = get_parameters("vo2x")
    win = oscillation_window(dev, drive="voltage", r_load=12e3, capacitance=c, ambient=300.0)
    nr = simulate(dev, v_in=0.5 * (win.lower + win.upper), r_load=12e3, capacitance=c, ambient=300.0,
                  duration=60e-6).neuron(0)
    bound = 0.5 * c * (nr.v_th_eff_v**2 - nr.v_h_eff_v**2)
    assert dev_t.energy_per_spike_j >= bound > 0
    assert src_t.energy_per_spike_j > dev_t.energy_per_spike_j  # the source also pays the load resistor
    assert "simulated" in src_t.spike_source
