"""Contrastive representation distillation (Tian, Krishnan & Isola, ICLR 2020)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vision.kd.registry import KD_LOSSES


@KD_LOSSES.register("crd")
class CRDLoss(nn.Module):
    """NCE between student and teacher embeddings against memory banks of past embeddings.

    Both embeddings are projected to ``feat_dim`` by a linear head and L2-normalised. Each anchor is
    contrasted with its positive and ``negatives`` other samples taken from the *other* network's
    bank, in both directions (student anchor vs teacher bank and teacher anchor vs student bank),
    with ``exp(v·w / τ) / Z`` scores, Z estimated on the first batch and kept, and the NCE
    posterior with noise 1/N. Two bank layouts:

    * ``n_data`` given (the paper's): one slot per training sample, updated with momentum
      ``bank_momentum`` for the batch's ``indices``; negatives are drawn uniformly among other
      slots; the positive is the bank entry of the sample itself.
    * ``n_data=None``: a bounded FIFO queue of the last ``queue_size`` embeddings (MoCo style, as the
      CRD author suggests for data sets too large for a bank — and the only choice for synthetic
      data, which has no sample indices); the positive is the other network's current embedding.

    Args (forward): student (B, D_s), teacher (B, D_t) features; ``indices`` (B,) for the bank layout.

    Example::

        crd = CRDLoss(student_dim=60, teacher_dim=120, n_data=None, queue_size=4096, negatives=1024)
        loss = crd(torch.randn(32, 60), torch.randn(32, 120))
    """

    def __init__(self, student_dim: int, teacher_dim: int, n_data: int | None = None, feat_dim: int = 128,
                 negatives: int = 16384, temperature: float = 0.07, bank_momentum: float = 0.5,
                 queue_size: int = 16384) -> None:
        super().__init__()
        self.embed_s = nn.Linear(student_dim, feat_dim)
        self.embed_t = nn.Linear(teacher_dim, feat_dim)
        self.n_data, self.negatives, self.temperature, self.momentum = n_data, negatives, temperature, bank_momentum
        size = n_data if n_data is not None else queue_size
        if n_data is not None and negatives >= n_data:
            raise ValueError(f"negatives ({negatives}) must be fewer than the {n_data} samples of the bank")
        stdv = 1.0 / math.sqrt(feat_dim / 3)
        self.register_buffer("bank_s", torch.rand(size, feat_dim).mul_(2 * stdv).add_(-stdv))
        self.register_buffer("bank_t", torch.rand(size, feat_dim).mul_(2 * stdv).add_(-stdv))
        self.register_buffer("filled", torch.zeros((), dtype=torch.long))  # queue entries written so far
        self.register_buffer("z", torch.full((2,), -1.0))  # normalisation constants, set on first use

    @classmethod
    def from_shapes(cls, student_shape: tuple[int, ...], teacher_shape: tuple[int, ...]) -> CRDLoss:
        """The queue layout for features of these shapes (flattened): what
        :class:`~vision.kd.objective.KDObjective` builds, as it passes no sample indices."""
        return cls(math.prod(student_shape), math.prod(teacher_shape), n_data=None)

    def forward(self, student_features: torch.Tensor, teacher_features: torch.Tensor,
                indices: torch.Tensor | None = None) -> torch.Tensor:
        v_s = F.normalize(self.embed_s(student_features.flatten(1)), dim=1)
        v_t = F.normalize(self.embed_t(teacher_features.detach().flatten(1)), dim=1)
        if self.n_data is not None:
            if indices is None:
                raise ValueError("the memory-bank layout needs the batch's sample indices; use n_data=None for a queue")
            loss = self._bank_loss(v_s, v_t, indices)
            self._update_bank(v_s.detach(), v_t.detach(), indices)
        else:
            loss = self._queue_loss(v_s, v_t)
            self._enqueue(v_s.detach(), v_t.detach())
        return loss

    def _bank_loss(self, v_s: torch.Tensor, v_t: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        b = len(indices)
        # Negatives: uniform over the other slots (shift draws at or past the positive by one).
        draws = torch.randint(0, self.n_data - 1, (b, self.negatives), device=indices.device)
        draws = draws + (draws >= indices.unsqueeze(1)).long()
        contrast = torch.cat([indices.unsqueeze(1), draws], dim=1)
        scores_t = torch.bmm(self.bank_s[contrast], v_t.unsqueeze(2)).squeeze(2)  # teacher anchor
        scores_s = torch.bmm(self.bank_t[contrast], v_s.unsqueeze(2)).squeeze(2)  # student anchor
        return self._nce(scores_s, 0) + self._nce(scores_t, 1)

    def _queue_loss(self, v_s: torch.Tensor, v_t: torch.Tensor) -> torch.Tensor:
        available = int(self.filled.clamp(max=len(self.bank_s)))
        if available == 0:
            pool_s, pool_t = self.bank_s, self.bank_t  # the random initial entries act as noise
        else:
            pool_s, pool_t = self.bank_s[:available], self.bank_t[:available]
        pick = torch.randint(0, len(pool_s), (self.negatives,), device=v_s.device)
        neg_s, neg_t = pool_s[pick], pool_t[pick]
        positive = (v_s * v_t.detach()).sum(1, keepdim=True)
        scores_s = torch.cat([positive, v_s @ neg_t.T], dim=1)
        scores_t = torch.cat([(v_t * v_s.detach()).sum(1, keepdim=True), v_t @ neg_s.T], dim=1)
        return self._nce(scores_s, 0) + self._nce(scores_t, 1)

    def _nce(self, scores: torch.Tensor, which: int) -> torch.Tensor:
        """NCE loss of (B, 1 + K) cosine scores whose first column is the positive."""
        n = self.n_data if self.n_data is not None else len(self.bank_s)
        out = torch.exp(scores / self.temperature)
        if self.z[which] < 0:
            self.z[which] = (out.detach().mean() * n).item()
        out = out / float(self.z[which])
        k, noise = out.shape[1] - 1, 1.0 / n
        eps = 1e-7
        log_pos = torch.log(out[:, 0] / (out[:, 0] + k * noise + eps))
        log_neg = torch.log((k * noise) / (out[:, 1:] + k * noise + eps))
        return -(log_pos.sum() + log_neg.sum()) / len(out)

    @torch.no_grad()
    def _update_bank(self, v_s: torch.Tensor, v_t: torch.Tensor, indices: torch.Tensor) -> None:
        for bank, v in ((self.bank_s, v_s), (self.bank_t, v_t)):
            bank[indices] = F.normalize(bank[indices] * self.momentum + v * (1 - self.momentum), dim=1)

    @torch.no_grad()
    def _enqueue(self, v_s: torch.Tensor, v_t: torch.Tensor) -> None:
        size, b = len(self.bank_s), len(v_s)
        slots = (int(self.filled) + torch.arange(b, device=v_s.device)) % size
        self.bank_s[slots], self.bank_t[slots] = v_s, v_t
        self.filled += b
