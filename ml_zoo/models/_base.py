"""Common base of zoo models: a config record, a device-aware ``example_inputs`` and a conversion flag."""
from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

__all__ = ["ZooModel", "module_device"]


def module_device(module: nn.Module) -> torch.device:
    """Device of the first parameter or buffer of ``module`` (CPU if it has none)."""
    for t in module.parameters():
        return t.device
    for t in module.buffers():
        return t.device
    return torch.device("cpu")


class ZooModel(nn.Module):
    """Base class of the zoo models.

    Every subclass takes one frozen config dataclass (its only hyperparameters, sklearn style: no logic hidden in
    attributes) and implements :meth:`example_inputs`, which returns positional forward inputs on the model's device,
    so that ``model(*model.example_inputs(batch))`` runs for every entry (the conformance suite does exactly that).
    """

    def __init__(self, config: Any) -> None:
        super().__init__()
        if not dataclasses.is_dataclass(config):
            raise TypeError(f"{type(self).__name__}: config must be a dataclass instance, got {type(config).__name__}")
        self.config = config

    @property
    def device(self) -> torch.device:
        return module_device(self)

    def example_inputs(self, batch: int = 1, *, generator: torch.Generator | None = None) -> tuple[Any, ...]:
        """Positional inputs of one forward pass with leading dimension ``batch``, on the model's device."""
        raise NotImplementedError

    def _randn(self, *shape: int, generator: torch.Generator | None = None) -> torch.Tensor:
        dev = self.device
        if dev.type == "meta":
            return torch.empty(*shape, device=dev)
        return torch.randn(*shape, generator=generator).to(dev)

    def _randint(self, high: int, *shape: int, generator: torch.Generator | None = None) -> torch.Tensor:
        dev = self.device
        if dev.type == "meta":
            return torch.empty(*shape, dtype=torch.long, device=dev)
        return torch.randint(0, high, shape, generator=generator).to(dev)

    def _bernoulli(self, p: float, *shape: int, generator: torch.Generator | None = None) -> torch.Tensor:
        dev = self.device
        if dev.type == "meta":
            return torch.empty(*shape, device=dev)
        return (torch.rand(*shape, generator=generator) < p).float().to(dev)

    def extra_repr(self) -> str:
        return f"config={self.config!r}"
