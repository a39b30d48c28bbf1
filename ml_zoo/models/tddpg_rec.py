r"""TDDPG-Rec: text-based DDPG for interactive recommendation (Wang et al., ECAI 2020, arXiv:2004.06651).

Layout from the official TensorFlow code (``SunwardTree/TDDPG-Rec``, ``DDPG_Rec.py`` ``_build_a``/``_build_c``;
``ml_zoo_papers.md`` §9):

* state :math:`s \in \mathbb{R}^{n d}`: the concatenated GloVe item vectors of the user's last ``n_state_items`` items;
* actor :math:`a = \mathrm{minmax}(\mathrm{ReLU}(W_a s + b_a))`, a policy vector in :math:`[0, 1]^d`;
* action: the ``n_candidates`` candidate item vectors are scored by :math:`c_j \cdot a` and the top ``top_k`` recommended;
* critic :math:`Q(s, a) = w_q^\top \mathrm{ReLU}(W_s s + W_{a} a + b) + b_q`.

With d = 100 and 20 state items the actor has 200,100 and the critic 210,201 parameters (``ml_zoo_papers.md`` §9, [est]
from the code; reproduced exactly).

Assumption: the TF code's "global min-max normalisation" is taken per sample over the d components of the policy vector.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vo2neuro.ml_zoo.models._base import ZooModel

__all__ = ["TDDPGConfig", "Actor", "Critic", "TDDPGRec"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TDDPGConfig:
    """Hyperparameters of TDDPG-Rec.

    Attributes
    ----------
    item_dim : int
        GloVe item vector size d (100 for Digital_Music and Beauty, 200 for Clothing).
    n_state_items : int
        Items concatenated into the state (20).
    hidden : int
        Critic hidden units (100).
    n_candidates, top_k : int
        Candidate set size (50) and number recommended (10).
    """

    item_dim: int = 100
    n_state_items: int = 20
    hidden: int = 100
    n_candidates: int = 50
    top_k: int = 10

    @classmethod
    def paper(cls) -> "TDDPGConfig":
        return cls()

    @classmethod
    def small(cls) -> "TDDPGConfig":
        return cls(item_dim=16, n_state_items=5, hidden=16, n_candidates=12, top_k=3)


def _minmax(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    lo = x.amin(dim=-1, keepdim=True)
    hi = x.amax(dim=-1, keepdim=True)
    return (x - lo) / (hi - lo + eps)


class Actor(nn.Module):
    """``Linear(n d -> d) + ReLU`` then min-max normalisation. Input (B, n d), output (B, d)."""

    def __init__(self, state_dim: int, item_dim: int) -> None:
        super().__init__()
        self.fc = nn.Linear(state_dim, item_dim)
        self.act = nn.ReLU()

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        return _minmax(self.act(self.fc(state)))


class Critic(nn.Module):
    """``ReLU(W_s s + W_a a + b)`` then ``Linear(hidden -> 1)``; W_s has no bias (the single bias b sits on W_a)."""

    def __init__(self, state_dim: int, item_dim: int, hidden: int) -> None:
        super().__init__()
        self.state_proj = nn.Linear(state_dim, hidden, bias=False)
        self.action_proj = nn.Linear(item_dim, hidden, bias=True)
        self.act = nn.ReLU()
        self.out = nn.Linear(hidden, 1)

    def forward(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.state_proj(state) + self.action_proj(action)))


class TDDPGRec(ZooModel):
    """Actor and critic of TDDPG-Rec in one module (``.actor``, ``.critic``); the op counter reports each by child.

    ``forward(state (B, n d), candidates (B, C, d))`` returns ``(policy (B, d), scores (B, C), q (B, 1))``; use
    :meth:`recommend` for the top-k candidate indices.
    """

    def __init__(self, config: TDDPGConfig) -> None:
        super().__init__(config)
        state_dim = config.item_dim * config.n_state_items
        self.actor = Actor(state_dim, config.item_dim)
        self.critic = Critic(state_dim, config.item_dim, config.hidden)

    def forward(self, state: torch.Tensor, candidates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        policy = self.actor(state)
        scores = torch.matmul(candidates, policy.unsqueeze(-1)).squeeze(-1)
        return policy, scores, self.critic(state, policy)

    def recommend(self, state: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        """Indices (B, top_k) of the recommended candidates."""
        _, scores, _ = self.forward(state, candidates)
        return scores.topk(self.config.top_k, dim=-1).indices

    def example_inputs(self, batch: int = 1, *, generator: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
        c = self.config
        return (
            self._randn(batch, c.n_state_items * c.item_dim, generator=generator),
            self._randn(batch, c.n_candidates, c.item_dim, generator=generator),
        )
