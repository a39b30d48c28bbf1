"""The ``vo2neuro`` command line: one entry point, one subcommand group per layer.

Numbers and JSON go to stdout, messages to stderr. Bad input prints one line naming the parameter and its unit
and exits with code 2, without a traceback. Each area module (``device``, ``circuits``, ``snn``, ``zoo``, ``sweep``,
``studies``, ``calibrate``, ``demo``, ``report``, ``interop``) only parses, calls the library and prints; ``_util`` holds the shared
argument types (engineering notation, counts, input and output paths checked before any work).
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from typing import Sequence

from vo2neuro.units import ParameterError
from vo2neuro._version import __version__

__all__ = ["main", "build_parser"]

# Each area wires its own subcommands; the modules import heavy dependencies (torch, brian2) only inside
# their handlers so that `vo2neuro device ...` never pays for them.
_AREAS = ("vo2neuro.cli.device", "vo2neuro.cli.circuits", "vo2neuro.cli.snn", "vo2neuro.cli.zoo",
          "vo2neuro.cli.sweep", "vo2neuro.cli.studies", "vo2neuro.cli.calibrate", "vo2neuro.cli.demo",
          "vo2neuro.cli.report", "vo2neuro.cli.interop")


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
    previous = _raise_on_sigterm()
    try:
        return int(args.func(args) or 0)
    except ParameterError as exc:
        print(f"vo2neuro: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (`vo2neuro ... | head`): not an error of ours; keep Python from complaining at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        # a file the user named went away, filled the disk or lost its permission while the command ran: the
        # environment, not a bug, so one line rather than a traceback (inputs and outputs are checked up front)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"vo2neuro: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vo2neuro: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _raise_on_sigterm():
    """Turn SIGTERM (``kill``, a batch scheduler's time limit) into KeyboardInterrupt, so that atomic writes in
    progress remove their temporary files and the run ends as an interrupted one (exit 130)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, handler)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":
    sys.exit(main())
