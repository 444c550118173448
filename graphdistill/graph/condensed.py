"""The result of a node-level condensation: a small labelled graph that saves and loads itself.

Always saved with its labels (the GCond release's graphs lack them, GCond#8) and with the ids of
the real nodes it was selected from when it is a coreset.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch_geometric.data import Data

from graphdistill.core.errors import UserError
from graphdistill.core.io import load_torch, save_torch
from graphdistill.graph.graph_input import GraphInput, as_features
from graphdistill.graph.train import GraphSide

FILE_NAME = "synthetic.pt"


@dataclass
class CondensedGraph:
    """A condensed graph with N' nodes.

    Attributes:
        x: (N', F) float node features.
        y: (N',) int64 labels.
        edge_index: (2, E') int64 edges (both directions), or None for a structure-free set.
        edge_weight: (E',) float weights of ``edge_index``, or None for unit weights.
        source_nodes: (N',) int64 ids of the real nodes (coresets), or None (synthetic nodes).
        meta: free-form description (method, dataset, budget).
    """

    x: torch.Tensor
    y: torch.Tensor
    edge_index: torch.Tensor | None = None
    edge_weight: torch.Tensor | None = None
    source_nodes: torch.Tensor | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.x.shape[0]
        if self.y.shape != (n,):
            raise ValueError(f"labels must have shape ({n},), got {tuple(self.y.shape)}")
        if self.edge_index is not None and self.edge_index.numel() and int(self.edge_index.max()) >= n:
            raise ValueError("edge_index refers to a node beyond the condensed graph")

    @property
    def num_nodes(self) -> int:
        return self.x.shape[0]

    def thresholded(self, threshold: float) -> CondensedGraph:
        """The same graph without the edges of weight ≤ ``threshold`` (unweighted graphs and
        ``threshold`` ≤ 0: unchanged)."""
        if self.edge_index is None or self.edge_weight is None or threshold <= 0:
            return self
        keep = self.edge_weight > threshold
        return CondensedGraph(self.x, self.y, self.edge_index[:, keep], self.edge_weight[keep],
                              self.source_nodes, dict(self.meta))

    def graph_input(self) -> GraphInput:
        if self.edge_index is None:
            return GraphInput.identity(self.num_nodes)
        return GraphInput(self.num_nodes, self.edge_index, self.edge_weight)

    def to_side(self, device: torch.device | str = "cpu") -> GraphSide:
        """The condensed graph as the training side of an evaluation."""
        return GraphSide(as_features(self.x).to(device), self.graph_input().to(device), self.y.to(device))

    def to_data(self) -> Data:
        """As a PyG ``Data`` (``edge_weight`` set when the graph is weighted; ``meta``: source
        dataset, method, budget and seed)."""
        data = Data(x=self.x, y=self.y, edge_index=self.edge_index if self.edge_index is not None
                    else torch.empty(2, 0, dtype=torch.long))
        if self.edge_weight is not None:
            data.edge_weight = self.edge_weight
        if self.source_nodes is not None:
            data.source_nodes = self.source_nodes
        data.meta = {k: self.meta[k] for k in ("dataset", "method", "budget", "seed") if k in self.meta}
        return data

    def save(self, folder: str | os.PathLike) -> Path:
        path = Path(folder) / FILE_NAME
        save_torch(path, {
            "x": self.x.detach().cpu(), "y": self.y.cpu(),
            "edge_index": None if self.edge_index is None else self.edge_index.cpu(),
            "edge_weight": None if self.edge_weight is None else self.edge_weight.detach().cpu(),
            "source_nodes": None if self.source_nodes is None else self.source_nodes.cpu(),
            "meta": self.meta,
        })
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike) -> CondensedGraph:
        path = Path(folder) / FILE_NAME
        if not path.is_file():
            raise UserError(f"no condensed graph at {path}; is {folder} a graphdistill run folder?")
        try:
            return cls(**load_torch(path))
        except Exception as err:
            raise UserError(f"condensed graph {path} is corrupt ({err}); rerun the condensation") from err
