"""Calibration on measured VO2 data as the instruments wrote it (issue 11): ``data/measured/``.

Independent references are the measured numbers themselves, read here with the standard ``csv`` module (not the
project's loader): the R-T loop of a lateral VO2 gap device (``rt_vo2_gap_device.tsv``; 301 points, a cooling
sweep from ~370 K to ~290 K then a heating sweep; a public fit of the same de Almeida + Arrhenius model family
reports 0.0576 decades RMS) and the quasi-static I-V dual sweep of Galloni et al., PNAS 121, e2318362121 (2024)
(``iv_galloni2024.csv``, Keithley 2461 export, 0 -> 21 -> 0 V in 0.1 V steps). Attribution: data/README.md.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from vo2neuro.cli import main
from vo2neuro.device import _kernels as K
from vo2neuro.device import get_parameters, static_iv
from vo2neuro.device.select import read_params_file
from vo2neuro.explore.calibrate import calibrate, load_measurements

MEASURED = Path(__file__).resolve().parents[2] / "data" / "measured"
RT_FILE = MEASURED / "rt_vo2_gap_device.tsv"
IV_FILE = MEASURED / "iv_galloni2024.csv"
RT_FIT = "R_0,Ea_over_k,R_m,T_c,w,beta,gamma"
IV_FIT = "R_0,Ea_over_k,S_e,T_c,ambient"


def _raw_rt():
    """(T [K], R [Ohm]) straight from the tab-separated file: names row, units row, blank row, data."""
    with open(RT_FILE, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    assert rows[0][:2] == ["Temperature", "Resistance"] and rows[1][:2] == ["K", "Ohm"]
    data = np.array([[float(x) for x in r[:2]] for r in rows[3:] if r])
    return data[:, 0], data[:, 1]


def _raw_iv():
    """Rows (index, t, V, I, R) of the Keithley export after its preamble and header."""
    with open(IV_FILE, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    h = next(i for i, r in enumerate(rows) if r and r[0] == "Index")
    assert rows[h][2:4] == ["SMU-1 Voltage (V)", "SMU-1 Current (A)"]
    return rows[: h + 1], np.array([[float(x) for x in r] for r in rows[h + 1:] if r])


def _cli(argv, capsys):
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return out


# ------------------------------------------------------------------------------------------------ loaders
def test_instrument_files_load_as_shipped():
    T, R = _raw_rt()
    kind, cols = load_measurements(RT_FILE)
    assert kind == "rt" and len(cols["T_K"]) == 301
    np.testing.assert_array_equal(cols["T_K"], T)
    np.testing.assert_array_equal(cols["R_ohm"], R)
    assert "branch" not in cols  # the branch is left to the temperature path
    _, data = _raw_iv()
    kind, cols = load_measurements(IV_FILE)
    assert kind == "iv" and len(cols["V_V"]) == len(data) == 419
    np.testing.assert_array_equal(cols["V_V"], data[:, 2])
    np.testing.assert_array_equal(cols["I_A"], data[:, 3])
    assert cols["V_V"].max() == pytest.approx(21.0, abs=1e-3)


def test_hand_made_csv_still_loads(tmp_path):
    f = tmp_path / "rt.csv"
    f.write_text("# hand-made\nT_K,R_ohm,branch\n300,2e5,1\n310,1e5,1\n")
    kind, cols = load_measurements(f)
    assert kind == "rt" and cols["branch"].tolist() == [1.0, 1.0] and cols["R_ohm"].tolist() == [2e5, 1e5]


# ------------------------------------------------------------------------------------------------ R-T
@pytest.fixture(scope="module")
def rt_fit_json(tmp_path_factory):
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        rc = main(["calibrate", "--data", str(RT_FILE), "--preset", "vo2", "--fit", RT_FIT, "--json"])
    assert rc == 0
    return json.loads(out.getvalue())


def test_rt_loop_fit_within_005_decades(rt_fit_json):
    """The command of the issue on the shipped loop: <= 0.05 decades RMS over both branches (public fit: 0.0576).

    The RMS is recomputed here from the fitted values and the raw file, along the measured temperature path
    (cooling then heating) with the de Almeida memory of the device kernels. Measured (1.5 s): 0.0425 decades,
    worst point 0.22 decades.
    """
    rec = rt_fit_json
    assert rec["kind"] == "rt" and rec["rms_error_unit"] == "decades" and rec["points_used"] == 301
    assert set(RT_FIT.split(",")) == set(rec["values"])
    T, R = _raw_rt()
    dev = dataclasses.replace(get_parameters("vo2"), **rec["values"])
    p = dev.to_kernel()
    g, R_model = np.empty_like(T), np.empty_like(T)
    K.path_fraction(T, K.hyst_init(float(T[0]), -1.0, p), p, g, R_model)  # the file starts cooling
    rms = float(np.sqrt(np.mean(np.log10(R_model / R) ** 2)))
    assert rms <= 0.05
    assert rec["rms_error"] == pytest.approx(rms, rel=1e-6)
    assert rec["rms"] == pytest.approx(rms * math.log(10.0), rel=1e-6)  # old key: natural-log RMS
    # the metallic plateau (~64 Ohm, leads included) is R_m; the loop sits between 330 and 345 K
    assert rec["values"]["R_m"] == pytest.approx(float(np.min(R)), rel=0.1)
    assert 330.0 < rec["values"]["T_c"] < 345.0


def test_rt_path_follows_the_memory_not_a_fixed_branch():
    """Cooling rows are evaluated on the cooling branch: with the heating branch everywhere the same device
    misses the cooling half of the loop by far more (the measured loop is ~5 K wide)."""
    T, R = _raw_rt()
    res = calibrate({"T_K": T, "R_ohm": R}, get_parameters("vo2"), fit=RT_FIT.split(","), starts=1)
    from vo2neuro.device import resistance_at

    heating_only = np.log10(resistance_at(res.device, T, branch="heating") / R)
    assert res.rms_error < 0.05 < float(np.sqrt(np.mean(heating_only**2)))


# ------------------------------------------------------------------------------------------------ I-V
def test_iv_fit_command_writes_the_fitted_bath_temperature(tmp_path, capsys, monkeypatch):
    """The commands of the issue: fit below 15 V with the bath temperature free, then ``device iv --params``.

    ``device iv`` runs at the fitted bath temperature (calibration.ambient_k of the file) and its threshold is the
    static one of the fitted device there. Points used: the up-sweep rows at or below 15 V, counted from the raw
    file. Measured (1.3 s): rms 0.025 V over 149 points, ambient 302 K.
    """
    monkeypatch.chdir(tmp_path)
    rec = json.loads(_cli(["calibrate", "--data", str(IV_FILE), "--max-voltage", "15", "--preset", "vo2", "--fit",
                           IV_FIT, "-o", "iv_fit.json", "--json", "--quiet"], capsys))
    _, data = _raw_iv()
    top = int(np.argmax(data[:, 2]))
    assert rec["points_used"] == int(np.sum(data[: top + 1, 2] <= 15.0)) == 149
    assert rec["kind"] == "iv" and rec["rms_error_unit"] == "V"
    assert rec["rms_error"] < 0.05  # 50 mV on a 0-15 V sweep read to 0.1 mV
    assert rec["ambient_k"] == rec["values"]["ambient"]
    params, stored = read_params_file(tmp_path / "iv_fit.json")
    assert stored == pytest.approx(rec["values"]["ambient"], rel=1e-12)
    assert params.S_e == pytest.approx(rec["values"]["S_e"], rel=1e-12)
    iv = json.loads(_cli(["device", "iv", "--params", "iv_fit.json", "--json"], capsys))
    assert iv["ambient_k"] == pytest.approx(rec["values"]["ambient"], rel=1e-12)
    assert iv["v_th_v"] == pytest.approx(static_iv(params, ambient=stored).v_th_v, rel=1e-9)


def test_iv_fit_ignores_points_above_max_voltage_and_the_down_sweep(tmp_path):
    """Perturbing every row above 15 V and every down-sweep row (currents x1.7) leaves the fit unchanged, while
    perturbing one up-sweep row below 15 V changes it."""
    _, data = _raw_iv()
    top = int(np.argmax(data[:, 2]))
    rows = np.arange(len(data))
    outside = (rows > top) | (data[:, 2] > 15.0)

    def write(name, mask):
        d = data.copy()
        d[mask, 3] *= 1.7
        f = tmp_path / name
        text = IV_FILE.read_text(encoding="utf-8-sig").splitlines()
        h = next(i for i, ln in enumerate(text) if ln.startswith("Index,"))
        f.write_text("\ufeff" + "\r\n".join(text[: h + 1] + [",".join(repr(float(x)) for x in r) for r in d])
                     + "\r\n", encoding="utf-8")
        return f

    kw = dict(fit=IV_FIT.split(","), max_voltage=15.0, starts=2)
    ref = calibrate(write("same.csv", np.zeros(len(data), bool)), get_parameters("vo2"), **kw)
    far = calibrate(write("far.csv", outside), get_parameters("vo2"), **kw)
    assert far.values == ref.values and far.points_used == ref.points_used == int(np.sum(~outside))
    near = np.zeros(len(data), bool)
    near[int(np.argmin(np.abs(data[:top, 2] - 14.0)))] = True
    moved = calibrate(write("near.csv", near), get_parameters("vo2"), **kw)
    assert moved.values != ref.values
