"""vo2neuro: neuromorphic hardware simulation from VO2 / VO2-x device physics to spiking networks.

Subpackages (each usable on its own, dependencies flow one way)::

    vo2neuro.device    physics of VO2 / VO2-x threshold switches (no torch)
    vo2neuro.circuits  oscillator neurons built from those devices (no torch)
    vo2neuro.snn       BP-SNN trainer and hardware-level inference (torch)
    vo2neuro.ml_zoo    reference networks, op counting, energy ledger (torch)
"""
from vo2neuro._version import __version__ as __version__
from vo2neuro.citations import print_citations as print_citations
from vo2neuro.citations import register as register_citation

__all__ = ["__version__", "print_citations", "register_citation"]
