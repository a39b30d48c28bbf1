r"""DDPM U-Net (Ho, Jain, Abbeel, NeurIPS 2020), the workload standing for the efficient-diffusion survey
(Ma et al., arXiv:2410.11795, which has no model of its own; ``ml_zoo_papers.md`` §3).

Layout of ``pytorch_diffusion`` / diffusers ``UNet2DModel`` for the DDPM checkpoints:

* timestep embedding: sinusoidal(ch) -> ``Linear(ch, 4ch)`` -> SiLU -> ``Linear(4ch, 4ch)``;
* ``conv_in`` 3x3; down path: per level ``num_res_blocks`` ResBlocks (+ self-attention at ``attn_resolutions``),
  then a 3x3 stride-2 downsample (except the last level); middle Res-Attn-Res; up path mirrored with skip concatenation,
  ``num_res_blocks + 1`` blocks per level and nearest x2 upsampling + 3x3 conv; output GN-SiLU-conv3x3;
* ResBlock: GN(32)-SiLU-conv3x3 (+ ``Linear(SiLU(temb))``), GN-SiLU-dropout-conv3x3, 1x1 skip if the width changes;
* attention: single head, q, k, v and output are 1x1 convolutions, written as explicit ``bmm``.

CIFAR-10 (ch 128, ch_mult (1, 2, 2, 2), 2 res blocks, attention at 16x16, dropout 0.1): 35,746,307 parameters, the
paper's 35.7 M; 6.222 GMAC per denoising step with the attention matmuls (``ml_zoo_papers.md`` §3, [est]).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vo2neuro.ml_zoo.models._base import ZooModel

__all__ = ["DDPMConfig", "DDPMUNet", "timestep_embedding", "linear_beta_schedule"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DDPMConfig:
    """Hyperparameters of the DDPM U-Net (defaults: CIFAR-10).

    Attributes
    ----------
    resolution, in_channels, out_channels : int
        Image size and channels (32, 3, 3).
    ch : int
        Base width (128).
    ch_mult : tuple[int, ...]
        Width multiplier per level ((1, 2, 2, 2); 256x256 models use (1, 1, 2, 2, 4, 4)).
    num_res_blocks : int
        ResBlocks per level on the down path (2).
    attn_resolutions : tuple[int, ...]
        Feature-map sizes with self-attention ((16,)).
    dropout : float
        ResBlock dropout (0.1).
    num_timesteps : int
        Diffusion steps T (1000), with a linear beta schedule from 1e-4 to 0.02.
    """

    resolution: int = 32
    in_channels: int = 3
    out_channels: int = 3
    ch: int = 128
    ch_mult: tuple[int, ...] = (1, 2, 2, 2)
    num_res_blocks: int = 2
    attn_resolutions: tuple[int, ...] = (16,)
    dropout: float = 0.1
    num_timesteps: int = 1000

    @classmethod
    def paper(cls) -> "DDPMConfig":
        return cls()

    @classmethod
    def small(cls) -> "DDPMConfig":
        return cls(resolution=16, ch=32, ch_mult=(1, 2), num_res_blocks=1, attn_resolutions=(8,))


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    r"""Sinusoidal embedding (B, dim) of integer timesteps ``t`` (B,): :math:`[\sin(t w_k), \cos(t w_k)]`,
    :math:`w_k = 10000^{-k/(dim/2 - 1)}` (tensor2tensor / DDPM convention)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / (half - 1))
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
    return F.pad(emb, (0, 1)) if dim % 2 else emb


