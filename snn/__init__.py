"""vo2neuro.snn: BP-SNN of VO2 relaxation-oscillator neurons (torch).

Public API (private modules behind this file, diffrax style)::

    VO2NeuronParams             torch-free neuron record (SI), the contract with vo2neuro.circuits
    vo2_step, vo2_sequence      functional core: (i_in [A], state, params) -> (spikes, new_state)
    VO2Cell, VO2Neuron          nn.Module wrappers (one step / whole sequence, fused BPTT)
    rate                        closed-form f-I curve [Hz] (continuous and discrete time)
    VO2MLP                      fully connected network, weights in rheobase units
    VO2ConvNet                  convolutional network (arch "conv" = 12C5-MP2-64C5-MP2), weights in rheobase units
    TrainConfig, train          surrogate-gradient training with exact resume
    Checkpoint, load_checkpoint one checked path from a checkpoint file to the trained network (snn.checkpoint)
    load_mnist, load_digits     datasets as TensorDatasets
    neuron_params_for_preset    neuron record of a preset (through circuits.neuron_abstraction when present)
    fit_neuron_map, NeuronMap   the neuron as a differentiable function of delta (snn.device_map)
    LearnConfig                 gradient co-design, delta learned with the weights (snn.learn_device.learn_device;
                                the module keeps its function's name, so it is not re-exported here)
    hw_eval, run_circuit        hardware-level inference (snn.hardware); NIR export/import in snn.interop
"""
from vo2neuro.snn.checkpoint import Checkpoint as Checkpoint
from vo2neuro.snn.checkpoint import load as load_checkpoint
from vo2neuro.snn.data import DataError as DataError
from vo2neuro.snn.data import load_digits as load_digits
from vo2neuro.snn.data import load_mnist as load_mnist
from vo2neuro.snn.device_map import NeuronMap as NeuronMap
from vo2neuro.snn.device_map import fit_neuron_map as fit_neuron_map
from vo2neuro.snn.hardware import hw_eval as hw_eval
from vo2neuro.snn.hardware import run_circuit as run_circuit
from vo2neuro.snn.learn_device import LearnConfig as LearnConfig
from vo2neuro.snn.network import VO2ConvNet as VO2ConvNet
from vo2neuro.snn.network import VO2MLP as VO2MLP
from vo2neuro.snn.neuron import SURROGATES as SURROGATES
from vo2neuro.snn.neuron import VO2Cell as VO2Cell
from vo2neuro.snn.neuron import VO2Neuron as VO2Neuron
from vo2neuro.snn.neuron import VO2NeuronState as VO2NeuronState
from vo2neuro.snn.neuron import initial_state as initial_state
from vo2neuro.snn.neuron import rate as rate
from vo2neuro.snn.neuron import vo2_sequence as vo2_sequence
from vo2neuro.snn.neuron import vo2_step as vo2_step
from vo2neuro.snn.params import VO2NeuronParams as VO2NeuronParams
from vo2neuro.snn.presets import neuron_params_for_preset as neuron_params_for_preset
from vo2neuro.snn.train import TrainConfig as TrainConfig
from vo2neuro.snn.train import TrainResult as TrainResult
from vo2neuro.snn.train import train as train

__all__ = [
    "Checkpoint", "DataError", "LearnConfig", "NeuronMap", "SURROGATES", "TrainConfig", "TrainResult", "VO2Cell",
    "VO2ConvNet", "VO2MLP", "VO2Neuron", "VO2NeuronParams", "VO2NeuronState", "fit_neuron_map", "hw_eval",
    "initial_state", "load_checkpoint", "load_digits", "load_mnist", "neuron_params_for_preset", "rate",
    "run_circuit", "train", "vo2_sequence", "vo2_step",
]
