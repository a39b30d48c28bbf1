"""Measured-spike energy ledger (issue 13): event rates counted on converted networks against hand-counted spikes,
records of hardware-level runs read and refused, and the zoo workload charged ``rate x T x fan-out`` on the layers a
run measured (the rest at the assumed rate), with the flag per row."""
from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from vo2neuro.ml_zoo.measured import (EventCounter, MeasuredRun, input_kinds, layer_rates,  # noqa: E402
                                      load_measured, measured_from_record)
from vo2neuro.units import ParameterError  # noqa: E402

RUN = {"kind": "vo2neuro.hw_eval.zoo", "model": "tddpg_rec", "network_config": "small", "dataset": None,
       "steps": 32, "preset": "vo2x", "n_images": 200, "d2d_sigma": 0.05, "c2c_sigma": 0.0, "seed": 0,
       "layer_rates": {"critic.action_proj": 0.25}, "spikes_per_inference": 12.0,
       "energy_per_inference_j": 1e-9, "accuracy": None}


# ------------------------------------------------------------------------------------------------- hand references
class _HandIF:
    """IF neurons with reset by subtraction, the membrane starting at theta/2, written out from the rule in plain
    floats: ``step(currents)`` takes currents[sample][neuron] of one step and returns the spikes (0/1) alike."""

    def __init__(self, theta: float, samples: int, neurons: int) -> None:
        self.theta = theta
        self.v = [[theta / 2] * neurons for _ in range(samples)]

    def step(self, currents: list[list[float]]) -> list[list[int]]:
        out = []
        for v, row in zip(self.v, currents):
            spikes = []
            for j, i_in in enumerate(row):
                v[j] += i_in
                fired = v[j] >= self.theta
                if fired:
                    v[j] -= self.theta
                spikes.append(int(fired))
            out.append(spikes)
        return out


def _affine(w: list[list[float]], b: list[float], x: list[float]) -> list[float]:
    return [sum(wi * xi for wi, xi in zip(row, x)) + bj for row, bj in zip(w, b)]


def _dyadic_net() -> nn.Sequential:
    """Linear(3,4) - ReLU - Linear(4,3) - ReLU - Linear(3,2) with weights in eighths: with inputs in eighths and
    thresholds at the calibration maximum (percentile 100) every membrane value is exact in float64."""
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).double()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                m.weight.copy_(torch.randint(-4, 9, m.weight.shape, generator=g).double() / 8)
                m.bias.copy_(torch.randint(-2, 3, m.bias.shape, generator=g).double() / 8)
    return net


def test_layer_rates_equal_hand_counted_if_spikes():
    from vo2neuro.ml_zoo.convert import convert

    net = _dyadic_net()
    g = torch.Generator().manual_seed(4)
    calib = torch.randint(0, 9, (64, 3), generator=g).double() / 8
    x = torch.randint(0, 9, (5, 3), generator=g).double() / 8
    T = 12
    res = convert(net, calib, steps=T, percentile=100.0)
    rates = layer_rates(res.snn, x, T, batch_size=2)          # three batches: the neurons are reset between them
    assert list(rates) == ["2", "4"]                          # "0" is fed by the analog input

    w = [[[float(v) for v in row] for row in net[k].weight.detach()] for k in (0, 2)]
    b = [[float(v) for v in net[k].bias.detach()] for k in (0, 2)]
    th0, th1 = res.thresholds["neuron_0"], res.thresholds["neuron_1"]
    xs = [[float(v) for v in row] for row in x]
    layer0, layer1 = _HandIF(th0, len(xs), 4), _HandIF(th1, len(xs), 3)
    count0 = count1 = 0
    for _ in range(T):        # the input current is constant; layer 1 sees the spikes x theta of layer 0 that step
        s0 = layer0.step([_affine(w[0], b[0], r) for r in xs])
        s1 = layer1.step([_affine(w[1], b[1], [th0 * z for z in row]) for row in s0])
        count0 += sum(map(sum, s0))
        count1 += sum(map(sum, s1))
    assert 0 < count0 < 4 * T * 5 and 0 < count1 < 3 * T * 5   # neither silent nor saturated: the test can fail
    assert rates["2"] == count0 / (4 * T * 5)
    assert rates["4"] == count1 / (3 * T * 5)


