"""Bad input to ``vo2neuro device scale``: exit 2, one line on stderr naming the parameter, nothing on stdout,
nothing written (the contract is asserted by the ``bad_input`` fixture)."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("argv,fragments", [
    # range syntax
    (["--length", "2u:20n"], ("length", "START:STOP:N")),
    (["--length", "2u:20n:12:3"], ("length", "START:STOP:N")),
    (["--length", "2u:abc:12"], ("length", "cannot read")),
    (["--length", "2u:20n:x"], ("length count",)),
    (["--length", "2u:20n:0"], ("length count",)),
    (["--length", "2u:20n:1meg"], ("length count",)),
    # negative and zero sizes
    (["--length=-2u:20n:12"], ("length", "> 0")),
    (["--length", "0"], ("length", "> 0")),
    (["--width=-1u"], ("width", "> 0")),
    (["--aspect", "0"], ("aspect", "> 0")),
    (["--thickness=-10n"], ("thickness", "> 0")),
    (["--width", "1u", "--aspect", "2"], ("not allowed with",)),
    (["--capacitor=-1p"], ("capacitor", ">= 0")),
    # registries
    (["--integration", "breadboard"], ("integration", "breadboard", "on-chip")),
    (["--substrate", "glass"], ("substrate", "glass", "sapphire")),
    (["--preset", "nope"], ("preset", "nope")),
    (["--delta=-1m"], ("delta", ">= 0")),
    (["--ambient", "0"], ("ambient", "> 0")),
    # outputs
    (["--plot", "scale.pdf"], ("plot", ".png")),
])
def test_bad_scale_options(bad_input, argv, fragments):
    bad_input(["device", "scale", "--length", "1u:100n:2", *argv], *fragments)


def test_unwritable_plot(bad_input, unwritable):
    path, files = unwritable
    bad_input(["device", "scale", "--length", "1u:100n:2", "--plot", path.replace(".json", ".png")], "plot",
              inputs=files)


def test_delta_beyond_the_vacancy_range(bad_input):
    bad_input(["device", "scale", "--length", "1u:100n:2", "--delta", "0.5"], "delta")
