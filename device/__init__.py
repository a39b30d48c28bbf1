"""Physics of VO2 / oxygen-deficient VO2-x insulator-metal-transition devices (no torch, no circuits).

Public API::

    VO2DeviceParams, get_parameters, preset_names, preset_info, apply_vacancies, DELTA_MAX
    select, DeviceSelection, default_ambient, ROOM_TEMPERATURE_K    (one way to pick a device and its ambient)
    simulate_device, initial_state, step, DeviceState, DeviceTrace
    rt_loop, static_iv, voltage_sweep, RTLoop, IVCurve, VoltageSweep
    Geometry, Electrode, from_geometry, implied_geometry, MATERIALS, SUBSTRATES   (device from its geometry)
"""
from vo2neuro.device.characterize import IVCurve as IVCurve
from vo2neuro.device.characterize import RTLoop as RTLoop
from vo2neuro.device.characterize import VoltageSweep as VoltageSweep
from vo2neuro.device.characterize import resistance_at as resistance_at
from vo2neuro.device.characterize import rt_loop as rt_loop
from vo2neuro.device.characterize import static_branch as static_branch
from vo2neuro.device.characterize import static_iv as static_iv
from vo2neuro.device.characterize import voltage_sweep as voltage_sweep
from vo2neuro.device.geometry import MATERIALS as MATERIALS
from vo2neuro.device.geometry import SUBSTRATES as SUBSTRATES
from vo2neuro.device.geometry import Electrode as Electrode
from vo2neuro.device.geometry import Geometry as Geometry
from vo2neuro.device.geometry import from_geometry as from_geometry
from vo2neuro.device.geometry import implied_geometry as implied_geometry
from vo2neuro.device.model import DeviceState as DeviceState
from vo2neuro.device.model import DeviceTrace as DeviceTrace
from vo2neuro.device.model import initial_state as initial_state
from vo2neuro.device.model import simulate_device as simulate_device
from vo2neuro.device.model import step as step
from vo2neuro.device.parameter_sets import PARAMETER_SETS as PARAMETER_SETS
from vo2neuro.device.parameter_sets import get_parameters as get_parameters
from vo2neuro.device.parameter_sets import preset_info as preset_info
from vo2neuro.device.parameter_sets import preset_names as preset_names
from vo2neuro.device.params import VO2DeviceParams as VO2DeviceParams
from vo2neuro.device.select import ROOM_TEMPERATURE_K as ROOM_TEMPERATURE_K
from vo2neuro.device.select import DeviceSelection as DeviceSelection
from vo2neuro.device.select import default_ambient as default_ambient
from vo2neuro.device.select import select as select
from vo2neuro.device.vacancy import DELTA_MAX as DELTA_MAX
from vo2neuro.device.vacancy import apply_vacancies as apply_vacancies

__all__ = [
    "VO2DeviceParams", "get_parameters", "preset_names", "preset_info", "PARAMETER_SETS", "apply_vacancies",
    "DELTA_MAX", "simulate_device", "initial_state", "step", "DeviceState", "DeviceTrace", "rt_loop",
    "static_iv", "voltage_sweep", "static_branch", "resistance_at", "RTLoop", "IVCurve", "VoltageSweep",
    "select", "DeviceSelection", "default_ambient", "ROOM_TEMPERATURE_K", "Geometry", "Electrode", "from_geometry",
    "implied_geometry", "MATERIALS", "SUBSTRATES",
]
