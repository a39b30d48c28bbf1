"""``--device-size L [--integration NAME]`` of train / hw-eval: the network neuron of a preset's film built at a
channel length, in the scale study's circuit (:func:`vo2neuro.snn.presets.sized_device`)."""
from __future__ import annotations

import math

import pytest

from vo2neuro.circuits.scaling import AUTO_CAP_TAU_RATIO, INTEGRATION, film_of, scale_study, sized_geometry
from vo2neuro.device import static_iv
from vo2neuro.device.geometry import device_capacitance, from_geometry
from vo2neuro.device.select import select
from vo2neuro.snn.presets import circuit_neuron_for_sized, sized_device
from vo2neuro.units import ParameterError

L100 = 100e-9


@pytest.fixture(scope="module")
def sized():
    return sized_device("vo2x", L100, "on-chip")


def test_sized_device_has_the_scale_studys_load_and_node_capacitance(sized):
    base, delta, amb = film_of("vo2x")
    g = sized_geometry(L100)
    dev = from_geometry(g, delta=delta, base=base)
    assert sized.selection.params == dev and sized.selection.ambient_k == amb
    # load: half the chord resistance at threshold, R_L = V_th / (2 I_th), from the device's static I-V
    iv = static_iv(dev, ambient=amb)
    assert sized.r_load_ohm == pytest.approx(iv.v_th_v / (2.0 * iv.i_th_a), rel=1e-12)
    # node: the device's own + the on-chip parasitic (3 fF) + the capacitor that makes C_node R_L = 3 tau_th
    node = sized.node
    assert node.device_f == device_capacitance(g) and node.parasitic_f == INTEGRATION["on-chip"].parasitic_f == 3e-15
    assert node.integration_f > 0
    assert node.total_f * sized.r_load_ohm == pytest.approx(AUTO_CAP_TAU_RATIO * dev.tau_th, rel=1e-9)
    # and they are the scale study's own figures at that size
    rec = scale_study([g], base=base, delta=delta, ambient=amb, integration="on-chip", n_points=2)[0]
    assert sized.r_load_ohm == pytest.approx(rec.r_load_ohm, rel=1e-12)
    assert node.total_f == pytest.approx(rec.node_capacitance_f, rel=1e-12)
    assert node.integration_f == pytest.approx(rec.integration_capacitance_f, rel=1e-12)


def test_network_neuron_is_derived_in_that_circuit(sized):
    cn = circuit_neuron_for_sized(sized)
    assert cn.r_load_ohm == sized.r_load_ohm and cn.capacitance_f == sized.node.total_f
    assert cn.params.capacitance == sized.node.total_f
    # R_leak = R_L || R_ins < R_L, and the supply biases below the onset
    assert 0 < cn.params.r_leak < sized.r_load_ohm and cn.i_bias_a < cn.i_lo_a
    # the node is ~3 tau_th slow: the neuron fires at most at ~1/tau_th, far faster than the 145 pF default
    assert 0 < cn.f_max_hz < 1.0 / sized.selection.params.tau_th


def test_sized_device_refuses_bad_input():
    with pytest.raises(ParameterError, match=r"device_size must be a finite length > 0 \[m\]"):
        sized_device("vo2x", -1e-9)
    with pytest.raises(ParameterError, match="integration"):
        sized_device("vo2x", L100, "wafer")
    # a size where the neuron cannot be derived (a sub-atomic channel: its time scales need absurd step counts)
    with pytest.raises(ParameterError, match=r"device_size: no network neuron at 1e-12 m \(on-chip\)"):
        circuit_neuron_for_sized(sized_device("vo2x", 1e-12))


def test_train_config_size_fields():
    from vo2neuro.snn.train import TrainConfig

    d = TrainConfig(preset="vo2x").to_dict()
    assert "device_size_m" not in d and "integration" not in d  # records of unsized runs stay as they were
    d = TrainConfig(preset="vo2x", device_size_m=L100, integration="probe-station").to_dict()
    assert d["device_size_m"] == L100 and d["integration"] == "probe-station"
    with pytest.raises(ParameterError, match="integration"):
        TrainConfig(preset="vo2x", integration="on-chip")
    with pytest.raises(ParameterError, match="device_size_m"):
        TrainConfig(preset=None, device_params=select("vo2").params.to_dict(), device_size_m=L100)
    with pytest.raises(ParameterError, match="device_size_m"):
        TrainConfig(preset="vo2x", device_size_m=0.0)


