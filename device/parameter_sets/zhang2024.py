"""Thermal-neuristor fit of Zhang, Qiu, Di Ventra et al. (2024).

Source: Y.-H. Zhang et al., "Collective dynamics and long-range order in thermal neuristor networks",
Nat. Commun. (2024), and E. Qiu et al., Adv. Mater. (2024), doi:10.1002/adma.202306818, as implemented in the
authors' public code ``yuanhangzhang98/collective_dynamics_neuristor/model.py`` (classes ``VO2`` and ``Circuit``).
All device numbers are the code's values at full precision, converted from its unit system (V, kOhm, pF, ns,
mA, mW) to SI (vo2_physics.md sections 2.3 and 4.1):

========= ============================ ========= =====================================================
field     value                        SI unit   provenance
========= ============================ ========= =====================================================
T_c       332.805839                   K         fitted (code ``VO2``)
w         7.19357064                   K         fitted (``width_factor`` 1.0 in the published runs)
beta      0.252796285                  K-1       fitted
gamma     0.956269682                  1         fitted
R_0       5.35882879e-3                Ohm       fitted
Ea_over_k 5220.47417                   K         fitted (E_a = 0.450 eV)
R_m       262.5 x 4.90025335           Ohm       fitted (R_m0 x R_m_factor; includes leads, contacts)
C_th      49.62776831 pJ/K             J K-1     fitted (``param_optim``; code unit mW ns/K)
S_e       0.20558726 mW/K              W K-1     fitted (``param_optim``, ``Sth``)
T_max     370                          K         code clamp inside R(T) and the reversal test
T_min     250                          K         assumption: the code clamps at 305 K; widened so that room-
                                                 temperature characterisation follows the fitted Arrhenius
                                                 law (no effect at the published T_base = 325 K)
deadband  0.01                         K         code reversal dead band
========= ============================ ========= =====================================================

The fit's circuit values (node capacitance C = 145.34619293 pF, load R_L = 12 kOhm, bath T_base = 325 K) belong
to the circuit, not to the device: see ``vo2neuro.circuits`` (``ZHANG2024_CIRCUIT``).
"""
from __future__ import annotations

from vo2neuro.device.params import VO2DeviceParams

CITATION = "Zhang2024"
DESCRIPTION = "Published VO2 thermal-neuristor fit (Zhang, Qiu, Di Ventra et al., Nat. Commun. 2024)"
#: Bath temperature of the published runs [K] (code ``T_base``).
AMBIENT_K = 325.0

#: Circuit values of the published fit (SI): node capacitance [F], load resistor [Ohm], bath [K].
CIRCUIT = {"capacitance": 145.34619293e-12, "r_load": 12e3, "ambient": 325.0}


def get_parameters() -> VO2DeviceParams:
    """The published fit, exactly (see the module table for provenance)."""
    return VO2DeviceParams(
        T_c=332.805839,
        w=7.19357064,
        beta=0.252796285,
        gamma=0.956269682,
        R_0=5.35882879e-3,
        Ea_over_k=5220.47417,
        R_m=262.5 * 4.90025335,
        C_th=49.62776831e-12,
        S_e=0.20558726e-3,
        T_min=250.0,
        T_max=370.0,
        reversal_deadband=0.01,
        name="zhang2024",
        citation=CITATION,
        description=DESCRIPTION,
    )
