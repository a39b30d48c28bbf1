"""Bad instrument files and options of ``vo2neuro calibrate`` on measured data (issue 11): exit 2, one line on
stderr naming the file and the column (or the option), nothing on stdout, nothing written."""
from __future__ import annotations

import pytest

KEITHLEY_HEAD = ('\ufeff"\tCommon Settings","\t",,,\r\n"\t.NPLC","\t5",,,\r\n,,,,\r\n'
                 "Index,SMU-1 Time (s),SMU-1 Voltage ({vunit}),SMU-1 Current (A),SMU-1 Resistance (\u03a9)\r\n")


def _keithley(volts, vunit="V", times=None):
    times = times or [1.0 + i for i in range(len(volts))]
    rows = "".join(f"{i + 2},{t},{v},{v / 5000.0},5000\r\n" for i, (t, v) in enumerate(zip(times, volts)))
    return KEITHLEY_HEAD.format(vunit=vunit) + rows


def _rt_table(names="Temperature\tResistance\tTime", units="K\tOhm\tsec", times=(1, 2, 3)):
    rows = "".join(f"{t}\t{r}\t{s}\r\n" for t, r, s in zip((360, 340, 300), (64, 1e4, 1e6), times))
    return f"{names}\r\n{units}\r\n\r\n{rows}"


def _cal(data, *extra, fit="R_0"):
    return ["calibrate", "--data", data, "--preset", "vo2", "--fit", fit, "--quiet", *extra]


@pytest.mark.parametrize("content,fragments", [
    (_rt_table(names="Temp\tRes\tClock"), ("rt.tsv", "missing column", "T_K")),
    (_rt_table(units="C\tOhm\tsec"), ("rt.tsv", "Temperature", "'C'", "mixed units")),
    (_rt_table(units="K\tkOhm\tsec"), ("rt.tsv", "Resistance", "kOhm", "mixed units")),
    (_rt_table(times=(1, 3, 2)), ("rt.tsv", "Time", "monotonic")),
    (_rt_table().replace("300\t1000000.0", "300\tlots"), ("rt.tsv", "Resistance", "numeric", "lots")),
])
def test_rt_table(bad_input, content, fragments):
    bad_input(_cal("rt.tsv"), *fragments, inputs={"rt.tsv": content})


@pytest.mark.parametrize("content,fragments", [
    (_keithley([0.1, 0.2, 0.3, 0.2, 0.3]), ("iv.csv", "SMU-1 Voltage (V)", "monotonic")),
    (_keithley([100.0, 200.0, 300.0], vunit="mV"), ("iv.csv", "SMU-1 Voltage (mV)", "mixed units")),
    (_keithley([0.1, 0.2, 0.3], times=[1.0, 3.0, 2.0]), ("iv.csv", "SMU-1 Time (s)", "monotonic")),
    (KEITHLEY_HEAD.format(vunit="V").replace("Index,SMU-1 Time (s),SMU-1 Voltage (V),SMU-1 Current (A)",
                                             "Index,Clock,Volts,Amps") + "2,1,0.1,2e-5,5000\r\n",
     ("iv.csv", "missing column")),
])
def test_keithley_export(bad_input, content, fragments):
    bad_input(_cal("iv.csv"), *fragments, inputs={"iv.csv": content})


def test_max_voltage_on_rt_data(bad_input):
    bad_input(_cal("rt.tsv", "--max-voltage", "15"), "max_voltage", "rt", inputs={"rt.tsv": _rt_table()})


@pytest.mark.parametrize("value,fragments", [("-1", ("max_voltage", "> 0")), ("15q", ("max_voltage", "suffix")),
                                             ("abc", ("max_voltage", "cannot read"))])
def test_max_voltage_value(bad_input, value, fragments):
    bad_input(_cal("iv.csv", "--max-voltage", value), *fragments, inputs={"iv.csv": _keithley([0.1, 0.2, 0.3])})


def test_max_voltage_leaves_too_few_points(bad_input):
    bad_input(_cal("iv.csv", "--max-voltage", "0.15", fit="R_0,S_e"), "max_voltage", "up-sweep point",
              inputs={"iv.csv": _keithley([0.1, 0.2, 0.3])})


def test_ambient_is_not_fitted_on_rt_data(bad_input):
    bad_input(_cal("rt.tsv", fit="R_0,ambient"), "fit", "ambient", inputs={"rt.tsv": _rt_table()})


def test_gamma_beyond_its_range_is_refused(bad_input):
    bad_input(_cal("rt.tsv", "--set", "gamma=3"), "gamma", "<= 2", inputs={"rt.tsv": _rt_table()})
