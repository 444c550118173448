"""Learned structure of a synthetic graph as a function of its node features.

GCond (Jin et al., ICLR 2022, Sec. 3.2) parameterises the synthetic adjacency with a small MLP
over pairs of node features, the "PGE"::

    A'_ij = sigmoid( (MLP([x_i ; x_j]) + MLP([x_j ; x_i])) / 2 ),   A'_ii = 0

so that structure follows features and the number of parameters does not grow with N'².

Implementation: the first layer of the MLP acting on a concatenation is a sum of two linear
maps, ``W [x_i ; x_j] = W_a x_i + W_b x_j``, so it is applied to the N' nodes (two N'×d
products) and broadcast to the N'² pairs, instead of to N'² rows of width 2d — for Cora (d =
1433) that is 70× less work in the widest layer. Batch normalisation always normalises over
all N'² pairs (the reference leaves it in training mode at inference too, and the pairs are the
whole population), so the adjacency is a deterministic function of the features.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PairwiseStructure(nn.Module):
    """GCond's PGE: (N', d) features → (N', N') symmetric adjacency with entries in (0, 1) and a
    zero diagonal.

    Args:
        in_channels: feature dimension d.
        hidden: width of the hidden layers (GCond: 128; 256 for ogbn-arxiv, Flickr, Reddit).
        num_layers: linear layers, ≥ 2 (GCond: 3), each but the last followed by BatchNorm
            (over all pairs) and ReLU.
    """

    def __init__(self, in_channels: int, hidden: int = 128, num_layers: int = 3) -> None:
        super().__init__()
        if num_layers < 2:
            raise ValueError(f"the pair scorer needs ≥ 2 layers, got {num_layers}")
        self.first_self = nn.Linear(in_channels, hidden)
        self.first_other = nn.Linear(in_channels, hidden, bias=False)
        self.norms = nn.ModuleList(nn.BatchNorm1d(hidden, track_running_stats=False)
                                   for _ in range(num_layers - 1))
        self.hidden_layers = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(num_layers - 2))
        self.out = nn.Linear(hidden, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``nn.Linear``'s default initialisation of the one (2d → hidden) first layer that the
        two halves stand for: uniform in ±1/sqrt(2d); the other layers keep their defaults."""
        bound = (2 * self.first_self.in_features) ** -0.5
        for tensor in (self.first_self.weight, self.first_self.bias, self.first_other.weight):
            nn.init.uniform_(tensor, -bound, bound)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """(N', N') unsymmetrised logits: entry (i, j) scores the ordered pair (x_i, x_j)."""
        n = x.shape[0]
        h = (self.first_self(x)[:, None, :] + self.first_other(x)[None, :, :]).reshape(n * n, -1)
        h = F.relu(self.norms[0](h))
        for layer, norm in zip(self.hidden_layers, self.norms[1:], strict=True):
            h = F.relu(norm(layer(h)))
        return self.out(h).view(n, n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.scores(x)
        adj = torch.sigmoid((logits + logits.t()) / 2)
        return adj * (1 - torch.eye(len(adj), dtype=adj.dtype, device=adj.device))