def linear_beta_schedule(num_timesteps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """The DDPM linear noise schedule, float64 (T,)."""
    return torch.linspace(beta_start, beta_end, num_timesteps, dtype=torch.float64)


def _gn(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(32 if c % 32 == 0 else math.gcd(32, c), c, eps=1e-6)


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, temb: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = _gn(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.temb_proj = nn.Linear(temb, c_out)
        self.norm2 = _gn(c_out)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.nin_shortcut = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return (x if self.nin_shortcut is None else self.nin_shortcut(x)) + h


class AttnBlock(nn.Module):
    """Single-head spatial self-attention with 1x1-conv q, k, v, out projections and a residual."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.norm = _gn(c)
        self.q = nn.Conv2d(c, c, 1)
        self.k = nn.Conv2d(c, c, 1)
        self.v = nn.Conv2d(c, c, 1)
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, hh, ww = x.shape
        h = self.norm(x)
        q = self.q(h).reshape(b, c, hh * ww).transpose(1, 2)          # (B, N, C)
        k = self.k(h).reshape(b, c, hh * ww)                           # (B, C, N)
        v = self.v(h).reshape(b, c, hh * ww)
        w = (torch.bmm(q, k) * c ** -0.5).softmax(dim=2)                # (B, N, N)
        out = torch.bmm(v, w.transpose(1, 2)).reshape(b, c, hh, ww)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class _Level(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = nn.ModuleList()
        self.attn = nn.ModuleList()


class DDPMUNet(ZooModel):
    """The DDPM noise-prediction U-Net: ``forward(x (B, C, H, W), t (B,) int64) -> eps (B, C, H, W)``."""

    def __init__(self, config: DDPMConfig) -> None:
        super().__init__(config)
        c = config
        ch, temb = c.ch, 4 * c.ch
        self.temb_dense = nn.ModuleList([nn.Linear(ch, temb), nn.Linear(temb, temb)])
        self.conv_in = nn.Conv2d(c.in_channels, ch, 3, padding=1)
        in_mult = (1, *c.ch_mult)
        res = c.resolution
        self.down = nn.ModuleList()
        block_in = ch
        for lvl, mult in enumerate(c.ch_mult):
            level = _Level()
            block_in, block_out = ch * in_mult[lvl], ch * mult
            for _ in range(c.num_res_blocks):
                level.block.append(ResBlock(block_in, block_out, temb, c.dropout))
                block_in = block_out
                if res in c.attn_resolutions:
                    level.attn.append(AttnBlock(block_in))
            if lvl != len(c.ch_mult) - 1:
                level.downsample = Downsample(block_in)
                res //= 2
            self.down.append(level)
        self.mid_block_1 = ResBlock(block_in, block_in, temb, c.dropout)
        self.mid_attn_1 = AttnBlock(block_in)
        self.mid_block_2 = ResBlock(block_in, block_in, temb, c.dropout)
        up = []
        for lvl in reversed(range(len(c.ch_mult))):
            level = _Level()
            block_out = ch * c.ch_mult[lvl]
            skip_in = ch * c.ch_mult[lvl]
            for i_block in range(c.num_res_blocks + 1):
                if i_block == c.num_res_blocks:
                    skip_in = ch * in_mult[lvl]
                level.block.append(ResBlock(block_in + skip_in, block_out, temb, c.dropout))
                block_in = block_out
                if res in c.attn_resolutions:
                    level.attn.append(AttnBlock(block_in))
            if lvl != 0:
                level.upsample = Upsample(block_in)
                res *= 2
            up.insert(0, level)
        self.up = nn.ModuleList(up)
        self.norm_out = _gn(block_in)
        self.conv_out = nn.Conv2d(block_in, c.out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        c = self.config
        temb = self.temb_dense[1](F.silu(self.temb_dense[0](timestep_embedding(t, c.ch))))
        hs = [self.conv_in(x)]
        for lvl, level in enumerate(self.down):
            for i, block in enumerate(level.block):
                h = block(hs[-1], temb)
                if len(level.attn):
                    h = level.attn[i](h)
                hs.append(h)
            if hasattr(level, "downsample"):
                hs.append(level.downsample(hs[-1]))
        h = self.mid_block_2(self.mid_attn_1(self.mid_block_1(hs[-1], temb)), temb)
        for lvl in reversed(range(len(self.up))):
            level = self.up[lvl]
            for i, block in enumerate(level.block):
                h = block(torch.cat([h, hs.pop()], dim=1), temb)
                if len(level.attn):
                    h = level.attn[i](h)
            if hasattr(level, "upsample"):
                h = level.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))

    def example_inputs(self, batch: int = 1, *, generator: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
        c = self.config
        return (
            self._randn(batch, c.in_channels, c.resolution, c.resolution, generator=generator),
            self._randint(c.num_timesteps, batch, generator=generator),
        )