def test_a_layer_behind_a_neuron_free_linear_gets_dense_graded_events():
    """Linear - ReLU - Linear - Linear: the last layer's input is a weighted sum plus a positive bias every step."""
    from vo2neuro.ml_zoo.convert import convert

    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.Linear(4, 2))
    with torch.no_grad():
        net[2].weight.abs_()
        net[2].bias.fill_(0.5)
    x = torch.rand(6, 3)
    res = convert(net, torch.rand(64, 3), steps=8)
    rates = layer_rates(res.snn, x, 8)
    assert rates["3"] == 1.0 and rates["2"] < 1.0
    assert input_kinds(res.snn) == {"0": "input", "2": "spikes", "3": "graded"}


def test_layers_without_a_neuron_upstream_are_left_out():
    from vo2neuro.ml_zoo.convert import convert

    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    res = convert(net, torch.rand(64, 3), steps=8)
    assert input_kinds(res.snn) == {"0": "input", "1": "input", "3": "spikes"}
    assert list(layer_rates(res.snn, torch.rand(4, 3), 8)) == ["3"]


def test_the_counter_counts_inside_any_loop_over_steps():
    """A runner with its own loop (one batch, neurons reset once) counts what layer_rates counts."""
    from vo2neuro.ml_zoo.convert import convert

    torch.manual_seed(5)
    res = convert(nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU()), torch.rand(64, 6))
    x = torch.rand(9, 6)
    for _, m in res.snn.neurons():
        m.reset()
    with torch.no_grad(), EventCounter(res.snn, output_layer="next") as counter:
        for _ in range(10):
            res.snn.graph_module(x)
    assert counter.excluded == ("0",)
    assert counter.rates() == layer_rates(res.snn, x, 10, output_layer="next")
    assert set(counter.rates()) == {"2", "next"}


def test_input_kinds_of_a_converted_dpdnet_block():
    """DPDNet's linear bottleneck: only the convolution behind a ReLU6 (and the first block's, behind the stem's)
    is fed by spikes; the depthwise convolutions after a linear layer or a residual sum and the classifier behind
    the average pool get graded values."""
    from vo2neuro.ml_zoo.convert import convert
    from vo2neuro.ml_zoo.models.depthwise_cnn import DPDNet, DPDNetConfig

    torch.manual_seed(0)
    net = DPDNet(DPDNetConfig.mnist()).eval()
    kinds = input_kinds(convert(net, torch.rand(8, 1, 28, 28)).snn)
    assert kinds["features.0"] == "input"
    assert kinds["features.3.body.0"] == kinds["features.3.body.3"] == kinds["features.4.body.3"] == "spikes"
    assert kinds["features.3.body.5"] == kinds["features.4.body.0"] == kinds["classifier"] == "graded"


def test_output_layer_counts_the_output_spikes_and_the_counter_agrees_with_the_neuron():
    """An actor-like net (Linear - ReLU): its only synaptic layer is input-fed; the output spikes drive a layer
    outside (output_layer), counted as the neuron's own spike counter counts them."""
    from vo2neuro.ml_zoo.convert import convert

    torch.manual_seed(1)
    body = nn.Sequential(nn.Linear(10, 6), nn.ReLU())
    x = torch.rand(7, 10)
    res = convert(body, torch.rand(128, 10), steps=16)
    rates = layer_rates(res.snn, x, 16, output_layer="critic.action_proj")
    assert list(rates) == ["critic.action_proj"]
    res.snn(x, steps=16)                                      # the neuron's own counter over the same run
    spikes = res.snn.spike_counts()["neuron_0"] * 7
    assert 0 < spikes < 6 * 16 * 7
    assert rates["critic.action_proj"] == pytest.approx(spikes / (6 * 16 * 7), abs=0)
    with pytest.raises(ParameterError, match="output_layer"):
        EventCounter(res.snn, output_layer="0")


