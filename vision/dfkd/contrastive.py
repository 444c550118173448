"""CMI's contrastive term: instance discrimination of synthetic samples against a memory bank.

Contrastive Model Inversion (Fang et al., IJCAI 2021) keeps syntheses diverse by asking every new
sample to be recognisable among the samples synthesised so far. A sample's feature is the teacher's
per-sample channel means at the input of every BatchNorm layer, concatenated
(:meth:`~vision.dfkd.bn_stats.BatchNormStatistics.features`); two views are taken — a global one
(the synthesizer's shifted view) and a local one (a random-resized crop). A projection head
(Linear–ReLU–Linear, L2-normalised output) maps them to a sphere, and with anchors = local
projections of the batch and of cached past samples, positives = the matching global projections
(detached),

    L_cr = CE(anchors · positivesᵀ / τ, diagonal)

The head has its own Adam and is trained by the same loss. The bank holds (global, local) feature
pairs of past *kept* batches (a ring buffer, :class:`~vision.dfkd.pool.ImagePool`); ``negatives``
of them are drawn at each step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from graphdistill.core.errors import UserError
from vision.dfkd.pool import ImagePool


class ContrastiveBank:
    """Projection head + memory bank for CMI's contrastive loss."""

    def __init__(self, feature_dim: int, head_dim: int = 128, bank_size: int = 40960, negatives: int = 4096,
                 temperature: float = 0.1, lr: float = 1e-3, device: torch.device | str = "cpu") -> None:
        if not temperature > 0 or negatives < 1:
            raise UserError(f"contrastive temperature must be > 0 and negatives ≥ 1, got {temperature}, {negatives}")
        self.head = nn.Sequential(nn.Linear(feature_dim, feature_dim), nn.ReLU(),
                                  nn.Linear(feature_dim, head_dim)).to(device)
        self.optimizer = torch.optim.Adam(self.head.parameters(), lr=lr, betas=(0.5, 0.999))
        self.bank = ImagePool(capacity=bank_size)
        self.negatives, self.temperature, self.feature_dim = negatives, temperature, feature_dim

    def project(self, features: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.head(features), dim=1)

    def loss(self, global_features: torch.Tensor, local_features: torch.Tensor) -> torch.Tensor:
        """Instance discrimination of the batch (and cached samples): local anchors vs global positives."""
        if global_features.shape != local_features.shape or global_features.shape[1] != self.feature_dim:
            raise UserError(f"contrastive features must both be (B, {self.feature_dim}), got "
                            f"{tuple(global_features.shape)} and {tuple(local_features.shape)}")
        if len(self.bank):
            cached = self.bank.sample(min(self.negatives, len(self.bank)))
            global_features = torch.cat([global_features, cached[:, :self.feature_dim]])
            local_features = torch.cat([local_features, cached[:, self.feature_dim:]])
        anchors = self.project(local_features)
        positives = self.project(global_features).detach()
        logits = anchors @ positives.T / self.temperature
        return F.cross_entropy(logits, torch.arange(len(logits), device=logits.device))

    def step(self) -> None:
        """Apply the head's gradient from the latest backward."""
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def push(self, global_features: torch.Tensor, local_features: torch.Tensor) -> None:
        self.bank.add(torch.cat([global_features, local_features], dim=1).detach())

    def state_dict(self) -> dict:
        return {"head": self.head.state_dict(), "optimizer": self.optimizer.state_dict(),
                "bank": self.bank.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.head.load_state_dict(state["head"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.bank.load_state_dict(state["bank"], next(self.head.parameters()).device)
