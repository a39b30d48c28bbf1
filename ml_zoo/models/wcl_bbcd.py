r"""WCL-BBCD: word contrastive learning + BERT-BiLSTM-CRF for named-entity recognition, with knowledge-graph correction
(Zhou et al., arXiv:2203.06925).

No official code exists; the pipeline is from the abstract (``ml_zoo_papers.md`` §7):

1. word contrastive learning: sentence pairs, cosine similarity of words across the pair, used to fine-tune BERT
   (training only: :func:`word_contrastive_loss`);
2. tagging: the fine-tuned BERT -> BiLSTM -> emission ``Linear`` -> linear-chain CRF (:class:`CRF`, pytorch-crf
   parametrisation with start, end and transition scores);
3. post-hoc correction with DBpedia look-ups: non-neural, negligible compute, not modelled.

Paper configuration: ``bert-base-cased`` (108,310,272 parameters, the HF count), BiLSTM 256 per direction (2,101,248),
9 BIO tags (CoNLL-2003): 110,416,236 parameters, the reference's 110.42 M; T = 128 tokens.

Assumptions: LSTM size 256 per direction and T = 128 (from the reference, [est]); the word contrastive loss is an
InfoNCE over the aligned word pairs of the two sentences with cosine similarity and temperature ``tau`` (the abstract
does not give the form); ``forward`` returns the emissions; the CRF's Viterbi decoding (:meth:`WCLBBCD.decode`) is a
max-plus dynamic program of T x tags^2 additions, not MACs.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vo2neuro.ml_zoo.models._base import ZooModel
from vo2neuro.ml_zoo.models._transformer import BertEncoder

__all__ = ["WCLConfig", "CRF", "WCLBBCD", "word_contrastive_loss"]


@dataclass(frozen=True, slots=True, kw_only=True)
class WCLConfig:
    """Hyperparameters of WCL-BBCD (defaults: bert-base-cased, CoNLL-2003).

    Attributes
    ----------
    vocab, dim, layers, heads, ffn, max_positions : int
        BERT (28996, 768, 12, 12, 3072, 512).
    lstm_hidden : int
        BiLSTM size per direction (256).
    num_tags : int
        BIO tags (9 for CoNLL-2003; 37 for OntoNotes v5).
    seq_len : int
        Tokens per sentence for the example inputs (128).
    dropout : float
        BERT dropout (0.1).
    """

    vocab: int = 28996
    dim: int = 768
    layers: int = 12
    heads: int = 12
    ffn: int = 3072
    max_positions: int = 512
    lstm_hidden: int = 256
    num_tags: int = 9
    seq_len: int = 128
    dropout: float = 0.1

    @classmethod
    def paper(cls) -> "WCLConfig":
        return cls()

    @classmethod
    def small(cls) -> "WCLConfig":
        return cls(vocab=100, dim=32, layers=2, heads=2, ffn=64, max_positions=64, lstm_hidden=16, seq_len=16)


class CRF(nn.Module):
    r"""Linear-chain CRF with start, end and transition scores (pytorch-crf parametrisation).

    Score of a tag path :math:`y`: :math:`s_{y_1} + \sum_t E_{t, y_t} + \sum_{t>1} A_{y_{t-1}, y_t} + e_{y_T}`.
    Shapes: emissions (B, T, K); tags (B, T) int64; mask (B, T) bool with the first step unmasked.
    """

    def __init__(self, num_tags: int) -> None:
        super().__init__()
        self.start_transitions = nn.Parameter(torch.empty(num_tags))
        self.end_transitions = nn.Parameter(torch.empty(num_tags))
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))
        if self.transitions.device.type != "meta":
            for p in self.parameters():
                nn.init.uniform_(p, -0.1, 0.1)

    def neg_log_likelihood(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean over the batch of :math:`\\log Z - \\mathrm{score}(y)` (forward algorithm)."""
        mask = mask.bool()
        b, t, _ = emissions.shape
        ar = torch.arange(b, device=emissions.device)
        score = self.start_transitions[tags[:, 0]] + emissions[ar, 0, tags[:, 0]]
        alpha = self.start_transitions + emissions[:, 0]
        for i in range(1, t):
            m = mask[:, i]
            step = self.transitions[tags[:, i - 1], tags[:, i]] + emissions[ar, i, tags[:, i]]
            score = score + step * m
            nxt = torch.logsumexp(alpha[:, :, None] + self.transitions[None] + emissions[:, i, None, :], dim=1)
            alpha = torch.where(m[:, None], nxt, alpha)
        last = tags[ar, mask.sum(1) - 1]
        score = score + self.end_transitions[last]
        log_z = torch.logsumexp(alpha + self.end_transitions, dim=1)
        return (log_z - score).mean()

    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """Viterbi: the best tag sequence of every sentence (length = its mask sum)."""
        mask = mask.bool()
        b, t, _ = emissions.shape
        score = self.start_transitions + emissions[:, 0]
        history = []
        for i in range(1, t):
            nxt, idx = (score[:, :, None] + self.transitions[None] + emissions[:, i, None, :]).max(dim=1)
            score = torch.where(mask[:, i, None], nxt, score)
            history.append(idx)
        score = score + self.end_transitions
        lengths = mask.sum(1).tolist()
        out = []
        for k in range(b):
            best = int(score[k].argmax())
            path = [best]
            for idx in reversed(history[: lengths[k] - 1]):
                best = int(idx[k, best])
                path.append(best)
            out.append(path[::-1])
        return out


