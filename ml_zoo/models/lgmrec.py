r"""LGMRec: local and global graph learning for multimodal recommendation (Guo et al., AAAI 2024, arXiv:2312.16400).

Layout from the official code (``georgeguo-cn/LGMRec``, ``models/lgmrec.py``; ``ml_zoo_papers.md`` §5):

* user/item ID embeddings (d = 64, xavier); frozen item features: visual (VGG16, 4096-d) and textual
  (Sentence-Transformers, 384-d), stored as buffers;
* **CGE**: LightGCN, ``n_ui_layers`` propagations of :math:`\tilde A = D^{-1/2} A D^{-1/2}` over the user-item graph,
  averaged over layers (layer 0 included);
* **MGE** per modality m: item features :math:`F_m W_m` (:math:`W_m`: F_m x d, no bias), user features
  :math:`R F_m W_m / \deg`, then ``n_mm_layers`` propagations of :math:`\tilde A`; the modalities are L2-normalised and
  summed; local = CGE + MGE;
* **GHE** per modality: hyperedge logits :math:`F_m H_m` (items) and :math:`R (F_m H_m)` (users), passed through a
  gumbel-softmax (:math:`\tau = 0.2`) over the ``hyper_num`` hyperedges; ``n_hyper_layer`` HGNN passes
  :math:`L = H_i^\top E_i,\ E_i = H_i L,\ E_u = H_u L` (dropout on :math:`H` with rate 1 - keep_rate); modalities summed;
* output :math:`E = E_{\text{local}} + \alpha\,\mathrm{normalize}(E_{\text{global}})`; score :math:`e_u \cdot e_i`;
* loss: BPR + :math:`\lambda_{cl}` InfoNCE between the visual and textual hyper-embeddings + :math:`\lambda_{reg}` L2.

Baby (19,445 users, 7,050 items, hyper_num 4): 2,000,320 trainable parameters (``ml_zoo_papers.md`` §5, reproduced
exactly; the 7,050 x (4096 + 384) frozen features are buffers).

Assumptions: in eval mode the gumbel-softmax is replaced by its noise-free tempered softmax
:math:`\mathrm{softmax}(\ell/\tau)` (deterministic inference; the official code samples in both modes); the user-item
graph is an input (``R``, the binary U x I interaction matrix, dense or sparse COO), not stored on the model.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vo2neuro.ml_zoo.models._base import ZooModel

__all__ = ["LGMRecConfig", "LGMRec", "random_interactions"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LGMRecConfig:
    """Hyperparameters of LGMRec (defaults: Amazon Baby, ``configs/model/LGMREC.yaml``).

    Attributes
    ----------
    n_users, n_items, n_interactions : int
        Dataset size (Baby: 19,445 x 7,050, 160,792 interactions).
    v_dim, t_dim : int
        Frozen visual and textual feature sizes (4096, 384).
    dim : int
        Embedding size (64).
    n_ui_layers, n_mm_layers, n_hyper_layer, hyper_num : int
        Propagation depths and number of hyperedges (Baby: 2, 2, 1, 4).
    keep_rate, alpha, tau : float
        Hyperedge dropout keep rate (0.5), global weight (0.3), gumbel temperature (0.2).
    lambda_cl, lambda_reg : float
        Contrastive (1e-4) and L2 (1e-6) weights.
    """

    n_users: int = 19445
    n_items: int = 7050
    n_interactions: int = 160792
    v_dim: int = 4096
    t_dim: int = 384
    dim: int = 64
    n_ui_layers: int = 2
    n_mm_layers: int = 2
    n_hyper_layer: int = 1
    hyper_num: int = 4
    keep_rate: float = 0.5
    alpha: float = 0.3
    tau: float = 0.2
    lambda_cl: float = 1e-4
    lambda_reg: float = 1e-6

    @classmethod
    def paper(cls) -> "LGMRecConfig":
        return cls()

    @classmethod
    def small(cls) -> "LGMRecConfig":
        return cls(n_users=40, n_items=30, n_interactions=200, v_dim=32, t_dim=16, dim=16)


def _norm_adj(r: torch.Tensor) -> torch.Tensor:
    r"""Symmetric normalised bipartite adjacency :math:`D^{-1/2} [[0, R], [R^\top, 0]] D^{-1/2}` ((U+I) x (U+I))."""
    u, i = r.shape
    if r.layout == torch.strided:
        a = torch.zeros(u + i, u + i, dtype=r.dtype, device=r.device)
        a[:u, u:] = r
        a[u:, :u] = r.t()
        d = a.sum(1).clamp_min(1.0).rsqrt()
        return d[:, None] * a * d[None, :]
    r = r.coalesce()
    ru, ri = r.indices()
    idx = torch.cat([torch.stack([ru, ri + u]), torch.stack([ri + u, ru])], dim=1)
    val = torch.cat([r.values(), r.values()])
    deg = torch.zeros(u + i, dtype=val.dtype, device=val.device).index_add_(0, idx[0], val).clamp_min(1.0)
    val = val * deg[idx[0]].rsqrt() * deg[idx[1]].rsqrt()
    return torch.sparse_coo_tensor(idx, val, (u + i, u + i), check_invariants=True).coalesce()


def _row_norm(r: torch.Tensor) -> torch.Tensor:
    """R / deg(user) (U x I), same layout as R."""
    if r.layout == torch.strided:
        return r / r.sum(1, keepdim=True).clamp_min(1.0)
    r = r.coalesce()
    ru = r.indices()[0]
    deg = torch.zeros(r.shape[0], dtype=r.dtype, device=r.device).index_add_(0, ru, r.values()).clamp_min(1.0)
    return torch.sparse_coo_tensor(r.indices(), r.values() / deg[ru], r.shape, check_invariants=True).coalesce()


class LGMRec(ZooModel):
    """LGMRec (see module docstring).

    ``forward(R (U, I), users (B,), items (B,))`` returns the scores (B,) of the pairs; :meth:`embed` gives the full
    user and item embeddings and the two hyper-embeddings used by the contrastive loss.
    """

    def __init__(self, config: LGMRecConfig) -> None:
        super().__init__(config)
        c = config
        self.user_embedding = nn.Parameter(torch.empty(c.n_users, c.dim))
        self.item_embedding = nn.Parameter(torch.empty(c.n_items, c.dim))
        self.v_proj = nn.Parameter(torch.empty(c.v_dim, c.dim))
        self.t_proj = nn.Parameter(torch.empty(c.t_dim, c.dim))
        self.v_hyper = nn.Parameter(torch.empty(c.v_dim, c.hyper_num))
        self.t_hyper = nn.Parameter(torch.empty(c.t_dim, c.hyper_num))
        self.register_buffer("v_feat", torch.empty(c.n_items, c.v_dim))
        self.register_buffer("t_feat", torch.empty(c.n_items, c.t_dim))
        self.drop = nn.Dropout(1.0 - c.keep_rate)
        if self.v_proj.device.type != "meta":
            for p in self.parameters():
                nn.init.xavier_uniform_(p)
            # stand-ins for the MMRec feature files (VGG16 is post-ReLU, so non-negative)
            self.v_feat.copy_(torch.rand(c.n_items, c.v_dim))
            self.t_feat.copy_(torch.randn(c.n_items, c.t_dim) * 0.1)

    def _cge(self, adj: torch.Tensor) -> torch.Tensor:
        e = torch.cat([self.user_embedding, self.item_embedding])
        layers = [e]
        for _ in range(self.config.n_ui_layers):
            e = torch.mm(adj, e)
            layers.append(e)
        return torch.stack(layers).mean(0)

    def _mge(self, adj: torch.Tensor, r_norm: torch.Tensor, feat: torch.Tensor, proj: torch.Tensor) -> torch.Tensor:
        item = F.linear(feat, proj.t())              # fixed-weight projection F W
        e = torch.cat([torch.mm(r_norm, item), item])
        for _ in range(self.config.n_mm_layers):
            e = torch.mm(adj, e)
        return e

    def _hyper_assign(self, logits: torch.Tensor) -> torch.Tensor:
        if self.training:
            return F.gumbel_softmax(logits, tau=self.config.tau, dim=1, hard=False)
        return (logits / self.config.tau).softmax(dim=1)

    def _ghe(self, r: torch.Tensor, feat: torch.Tensor, hyper: torch.Tensor, item_e: torch.Tensor):
        c = self.config
        i_logits = F.linear(feat, hyper.t())                              # (I, h)
        u_logits = torch.mm(r, i_logits)                                  # (U, h)
        h_i = self.drop(self._hyper_assign(i_logits))
        h_u = self.drop(self._hyper_assign(u_logits))
        e_i = item_e
        for _ in range(c.n_hyper_layer):
            lat = torch.mm(h_i.t(), e_i)                                  # (h, d)
            e_i = torch.mm(h_i, lat)
            e_u = torch.mm(h_u, lat)
        return torch.cat([e_u, e_i])

    def embed(self, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(users (U, d), items (I, d), visual hyper (U+I, d), textual hyper (U+I, d))`` for interactions ``r``."""
        c = self.config
        adj = _norm_adj(r)
        r_norm = _row_norm(r)
        cge = self._cge(adj)
        mge = F.normalize(self._mge(adj, r_norm, self.v_feat, self.v_proj)) + F.normalize(
            self._mge(adj, r_norm, self.t_feat, self.t_proj))
        local = cge + mge
        item_e = cge[c.n_users:]
        hv = self._ghe(r, self.v_feat, self.v_hyper, item_e)
        ht = self._ghe(r, self.t_feat, self.t_hyper, item_e)
        out = local + c.alpha * F.normalize(hv + ht)
        return out[: c.n_users], out[c.n_users:], hv, ht

    def forward(self, r: torch.Tensor, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        u, i, _, _ = self.embed(r)
        return (u[users] * i[items]).sum(-1)

    def loss(self, r: torch.Tensor, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
        """BPR + lambda_cl InfoNCE(visual, textual hyper-embeddings of the batch) + lambda_reg L2."""
        c = self.config
        u, i, hv, ht = self.embed(r)
        eu, ep, en = u[users], i[pos], i[neg]
        bpr = -F.logsigmoid((eu * ep).sum(-1) - (eu * en).sum(-1)).mean()

        def nce(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
            logits = a @ b.t() / c.tau
            return F.cross_entropy(logits, torch.arange(a.shape[0], device=a.device))

        cl = nce(hv[users], ht[users]) + nce(hv[c.n_users + pos], ht[c.n_users + pos])
        reg = (eu.pow(2).sum() + ep.pow(2).sum() + en.pow(2).sum()) / users.shape[0]
        return bpr + c.lambda_cl * cl + c.lambda_reg * reg

    def example_inputs(self, batch: int = 1, *, generator: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
        c = self.config
        r = random_interactions(c.n_users, c.n_items, c.n_interactions, generator=generator).to(self.device)
        return r, self._randint(c.n_users, batch, generator=generator), self._randint(c.n_items, batch, generator=generator)


def random_interactions(n_users: int, n_items: int, nnz: int, *, generator: torch.Generator | None = None,
                        sparse: bool = True) -> torch.Tensor:
    """A random binary U x I interaction matrix with about ``nnz`` entries (every user has at least one)."""
    extra = max(nnz - n_users, 0)
    ru = torch.cat([torch.arange(n_users), torch.randint(0, n_users, (extra,), generator=generator)])
    ri = torch.randint(0, n_items, (ru.shape[0],), generator=generator)
    r = torch.sparse_coo_tensor(torch.stack([ru, ri]), torch.ones(ru.shape[0]), (n_users, n_items),
                                check_invariants=True).coalesce()
    r = torch.sparse_coo_tensor(r.indices(), torch.ones_like(r.values()), r.shape, check_invariants=True).coalesce()
    return r if sparse else r.to_dense()
