"""Bad input to ``vo2neuro demo``: the output folder is checked before any section runs (one line, exit 2,
nothing on stdout, nothing written)."""
from __future__ import annotations


def test_out_is_a_file(bad_input):
    bad_input(["demo", "--out", "results"], "out", "results", "not a folder", inputs={"results": "x"})


def test_out_unwritable(bad_input, unwritable):
    path, files = unwritable
    bad_input(["demo", "--out", path], "out", "blocker", inputs=files)


def test_out_empty_name(bad_input):
    bad_input(["demo", "--out", ""], "out", "empty")


def test_out_with_a_folder_where_the_summary_goes(bad_input):
    # the folder itself is fine, but the demo's summary.json would land on a folder: refused before any section
    bad_input(["demo", "--out", "res", "--quick"], "out", "summary.json", "is a folder",
              inputs={"res/summary.json/keep": "x"})


def test_out_with_a_file_where_the_network_folder_goes(bad_input):
    bad_input(["demo", "--out", "res"], "out", "snn", "is a file", inputs={"res/snn": "x"})


def test_quick_takes_no_value(bad_input):
    bad_input(["demo", "--quick", "yes"], "unrecognized arguments", "yes")