class WCLBBCD(ZooModel):
    """BERT-BiLSTM-CRF tagger: ``forward(ids (B, T) int64, mask (B, T) bool) -> emissions (B, T, num_tags)``."""

    def __init__(self, config: WCLConfig) -> None:
        super().__init__(config)
        c = config
        self.bert = BertEncoder(c.vocab, c.dim, c.layers, c.heads, c.ffn, max_positions=c.max_positions,
                                dropout=c.dropout)
        self.lstm = nn.LSTM(c.dim, c.lstm_hidden, batch_first=True, bidirectional=True)
        self.emission = nn.Linear(2 * c.lstm_hidden, c.num_tags)
        self.crf = CRF(c.num_tags)

    def encode(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """BERT token representations (B, T, dim), the features the word contrastive loss fine-tunes."""
        return self.bert(ids, mask)[0]

    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h, _ = self.lstm(self.encode(ids, mask))
        return self.emission(h)

    def loss(self, ids: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """CRF negative log-likelihood of the gold tags."""
        return self.crf.neg_log_likelihood(self.forward(ids, mask), tags, mask)

    def decode(self, ids: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """Predicted tag indices per sentence (Viterbi)."""
        return self.crf.decode(self.forward(ids, mask), mask)

    def example_inputs(self, batch: int = 1, *, generator: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
        c = self.config
        ids = self._randint(c.vocab, batch, c.seq_len, generator=generator)
        mask = torch.ones(batch, c.seq_len, dtype=torch.bool, device=self.device)
        return ids, mask


def word_contrastive_loss(h_a: torch.Tensor, h_b: torch.Tensor, pairs: torch.Tensor, *, tau: float = 0.1) -> torch.Tensor:
    r"""InfoNCE over aligned words of a sentence pair (assumed form of the WCL objective).

    For each aligned pair (i, j), word i of sentence A is pulled towards word j of sentence B and pushed from the other
    words of B: :math:`-\log \frac{\exp(\cos(a_i, b_j)/\tau)}{\sum_k \exp(\cos(a_i, b_k)/\tau)}`.

    Parameters
    ----------
    h_a, h_b : tensor (T_a, d), (T_b, d)
        Token representations of the two sentences.
    pairs : tensor (P, 2) int64
        Aligned positions (i in A, j in B).
    tau : float
        Temperature.
    """
    sim = F.normalize(h_a, dim=-1) @ F.normalize(h_b, dim=-1).t() / tau     # (T_a, T_b)
    return F.cross_entropy(sim[pairs[:, 0]], pairs[:, 1])
