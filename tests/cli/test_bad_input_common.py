"""Bad input shared by every subcommand: unknown commands and options, ambiguous numbers, bad paths."""
from __future__ import annotations

import pytest

from vo2neuro.cli import build_parser


def _leaf_commands() -> list[list[str]]:
    import argparse

    out = []

    def walk(parser, prefix):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            out.append(prefix)
            return
        for name, sp in subs[0].choices.items():
            walk(sp, [*prefix, name])

    walk(build_parser(), [])
    return out


LEAVES = _leaf_commands()


def test_every_subcommand_is_listed():
    # guards the parametrisation below: a new subcommand appears here automatically
    assert ["device", "iv"] in LEAVES and ["zoo", "energy"] in LEAVES and ["sweep"] in LEAVES


@pytest.mark.parametrize("cmd", LEAVES, ids=lambda c: " ".join(c))
def test_unknown_option_is_one_line_exit_2(bad_input, cmd):
    # (a command with required arguments reports those first: still one line, exit 2)
    bad_input([*cmd, "--no-such-option", "1"], "error:")


def test_unknown_command(bad_input):
    bad_input(["no-such-command"], "invalid choice")


def test_ambiguous_mega_is_refused_with_both_readings(bad_input):
    line = bad_input(["neuron", "simulate", "--preset", "vo2", "--v-in", "12", "--r-load", "12M",
                      "--capacitance", "145p"], "r_load", "ambiguous", "12meg")
    assert "milli" in line and "mega" in line


@pytest.mark.parametrize("argv", [
    ["device", "iv", "--preset", ""],
    ["calibrate", "--data", "d.csv", "--preset", "vo3", "--fit", "R_0"],
    ["codesign", "--preset", ""],
    ["compare", "--presets", "vo2", "nope"],
    ["zoo", "energy", "--vo2-preset", "VO2X"],
], ids=lambda a: " ".join(a[:2]))
def test_preset_names_are_checked_when_parsed(bad_input, argv):
    bad_input(argv, "unknown parameter set", "valid: vo2, vo2x, zhang2024", inputs={"d.csv": "T_K,R_ohm\n300,1e5\n"})


@pytest.mark.parametrize("opt", [["--v-th", "5"], ["--r-on", "1k"]])
def test_pwl_options_without_the_pwl_model_are_refused(bad_input, opt):
    bad_input(["neuron", "simulate", "--preset", "vo2", "--v-in", "20", "--r-load", "12k", "--capacitance", "145p",
               *opt], "model pwl")


@pytest.mark.parametrize("argv", [["train", "--data-dir", ""], ["device", "iv", "--params", ""]],
                         ids=lambda a: a[0])
def test_empty_path_is_refused(bad_input, argv):
    bad_input(argv, "empty")
