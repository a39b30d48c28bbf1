"""The ``vo2neuro`` command line: one entry point, one subcommand group per layer.

Numbers and JSON go to stdout, messages to stderr. Bad input prints one line naming the parameter and its unit
and exits with code 2, without a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from vo2neuro._units import ParameterError
from vo2neuro._version import __version__

__all__ = ["main", "build_parser"]

# Each area wires its own subcommands; the modules import heavy dependencies (torch, brian2) only inside
# their handlers so that `vo2neuro device ...` never pays for them.
_AREAS = ("vo2neuro.cli_device", "vo2neuro.cli_circuits", "vo2neuro.cli_snn", "vo2neuro.cli_zoo",
          "vo2neuro.cli_explore", "vo2neuro.cli_calibrate", "vo2neuro.demo")


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (used by ``main`` and by the docs/tests)."""
    parser = _Parser(prog="vo2neuro", description="VO2 / VO2-x neuromorphic hardware simulation toolkit")
    parser.add_argument("--version", action="version", version=f"vo2neuro {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in _AREAS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ParameterError as exc:
        print(f"vo2neuro: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vo2neuro: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