@pytest.fixture(scope="module")
def sized_run(tmp_path_factory):
    from vo2neuro.snn.train import TrainConfig, Trainer

    tr = Trainer(TrainConfig(dataset="digits", preset="vo2x", hidden=(128,), epochs=8, device_size_m=L100,
                             integration="on-chip", out_dir=str(tmp_path_factory.mktemp("sized")), progress=False))
    return tr, tr.fit()


def test_checkpoint_records_the_size_and_node_capacitance_split(sized_run, sized):
    from vo2neuro.snn.checkpoint import load

    _, res = sized_run
    ck = load(res.checkpoint)
    c = ck.circuit
    assert c["length_m"] == L100 and c["integration"] == "on-chip" and c["preset"] == "vo2x"
    assert c["r_load_ohm"] == sized.r_load_ohm
    n = c["node_capacitance"]
    assert n["device_f"] + n["parasitic_f"] + n["integration_f"] == pytest.approx(n["total_f"], rel=1e-15)
    assert n["total_f"] == ck.neuron.capacitance
    assert ck.device.params == sized.selection.params


def test_hw_eval_of_a_sized_network_runs_on_that_device_at_far_less_energy(sized_run):
    from vo2neuro.snn.hardware import hw_eval

    tr, res = sized_run
    n = 120
    assert res.test_accuracy > 0.85  # same bound as the default-circuit test (tests/integration/test_snn_circuit.py)
    hw = hw_eval(res.checkpoint, n_images=n, d2d_sigma=0.05, progress=False)
    assert hw.circuit is not None and hw.circuit["length_m"] == L100 and not hw.device_override
    assert hw.software_accuracy == tr.evaluate(tr.x_test[:n], tr.y_test[:n])
    # the agreement bound of the default-circuit test (measured here 0.925 on 120 images)
    assert hw.agreement >= 0.85
    assert abs(hw.accuracy - hw.software_accuracy) <= 1.0 - hw.agreement + 1e-12
    assert hw.diagnosis == ""
    # the circuit step resolves the sized neuron: a quarter of min(R_m C, tau_th), far below the default 20 ns
    p = tr.device_selection.params
    assert hw.dt_circuit_s == pytest.approx(min(p.R_m * hw.circuit["node_capacitance"]["total_f"], p.tau_th) / 4)
    # the same weights on the default probe-station circuit (12 kOhm, 145.35 pF): measured 30.6 uJ against
    # 3.67 nJ per inference at 100 nm on-chip (ratio ~8300); the bound leaves a factor 80 of margin
    ref = hw_eval(res.checkpoint, n_images=n, d2d_sigma=0.05, progress=False, device=select("vo2x"))
    assert "circuit" not in ref.to_dict() and ref.dt_circuit_s == 20e-9
    assert 0 < hw.energy_per_inference_j < ref.energy_per_inference_j / 100


def test_hw_eval_device_size_runs_another_checkpoint_on_the_sized_device(tmp_path, sized):
    from vo2neuro.snn.hardware import hw_eval
    from vo2neuro.snn.train import TrainConfig, Trainer

    res = Trainer(TrainConfig(dataset="digits", preset="vo2x", hidden=(8,), epochs=1, out_dir=str(tmp_path),
                              progress=False)).fit()
    hw = hw_eval(res.checkpoint, n_images=3, progress=False, device_size=L100, integration="on-chip")
    cn = circuit_neuron_for_sized(sized)
    assert hw.device_override and hw.device_source == sized.selection.source
    assert hw.circuit == sized.to_dict() and hw.network_dt_s == cn.params.dt
    assert hw.supply_v == pytest.approx(cn.supply_v) and math.isfinite(hw.energy_per_inference_j)
    with pytest.raises(ParameterError, match="integration"):
        hw_eval(res.checkpoint, n_images=3, progress=False, integration="on-chip")


def test_compare_refuses_a_scenario_without_a_size_and_a_file_with_a_size(tmp_path):
    # library-level guards of compare_presets (the CLI refuses the same before calling it)
    from vo2neuro.device.select import select
    from vo2neuro.explore.compare import compare_presets
    from vo2neuro.units import ParameterError

    with pytest.raises(ParameterError, match="integration: only used with --device-size"):
        compare_presets(("vo2x",), out=tmp_path / "a", integration="on-chip")
    with pytest.raises(ParameterError, match="device-size: a sized device is built from a preset"):
        compare_presets((select("vo2x"),), out=tmp_path / "b", device_size=100e-9)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
