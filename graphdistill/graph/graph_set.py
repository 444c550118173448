"""The result of a graph-level condensation: a small labelled set of graphs that saves itself.

A :class:`CondensedGraphSet` is a list of PyG ``Data`` graphs (``x``, undirected ``edge_index``,
``y`` of shape (1,)) — discrete, so any GNN library can train on it — with the real graph ids
it was selected from when it is a coreset, and a free-form ``meta`` dict. It is saved as plain
tensors (no pickled objects) with an atomic write, and loaded back as the same graphs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch_geometric.data import Data

from graphdistill.core.errors import UserError
from graphdistill.core.io import load_torch, save_torch
from graphdistill.graph.packed import PackedGraphs

FILE_NAME = "graphs.pt"


@dataclass
class CondensedGraphSet:
    """Condensed (or selected) graphs for graph classification.

    Attributes:
        graphs: one ``Data`` per graph with ``x`` (n, F), ``edge_index`` (2, e) and ``y`` (1,).
        source_ids: (G,) ids of the real graphs (coresets), or None for synthetic graphs.
        meta: description (method, dataset, graphs per class, seed, losses, timings).
    """

    graphs: list[Data]
    source_ids: torch.Tensor | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.graphs:
            raise UserError("a condensed graph set needs at least one graph")

    @property
    def labels(self) -> torch.Tensor:
        return torch.cat([g.y.view(-1)[:1] for g in self.graphs])

    def packed(self) -> PackedGraphs:
        return PackedGraphs.from_list(self.graphs)

    def save(self, folder: str | os.PathLike) -> Path:
        path = Path(folder) / FILE_NAME
        save_torch(path, {
            "x": [g.x.detach().cpu() for g in self.graphs],
            "edge_index": [g.edge_index.cpu() for g in self.graphs],
            "y": [g.y.cpu() for g in self.graphs],
            "source_ids": None if self.source_ids is None else self.source_ids.cpu(),
            "meta": self.meta,
        })
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike) -> CondensedGraphSet:
        path = Path(folder) / FILE_NAME
        if not path.is_file():
            raise UserError(f"no condensed graph set at {path}; is {folder} a graphdistill run folder?")
        try:
            state = load_torch(path)
            graphs = [Data(x=x, edge_index=e, y=y) for x, e, y in
                      zip(state["x"], state["edge_index"], state["y"], strict=True)]
            return cls(graphs, state["source_ids"], state["meta"])
        except Exception as err:
            raise UserError(f"condensed graph set {path} is corrupt ({err}); rerun the condensation") from err


def dense_to_graphs(x: torch.Tensor, adj: torch.Tensor, y: torch.Tensor,
                    sizes: torch.Tensor | None = None) -> list[Data]:
    """(G, n, F) features, (G, n, n) 0/1 symmetric adjacency and (G,) labels → G ``Data``;
    ``sizes`` (G,), optional: graph g keeps its first ``sizes[g]`` nodes (the rest is padding)."""
    sizes = torch.full(y.shape, x.shape[1]) if sizes is None else sizes.cpu()
    graphs = []
    for features, a, label, size in zip(x.detach().cpu(), adj.detach().cpu(), y.cpu(), sizes.tolist(), strict=True):
        edge_index = a[:size, :size].nonzero().t().contiguous()
        graphs.append(Data(x=features[:size].clone(), edge_index=edge_index, y=label.view(1).long()))
    return graphs
