r"""LT-HGCF: light heterogeneous graph collaborative filtering with textual information
(Wang et al., Knowledge-Based Systems 2021, arXiv:2010.07027).

Layout from the official code (``SunwardTree/LT-HGCF``, ``model.py``; ``ml_zoo_papers.md`` §8):

* one learnable embedding table :math:`E^{(0)}` (n_nodes x 256) over four node types (users, items, item descriptions,
  reviews); text nodes are initialised offline from Sentence-BERT (BERT-Mini) mean pooling, users and items at zero;
* 8 row-normalised relation adjacencies :math:`\hat A_r` (u-i, i-description, i-review, u-review and their transposes);
* "light" R-GCN, 4 layers, :math:`E^{(l)} = \sum_r \hat A_r E^{(l-1)} [W_r]` (no weights and no activation by default,
  ``use_weight=0``, ``active_fun='none'``); initial residual: the layer-1 output is added to every later layer; the final
  embedding is the mean over the layers;
* joint prediction network: MLP ``Linear(512->128) - Linear(128->128)`` on :math:`[e_u, e_i]`, GMF
  ``Linear(256->128)(e_u) * Linear(256->128)(e_i)``, fusion ``Linear(256->1)``: 148,225 parameters (reproduced exactly).

The relations are passed stacked as one (R n_nodes x n_nodes) matrix (dense, or sparse COO for real graphs) so that
the propagation is one sparse product per layer.

Assumptions: the paper configuration uses the Amazon Digital_Music 5-core statistics (5,541 users, 3,568 items, 64,706
reviews, one description node per item: 77,383 nodes) [verify], which the reference does not list; the propagation does
``E^(l) = A E^(l-1) + E^(1)`` for l >= 2 (initial residual read as adding the layer-1 output).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vo2neuro.ml_zoo.models._base import ZooModel

__all__ = ["LTHGCFConfig", "PredictNet", "LTHGCF", "random_relations"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LTHGCFConfig:
    """Hyperparameters of LT-HGCF.

    Attributes
    ----------
    n_users, n_items, n_descriptions, n_reviews : int
        Node counts per type (paper config: Digital_Music 5-core, an assumption).
    dim : int
        Embedding size (256, BERT-Mini).
    layers : int
        Propagation layers (4).
    n_relations : int
        Relation adjacencies (8).
    hidden : int
        Prediction-network width (128).
    use_weight : bool
        Per-relation weight matrices (off by default, "light").
    activation : str
        ``"none"`` (default), ``"relu"`` or ``"leaky_relu"`` in the MLP branch (ReLU makes the head convertible).
    """

    n_users: int = 5541
    n_items: int = 3568
    n_descriptions: int = 3568
    n_reviews: int = 64706
    dim: int = 256
    layers: int = 4
    n_relations: int = 8
    hidden: int = 128
    use_weight: bool = False
    activation: str = "none"

    @property
    def n_nodes(self) -> int:
        return self.n_users + self.n_items + self.n_descriptions + self.n_reviews

    @classmethod
    def paper(cls) -> "LTHGCFConfig":
        return cls()

    @classmethod
    def small(cls) -> "LTHGCFConfig":
        return cls(n_users=30, n_items=20, n_descriptions=20, n_reviews=30, dim=32, layers=2, hidden=16)


_ACTS = {"none": nn.Identity, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU}


class PredictNet(nn.Module):
    """Joint MLP + GMF prediction head. ``(e_u (B, d), e_i (B, d)) -> score (B,)``."""

    def __init__(self, dim: int, hidden: int, activation: str = "none") -> None:
        super().__init__()
        try:
            act = _ACTS[activation]
        except KeyError:
            raise ValueError(f"activation={activation!r}; valid: {sorted(_ACTS)}") from None
        self.mlp = nn.Sequential(nn.Linear(2 * dim, hidden), act(), nn.Linear(hidden, hidden), act())
        self.gmf_user = nn.Linear(dim, hidden)
        self.gmf_item = nn.Linear(dim, hidden)
        self.fusion = nn.Linear(2 * hidden, 1)

    def forward(self, eu: torch.Tensor, ei: torch.Tensor) -> torch.Tensor:
        mlp = self.mlp(torch.cat([eu, ei], dim=-1))
        gmf = self.gmf_user(eu) * self.gmf_item(ei)
        return self.fusion(torch.cat([mlp, gmf], dim=-1)).squeeze(-1)


class LTHGCF(ZooModel):
    """LT-HGCF (see module docstring).

    ``forward(relations (R N, N), users (B,), items (B,))`` with node ids (users in ``[0, n_users)``, items in
    ``[0, n_items)``, offset internally) returns the scores (B,).
    """

    def __init__(self, config: LTHGCFConfig) -> None:
        super().__init__(config)
        c = config
        self.embedding = nn.Parameter(torch.empty(c.n_nodes, c.dim))
        self.relation_weights = (
            nn.Parameter(torch.empty(c.layers, c.n_relations, c.dim, c.dim)) if c.use_weight else None
        )
        self.predict = PredictNet(c.dim, c.hidden, c.activation)
        if self.embedding.device.type != "meta":
            nn.init.normal_(self.embedding, std=0.1)
            if self.relation_weights is not None:
                nn.init.xavier_uniform_(self.relation_weights.view(-1, c.dim, c.dim))

    def propagate(self, relations: torch.Tensor) -> torch.Tensor:
        """Final node embeddings (N, d): mean over the propagation layers."""
        c = self.config
        n = c.n_nodes
        e = self.embedding
        outs = []
        first = None
        # Without relation weights sum_r A_r E = (sum_r A_r) E: the relations join distinct node-type pairs, so the
        # summed matrix has the same non-zeros (and MACs) and the (R N x d) intermediate is avoided.
        merged = _merge_relations(relations, c.n_relations) if self.relation_weights is None else None
        for layer in range(c.layers):
            if merged is not None:
                e = torch.mm(merged, e)
            else:
                msg = torch.mm(relations, e).view(c.n_relations, n, c.dim)        # (R, N, d)
                e = torch.matmul(msg, self.relation_weights[layer]).sum(0)
            if first is None:
                first = e
            else:
                e = e + first
            outs.append(e)
        return torch.stack(outs).mean(0)

    def forward(self, relations: torch.Tensor, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        e = self.propagate(relations)
        return self.predict(e[users], e[self.config.n_users + items])

    def example_inputs(self, batch: int = 1, *, generator: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
        c = self.config
        rel = random_relations(c, generator=generator).to(self.device)
        return rel, self._randint(c.n_users, batch, generator=generator), self._randint(c.n_items, batch, generator=generator)


def _merge_relations(relations: torch.Tensor, n_relations: int) -> torch.Tensor:
    """Sum of the stacked relation blocks of a (R N, N) matrix, (N, N), same layout."""
    n = relations.shape[1]
    if relations.layout == torch.strided:
        return relations.view(n_relations, n, n).sum(0)
    r = relations.coalesce()
    idx = r.indices().clone()
    idx[0] = idx[0] % n
    return torch.sparse_coo_tensor(idx, r.values(), (n, n), check_invariants=True).coalesce()


def random_relations(c: LTHGCFConfig, *, generator: torch.Generator | None = None, sparse: bool = True) -> torch.Tensor:
    """A synthetic heterogeneous graph with the config's node counts, as stacked row-normalised relations (R N, N),
    sparse COO (``sparse=True``) or dense.

    Every review links one user and one item (``n_reviews`` u-i interactions, as in a review dataset); every item has
    one description node. The 8 relations are u->i, i->u, i->desc, desc->i, i->rev, rev->i, u->rev, rev->u.
    """
    u0, i0 = 0, c.n_users
    d0 = i0 + c.n_items
    r0 = d0 + c.n_descriptions
    rev = torch.arange(c.n_reviews)
    ru = torch.randint(0, c.n_users, (c.n_reviews,), generator=generator)
    ri = torch.randint(0, c.n_items, (c.n_reviews,), generator=generator)
    item_ids = torch.arange(c.n_items)
    desc = item_ids % c.n_descriptions
    pairs = [
        (u0 + ru, i0 + ri), (i0 + ri, u0 + ru),
        (i0 + item_ids, d0 + desc), (d0 + desc, i0 + item_ids),
        (i0 + ri, r0 + rev), (r0 + rev, i0 + ri),
        (u0 + ru, r0 + rev), (r0 + rev, u0 + ru),
    ][: c.n_relations]
    n = c.n_nodes
    rows, cols = [], []
    for r, (src, dst) in enumerate(pairs):
        rows.append(r * n + src)
        cols.append(dst)
    idx = torch.stack([torch.cat(rows), torch.cat(cols)])
    a = torch.sparse_coo_tensor(idx, torch.ones(idx.shape[1]), (len(pairs) * n, n), check_invariants=True).coalesce()
    deg = torch.sparse.sum(a, dim=1).to_dense().clamp_min(1.0)
    i = a.indices()
    a = torch.sparse_coo_tensor(i, a.values() / deg[i[0]], a.shape, check_invariants=True).coalesce()
    if len(pairs) < c.n_relations:
        raise ValueError(f"n_relations={c.n_relations} > 8 is not supported by random_relations")
    return a if sparse else a.to_dense()