def test_vo2_device_neurons_one_device_events_are_the_device_spikes():
    from vo2neuro.ml_zoo.convert import convert
    from vo2neuro.snn.presets import circuit_neuron_for_preset

    cn = circuit_neuron_for_preset("vo2x")
    torch.manual_seed(2)
    net = nn.Sequential(nn.Linear(8, 12), nn.ReLU(), nn.Linear(12, 3))
    x = torch.rand(5, 8)
    res = convert(net, torch.rand(128, 8), steps=24, neuron="vo2", vo2=cn, devices=1)
    rates = layer_rates(res.snn, x, 24)
    res.snn(x, steps=24)
    spikes = res.snn.spike_counts()["neuron_0"] * 5           # one device: at most one spike per neuron per step
    assert 0 < spikes
    assert rates["2"] == pytest.approx(spikes / (12 * 24 * 5), abs=0)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"steps": 0}, "steps"), ({"batch_size": 0}, "batch_size"), ({"x": torch.zeros(0, 3)}, "x"),
])
def test_layer_rates_refuses_bad_arguments(kwargs, fragment):
    from vo2neuro.ml_zoo.convert import convert

    snn = convert(nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1)), torch.rand(32, 3)).snn
    args = {"x": torch.rand(2, 3), "steps": 4, **kwargs}
    with pytest.raises(ParameterError, match=fragment):
        layer_rates(snn, args.pop("x"), args.pop("steps"), **args)


# ------------------------------------------------------------------------------------------------------- records
def _write(tmp_path, content, name="rec.json"):
    p = tmp_path / name
    p.write_bytes(content if isinstance(content, bytes) else
                  (content if isinstance(content, str) else json.dumps(content)).encode())
    return p


def test_a_record_file_round_trips(tmp_path):
    run = load_measured(_write(tmp_path, {**RUN, "other": [1, 2]}))
    assert isinstance(run, MeasuredRun)
    assert run.rates == {"critic.action_proj": 0.25} and run.steps == 32 and run.accuracy is None
    assert run.describe() == "circuit-level hw-eval, vo2x, T=32, 200 images, d2d 5 %, c2c 0 %, config small"
    assert run.describe(applied_to="paper").endswith("config small, rates applied by layer name to paper")
    again = measured_from_record(json.loads(json.dumps(run.to_dict())), source=run.source)
    assert again == run


def _without(key):
    return {k: v for k, v in RUN.items() if k != key}


@pytest.mark.parametrize("content, fragments", [
    ("{not json", ("is not JSON",)),
    (b"\xff\xfe\x00", ("UTF-8",)),
    ([1, 2], ("JSON object",)),
    ({**RUN, "kind": "vo2neuro.hw_eval"}, ("kind", "vo2neuro.hw_eval.zoo")),
    (_without("kind"), ("kind",)),
    (_without("steps"), ("missing", "steps")),
    (_without("layer_rates"), ("missing", "layer_rates")),
    ({**RUN, "model": "alexnet"}, ("model", "'alexnet'", "valid:", "dpdnet")),
    ({**RUN, "model": 3}, ("model", "text")),
    ({**RUN, "steps": 0}, ("steps", ">= 1")),
    ({**RUN, "steps": 64.5}, ("steps", "whole number")),
    ({**RUN, "steps": True}, ("steps", "whole number")),
    ({**RUN, "n_images": -1}, ("n_images",)),
    ({**RUN, "d2d_sigma": -0.1}, ("d2d_sigma", ">= 0")),
    ({**RUN, "c2c_sigma": "5 %"}, ("c2c_sigma",)),
    ({**RUN, "layer_rates": []}, ("layer_rates", "object")),
    ({**RUN, "layer_rates": {}}, ("layer_rates", "empty")),
    ({**RUN, "layer_rates": {"critic.out": -0.1}}, ("layer_rates['critic.out']", "[0, 1]", "spikes/neuron/step")),
    ({**RUN, "layer_rates": {"critic.out": 1.5}}, ("layer_rates['critic.out']", "[0, 1]")),
    ({**RUN, "layer_rates": {"critic.out": "0.1"}}, ("layer_rates['critic.out']",)),
    ({**RUN, "dataset": 5}, ("dataset",)),
    ({**RUN, "accuracy": -1}, ("accuracy",)),
    ({**RUN, "layer_inputs": ["spikes"]}, ("layer_inputs", "object")),
    ({**RUN, "layer_inputs": {"critic.out": "analog"}}, ("layer_inputs['critic.out']", "spikes, graded")),
])
def test_bad_records_raise_one_line_naming_file_and_key(tmp_path, content, fragments):
    p = _write(tmp_path, content)
    with pytest.raises(ParameterError) as err:
        load_measured(p)
    msg = str(err.value)
    assert "\n" not in msg and "rec.json" in msg
    for f in fragments:
        assert f in msg


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_rates_are_refused_by_key(tmp_path, literal):
    text = json.dumps(RUN).replace('"critic.action_proj": 0.25', f'"critic.action_proj": {literal}')
    with pytest.raises(ParameterError, match=r"layer_rates\['critic.action_proj'\].*finite"):
        load_measured(_write(tmp_path, text))


