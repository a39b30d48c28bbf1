"""``vo2neuro report RESULTS_DIR [-o report.html] [--json]``: one self-contained HTML page of demo results
(:func:`vo2neuro.explore.report.write_report`).

RESULTS_DIR (a folder holding the demo's ``summary.json``) and the output file are checked when the command line
is parsed, before anything is read or written; bad input is one line and exit code 2. The path of the report is the
last line printed (with ``--json``, the record of what was written instead).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from vo2neuro.cli._util import check_output_file, emit, out_file, value_type

__all__ = ["register"]


def _results_dir(text: str) -> str:
    from vo2neuro.explore.report import load_results

    load_results(text, name="RESULTS_DIR")
    return text


def _cmd(args: argparse.Namespace) -> int:
    from vo2neuro.explore.report import REPORT_NAME, write_report

    out = args.output if args.output is not None else str(Path(args.results_dir) / REPORT_NAME)
    check_output_file(out, "output")
    rep = write_report(args.results_dir, out, name="RESULTS_DIR")
    if args.json:
        emit(args, rep)
    else:
        print(f"{rep.size_bytes / 1e6:.2f} MB, {len(rep.sections)} sections, {rep.figures} figures"
              + (f", missing: {', '.join(rep.missing_figures)}" if rep.missing_figures else ""))
        print(rep.path.resolve())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``report``."""
    p = sub.add_parser("report", help="one self-contained report.html from a demo results folder")
    p.add_argument("results_dir", metavar="RESULTS_DIR", type=value_type("RESULTS_DIR", _results_dir),
                   help="folder written by `vo2neuro demo --out` (holds summary.json and the figures)")
    p.add_argument("-o", "--output", metavar="FILE.html", type=out_file("output", suffixes=(".html", ".htm")),
                   default=None, help="report file (default RESULTS_DIR/report.html)")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(func=_cmd)
