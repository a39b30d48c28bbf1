r"""CMAL: cross-modal associative learning for vision-language pre-training (Ma et al., ACM MM 2024 [verify],
arXiv:2410.12595).

No official code exists; the architecture follows the abstract (``ml_zoo_papers.md`` §2) on a UNITER-base-like backbone
(the reference's assumption, [est]):

1. **anchor points** (offline): object tags of a Faster R-CNN (BUTD, 36 regions x 2048-d + 7-d box) intersected with the
   BERT tokens; they arrive here as index pairs ``anchors[b, a] = (token position, region index)``;
2. **uni-modal semantic encoders**: region features ``LN(Linear(2048->d)) + LN(Linear(7->d))`` and BERT token
   embeddings, each L2-normalised onto its own hypersphere (learnable radius per modality), then ``uni_layers``
   modality-specific Transformer layers;
3. **cross-modal associative prompt layer**: the anchors are masked and *swap-filled*: a text anchor slot receives the
   matched region feature, the region slot the matched token feature, each plus a learned "swapped" embedding; during
   training a fraction ``anchor_mask_prob`` of the swapped-in features is replaced by a learned ``[MASK]`` vector;
4. **unified semantic encoder**: a single-stream post-LN Transformer over ``[tokens; regions]``;
5. **associative mapping classification layer**: at each text anchor slot a projection of the hidden state is scored
   against every region (and at each region anchor slot against every token); the target is the anchor's partner;
   a UNITER-style 3-way SNLI-VE head on the pooled ``[CLS]``.

Paper configuration (bert-base-cased vocabulary, d = 768, 0 uni-modal + 12 joint layers, 40 tokens + 36 regions): the
reference estimates 112,281,639 parameters and 6.64 GMAC for its UNITER-base-like assumption without itemising the
heads; this module has 112,265,477 (0.014 % fewer) with the heads listed above.

Assumptions: everything beyond the abstract (head shapes, the hypersphere radius, the swap embedding, ``uni_layers``
defaults to 0 as in the reference, 4 anchors per pair in the example inputs).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from vo2neuro.ml_zoo.models._base import ZooModel
from vo2neuro.ml_zoo.models._transformer import BertEmbeddings, PostLNBlock

__all__ = ["CMALConfig", "CMALOutput", "CMAL"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CMALConfig:
    """Hyperparameters of CMAL (defaults: the UNITER-base-like paper assumption).

    Attributes
    ----------
    vocab, dim, heads, ffn, max_positions : int
        BERT-base-cased text side (28996, 768, 12, 3072, 512).
    uni_layers, joint_layers : int
        Modality-specific layers per modality (0) and single-stream layers (12).
    region_dim, box_dim, n_regions : int
        Detector features (2048), box features (7: normalised x1, y1, x2, y2, w, h, area) and regions per image (36).
    seq_len, n_anchors : int
        Text tokens (40) and anchor pairs (4) of the example inputs.
    num_answers : int
        Classes of the downstream head (3: SNLI-VE entailment / neutral / contradiction).
    anchor_mask_prob : float
        Fraction of swapped anchors replaced by ``[MASK]`` in training (0.15).
    dropout : float
        0.1.
    """

    vocab: int = 28996
    dim: int = 768
    heads: int = 12
    ffn: int = 3072
    max_positions: int = 512
    uni_layers: int = 0
    joint_layers: int = 12
    region_dim: int = 2048
    box_dim: int = 7
    n_regions: int = 36
    seq_len: int = 40
    n_anchors: int = 4
    num_answers: int = 3
    anchor_mask_prob: float = 0.15
    dropout: float = 0.1

    @classmethod
    def paper(cls) -> "CMALConfig":
        return cls()

    @classmethod
    def small(cls) -> "CMALConfig":
        return cls(vocab=100, dim=32, heads=2, ffn=64, max_positions=64, uni_layers=1, joint_layers=2, region_dim=16,
                   n_regions=6, seq_len=8, n_anchors=2)


class CMALOutput(NamedTuple):
    """``logits`` (B, num_answers); ``text_to_region`` (B, A, R); ``region_to_text`` (B, A, T)."""

    logits: torch.Tensor
    text_to_region: torch.Tensor
    region_to_text: torch.Tensor


def _gather(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """x (B, N, d), idx (B, A) -> (B, A, d)."""
    return torch.gather(x, 1, idx[..., None].expand(-1, -1, x.shape[-1]))


class CMAL(ZooModel):
    """CMAL (see module docstring).

    ``forward(ids (B, T) int64, text_mask (B, T) bool, regions (B, R, region_dim), boxes (B, R, box_dim),
    anchors (B, A, 2) int64, anchor_valid (B, A) bool) -> CMALOutput``.
    """

    def __init__(self, config: CMALConfig) -> None:
        super().__init__(config)
        c = config
        d = c.dim
        self.text_embeddings = BertEmbeddings(c.vocab, d, max_positions=c.max_positions, dropout=c.dropout)
        self.region_proj = nn.Linear(c.region_dim, d)
        self.region_norm = nn.LayerNorm(d, eps=1e-12)
        self.box_proj = nn.Linear(c.box_dim, d)
        self.box_norm = nn.LayerNorm(d, eps=1e-12)
        self.log_radius = nn.Parameter(torch.full((2,), 0.5 * math.log(d)))
        self.text_encoder = nn.ModuleList(PostLNBlock(d, c.heads, c.ffn, dropout=c.dropout) for _ in range(c.uni_layers))
        self.region_encoder = nn.ModuleList(PostLNBlock(d, c.heads, c.ffn, dropout=c.dropout) for _ in range(c.uni_layers))
        self.swap_embedding = nn.Parameter(torch.zeros(2, d))
        self.mask_embedding = nn.Parameter(torch.zeros(d))
        self.joint = nn.ModuleList(PostLNBlock(d, c.heads, c.ffn, dropout=c.dropout) for _ in range(c.joint_layers))
        self.pooler = nn.Linear(d, d)
        self.text_anchor_query = nn.Linear(d, d)
        self.region_anchor_query = nn.Linear(d, d)
        self.classifier = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.LayerNorm(2 * d, eps=1e-12),
                                        nn.Linear(2 * d, c.num_answers))
        if self.swap_embedding.device.type != "meta":
            nn.init.normal_(self.swap_embedding, std=0.02)
            nn.init.normal_(self.mask_embedding, std=0.02)

    def encode_unimodal(self, ids, text_mask, regions, boxes) -> tuple[torch.Tensor, torch.Tensor]:
        """Hypersphere embeddings and uni-modal encoders: text (B, T, d), regions (B, R, d)."""
        radius = self.log_radius.exp()
        text = F.normalize(self.text_embeddings(ids), dim=-1) * radius[0]
        reg = self.region_norm(self.region_proj(regions)) + self.box_norm(self.box_proj(boxes))
        reg = F.normalize(reg, dim=-1) * radius[1]
        for blk in self.text_encoder:
            text = blk(text, text_mask)
        for blk in self.region_encoder:
            reg = blk(reg)
        return text, reg

    def associative_prompt(self, text, reg, anchors, anchor_valid) -> tuple[torch.Tensor, torch.Tensor]:
        """Anchor masking and swap filling. text (B, T, d), reg (B, R, d), anchors (B, A, 2), anchor_valid (B, A)."""
        t_idx, r_idx = anchors[..., 0], anchors[..., 1]
        valid = anchor_valid.bool()[..., None]
        to_text = _gather(reg, r_idx) + self.swap_embedding[0]
        to_reg = _gather(text, t_idx) + self.swap_embedding[1]
        if self.training and self.config.anchor_mask_prob > 0:
            m = torch.rand(valid.shape, device=text.device) < self.config.anchor_mask_prob
            to_text = torch.where(m, self.mask_embedding.expand_as(to_text), to_text)
            m = torch.rand(valid.shape, device=text.device) < self.config.anchor_mask_prob
            to_reg = torch.where(m, self.mask_embedding.expand_as(to_reg), to_reg)
        d = text.shape[-1]
        to_text = torch.where(valid, to_text, _gather(text, t_idx))
        to_reg = torch.where(valid, to_reg, _gather(reg, r_idx))
        text = text.scatter(1, t_idx[..., None].expand(-1, -1, d), to_text)
        reg = reg.scatter(1, r_idx[..., None].expand(-1, -1, d), to_reg)
        return text, reg

    def forward(self, ids, text_mask, regions, boxes, anchors, anchor_valid) -> CMALOutput:
        text, reg = self.encode_unimodal(ids, text_mask, regions, boxes)
        text, reg = self.associative_prompt(text, reg, anchors, anchor_valid)
        n_text = text.shape[1]
        x = torch.cat([text, reg], dim=1)
        mask = torch.cat([text_mask.bool(), torch.ones(reg.shape[:2], dtype=torch.bool, device=reg.device)], dim=1)
        for blk in self.joint:
            x = blk(x, mask)
        h_text, h_reg = x[:, :n_text], x[:, n_text:]
        pooled = torch.tanh(self.pooler(x[:, 0]))
        q_t = self.text_anchor_query(_gather(h_text, anchors[..., 0]))          # (B, A, d)
        q_r = self.region_anchor_query(_gather(h_reg, anchors[..., 1]))
        t2r = torch.matmul(q_t, h_reg.transpose(1, 2))                          # (B, A, R)
        r2t = torch.matmul(q_r, h_text.transpose(1, 2))                         # (B, A, T)
        r2t = r2t.masked_fill(~text_mask.bool()[:, None, :], torch.finfo(r2t.dtype).min)
        return CMALOutput(self.classifier(pooled), t2r, r2t)

    def association_loss(self, out: CMALOutput, anchors: torch.Tensor, anchor_valid: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the associative mapping head: each anchor must point at its partner (both directions)."""
        v = anchor_valid.bool()
        l1 = F.cross_entropy(out.text_to_region[v], anchors[..., 1][v])
        l2 = F.cross_entropy(out.region_to_text[v], anchors[..., 0][v])
        return 0.5 * (l1 + l2)

    def example_inputs(self, batch: int = 1, *, generator: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
        c = self.config
        dev = self.device
        ids = self._randint(c.vocab, batch, c.seq_len, generator=generator)
        text_mask = torch.ones(batch, c.seq_len, dtype=torch.bool, device=dev)
        regions = self._randn(batch, c.n_regions, c.region_dim, generator=generator)
        boxes = self._randn(batch, c.n_regions, c.box_dim, generator=generator)
        if dev.type == "meta":
            anchors = torch.empty(batch, c.n_anchors, 2, dtype=torch.long, device=dev)
        else:
            # distinct token positions (after [CLS]) and distinct regions per pair
            t = torch.stack([torch.randperm(c.seq_len - 1, generator=generator)[: c.n_anchors] + 1 for _ in range(batch)])
            r = torch.stack([torch.randperm(c.n_regions, generator=generator)[: c.n_anchors] for _ in range(batch)])
            anchors = torch.stack([t, r], dim=-1).to(dev)
        anchor_valid = torch.ones(batch, c.n_anchors, dtype=torch.bool, device=dev)
        return ids, text_mask, regions, boxes, anchors, anchor_valid
