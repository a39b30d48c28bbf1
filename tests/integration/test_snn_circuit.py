"""The SNN neuron derived from the circuit, and hardware-level inference against the circuit simulator.

References: the circuit-level simulator :mod:`vo2neuro.circuits` (electro-thermal VO2 device in the Pearson-Anson
circuit, validated against solve_ivp, ngspice and Brian2 in tests/regression) provides the f-I curves that the
torch neuron and the network kernel must reproduce.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vo2neuro.circuits import f_i_curve  # noqa: E402
from vo2neuro.circuits.network import simulate_network  # noqa: E402
from vo2neuro.device import get_parameters  # noqa: E402
from vo2neuro.snn.neuron import vo2_sequence  # noqa: E402
from vo2neuro.snn.presets import circuit_neuron_for_preset  # noqa: E402

C, RL = 145.35e-12, 12e3


@pytest.fixture(scope="module", params=["vo2", "vo2x"])
def cn(request):
    return circuit_neuron_for_preset(request.param)


def test_neuron_rate_matches_the_circuit_f_i_curve(cn):
    # operating range: from just above the onset to the frequency maximum of the circuit
    i_tot = np.linspace(cn.i_lo_a * 1.05, cn.i_bias_a + cn.i_peak_a, 9)
    ref = f_i_curve(get_parameters(cn.preset), i_in=i_tot, capacitance=C, r_load=RL, ambient=cn.ambient_k)
    # the torch neuron, simulated at a fine step (the network's coarse dt is a separate discretisation)
    p = dataclasses.replace(cn.params, dt=cn.params.t_ref / 200.0)
    n = int(200e-6 / p.dt)
    i_syn = torch.tensor(i_tot - cn.i_bias_a, dtype=torch.float64)
    z, _ = vo2_sequence(i_syn.expand(n, -1).contiguous(), None, p)
    t = np.arange(n) * p.dt
    rates = []
    for k in range(len(i_tot)):
        ts = t[z[:, k].numpy() > 0]
        ts = ts[ts > 50e-6]  # settled
        rates.append((len(ts) - 1) / (ts[-1] - ts[0]))
    rel = np.asarray(rates) / ref.frequency_hz - 1.0
    assert np.all(ref.frequency_hz > 0)
    assert np.max(np.abs(rel)) < 0.05, np.round(rel, 4)


def test_network_kernel_single_layer_reproduces_the_circuit_simulator(cn):
    # the event-driven network kernel (coarse 20 ns step) against the batched circuit simulator's f-I curve
    i_tot = np.linspace(cn.i_lo_a * 1.1, cn.i_hi_a * 0.9, 6)
    ref = f_i_curve(get_parameters(cn.preset), i_in=i_tot, capacitance=C, r_load=RL, ambient=cn.ambient_k)
    run = simulate_network(get_parameters(cn.preset), (i_tot - cn.i_bias_a)[None, :], [], [], i_supply=cn.i_bias_a,
                           r_load=RL, capacitance=C, ambient=cn.ambient_k, window=300e-6, pulse=cn.params.dt)
    f_hw = run.counts[0] / 300e-6
    # counting spikes over a window that includes the first charge from rest biases the rate low by ~1 spike
    # (0.4 %), the 20 ns step adds ~2 %
    np.testing.assert_allclose(f_hw, ref.frequency_hz, rtol=0.04)


def test_network_kernel_is_deterministic_and_variability_acts():
    cn = circuit_neuron_for_preset("vo2x")
    dev = get_parameters("vo2x")
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 2, (3, 20)) * cn.params.rheobase
    W = rng.normal(0, 2, (6, 20)) * cn.params.rheobase
    kw = dict(i_supply=cn.i_bias_a, r_load=RL, capacitance=C, ambient=300.0, window=15e-6, pulse=cn.params.dt)
    a = simulate_network(dev, x, [W], [np.zeros(6)], seed=3, r_ins_sigma_ln=0.1, t_c_sigma=2.0, **kw)
    b = simulate_network(dev, x, [W], [np.zeros(6)], seed=3, r_ins_sigma_ln=0.1, t_c_sigma=2.0, **kw)
    c = simulate_network(dev, x, [W], [np.zeros(6)], seed=4, r_ins_sigma_ln=0.1, t_c_sigma=2.0, **kw)
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.energy_j, b.energy_j)
    assert not np.array_equal(a.spikes_per_layer, c.spikes_per_layer)
    # the energy drawn from the supply exceeds what the devices dissipate (the rest heats R_L or charges C)
    assert np.all(a.supply_energy_j > a.device_energy_j)


def test_hardware_inference_of_a_small_trained_network(tmp_path):
    from vo2neuro.snn.hardware import hw_eval
    from vo2neuro.snn.train import TrainConfig, Trainer

    n = 120
    tr = Trainer(TrainConfig(dataset="digits", preset="vo2x", hidden=(128,), epochs=8, out_dir=str(tmp_path),
                             progress=False))
    res = tr.fit()
    # Bounds on what the method guarantees, not on what one machine printed (another CPU changes the float
    # summation order and so the trained weights, like another seed):
    # - the trained network, on the whole 450-image test set: measured 0.94-0.95 (seeds 0-2, two machines); 0.85
    #   leaves eight binomial sigmas (sqrt(0.94 x 0.06 / 450) = 0.011) and is far above chance (0.10). A bound on
    #   the first 60 images failed on another CPU: they are harder than the average (0.82-0.90 measured).
    assert res.test_accuracy > 0.85
    hw = hw_eval(res.checkpoint, n_images=n, d2d_sigma=0.05, progress=False)
    # - hw-eval reads the trained network: its software accuracy is the trainer's on the same images, exactly
    assert hw.n_images == n and hw.software_accuracy == tr.evaluate(tr.x_test[:n], tr.y_test[:n])
    # - the circuit-level network agrees with the software network on the same images: measured 0.93-0.96
    #   (60 and 450 images, seeds 0-2); 0.85 is four binomial sigmas below 0.94 on 120 images (0.022 each). Where
    #   they agree they score alike, so the accuracies differ by at most the disagreement.
    assert hw.agreement >= 0.85
    assert abs(hw.accuracy - hw.software_accuracy) <= 1.0 - hw.agreement + 1e-12
    assert hw.diagnosis == ""
    assert 0 < hw.latency_s <= hw.window_s
    parts = hw.energy_breakdown_j
    # bounds from the circuit, independent of the simulation: each supply draws (V_s - V)/R_L with the node
    # clamped to V >= 0, so at most V_s^2/R_L; the devices cannot dissipate more than the sources deliver
    n_neurons = 128 + 10 * 4
    assert 0 < parts["neuron_supply"] <= n_neurons * hw.supply_v**2 / RL * hw.window_s
    assert 0 < parts["device_dissipation"] < parts["neuron_supply"] + parts["synapse_drivers"]
    assert hw.spikes_per_inference > 0 and hw.images_per_s > 0
    # the mean rate cannot exceed the fastest the circuit fires
    assert 0 < hw.mean_rate_hz < circuit_neuron_for_preset("vo2x").f_max_hz


@pytest.mark.parametrize("preset", ["vo2", "vo2x"])
def test_circuit_step_bound_separates_resolved_from_unresolved(preset):
    # hw-eval refuses a circuit step above max_circuit_dt (a quarter of R_m C); check that the bound means what it
    # says against the batched circuit simulator's f-I curve: within 5 % at the bound, off by > 10 % at 4x it
    from vo2neuro.snn.hardware import max_circuit_dt

    cn = circuit_neuron_for_preset(preset)
    dev = get_parameters(preset)
    bound, _ = max_circuit_dt(dev, C)
    i_tot = np.linspace(cn.i_lo_a * 1.1, cn.i_hi_a * 0.9, 6)
    ref = f_i_curve(dev, i_in=i_tot, capacitance=C, r_load=RL, ambient=cn.ambient_k).frequency_hz

    def rel(dt):
        run = simulate_network(dev, (i_tot - cn.i_bias_a)[None, :], [], [], i_supply=cn.i_bias_a, r_load=RL,
                               capacitance=C, ambient=cn.ambient_k, window=300e-6, pulse=cn.params.dt, dt=dt)
        return run.counts[0] / 300e-6 / ref - 1.0

    assert np.max(np.abs(rel(bound))) < 0.05
    assert np.max(np.abs(rel(4 * bound))) > 0.10


def test_inhibited_node_stays_silent():
    # strong inhibition would drive the node negative, where the bipolar VO2 device heats as V^2/R and switches;
    # the clamp diode holds the node at >= 0 V, so an inhibited neuron is silent (as the software neuron is)
    cn = circuit_neuron_for_preset("vo2x")
    i_syn = -np.array([2.0, 5.0, 10.0, 20.0]) * cn.params.rheobase
    run = simulate_network(get_parameters("vo2x"), i_syn[None, :], [], [], i_supply=cn.i_bias_a, r_load=RL,
                           capacitance=C, ambient=300.0, window=50e-6, pulse=cn.params.dt)
    assert np.all(run.counts == 0)


def test_first_spike_drive_against_the_integrated_node_equation():
    # the closed form against an ODE solver: C dv/dt = I - (v - v_bias)/R_leak from v = 0 reaches v_th within
    # T dt just above that drive and not just below it
    from scipy.integrate import solve_ivp

    from vo2neuro.snn.hardware import first_spike_drive

    p = circuit_neuron_for_preset("vo2x").params
    for steps, window_is_long in ((25, True), (2, False)):
        once = first_spike_drive(p, steps)
        t_end = steps * p.dt

        def v_end(factor):
            i = factor * once * p.rheobase
            sol = solve_ivp(lambda t, v: (i - (v - p.v_bias) / p.r_leak) / p.capacitance, (0.0, t_end), [0.0],
                            rtol=1e-10, atol=1e-12)
            return sol.y[0, -1]

        assert v_end(1.001) > p.v_th > v_end(0.999)
        # many time constants: any drive above the rheobase fires; a short window needs more
        assert (once < 1.01) == window_is_long


def test_hw_eval_refuses_a_device_size_on_which_the_trained_network_is_silent(tmp_path):
    # issue 11: the vo2x network on the 100 nm film with the probe-station's 145 pF ran silent (agreement 0.08,
    # exit 0). There the re-derived neuron's node time constant is ~40 network steps of 1/(3 f_max), against a
    # 25-step window, so a neuron needs ~7x its rheobase to fire once: refused up front with that reason.
    from vo2neuro.snn.hardware import hw_eval
    from vo2neuro.snn.train import TrainConfig, Trainer
    from vo2neuro.units import ParameterError

    res = Trainer(TrainConfig(dataset="digits", preset="vo2x", hidden=(16,), epochs=1, out_dir=str(tmp_path),
                              progress=False)).fit()
    with pytest.raises(ParameterError) as exc:
        hw_eval(res.checkpoint, n_images=2, progress=False, device_size=100e-9, integration="probe-station")
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith("device_size: 1e-07 m (probe-station): the network would be silent")
    assert "x its rheobase to fire once" in msg and msg.endswith("[m]")


def test_diagnosis_names_what_fails_in_the_delta_002_neuron():
    """The vo2 film at delta 0.02 loses ~23 points at circuit level in the grid co-design (digits, 150 images:
    68.7 % against 91.3 % in software); the diagnosis must say why from the circuit neuron itself, and stay
    silent for vo2x, whose circuit-level accuracy matches software (docs/results.md)."""
    from vo2neuro.snn.hardware import _diagnose, _neuron_notes
    from vo2neuro.snn.presets import circuit_neuron_for_preset

    bad = circuit_neuron_for_preset("vo2", 0.02)
    notes = _neuron_notes(bad, bad.params)
    assert any("rate barely follows the drive" in n for n in notes)
    assert any("forgotten between steps" in n for n in notes)
    good = circuit_neuron_for_preset("vo2x")
    assert _neuron_notes(good, good.params) == []
    common = dict(above=0.0, in_window=0.3, silent=0.0, mean_rate=1e4, f_max=5e5, i_max=1e-3, neuron_notes=notes)
    text = _diagnose(accuracy=0.687, software=0.913, agreement=0.687, **common)
    assert "agrees with the software network on only 69 %" in text and "rate barely follows" in text
    assert _diagnose(accuracy=0.95, software=0.953, agreement=0.94, **common) == ""
