"""Pristine VO2 and oxygen-deficient VO2-x films for the seed paper's comparison (Li et al. 2024).

Seed paper: L. Li et al., "Oxygen vacancies modulated VO2 for neurons and Spiking Neural Network construction",
arXiv:2405.00700 (2024). Its claim, reproduced by these presets: VO2-x neurons operate at lower voltage and
spike faster than pristine VO2. The paper's own device numbers have not been extracted (vo2_physics.md
section 1), so:

* ``vo2`` (pristine, delta = 0) takes every device number from the measured-device fit of Zhang et al. 2024
  (see ``zhang2024.py`` for each number's provenance), characterised at room temperature (300 K, assumption:
  the seed paper's devices operate at room temperature).
* ``vo2x`` applies the oxygen-vacancy mapping of ``vo2neuro.device.vacancy`` at the default level
  ``DEFAULT_DELTA = 0.01`` **[assumption]**: a mid-range vacancy level that keeps the transition above room
  temperature (T_c 322.8 K) while lowering the 300 K insulating resistance 3.6x.
"""
from __future__ import annotations

import dataclasses

from vo2neuro.device.params import VO2DeviceParams
from vo2neuro.device.parameter_sets import zhang2024

CITATION = "Li2024"
#: Room temperature the pristine / vacancy presets are characterised at [K] (assumption).
AMBIENT_K = 300.0
#: Default vacancy level of ``vo2x`` [-] (assumption, see module docstring).
DEFAULT_DELTA = 0.01

DESCRIPTION_VO2 = "Pristine VO2 film (device fit of Zhang2024), room temperature; seed-paper baseline"
DESCRIPTION_VO2X = f"Oxygen-deficient VO2-x film, delta={DEFAULT_DELTA} (vacancy mapping, assumption)"


def get_pristine() -> VO2DeviceParams:
    """Pristine VO2 (delta = 0)."""
    return dataclasses.replace(zhang2024.get_parameters(), name="vo2", citation=CITATION,
                               description=DESCRIPTION_VO2, delta=0.0)


def get_vacancy(delta: float = DEFAULT_DELTA) -> VO2DeviceParams:
    """Oxygen-deficient VO2-x at vacancy level ``delta`` [-] (default ``DEFAULT_DELTA``)."""
    from vo2neuro.device.vacancy import apply_vacancies

    p = apply_vacancies(get_pristine(), delta, name="vo2x")
    return dataclasses.replace(p, description=DESCRIPTION_VO2X if delta == DEFAULT_DELTA else p.description)
