r"""DualVAE: dual disentangled variational autoencoder for recommendation (Guo et al., SDM 2024, arXiv:2401.04914).

Layout from the official code (``georgeguo-cn/DualVAE``, ``models/dualvae.py``; ``ml_zoo_papers.md`` §4). With A aspects
and latent size k:

* user encoder ``Linear(n_items -> 40) - tanh``, then :math:`\mu = \mathrm{Linear}(40 \to k)`,
  :math:`\sigma = \mathrm{sigmoid}(\mathrm{Linear}(40 \to k))`; the item encoder is the same on n_users inputs;
* decoders ``Linear(k -> 40) - tanh`` on each side; prototypes ``user_preferences`` and ``item_topics`` (A x k);
* aspect attention of item i: :math:`p_{i,a} = \mathrm{softmax}_a \langle \beta_{i,a}, \mathrm{topic}_a \rangle`;
* per aspect: encoder input :math:`x \odot p_{\cdot,a}`, :math:`z_a = \mu_a + \epsilon\,\sigma_a` (training) or
  :math:`\mu_a` (eval), score :math:`s_{a}(u,i) = \mathrm{sigmoid}(z_a \beta_{i,a}^\top + \tanh(\mathrm{dec}(z_a)
  \cdot \mathrm{dec}(\beta_{i,a})))`; the prediction is :math:`\sum_a p_{i,a}\, s_a(u,i)`;
* loss: Poisson likelihood + :math:`\beta_{KL}` KL + :math:`\gamma` InfoNCE (:math:`\tau = 0.2`) between :math:`z_a` and
  the neighbourhood representation :math:`\sum_i x_i p_{i,a} \beta_{i,a}`.

The latent tables :math:`\theta` (n_users x A x k) and :math:`\beta` (n_items x A x k) are non-parameter state
(buffers), updated by the alternating training loop, as in the official code. ML-1M (6,040 users, 3,706 items, A = 10,
k = 20) gives 395,280 parameters (``ml_zoo_papers.md`` §4, reproduced exactly).

Assumption: the InfoNCE term uses in-batch negatives with the neighbourhood representation normalised to unit length.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vo2neuro.ml_zoo.models._base import ZooModel

__all__ = ["DualVAEConfig", "DualVAE"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DualVAEConfig:
    """Hyperparameters of DualVAE (defaults: ML-1M, official ``main.py``).

    Attributes
    ----------
    n_users, n_items : int
        Dataset size (ML-1M: 6,040 x 3,706).
    k : int
        Latent size per aspect (20).
    n_aspects : int
        A (10 on ML-1M, 5 on Kindle and Yelp).
    encoder_hidden, decoder_hidden : int
        Encoder and decoder widths (40).
    beta_kl, gamma, tau : float
        KL weight (1), contrastive weight (0.01 on ML-1M) and InfoNCE temperature (0.2).
    """

    n_users: int = 6040
    n_items: int = 3706
    k: int = 20
    n_aspects: int = 10
    encoder_hidden: int = 40
    decoder_hidden: int = 40
    beta_kl: float = 1.0
    gamma: float = 0.01
    tau: float = 0.2

    @classmethod
    def paper(cls) -> "DualVAEConfig":
        return cls()

    @classmethod
    def small(cls) -> "DualVAEConfig":
        return cls(n_users=64, n_items=50, k=8, n_aspects=3, encoder_hidden=16, decoder_hidden=16)


class _Encoder(nn.Module):
    def __init__(self, n_in: int, hidden: int, k: int) -> None:
        super().__init__()
        self.fc = nn.Linear(n_in, hidden)
        self.mu = nn.Linear(hidden, k)
        self.std = nn.Linear(hidden, k)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.tanh(self.fc(x))
        return self.mu(h), torch.sigmoid(self.std(h))


class DualVAE(ZooModel):
    """DualVAE (see module docstring).

    ``forward(x, side="user")`` takes interaction rows ``x`` (B, n_items) (``side="item"``: columns (B, n_users)) and returns
    ``(scores (B, n_items), mu (B, A, k), std (B, A, k))``.
    """

    def __init__(self, config: DualVAEConfig) -> None:
        super().__init__(config)
        c = config
        self.user_encoder = _Encoder(c.n_items, c.encoder_hidden, c.k)
        self.item_encoder = _Encoder(c.n_users, c.encoder_hidden, c.k)
        self.user_decoder = nn.Linear(c.k, c.decoder_hidden)
        self.item_decoder = nn.Linear(c.k, c.decoder_hidden)
        self.user_preferences = nn.Parameter(torch.empty(c.n_aspects, c.k))
        self.item_topics = nn.Parameter(torch.empty(c.n_aspects, c.k))
        self.register_buffer("theta", torch.empty(c.n_users, c.n_aspects, c.k))
        self.register_buffer("beta", torch.empty(c.n_items, c.n_aspects, c.k))
        if self.user_preferences.device.type != "meta":
            nn.init.xavier_uniform_(self.user_preferences)
            nn.init.xavier_uniform_(self.item_topics)
            nn.init.normal_(self.theta, std=0.01)
            nn.init.normal_(self.beta, std=0.01)

    def _side(self, side: str):
        if side == "user":
            return self.user_encoder, self.user_decoder, self.item_decoder, self.beta, self.item_topics
        if side == "item":
            return self.item_encoder, self.item_decoder, self.user_decoder, self.theta, self.user_preferences
        raise ValueError(f"side={side!r}; valid: ['item', 'user']")

    def aspect_probs(self, side: str = "user") -> torch.Tensor:
        """Aspect attention of the other side's entities, (n_other, A)."""
        *_, other, protos = self._side(side)
        return torch.einsum("nak,ak->na", other, protos).softmax(dim=-1)

    def forward(self, x: torch.Tensor, side: str = "user") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        encoder, dec_self, dec_other, other, _ = self._side(side)
        p = self.aspect_probs(side)                                    # (N, A)
        mu, std = encoder(x.unsqueeze(1) * p.t().unsqueeze(0))          # (B, A, k)
        z = mu + torch.randn_like(std) * std if self.training else mu
        direct = torch.matmul(z.transpose(0, 1), other.permute(1, 2, 0))                    # (A, B, N)
        dec = torch.matmul(dec_self(z).tanh().transpose(0, 1), dec_other(other).tanh().permute(1, 2, 0))
        s = torch.sigmoid(direct + torch.tanh(dec))                    # (A, B, N)
        scores = (s * p.t().unsqueeze(1)).sum(dim=0)                   # (B, N)
        return scores, mu, std

    def loss(self, x: torch.Tensor, side: str = "user") -> torch.Tensor:
        """Poisson likelihood + beta_KL KL + gamma InfoNCE for a batch of rows ``x`` (mean over the batch)."""
        c = self.config
        scores, mu, std = self.forward(x, side)
        *_, other, _ = self._side(side)
        poisson = -(x * torch.log(scores + 1e-10) - scores).sum(-1)
        kl = -0.5 * (1 + 2 * torch.log(std + 1e-10) - mu.pow(2) - std.pow(2)).sum((-1, -2))
        p = self.aspect_probs(side)
        neigh = F.normalize(torch.einsum("bn,na,nak->bak", x, p, other), dim=-1)
        z = F.normalize(mu, dim=-1)
        logits = torch.einsum("bak,cak->abc", z, neigh) / c.tau          # (A, B, B)
        target = torch.arange(x.shape[0], device=x.device).expand(logits.shape[0], -1)
        nce = F.cross_entropy(logits.reshape(-1, x.shape[0]), target.reshape(-1))
        return (poisson + c.beta_kl * kl).mean() + c.gamma * nce

    def example_inputs(self, batch: int = 1, *, generator: torch.Generator | None = None) -> tuple[torch.Tensor]:
        return (self._bernoulli(0.05, batch, self.config.n_items, generator=generator),)
