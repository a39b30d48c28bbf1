"""vo2neuro: neuromorphic hardware simulation from VO2 / VO2-x device physics to spiking networks.

Subpackages (each usable on its own, dependencies flow one way)::

    vo2neuro.device    physics of VO2 / VO2-x threshold switches (no torch)
    vo2neuro.circuits  oscillator neurons built from those devices (no torch)
    vo2neuro.snn       BP-SNN trainer and hardware-level inference (torch)
    vo2neuro.ml_zoo    reference networks, op counting, energy ledger (torch)
    vo2neuro.explore   studies that combine the layers: sweeps, calibration, co-design, comparisons, demo
    vo2neuro.units     engineering-notation numbers (``parse_si("12k")``) and :class:`ParameterError`
    vo2neuro.cli       the ``vo2neuro`` command line (parses, calls the library, prints)

``ParameterError`` is the one exception bad input raises; its message names the parameter and its unit.
"""
from vo2neuro._version import __version__ as __version__
from vo2neuro.citations import print_citations as print_citations
from vo2neuro.citations import register as register_citation
from vo2neuro.units import ParameterError as ParameterError

__all__ = ["__version__", "ParameterError", "print_citations", "register_citation"]
