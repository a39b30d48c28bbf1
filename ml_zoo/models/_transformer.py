r"""Transformer building blocks shared by CMAL, LMD and WCL-BBCD.

Attention is written with explicit matmuls (never ``nn.MultiheadAttention``, whose fused eval fast path hides its ops
from every counter, ``ml_zoo_papers.md`` §12), so the op counter sees :math:`QK^\top` and :math:`AV` as ``matmul``.

References
----------
* Vaswani et al., "Attention is all you need", NeurIPS 2017.
* Devlin et al., "BERT", NAACL 2019 (post-LN encoder, embeddings, pooler; HF ``BertModel`` parameter layout).
* Dosovitskiy et al., "An image is worth 16x16 words", ICLR 2021; He et al., "Masked autoencoders are scalable vision
  learners", CVPR 2022 (pre-LN blocks with fused qkv, 2-D sin-cos position embeddings).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

__all__ = [
    "SelfAttention",
    "Mlp",
    "PreLNBlock",
    "PostLNBlock",
    "BertEmbeddings",
    "BertEncoder",
    "sincos_pos_embed_2d",
]


class SelfAttention(nn.Module):
    r"""Multi-head self-attention, :math:`\mathrm{softmax}(QK^\top/\sqrt{d_h} + M)\,V` then an output projection.

    Parameters
    ----------
    dim, heads : int
        Model width and number of heads (``dim % heads == 0``).
    qkv_bias : bool
        Bias on the q, k, v projections.
    fused : bool
        One ``Linear(dim, 3 dim)`` (timm/MAE layout) instead of three ``Linear(dim, dim)`` (BERT layout); same
        parameter count and MACs.

    Shapes: ``x`` (B, N, dim); ``mask`` (B, N) bool, True = attend (padding keys masked out); output (B, N, dim).
    """

    def __init__(self, dim: int, heads: int, *, qkv_bias: bool = True, fused: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim={dim} must be divisible by heads={heads}")
        self.heads = heads
        self.head_dim = dim // heads
        self.fused = fused
        if fused:
            self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        else:
            self.query = nn.Linear(dim, dim, bias=qkv_bias)
            self.key = nn.Linear(dim, dim, bias=qkv_bias)
            self.value = nn.Linear(dim, dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.attn_drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        b, n, d = x.shape
        if self.fused:
            q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        else:
            def split(t: torch.Tensor) -> torch.Tensor:
                return t.reshape(b, n, self.heads, self.head_dim).transpose(1, 2)

            q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        if mask is not None:
            scores = scores.masked_fill(~mask[:, None, None, :].bool(), torch.finfo(scores.dtype).min)
        attn = self.attn_drop(scores.softmax(dim=-1))
        out = torch.matmul(attn, v).transpose(1, 2).reshape(b, n, d)
        return self.proj(out)


class Mlp(nn.Module):
    """Position-wise feed-forward network ``Linear(dim, hidden) - act - Linear(hidden, dim)``."""

    def __init__(self, dim: int, hidden: int, *, act: type[nn.Module] = nn.GELU, dropout: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = act()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.act(self.fc1(x))))


class PreLNBlock(nn.Module):
    """ViT/MAE block: ``x + Attn(LN(x))``, then ``x + MLP(LN(x))`` (LayerNorm eps 1e-6)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, *, qkv_bias: bool = True, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = SelfAttention(dim, heads, qkv_bias=qkv_bias, fused=True)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), mask)
        return x + self.mlp(self.norm2(x))


class PostLNBlock(nn.Module):
    """BERT block: ``LN(x + Attn(x))``, then ``LN(x + FFN(x))`` with GELU (LayerNorm eps 1e-12)."""

    def __init__(self, dim: int, heads: int, ffn: int, *, eps: float = 1e-12, dropout: float = 0.1) -> None:
        super().__init__()
        self.attn = SelfAttention(dim, heads, qkv_bias=True, fused=False, dropout=dropout)
        self.drop1 = nn.Dropout(dropout)
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.ffn = Mlp(dim, ffn, dropout=dropout)
        self.norm2 = nn.LayerNorm(dim, eps=eps)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self.norm1(x + self.drop1(self.attn(x, mask)))
        return self.norm2(x + self.ffn(x))


class BertEmbeddings(nn.Module):
    """Word + learned position + token-type embeddings, then LayerNorm and dropout (HF ``BertEmbeddings``)."""

    def __init__(self, vocab: int, dim: int, *, max_positions: int = 512, type_vocab: int = 2, eps: float = 1e-12,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.word = nn.Embedding(vocab, dim)
        self.position = nn.Embedding(max_positions, dim)
        self.token_type = nn.Embedding(type_vocab, dim)
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.drop = nn.Dropout(dropout)

    def forward(self, ids: torch.Tensor, token_type: torch.Tensor | None = None) -> torch.Tensor:
        pos = torch.arange(ids.shape[1], device=ids.device)
        tt = torch.zeros_like(ids) if token_type is None else token_type
        return self.drop(self.norm(self.word(ids) + self.position(pos)[None] + self.token_type(tt)))


class BertEncoder(nn.Module):
    """BERT: embeddings, ``layers`` post-LN blocks and the tanh pooler over ``[CLS]`` (HF ``BertModel`` layout).

    With vocab 28996, dim 768, 12 layers, 12 heads, FFN 3072 this has 108,310,272 parameters, the HF count of
    ``bert-base-cased`` (``ml_zoo_papers.md`` §7).

    Returns ``(sequence (B, T, dim), pooled (B, dim))``.
    """

    def __init__(self, vocab: int, dim: int, layers: int, heads: int, ffn: int, *, max_positions: int = 512,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.embeddings = BertEmbeddings(vocab, dim, max_positions=max_positions, dropout=dropout)
        self.layers = nn.ModuleList(PostLNBlock(dim, heads, ffn, dropout=dropout) for _ in range(layers))
        self.pooler = nn.Linear(dim, dim)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.embeddings(ids)
        for layer in self.layers:
            x = layer(x, mask)
        return x, torch.tanh(self.pooler(x[:, 0]))


def sincos_pos_embed_2d(dim: int, grid: int, *, cls_token: bool = True) -> np.ndarray:
    """Fixed 2-D sin-cos position embedding of a ``grid x grid`` patch grid, shape ``(grid**2 + cls, dim)`` (MAE).

    Half of the channels encode the row, half the column; each half is ``[sin(p w_k), cos(p w_k)]`` with
    ``w_k = 10000**(-k / (dim/4))``.
    """
    if dim % 4:
        raise ValueError(f"dim={dim} must be divisible by 4")
    gh, gw = np.meshgrid(np.arange(grid, dtype=np.float64), np.arange(grid, dtype=np.float64), indexing="xy")

    def one_d(d: int, pos: np.ndarray) -> np.ndarray:
        omega = 1.0 / 10000 ** (np.arange(d // 2, dtype=np.float64) / (d / 2.0))
        out = np.einsum("m,d->md", pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    emb = np.concatenate([one_d(dim // 2, gw), one_d(dim // 2, gh)], axis=1)
    if cls_token:
        emb = np.concatenate([np.zeros((1, dim)), emb], axis=0)
    return emb.astype(np.float32)