def test_a_missing_file_and_a_folder_are_refused(tmp_path):
    with pytest.raises(ParameterError, match="not found"):
        load_measured(tmp_path / "nope.json")
    with pytest.raises(ParameterError, match="folder"):
        load_measured(tmp_path)


# ----------------------------------------------------------------------------------------------------- the ledger
def _table(name, config):
    from vo2neuro.ml_zoo import create
    from vo2neuro.ml_zoo.synaptic import fan_out_table

    model = create(name, config).eval()
    return fan_out_table(model, model.example_inputs(1, generator=torch.Generator().manual_seed(0)))


def test_measured_layers_are_charged_rate_x_steps_x_fan_out_the_rest_assumed():
    from vo2neuro.ml_zoo.energy import workload

    table = _table("dpdnet", "small")
    rates = {"features.3.body.3": 0.05, "features.4.body.0": 0.9, "classifier": 0.3, "features.0": 0.7,
             "features.7": 0.5, "no.such.layer": 1.0}      # features.0: input-fed, stays MACs; features.7: a block here
    run = measured_from_record({**RUN, "model": "dpdnet", "network_config": "mnist", "steps": 64,
                                "layer_rates": rates}, source="dpd.json")
    w = workload("dpdnet", "small", firing_rate=0.1, timesteps=8, measured=run)
    charged = [fo for fo in table.values() if fo.order != 0]
    expected = sum((rates[fo.name] * 64 if fo.name in rates else 0.1 * 8) * fo.connections for fo in charged)
    spikes = sum((rates[fo.name] * 64 if fo.name in rates else 0.1 * 8) * fo.n_presynaptic for fo in charged)
    assert w.synops == pytest.approx(expected, rel=1e-12)
    assert w.spikes == pytest.approx(spikes, rel=1e-12)
    assert w.spike_source == "mixed"
    assert w.rate_source == ("measured: circuit-level hw-eval, vo2x, T=64, 200 images, d2d 5 %, c2c 0 %, config "
                             f"mnist, rates applied by layer name to small (3 of {len(charged)} layers; the rest "
                             "assumed 0.1 x 8)")
    assumed = workload("dpdnet", "small", firing_rate=0.1, timesteps=8)
    assert assumed.spike_source == "assumed" and w.synops != assumed.synops


