"""Command line of the device layer: JSON keys, CSV and PNG outputs, one-line errors with exit code 2."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vo2neuro.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_presets_json(capsys):
    code, out, _ = _run(capsys, "presets", "--json")
    rows = json.loads(out)
    assert code == 0 and {"vo2", "vo2x", "zhang2024"} <= {r["name"] for r in rows}
    assert all(r["citation"] and r["description"] for r in rows)


def test_rt_json_keys_csv_and_plot(capsys, tmp_path):
    code, out, _ = _run(capsys, "device", "rt", "--preset", "vo2x", "--json", "--csv", str(tmp_path / "rt.csv"),
                        "--plot", str(tmp_path / "rt.png"), "--minor", "330", "322")
    d = json.loads(out)
    assert code == 0
    for key in ("t_imt_heating_k", "t_imt_cooling_k", "r_insulating_300k_ohm", "r_metallic_ohm"):
        assert isinstance(d[key], float)
    assert d["t_imt_heating_k"] > d["t_imt_cooling_k"]
    text = (tmp_path / "rt.csv").read_text().splitlines()
    assert text[0].startswith("#") and "T_K" in [ln for ln in text if not ln.startswith("#")][0]
    assert (tmp_path / "rt.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_iv_json_keys_and_engineering_ambient(capsys, tmp_path):
    code, out, _ = _run(capsys, "device", "iv", "--preset", "zhang2024", "--ambient", "325", "--json",
                        "--plot", str(tmp_path / "iv.png"))
    d = json.loads(out)
    assert code == 0 and d["ambient_k"] == 325.0
    assert d["v_th_v"] > d["v_h_v"] > 0 and d["i_h_a"] > d["i_th_a"] > 0
    assert (tmp_path / "iv.png").stat().st_size > 1000


def test_params_file_and_delta(capsys, tmp_path):
    from vo2neuro.device import get_parameters

    f = tmp_path / "p.json"
    f.write_text(json.dumps(get_parameters("vo2").to_dict()))
    code, out, _ = _run(capsys, "device", "iv", "--params", str(f), "--delta", "10m", "--json")
    assert code == 0
    ref = main(["device", "iv", "--preset", "vo2x", "--json"])
    d_ref = json.loads(capsys.readouterr().out)
    assert ref == 0 and json.loads(out)["v_th_v"] == pytest.approx(d_ref["v_th_v"], rel=1e-9)


def test_sweep_steps_take_engineering_suffixes(capsys, tmp_path):
    code, out, _ = _run(capsys, "device", "sweep", "--preset", "vo2", "--v-max", "5", "--steps", "1k", "--json",
                        "--csv", str(tmp_path / "sw.csv"))
    assert code == 0 and json.loads(out)["r_series_ohm"] == 5e3
    rows = [ln for ln in (tmp_path / "sw.csv").read_text().splitlines() if ln and not ln.startswith("#")]
    assert len(rows) == 1 + 1000   # header + one row per step


def test_unwritable_csv_refused_before_the_data_is_printed(capsys, tmp_path):
    (tmp_path / "blocker").write_text("x")
    with pytest.raises(SystemExit) as exc:
        main(["device", "iv", "--preset", "vo2", "--json", "--csv", str(tmp_path / "blocker" / "iv.csv")])
    out = capsys.readouterr()
    assert exc.value.code == 2 and out.out == "" and "csv" in out.err


@pytest.mark.parametrize("argv,needle", [
    (["device", "iv", "--preset", "nosuch"], "vo2x"),
    (["device", "iv", "--preset", "vo2", "--delta", "0.5"], "delta"),
    (["device", "iv", "--preset", "vo2", "--delta", "-1m"], "delta"),
    (["device", "iv", "--preset", "vo2", "--ambient", "-3"], "ambient"),
    (["device", "iv", "--preset", "vo2", "--ambient", "nan"], "ambient"),
    (["device", "iv", "--preset", "vo2", "--ambient", "3q"], "suffix"),
    (["device", "iv", "--preset", "vo2", "--ambient", "500"], "ambient"),
    (["device", "sweep", "--preset", "vo2", "--v-max", "0"], "v_max"),
    (["device", "rt"], "preset"),
    (["device", "sweep", "--preset", "vo2", "--v-max", "5", "--steps", "2.5k5"], "steps"),
    (["device", "iv", "--preset", "vo2", "--plot", "iv.jpg"], ".png"),
])
def test_bad_input_one_line_exit_2(capsys, argv, needle):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse-level errors
        code = exc.code
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_console_script_no_traceback_and_stdout_clean():
    r = subprocess.run([sys.executable, "-m", "vo2neuro.cli", "device", "iv", "--preset", "vo2", "--ambient",
                        "-1"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1
