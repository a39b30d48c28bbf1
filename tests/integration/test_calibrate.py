"""Calibration (issue 6): fits to measured and synthetic data, bad inputs, parameter-file round trip.

Reference data: Duan et al. (2022) epitaxial VO2 oscillator frequencies (``data/duan2022_frequency.csv``,
vo2_physics.md section 9.1) and the published V_th ~ 1.4 V, R_on ~ 500 Ohm; synthetic R-T data from the
model with known parameters and seeded noise.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys

import numpy as np
import pytest

from vo2neuro.units import ParameterError
from vo2neuro.explore.calibrate import (calibrate, frequency_duration, load_measurements, predict_frequency,
                                         window_margin, write_parameter_file)
from vo2neuro.data import path as data_path
from vo2neuro.device import get_parameters, resistance_at, static_iv

AMBIENT = 300.0
FIT = ["R_0", "S_e", "C_th", "capacitance"]


def _duan_base():
    # R_m fixed at the published on-state resistance (Duan et al.: LRS ~ 500 Ohm)
    return dataclasses.replace(get_parameters("vo2"), R_m=500.0)


def _series(name):
    return load_measurements(data_path("duan2022_frequency"), series=name)[1]


def _predict(res, cols):
    return predict_frequency(res.device, v_in=cols["v_in_v"], r_load=cols["r_load_ohm"],
                             capacitance=res.circuit["capacitance"], ambient=AMBIENT,
                             duration=frequency_duration(cols["frequency_hz"]))


@pytest.fixture(scope="module")
def vin_fit():
    return calibrate(_series("v_in"), _duan_base(), fit=FIT, ambient=AMBIENT, capacitance=100e-12, v_th=1.4,
                     starts=3, seed=0)


def test_duan_fit_of_vin_series_predicts_low_load_points(vin_fit):
    """Fit f(V_in) at R_L = 4 kOhm; predict f(R_L) at 5 V.

    Measured figures of this fit (seed 0, 3 starts, 3.6 s): fit residuals +12 / +1 / -8 / -13 % (within 14 %);
    predictions of the f(R_L) series -13 % / +5 % / +21 % / +70 % at R_L = 3.0 / 3.6 / 4.2 / 4.8 kOhm. The
    electro-thermal model's f(R_L) is too flat near the window edge (it stops oscillating at a finite
    frequency) to follow the steep measured fall towards 4.8 kOhm (f ~ R_L^-2), so the issue's 15 % target is
    met only for the two low-load points; this is the best per-point bound of the fast fit (see
    ``test_duan_cross_prediction_15_percent`` for why the rest is out of reach). The reverse direction (fit
    f(R_L), same settings) misses 15 % too: the 4.2 V point falls outside the model's oscillation window and the
    others are 11-21 % low.
    """
    res = vin_fit
    meas = _series("v_in")["frequency_hz"]
    assert res.kind == "frequency" and res.dof == 1
    assert np.all(np.abs(np.expm1(res.residuals[: len(meas)])) < 0.15)
    # the published threshold is honoured by the fitted device (independent: static I-V, not the residual)
    assert static_iv(res.device, ambient=AMBIENT, n_points=800).v_th_v == pytest.approx(1.4, rel=0.25)
    assert res.device.R_m == 500.0
    other = _series("r_load")
    f = _predict(res, other)
    low = other["r_load_ohm"] <= 3600.0
    assert np.all(np.abs(f[low] / other["frequency_hz"][low] - 1.0) < 0.15)
    # every fitted parameter has a finite, positive standard error
    assert all(np.isfinite(s) and s > 0 for s in res.stderr.values())


def test_physical_start_is_inside_the_window():
    """The initialisation puts the f(V_in) load lines inside the static NDR window (closed form, section 8)."""
    from vo2neuro.explore.calibrate import physical_start

    cols = _series("v_in")
    dev, cap = physical_start(_duan_base(), fit=FIT, cols=cols, ambient=AMBIENT, capacitance=100e-12, v_th=1.4)
    assert np.all(window_margin(dev, v_in=cols["v_in_v"], r_load=cols["r_load_ohm"], ambient=AMBIENT) > 0)
    assert static_iv(dev, ambient=AMBIENT, n_points=800).v_th_v == pytest.approx(1.4, rel=0.01)
    f = predict_frequency(dev, v_in=cols["v_in_v"], r_load=cols["r_load_ohm"], capacitance=cap, ambient=AMBIENT,
                          duration=frequency_duration(cols["frequency_hz"]))
    # the static window is necessary, not sufficient (dynamic onset): the start oscillates at 3 of the 4 points
    # (6 V sits at the upper edge) and the residual's window term walks the fit from there
    assert np.sum(f > 0) >= 3


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="electro-thermal model misses the 15 % cross-prediction in both directions "
                   "(seed 1, 6 starts: R_L->V_in: 4.2 V point does not oscillate, 4.8/5.4/6.0 V -9/-17/-21 %; "
                   "V_in->R_L: -16/+7/+25/+76 % at 3.0/3.6/4.2/4.8 kOhm); the two series are not jointly "
                   "consistent with the published V_th and R_on (see test_duan_series_not_jointly_pwl_consistent)")
def test_duan_cross_prediction_15_percent():
    """Issue 6 target: fit one Duan series, predict the other within 15 % at every point.

    Measured with this configuration (seed 1, 6 starts, 120 evaluations per start): fitting f(R_L) leaves the
    fit itself at -21 / -5 / +8 / +40 % and predicts f(V_in) at 4.2 / 4.8 / 5.4 / 6.0 V as no oscillation /
    -9 / -17 / -21 %; fitting f(V_in) predicts f(R_L) at 3.0 / 3.6 / 4.2 / 4.8 kOhm -16 / +7 / +25 / +76 %.

    Why it fails (structural, not the optimiser): the model's static threshold is the smooth maximum of the
    heating-branch I-V (thermal runaway), so the charging time stays finite as the load line reaches the window
    edge and the oscillation stops at a finite frequency (the seed-1 f(V_in) fit at 5 V: 0.600 MHz at 4.9 kOhm,
    0.543 MHz at 5.20 kOhm, none from 5.22 kOhm; static edge 5.27 kOhm), whereas the data fall from 0.55 to
    0.35 MHz between 4.2 and 4.8 kOhm. Freeing Ea_over_k, T_c, w and beta as well (fits from 1 to 8 free
    parameters, and a 5000-draw random search over them with V_th = 1.4 V, R_m = 500 Ohm) left the f(R_L) fit
    itself 21.8 % off at its worst point at best, and the best f(V_in) prediction from an f(R_L)-scaled device
    21 % off; fitted to all eight points at once (Nelder-Mead on the worst log error, four starts, same fixed
    V_th and R_m) the model is still -17 / -6 / 0 / +23 % on f(R_L) and -19 / -16 / -18 / -19 % on f(V_in).
    The PWL closed form cannot do it either (next test).
    """
    fits = {}
    for fit_series, other in (("r_load", "v_in"), ("v_in", "r_load")):
        res = calibrate(_series(fit_series), _duan_base(), fit=FIT, ambient=AMBIENT, capacitance=100e-12,
                        v_th=1.4, starts=6, seed=1, max_nfev=120)
        cols = _series(other)
        fits[fit_series] = np.abs(_predict(res, cols) / cols["frequency_hz"] - 1.0)
    assert all(np.all(err < 0.15) for err in fits.values())


def test_duan_series_not_jointly_pwl_consistent():
    """No PWL switch with the published V_th = 1.4 V and R_on = 500 Ohm fits both Duan series within 15 %.

    Minimax over V_h, R_off and C of the worst log error of the section-8 closed form (``pwl_frequency``) on all
    eight points at once (differential evolution, seed 0): the best device (V_h 1.08 V, R_off 2.67 kOhm,
    C 1.91 nF) is still -15 / -6 / -2 / +21 % on f(R_L) and -18 % on every f(V_in) point, worst |ln| 0.193 >
    ln(1/0.85) = 0.163 (a dense grid over V_h and R_off with the period written out independently, C eliminated
    exactly, gives the same minimum). Fitting one series alone is therefore no route to predicting the other within 15 %.
    Only a degenerate switch reaches it, with all parameters free and a fixed delay t_d added to the period:
    V_th 0.1 V, V_h 5 mV, t_d 0.67 us, R_on 1 Ohm and R_off 100 Ohm (the last two at the limits of the search
    box) fit f(V_in) within 10 % and predict f(R_L) within 13 %, contradicting the published V_th and R_on.
    The crossing point shows the tension without any model: interpolating each series log-log to
    V_in = 5 V, R_L = 4 kOhm gives 0.59 MHz from f(R_L) and 0.70 MHz from f(V_in), 18 % apart; and the
    5 V / 4.8 kOhm load line carries more current than the 4.2 V / 4 kOhm one for every device voltage above
    0.2 V, yet its measured frequency is lower (0.35 against 0.45 MHz).
    """
    from scipy.optimize import differential_evolution

    from vo2neuro.circuits.analysis import pwl_frequency
    from vo2neuro.circuits.params import PWLDeviceParams

    pts = [(v, r, f) for name in ("r_load", "v_in")
           for v, r, f in zip(*(_series(name)[k] for k in ("v_in_v", "r_load_ohm", "frequency_hz")))]

    def worst(x):
        v_h, log_r_off, log_c = x
        try:
            dev = PWLDeviceParams(r_off=10.0**log_r_off, r_on=500.0, v_th=1.4, v_h=v_h)
        except ParameterError:
            return 10.0
        return max(abs(np.log(max(pwl_frequency(dev, source=v, r_load=r, capacitance=10.0**log_c), 1.0) / f))
                   for v, r, f in pts)

    best = differential_evolution(worst, [(0.0, 1.399), (2.7, 5.0), (-12.0, -7.0)], seed=0, tol=1e-9,
                                  maxiter=500, popsize=30, polish=True)
    # independent check that the optimiser found the minimax: the two-leg period written out here on a dense
    # (V_h, R_off) grid, C eliminated exactly (f ~ 1/C, so the best C centres the log errors: worst = half spread)
    v_in, r_l, f_m = (np.array(c)[:, None, None] for c in zip(*pts))
    vh = np.linspace(0.001, 1.399, 700)[None, :, None]
    roff = 10.0 ** np.linspace(2.7, 5.0, 700)[None, None, :]
    vof, tof = v_in * roff / (r_l + roff), r_l * roff / (r_l + roff)
    von, ton = v_in * 500.0 / (r_l + 500.0), r_l * 500.0 / (r_l + 500.0)
    with np.errstate(all="ignore"):
        period = tof * np.log((vof - vh) / (vof - 1.4)) + ton * np.log((1.4 - von) / (vh - von))
        d = np.where((vof > 1.4) & (von < vh), -np.log(period), np.nan) - np.log(f_m)
    spread = np.where(np.isnan(d).any(axis=0), np.inf, 0.5 * (d.max(axis=0) - d.min(axis=0)))
    assert best.fun == pytest.approx(spread.min(), abs=0.003)
    assert best.fun > -np.log(0.85)  # > 15 % low or high somewhere, whatever V_h, R_off and C


# ------------------------------------------------------------------------------------------------ R-T
def test_rt_fit_recovers_known_parameters_within_uncertainty():
    """Synthetic heating/cooling R-T data from known R_0, Ea_over_k, T_c with 3 % log-normal noise."""
    true = get_parameters("vo2")
    T = np.concatenate([np.linspace(290, 360, 36), np.linspace(360, 290, 36)])
    br = np.concatenate([np.ones(36), -np.ones(36)])
    R = np.array([float(resistance_at(true, t, branch="heating" if b > 0 else "cooling")) for t, b in zip(T, br)])
    rng = np.random.default_rng(7)
    R_noisy = R * np.exp(0.03 * rng.standard_normal(R.size))
    start = dataclasses.replace(true, R_0=true.R_0 * 3.0, Ea_over_k=true.Ea_over_k * 0.95, T_c=true.T_c + 3.0)
    res = calibrate({"T_K": T, "R_ohm": R_noisy, "branch": br}, start, fit=["R_0", "Ea_over_k", "T_c"],
                    starts=2, seed=0, bounds={"Ea_over_k": (3000.0, 8000.0)}, diff_step=1e-6)
    assert res.kind == "rt" and res.dof == 72 - 3
    assert res.rms == pytest.approx(0.03, rel=0.3)  # residual scatter = injected noise
    for name in ("R_0", "Ea_over_k", "T_c"):
        assert abs(res.values[name] - getattr(true, name)) < 3.0 * res.stderr[name], name
        assert res.stderr[name] < 0.2 * abs(getattr(true, name))


# ------------------------------------------------------------------------------------------------ bad inputs
def _parser():
    from vo2neuro.cli import calibrate as cli_calibrate, circuits as cli_circuits, device as cli_device

    p = argparse.ArgumentParser(prog="vo2neuro")
    sub = p.add_subparsers(dest="command", required=True)
    for mod in (cli_calibrate, cli_device, cli_circuits):
        mod.register(sub)
    return p


def _run(argv, capsys):
    args = _parser().parse_args(argv)
    try:
        rc = int(args.func(args) or 0)
    except ParameterError as exc:  # what vo2neuro.cli.main does
        print(f"vo2neuro: error: {exc}", file=sys.stderr)
        rc = 2
    out = capsys.readouterr()
    return rc, out.out, out.err


def _write_rt(path, rows, header="T_K,R_ohm"):
    path.write_text("# synthetic\n" + header + "\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("argv_extra, needle", [
    (["--fit", "R_0,bogus"], "bogus"),
    (["--fit", "R_0", "--set", "R_x=5"], "R_x"),
])
def test_bad_fit_arguments_one_line(tmp_path, capsys, argv_extra, needle):
    f = _write_rt(tmp_path / "rt.csv", ["300,2e5", "310,1e5", "320,5e4"])
    rc, out, err = _run(["calibrate", "--data", str(f), "--preset", "vo2", "--quiet", *argv_extra], capsys)
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err


def test_missing_column_names_column_and_unit(tmp_path, capsys):
    f = _write_rt(tmp_path / "f.csv", ["4000,1e6"], header="r_load_ohm,frequency_hz")
    rc, _, err = _run(["calibrate", "--data", str(f), "--preset", "vo2", "--fit", "R_0", "--quiet"], capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "v_in_v [V]" in err


def test_non_finite_data_names_column_and_unit(tmp_path):
    f = _write_rt(tmp_path / "rt.csv", ["300,2e5", "310,nan", "320,5e4"])
    with pytest.raises(ParameterError, match=r"R_ohm.*\[Ohm\]"):
        load_measurements(f)
    with pytest.raises(ParameterError, match=r"frequency_hz.*\[Hz\]"):
        calibrate({"frequency_hz": np.array([1e6, np.inf]), "v_in_v": np.array([5.0, 5.0]),
                   "r_load_ohm": np.array([3e3, 4e3])}, get_parameters("vo2"), fit=["R_0"], capacitance=1e-10)


def test_unknown_fit_parameter_api():
    with pytest.raises(ParameterError, match="bogus.*valid"):
        calibrate({"T_K": np.array([300.0, 310.0]), "R_ohm": np.array([2e5, 1e5])}, get_parameters("vo2"),
                  fit=["bogus"])


# ------------------------------------------------------------------------------------------------ round trip
def test_parameter_file_round_trip_through_commands(tmp_path, capsys):
    true = dataclasses.replace(get_parameters("vo2"), R_m=500.0)
    T = np.linspace(290, 350, 25)
    R = resistance_at(true, T, branch="heating")
    f = tmp_path / "rt.csv"
    f.write_text("T_K,R_ohm\n" + "\n".join(f"{t},{r}" for t, r in zip(T, R)) + "\n")
    out_file = tmp_path / "cal.json"
    rc, out, err = _run(["calibrate", "--data", str(f), "--preset", "vo2", "--set", "R_m=500", "--fit",
                         "R_0,Ea_over_k", "--starts", "1", "--json", "--quiet", "-o", str(out_file)], capsys)
    assert rc == 0, err
    rec = json.loads(out)
    assert rec["values"]["R_0"] == pytest.approx(true.R_0, rel=1e-3)  # exact data: the true value
    doc = json.loads(out_file.read_text())
    assert doc["device"]["R_m"] == 500.0 and doc["device"]["R_0"] == pytest.approx(true.R_0, rel=1e-3)
    rc, out, err = _run(["device", "iv", "--params", str(out_file), "--ambient", "300", "--json"], capsys)
    assert rc == 0, err
    iv = json.loads(out)
    ref = static_iv(true, ambient=300.0)
    assert iv["v_th_v"] == pytest.approx(ref.v_th_v, rel=1e-3)
    rc, out, err = _run(["neuron", "simulate", "--params", str(out_file), "--v-in", "20", "--r-load", "12k",
                         "--capacitance", "145p", "--ambient", "300", "--duration", "5u", "--json"], capsys)
    assert rc == 0, err
    assert json.loads(out)["model"] == "electrothermal"


def test_result_parameter_file_loads(tmp_path, vin_fit):
    from vo2neuro.device.params import params_from_dict

    p = write_parameter_file(vin_fit, tmp_path / "duan.json")
    doc = json.loads(p.read_text())
    dev = params_from_dict(doc["device"])
    assert dev.S_e == vin_fit.device.S_e and doc["circuit"]["capacitance"] == vin_fit.circuit["capacitance"]


def test_ambient_defaults_to_the_presets(tmp_path, capsys):
    """zhang2024 is measured at 325 K (its registry entry): without --ambient the I-V fit runs at 325 K. Data from
    the steady state V^2 = S_e (T - T_0) R(T) of a device with R_0 x 1.3 at T_0 = 325 K (heating branch below the
    threshold): the fit at 325 K recovers R_0 exactly; at 300 K it could not (the curve shifts by 25 K)."""
    base = get_parameters("zhang2024")
    true = dataclasses.replace(base, R_0=1.3 * base.R_0)
    T = np.linspace(326.0, 332.0, 12)
    R = resistance_at(true, T, branch="heating")
    V = np.sqrt(true.S_e * (T - 325.0) * R)
    assert np.all(np.diff(V) > 0)   # below the threshold (the maximum of V)
    f = tmp_path / "iv.csv"
    f.write_text("I_A,V_V\n" + "\n".join(f"{v / r:.17g},{v:.17g}" for v, r in zip(V, R)) + "\n")
    out_file = tmp_path / "fit.json"
    rc, out, err = _run(["calibrate", "--data", str(f), "--preset", "zhang2024", "--fit", "R_0", "--starts", "1",
                         "--json", "--quiet", "-o", str(out_file)], capsys)
    assert rc == 0, err
    rec = json.loads(out)
    assert rec["ambient_k"] == 325.0
    assert rec["values"]["R_0"] == pytest.approx(true.R_0, rel=1e-3)
    assert json.loads(out_file.read_text())["calibration"]["ambient_k"] == 325.0
