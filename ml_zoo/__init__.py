"""vo2neuro.ml_zoo: reference networks of the nine project papers, op counting and the energy ledger.

Public API::

    create(name, config="paper" | "small", device=None) -> torch.nn.Module   # registry of ten workloads
    list_models(), get_spec(name) -> ModelSpec                               # metadata (citation, inputs, numbers)
    count_ops(model, inputs) -> OpsReport                                    # MACs by type and layer, params
    fan_out_table(model, inputs), synops(model_or_layers, spikes)            # synaptic operations (ml_zoo.synaptic)
    energy.energy_table(names, ..., measured=[...]) -> EnergyTable           # CMOS / neuromorphic / VO2-x energy
    measured.load_measured(path), layer_rates(snn, x, T)                      # measured spikes for the ledger
    circuit_level.to_circuit(snn, cn, device, x)                             # converted nets on VO2 circuits

Importing this package does not import torch; the counter, the models and the energy ledger import it on first use.
Conventions (MAC = FlopCounterMode FLOPs / 2, LSTM formula, normalisation ops) are in :mod:`vo2neuro.ml_zoo.ops`;
reference numbers and their sources in ``../shared/reference/ml_zoo_papers.md``.
"""
from __future__ import annotations

import importlib
from typing import Any

from vo2neuro.ml_zoo.registry import (
    CONFIGS as CONFIGS,
    InputSpec as InputSpec,
    ModelSpec as ModelSpec,
    ReportedNumber as ReportedNumber,
    config_of as config_of,
    create as create,
    get_spec as get_spec,
    list_models as list_models,
)

_LAZY = {
    "count_ops": "ops", "OpsReport": "ops", "LayerOps": "ops", "FanOut": "synaptic", "fan_out_table": "synaptic",
    "synops": "synaptic", "SynopsReport": "synaptic", "uniform_spikes": "synaptic", "MAC_CATEGORIES": "ops", "CATEGORIES": "ops",
    "energy_table": "energy", "EnergyTable": "energy", "load_measured": "measured", "layer_rates": "measured",
    "MeasuredRun": "measured",
}

__all__ = [
    "CONFIGS", "InputSpec", "ModelSpec", "ReportedNumber", "config_of", "create", "get_spec", "list_models",
    *_LAZY, "energy", "measured", "ops",
]
_MODULES = ("energy", "measured", "ops")


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"vo2neuro.ml_zoo.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(f"vo2neuro.ml_zoo.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'vo2neuro.ml_zoo' has no attribute {name!r}")
