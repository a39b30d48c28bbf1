r"""PSDNet and DPDNet: depthwise channel-expansion CNNs (Li et al., arXiv:1909.01026; extended version
"Efficient channel expansion and pyramid depthwise-pointwise-depthwise neural networks", Applied Intelligence 52(11),
2022, arXiv:2011.03701).

No official code exists; the blocks are **reconstructed from the abstracts** (``ml_zoo_papers.md`` §10, [verify]):

* **PSD block** (PSDNet): a ResNet bottleneck whose final 1x1 expansion is replaced by a depthwise 3x3 convolution with
  channel multiplier t (``groups = C_mid``, ``C_out = t C_mid``): PW 1x1 reduce -> 3x3 -> DW expand, residual. Built here
  on the pre-activation CIFAR ResNet-164 (3 stages x 18 blocks, widths 16/32/64, t = 4, 1x1 projection shortcut with BN
  when the shape changes): 1,389,658 parameters and 209.6 MMAC, against 1,704,154 for ResNet-164 (the paper's 1.7 M).
* **DPD block** (DPDNet): an inverted bottleneck DW 3x3 expand (multiplier t, stride s) -> PW 1x1 project (linear
  bottleneck) -> DW 3x3, with BN after each convolution, ReLU6 after the expansion, and a residual when s = 1 and the
  widths match (no projection shortcut). Stacked with MobileNetV2's (t, c, n, s) table with the CIFAR stem (stride 1,
  second stage stride 1): 1,487,146 parameters (66.5 % of MobileNetV2-CIFAR, the paper says about 60 %) and 51.57 MMAC.

Both reproduce the reference's reconstruction counts exactly. Both are fully ANN-to-SNN convertible: only
conv/DW/PW layers, foldable BN, ReLU/ReLU6, residual additions, global average pooling and a linear classifier.

Assumptions: stride on the first (expanding) DW convolution of the DPD block; no activation after the second DW
convolution; the "two hyper-parameters" are the width multiplier and the expansion factor t.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vo2neuro.ml_zoo.models._base import ZooModel

__all__ = ["DPDNetConfig", "DPDNet", "PSDNetConfig", "PSDNet", "make_divisible"]

MOBILENETV2_CIFAR = ((1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
"""MobileNetV2 (t, c, n, s) stage table with the CIFAR change of the second stage to stride 1."""


def make_divisible(v: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor`` without going below 90 % of ``v`` (MobileNetV2)."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


@dataclass(frozen=True, slots=True, kw_only=True)
class DPDNetConfig:
    """Hyperparameters of DPDNet.

    Attributes
    ----------
    num_classes, image_size : int
        10 and 32 (CIFAR-10).
    in_channels : int
        Input channels (3 for CIFAR; 1 for MNIST).
    width_mult : float
        Channel multiplier of every stage (1.0).
    stages : tuple of (t, c, n, s)
        Expansion, width, repeats and stride per stage (MobileNetV2-CIFAR).
    stem_channels, last_channel : int
        Stem width (32) and width of the final 1x1 convolution (1280).
    """

    num_classes: int = 10
    image_size: int = 32
    in_channels: int = 3
    width_mult: float = 1.0
    stages: tuple[tuple[int, int, int, int], ...] = MOBILENETV2_CIFAR
    stem_channels: int = 32
    last_channel: int = 1280

    @classmethod
    def paper(cls) -> "DPDNetConfig":
        return cls()

    @classmethod
    def small(cls) -> "DPDNetConfig":
        return cls(width_mult=0.25, last_channel=128)

    @classmethod
    def mnist(cls) -> "DPDNetConfig":
        """A small DPDNet for 28x28 grey digits, the ANN-to-SNN conversion target: four DPD stages of one block
        each (assumption: depth cut so that rate-coded conversion stays near-lossless at T <= 64)."""
        return cls(image_size=28, in_channels=1, width_mult=0.5, stem_channels=32, last_channel=128,
                   stages=((1, 16, 1, 1), (6, 24, 1, 2), (6, 32, 1, 2), (6, 64, 1, 1)))


class DPDBlock(nn.Module):
    """DW 3x3 expand (x t, stride s) - BN - ReLU6 - PW 1x1 project - BN - DW 3x3 - BN (+ identity)."""

    def __init__(self, c_in: int, c_out: int, t: int, stride: int) -> None:
        super().__init__()
        hidden = t * c_in
        self.residual = stride == 1 and c_in == c_out
        self.body = nn.Sequential(
            nn.Conv2d(c_in, hidden, 3, stride, 1, groups=c_in, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out),
            nn.Conv2d(c_out, c_out, 3, 1, 1, groups=c_out, bias=False), nn.BatchNorm2d(c_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


class DPDNet(ZooModel):
    """DPDNet for CIFAR: ``forward(x (B, 3, H, W)) -> logits (B, num_classes)``."""

    def __init__(self, config: DPDNetConfig) -> None:
        super().__init__(config)
        c = config
        stem = make_divisible(c.stem_channels * c.width_mult)
        layers: list[nn.Module] = [nn.Conv2d(c.in_channels, stem, 3, 1, 1, bias=False), nn.BatchNorm2d(stem),
                                   nn.ReLU6()]
        c_in = stem
        for t, ch, n, s in c.stages:
            c_out = make_divisible(ch * c.width_mult)
            for i in range(n):
                layers.append(DPDBlock(c_in, c_out, t, s if i == 0 else 1))
                c_in = c_out
        layers += [nn.Conv2d(c_in, c.last_channel, 1, bias=False), nn.BatchNorm2d(c.last_channel), nn.ReLU6()]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c.last_channel, c.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))

    def example_inputs(self, batch: int = 1, *, generator: torch.Generator | None = None) -> tuple[torch.Tensor]:
        s = self.config.image_size
        return (self._randn(batch, self.config.in_channels, s, s, generator=generator),)


@dataclass(frozen=True, slots=True, kw_only=True)
class PSDNetConfig:
    """Hyperparameters of PSDNet (pre-activation CIFAR ResNet with PSD blocks).

    Attributes
    ----------
    depth : int
        9 n + 2 layers, n blocks per stage (164 -> 18).
    widths : tuple[int, int, int]
        Bottleneck widths of the three stages (16, 32, 64); block outputs are ``expansion x width``.
    expansion : int
        Depthwise channel multiplier t of the last convolution (4, the bottleneck expansion it replaces).
    num_classes, image_size : int
        10 and 32 (CIFAR-10).
    in_channels : int
        Input channels (3 for CIFAR; 1 for MNIST).
    psd : bool
        False builds the plain pre-activation bottleneck ResNet (1x1 expansion) for comparison.
    """

    depth: int = 164
    widths: tuple[int, int, int] = (16, 32, 64)
    expansion: int = 4
    num_classes: int = 10
    image_size: int = 32
    in_channels: int = 3
    psd: bool = True

    def __post_init__(self) -> None:
        if (self.depth - 2) % 9:
            raise ValueError(f"depth={self.depth} must be 9 n + 2")

    @classmethod
    def paper(cls) -> "PSDNetConfig":
        return cls()

    @classmethod
    def small(cls) -> "PSDNetConfig":
        return cls(depth=11)


class PSDBlock(nn.Module):
    """Pre-activation BN-ReLU-PW 1x1 reduce, BN-ReLU-3x3 (stride s), BN-ReLU-DW 3x3 expand (x t); projection shortcut."""

    def __init__(self, c_in: int, width: int, stride: int, expansion: int, psd: bool) -> None:
        super().__init__()
        c_out = expansion * width
        last = (nn.Conv2d(width, c_out, 3, 1, 1, groups=width, bias=False) if psd
                else nn.Conv2d(width, c_out, 1, bias=False))
        self.body = nn.Sequential(
            nn.BatchNorm2d(c_in), nn.ReLU(), nn.Conv2d(c_in, width, 1, bias=False),
            nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, width, 3, stride, 1, bias=False),
            nn.BatchNorm2d(width), nn.ReLU(), last,
        )
        self.shortcut = (nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
                         if stride != 1 or c_in != c_out else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + (x if self.shortcut is None else self.shortcut(x))


class PSDNet(ZooModel):
    """PSDNet for CIFAR: ``forward(x (B, 3, H, W)) -> logits (B, num_classes)``."""

    def __init__(self, config: PSDNetConfig) -> None:
        super().__init__(config)
        c = config
        n = (c.depth - 2) // 9
        layers: list[nn.Module] = [nn.Conv2d(c.in_channels, c.widths[0], 3, 1, 1, bias=False)]
        c_in = c.widths[0]
        for stage, width in enumerate(c.widths):
            for i in range(n):
                layers.append(PSDBlock(c_in, width, 2 if (stage > 0 and i == 0) else 1, c.expansion, c.psd))
                c_in = c.expansion * width
        layers += [nn.BatchNorm2d(c_in), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_in, c.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(x)).flatten(1))

    def example_inputs(self, batch: int = 1, *, generator: torch.Generator | None = None) -> tuple[torch.Tensor]:
        s = self.config.image_size
        return (self._randn(batch, self.config.in_channels, s, s, generator=generator),)
