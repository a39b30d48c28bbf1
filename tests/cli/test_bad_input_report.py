"""Bad input to ``vo2neuro report RESULTS_DIR [-o FILE.html] [--json]``: the results folder and the output file are
checked before anything is read or written (one line naming the argument, exit 2, nothing on stdout, nothing
written)."""
from __future__ import annotations

import json

# a results folder the report accepts (its figure need not exist: a missing figure is listed, not an error)
GOOD = {"res/summary.json": json.dumps({"skipped": [], "device": {"rows": {}, "figures": ["res/device_rt.png"]}})}


def test_results_dir_missing(bad_input):
    bad_input(["report", "nowhere"], "RESULTS_DIR", "nowhere", "not found")


def test_results_dir_is_a_file(bad_input):
    bad_input(["report", "res"], "RESULTS_DIR", "res", "not a folder", inputs={"res": "x"})


def test_results_dir_holds_no_demo_results(bad_input):
    bad_input(["report", "res"], "RESULTS_DIR", "res", "no demo results", "summary.json",
              inputs={"res/other.txt": "x"})


def test_results_dir_summary_is_not_json(bad_input):
    bad_input(["report", "res"], "RESULTS_DIR", "summary.json", "not JSON", inputs={"res/summary.json": "{"})


def test_results_dir_summary_has_no_section(bad_input):
    bad_input(["report", "res"], "RESULTS_DIR", "no section", inputs={"res/summary.json": '{"skipped": []}'})


def test_results_dir_empty_name(bad_input):
    bad_input(["report", ""], "RESULTS_DIR", "empty")


def test_results_dir_required(bad_input):
    bad_input(["report"], "required", "RESULTS_DIR")


def test_output_unwritable(bad_input, unwritable):
    path, files = unwritable
    bad_input(["report", "res", "-o", path.replace(".json", ".html")], "output", "blocker",
              inputs={**files, **GOOD})


def test_output_wrong_suffix(bad_input):
    bad_input(["report", "res", "-o", "report.png"], "output", ".html", inputs=GOOD)


def test_output_is_a_folder(bad_input):
    bad_input(["report", "res", "--output", "out.html"], "output", "is a folder",
              inputs={**GOOD, "out.html/keep": "x"})


def test_default_output_is_a_folder(bad_input):
    # without -o the report goes to RESULTS_DIR/report.html: a folder there is refused before anything is written
    bad_input(["report", "res"], "output", "report.html", "is a folder", inputs={**GOOD, "res/report.html/keep": "x"})


def test_json_takes_no_value(bad_input):
    bad_input(["report", "res", "--json", "yes"], "unrecognized arguments", "yes", inputs=GOOD)
