"""VO2 oscillator-neuron circuits: Pearson-Anson relaxation oscillator and current-driven neuron (no torch).

Two device models in the same circuits: the electro-thermal device of :mod:`vo2neuro.device` (temperature
dynamics, de Almeida hysteresis memory per neuron) and an ideal piecewise-linear threshold switch
(:class:`PWLDeviceParams`). Batched Numba kernels simulate N neurons with per-neuron parameters and seeded
variability.

Public API::

    PWLDeviceParams, CircuitParams, Variability, ZHANG2024_CIRCUIT, DEVICE_MODELS, make_device
    simulate, simulate_circuit, SimulationResult, NeuronResult, Trace, PiecewiseDrive, default_dt
    NeuronState, StepInputs, initial_state, step
    pwl_legs, pwl_frequency, pwl_window, oscillation_window, OscillationWindow
    transfer_curve, f_i_curve, TransferCurve, neuron_abstraction, NeuronAbstraction
    plot_traces, plot_transfer            (vo2neuro.circuits.plotting)
    write_netlist, run_ngspice            (vo2neuro.circuits.netlist)
    brian2_pwl_frequency                  (vo2neuro.circuits.brian2_model, imports brian2 lazily)
    scale_study, INTEGRATION, node_capacitance   (vo2neuro.circuits.scaling: figures against device size)
"""
from vo2neuro.circuits.analysis import SWEEPS as SWEEPS
from vo2neuro.circuits.analysis import NeuronAbstraction as NeuronAbstraction
from vo2neuro.circuits.analysis import OscillationWindow as OscillationWindow
from vo2neuro.circuits.analysis import TransferCurve as TransferCurve
from vo2neuro.circuits.analysis import auto_duration as auto_duration
from vo2neuro.circuits.analysis import f_i_curve as f_i_curve
from vo2neuro.circuits.analysis import neuron_abstraction as neuron_abstraction
from vo2neuro.circuits.analysis import oscillation_window as oscillation_window
from vo2neuro.circuits.analysis import pwl_frequency as pwl_frequency
from vo2neuro.circuits.analysis import pwl_legs as pwl_legs
from vo2neuro.circuits.analysis import pwl_window as pwl_window
from vo2neuro.circuits.analysis import transfer_curve as transfer_curve
from vo2neuro.circuits.params import DRIVES as DRIVES
from vo2neuro.circuits.params import ZHANG2024_CIRCUIT as ZHANG2024_CIRCUIT
from vo2neuro.circuits.params import CircuitParams as CircuitParams
from vo2neuro.circuits.params import PWLDeviceParams as PWLDeviceParams
from vo2neuro.circuits.params import Variability as Variability
from vo2neuro.circuits.simulate import DEVICE_MODELS as DEVICE_MODELS
from vo2neuro.circuits.results import NeuronResult as NeuronResult
from vo2neuro.circuits.simulate import NeuronState as NeuronState
from vo2neuro.circuits.simulate import PiecewiseDrive as PiecewiseDrive
from vo2neuro.circuits.results import SimulationResult as SimulationResult
from vo2neuro.circuits.simulate import StepInputs as StepInputs
from vo2neuro.circuits.results import Trace as Trace
from vo2neuro.circuits.simulate import default_dt as default_dt
from vo2neuro.circuits.simulate import initial_state as initial_state
from vo2neuro.circuits.simulate import make_device as make_device
from vo2neuro.circuits.simulate import simulate as simulate
from vo2neuro.circuits.simulate import simulate_circuit as simulate_circuit
from vo2neuro.circuits.simulate import step as step

__all__ = [
    "PWLDeviceParams", "CircuitParams", "Variability", "ZHANG2024_CIRCUIT", "DEVICE_MODELS", "DRIVES", "make_device",
    "simulate", "simulate_circuit", "SimulationResult", "NeuronResult", "Trace", "PiecewiseDrive", "default_dt",
    "NeuronState", "StepInputs", "initial_state", "step", "pwl_legs", "pwl_frequency", "pwl_window",
    "oscillation_window", "OscillationWindow", "transfer_curve", "f_i_curve", "TransferCurve",
    "neuron_abstraction", "NeuronAbstraction", "auto_duration", "SWEEPS",
]
