r"""LMD: latent masking diffusion, a masked autoencoder on VAE latents with a progressive mask-ratio schedule
(Ma et al., AAAI 2024, doi:10.1609/aaai.v38i5.28209, arXiv:2312.07971).

Layout from the official code (``AnonymousPony/lmd``, a fork of MAE: ``lmd.py`` ``MaskedAutoencoderViT``,
``engine_pretrain.py`` schedulers; ``ml_zoo_papers.md`` §6):

* images (224x224) pass through the frozen Stable Diffusion v1-4 ``AutoencoderKL``; ``posterior.mode()`` gives latents
  (4, 28, 28). **The VAE is preprocessing and is not part of this module**: its input is the latent;
* MAE on the latents, patch 4 -> 49 tokens: ViT-B encoder (768-d, 12 blocks, 12 heads, MLP ratio 4, qkv bias, LayerNorm
  eps 1e-6, fixed 2-D sin-cos position embeddings stored as frozen parameters), decoder 512-d, 8 blocks, 16 heads,
  prediction ``Linear(512 -> 4*4*4)``; loss: MSE on the masked patches with per-patch normalised targets
  (``--norm_pix_loss``);
* progressive masking: the mask ratio rises during training (:data:`MASK_SCHEDULERS`).

Paper configuration: 110,817,856 parameters (including the 64,000 fixed position-embedding values), 2.395 GMAC at mask
ratio 0.75 and 4.899 GMAC at 0.15 (``ml_zoo_papers.md`` §6, [est]).

Assumptions: the commented-out piecewise schedule ramps 0.15 -> 0.4 over the first 1/6 of the steps, holds to 1/3,
ramps 0.4 -> 0.75 until 1/2 and holds (the reference gives the levels, not the second ramp's position); the paper's
third scheduler is plain linear 0.15 -> 0.75 over all steps [verify].
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from vo2neuro.ml_zoo.models._base import ZooModel
from vo2neuro.ml_zoo.models._transformer import PreLNBlock, sincos_pos_embed_2d

__all__ = ["LMDConfig", "LatentMAE", "MASK_SCHEDULERS", "mask_ratio_at"]


def _cosine(progress: float, start: float = 0.15, end: float = 0.75, ramp: float = 2 / 3) -> float:
    if progress >= ramp:
        return end
    return start + (end - start) * 0.5 * (1.0 - math.cos(math.pi * progress / ramp))


def _piecewise(progress: float) -> float:
    if progress < 1 / 6:
        return 0.15 + (0.40 - 0.15) * progress * 6
    if progress < 1 / 3:
        return 0.40
    if progress < 1 / 2:
        return 0.40 + (0.75 - 0.40) * (progress - 1 / 3) * 6
    return 0.75


def _linear(progress: float) -> float:
    return 0.15 + (0.75 - 0.15) * progress


MASK_SCHEDULERS: dict[str, Callable[[float], float]] = {"cosine": _cosine, "piecewise": _piecewise, "linear": _linear}
"""Mask ratio as a function of training progress in [0, 1]. ``cosine`` is the official default."""


def mask_ratio_at(scheduler: str, step: int, total_steps: int) -> float:
    """Mask ratio of ``scheduler`` at ``step`` of ``total_steps``.

    Examples
    --------
    >>> mask_ratio_at("cosine", 0, 300), mask_ratio_at("cosine", 200, 300)
    (0.15, 0.75)
    """
    try:
        f = MASK_SCHEDULERS[scheduler]
    except KeyError:
        raise ValueError(f"scheduler={scheduler!r}; valid: {sorted(MASK_SCHEDULERS)}") from None
    if total_steps <= 0 or not 0 <= step <= total_steps:
        raise ValueError(f"need 0 <= step <= total_steps and total_steps > 0, got step={step}, total={total_steps}")
    return float(f(step / total_steps))


@dataclass(frozen=True, slots=True, kw_only=True)
class LMDConfig:
    """Hyperparameters of the LMD latent MAE (defaults: the official ViT-B/4 on SD-VAE latents).

    Attributes
    ----------
    latent_size, latent_channels, patch : int
        Latent grid (28), channels (4) and patch size (4).
    dim, depth, heads : int
        Encoder (768, 12, 12).
    decoder_dim, decoder_depth, decoder_heads : int
        Decoder (512, 8, 16).
    mlp_ratio : float
        4.
    mask_ratio : float
        Default ratio when ``forward`` gets none (0.75, the end of the schedule).
    norm_pix_loss : bool
        Per-patch normalised targets (True).
    """

    latent_size: int = 28
    latent_channels: int = 4
    patch: int = 4
    dim: int = 768
    depth: int = 12
    heads: int = 12
    decoder_dim: int = 512
    decoder_depth: int = 8
    decoder_heads: int = 16
    mlp_ratio: float = 4.0
    mask_ratio: float = 0.75
    norm_pix_loss: bool = True

    @property
    def num_patches(self) -> int:
        return (self.latent_size // self.patch) ** 2

    @classmethod
    def paper(cls) -> "LMDConfig":
        return cls()

    @classmethod
    def small(cls) -> "LMDConfig":
        return cls(latent_size=8, patch=2, dim=64, depth=2, heads=4, decoder_dim=32, decoder_depth=1, decoder_heads=4)


class LatentMAE(ZooModel):
    """MAE over VAE latents: ``forward(latents (B, C, H, W), mask_ratio=None) -> (loss (), pred (B, L, p*p*C), mask (B, L))``.

    ``mask`` is 1 for removed patches. The mask is random (``torch.rand``), as in MAE, also in eval mode.
    """

    def __init__(self, config: LMDConfig) -> None:
        super().__init__(config)
        c = config
        if c.latent_size % c.patch:
            raise ValueError(f"latent_size={c.latent_size} must be divisible by patch={c.patch}")
        grid = c.latent_size // c.patch
        self.patch_embed = nn.Conv2d(c.latent_channels, c.dim, c.patch, stride=c.patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, c.num_patches + 1, c.dim), requires_grad=False)
        self.blocks = nn.ModuleList(PreLNBlock(c.dim, c.heads, c.mlp_ratio) for _ in range(c.depth))
        self.norm = nn.LayerNorm(c.dim, eps=1e-6)
        self.decoder_embed = nn.Linear(c.dim, c.decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, c.decoder_dim))
        self.decoder_pos_embed = nn.Parameter(torch.zeros(1, c.num_patches + 1, c.decoder_dim), requires_grad=False)
        self.decoder_blocks = nn.ModuleList(
            PreLNBlock(c.decoder_dim, c.decoder_heads, c.mlp_ratio) for _ in range(c.decoder_depth))
        self.decoder_norm = nn.LayerNorm(c.decoder_dim, eps=1e-6)
        self.decoder_pred = nn.Linear(c.decoder_dim, c.patch ** 2 * c.latent_channels)
        if self.pos_embed.device.type != "meta":
            with torch.no_grad():
                self.pos_embed.copy_(torch.from_numpy(sincos_pos_embed_2d(c.dim, grid))[None])
                self.decoder_pos_embed.copy_(torch.from_numpy(sincos_pos_embed_2d(c.decoder_dim, grid))[None])
                nn.init.normal_(self.cls_token, std=0.02)
                nn.init.normal_(self.mask_token, std=0.02)

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, L, p*p*C), MAE ordering."""
        p, c = self.config.patch, self.config.latent_channels
        b, _, h, w = x.shape
        x = x.reshape(b, c, h // p, p, w // p, p)
        return torch.einsum("nchpwq->nhwpqc", x).reshape(b, (h // p) * (w // p), p * p * c)

    def random_masking(self, x: torch.Tensor, mask_ratio: float):
        """Keep a random ``1 - mask_ratio`` of the tokens of ``x`` (B, L, D); returns (kept, mask, ids_restore)."""
        b, n, d = x.shape
        keep = int(n * (1 - mask_ratio))
        noise = torch.rand(b, n, device=x.device)
        ids_shuffle = torch.argsort(noise, dim=1)
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        kept = torch.gather(x, 1, ids_shuffle[:, :keep, None].expand(-1, -1, d))
        mask = torch.ones(b, n, device=x.device)
        mask[:, :keep] = 0
        return kept, torch.gather(mask, 1, ids_restore), ids_restore

    def forward_encoder(self, x: torch.Tensor, mask_ratio: float):
        x = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed[:, 1:]
        x, mask, ids_restore = self.random_masking(x, mask_ratio)
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x), mask, ids_restore

    def forward_decoder(self, x: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        x = self.decoder_embed(x)
        b, n_kept, d = x.shape
        n = ids_restore.shape[1]
        tokens = torch.cat([x[:, 1:], self.mask_token.expand(b, n + 1 - n_kept, -1)], dim=1)
        tokens = torch.gather(tokens, 1, ids_restore[:, :, None].expand(-1, -1, d))
        x = torch.cat([x[:, :1], tokens], dim=1) + self.decoder_pos_embed
        for blk in self.decoder_blocks:
            x = blk(x)
        return self.decoder_pred(self.decoder_norm(x))[:, 1:]

    def loss(self, latents: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean squared error over the removed patches (per-patch normalised targets if ``norm_pix_loss``)."""
        target = self.patchify(latents)
        if self.config.norm_pix_loss:
            mean = target.mean(-1, keepdim=True)
            var = target.var(-1, keepdim=True)
            target = (target - mean) / (var + 1e-6).sqrt()
        per_patch = (pred - target).pow(2).mean(-1)
        return (per_patch * mask).sum() / mask.sum().clamp_min(1.0)

    def forward(self, latents: torch.Tensor, mask_ratio: float | None = None):
        ratio = self.config.mask_ratio if mask_ratio is None else float(mask_ratio)
        if not 0.0 <= ratio < 1.0:
            raise ValueError(f"mask_ratio={ratio} must be in [0, 1)")
        latent, mask, ids_restore = self.forward_encoder(latents, ratio)
        pred = self.forward_decoder(latent, ids_restore)
        return self.loss(latents, pred, mask), pred, mask

    def example_inputs(self, batch: int = 1, *, generator: torch.Generator | None = None) -> tuple[torch.Tensor]:
        c = self.config
        return (self._randn(batch, c.latent_channels, c.latent_size, c.latent_size, generator=generator),)
