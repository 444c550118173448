"""Graph-classification GNNs over :class:`~graphdistill.graph.packed.PackedGraphs`.

:class:`GraphGCN` is the model of DosCond's experiments (Jin et al., KDD 2022): GCN layers
(Kipf & Welling, ICLR 2017) with ReLU, a readout that pools each graph's node embeddings (mean;
sum for molecule benchmarks), and a linear classifier. Edge weights enter the degrees and the
messages, so the same model runs on real graphs and on DosCond's relaxed synthetic adjacency.

Example::

    model = GraphGCN(num_features, num_classes)            # 3 layers, hidden 128, mean pooling
    logits = model(PackedGraphs.from_list(graphs))        # (G, C)
"""

from __future__ import annotations

import torch
from torch import nn

from graphdistill.core.errors import UserError
from graphdistill.graph.models import dropout as _dropout
from graphdistill.graph.packed import PackedGraphs, Propagation, gcn_propagation

POOLINGS = ("mean", "sum")


class GraphGCN(nn.Module):
    """``num_layers`` GCN layers of width ``hidden`` (ReLU after each), a ``pooling`` readout and
    a linear classifier — the architecture of DosCond's ``models_gcn.GCN`` (no normalisation),
    initialised as there (Glorot GCN weights, zero biases; default ``nn.Linear`` head)."""

    def __init__(self, in_channels: int, num_classes: int, hidden: int = 128, num_layers: int = 3,
                 pooling: str = "mean", dropout: float = 0.0) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise UserError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        widths = [in_channels] + [hidden] * num_layers
        self.convs = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
        self.head = nn.Linear(hidden, num_classes)
        self.pooling, self.dropout = pooling, dropout
        for conv in self.convs:  # GCN layers start as PyG's GCNConv: Glorot weights, zero bias
            nn.init.xavier_uniform_(conv.weight)
            nn.init.zeros_(conv.bias)

    def embed(self, graphs: PackedGraphs, propagation: Propagation | None = None) -> torch.Tensor:
        """(G, hidden) pooled graph embeddings; pass ``propagation`` to reuse a prepared operator."""
        op = propagation or gcn_propagation(graphs)
        h = op.x
        for conv in self.convs:
            h = _dropout(h, self.dropout, self.training)
            h = torch.relu(op(h @ conv.weight.t()) + conv.bias)
        return op.pool(h, self.pooling == "mean")

    def forward(self, graphs: PackedGraphs, propagation: Propagation | None = None) -> torch.Tensor:
        return self.head(self.embed(graphs, propagation))
