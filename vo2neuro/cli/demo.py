"""``vo2neuro demo``: the whole chain on the embedded defaults (:func:`vo2neuro.explore.demo.run_demo`).

``--out`` is checked when the command line is parsed (a file, or a folder that cannot be created or written, is
refused in one line with exit code 2), before any section runs and before anything is written.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vo2neuro.cli._util import out_dir

__all__ = ["register"]


def _cmd(args: argparse.Namespace) -> int:
    from vo2neuro.explore.demo import run_demo

    summary = run_demo(args.out, quick=args.quick)
    print((Path(args.out) / "summary.md").read_text())
    print(f"[demo] results in {Path(args.out).resolve()} (summary.md, summary.json, report.html, *.png)",
          file=sys.stderr)
    print((Path(args.out) / "report.html").resolve())  # the last line: what to open
    return 0 if summary else 1


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``demo``."""
    p = sub.add_parser("demo", help="run the whole chain on the embedded defaults (vo2 vs vo2x)")
    p.add_argument("--out", type=out_dir("out"), default="output/demo",
                   help="output folder, created if missing (default output/demo)")
    p.add_argument("--quick", action="store_true", help="smaller sizes (used by the tests)")
    p.set_defaults(func=_cmd)