def test_a_run_covering_every_layer_is_flagged_measured_in_every_row():
    from vo2neuro.ml_zoo.energy import VO2Target, energy_table

    table = _table("tddpg_rec", "small")
    rates = {"critic.state_proj": 0.5, "critic.action_proj": 0.25, "critic.out": 0.125}
    inputs = {"critic.state_proj": "graded", "critic.action_proj": "spikes", "critic.out": "spikes"}
    run = measured_from_record({**RUN, "layer_rates": rates, "layer_inputs": inputs})
    t = energy_table(["tddpg_rec", "dpdnet"], config="small", measured=[run],
                     targets=[VO2Target(energy_per_spike_j=0.0, energy_per_synaptic_event_j=1e-12)])
    rows = {r.model: r for r in t.rows}
    assert rows["tddpg_rec"].spike_source == "measured" and rows["dpdnet"].spike_source == "assumed"
    assert rows["tddpg_rec"].rate_source.endswith("config small (3 of 3 layers, 2 fed by spikes and 1 by graded "
                                                  "values)")
    synops = sum(rates[n] * 32 * table[n].connections for n in rates)
    assert rows["tddpg_rec"].synops == pytest.approx(synops, rel=1e-12)
    first = table["actor.fc"].connections              # input-fed: charged as CMOS MACs, as without measurements
    w = {x.name: x for x in t.workloads}["tddpg_rec"]
    assert rows["tddpg_rec"].energy_j == pytest.approx(1e-12 * synops + 4.6e-12 * (w.first_layer_macs + w.rest_macs))
    assert w.first_layer_macs == first
    assert "measured spikes" in " ".join(t.assumptions) and "Spike counts:" in t.to_markdown()
    # the graded inputs are routed (synops) but no neuron fired them: the VO2 spike count leaves them out
    graded = 0.5 * 32 * table["critic.state_proj"].n_presynaptic
    spikes = sum(rates[n] * 32 * table[n].n_presynaptic for n in rates)
    assert w.graded_events == pytest.approx(graded) and w.spikes == pytest.approx(spikes - graded)
    per_spike = energy_table(["tddpg_rec"], config="small", measured=[run],
                             targets=[VO2Target(energy_per_spike_j=1e-9, energy_per_synaptic_event_j=0.0)])
    assert per_spike.rows[0].energy_j == pytest.approx(1e-9 * (spikes - graded)
                                                       + 4.6e-12 * (w.first_layer_macs + w.rest_macs))


@pytest.mark.parametrize("runs, names, fragment", [
    ([RUN], ["dpdnet"], "not among the models asked for"),
    ([RUN, RUN], ["tddpg_rec"], "two runs of tddpg_rec"),
    ([{**RUN, "layer_rates": {"actor.fc": 0.5, "head": 0.1}}], ["tddpg_rec"], "none of its layer_rates names"),
])
def test_energy_table_refuses_runs_it_cannot_use(runs, names, fragment):
    from vo2neuro.ml_zoo.energy import energy_table

    with pytest.raises(ParameterError, match=fragment):
        energy_table(names, config="small", measured=[measured_from_record(r, source="r.json") for r in runs])


def test_cli_zoo_energy_measured_json(tmp_path, monkeypatch, capsys):
    from vo2neuro.cli import main

    rates = {"critic.action_proj": 0.25, "critic.out": 0.5}
    _write(tmp_path, {**RUN, "layer_rates": rates})
    monkeypatch.chdir(tmp_path)
    rc = main(["zoo", "energy", "tddpg_rec", "dpdnet", "--config", "small", "--vo2-spike-energy", "1p",
               "--measured", "rec.json", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0
    table = _table("tddpg_rec", "small")
    expected = (sum(rates[n] * 32 * table[n].connections for n in rates)
                + 0.1 * 8 * table["critic.state_proj"].connections)
    tddpg = [r for r in out["rows"] if r["model"] == "tddpg_rec"]
    assert len(tddpg) == 5 and {r["spike_source"] for r in tddpg} == {"mixed"}
    assert all(r["synops"] == pytest.approx(expected, rel=1e-12) for r in tddpg)
    assert "(2 of 3 layers; the rest assumed 0.1 x 8)" in tddpg[0]["rate_source"]
    assert {r["spike_source"] for r in out["rows"] if r["model"] == "dpdnet"} == {"assumed"}
    wl = {w["name"]: w for w in out["workloads"]}
    assert wl["tddpg_rec"]["spike_source"] == "mixed" and math.isclose(wl["tddpg_rec"]["synops"], expected)
