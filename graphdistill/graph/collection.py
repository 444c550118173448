"""A graph-classification dataset: its graphs, the split to use and the metric to report."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Data

from graphdistill.core.errors import UserError
from graphdistill.graph.formats import TU_MAX_DEGREE

METRICS = ("accuracy", "rocauc")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class GraphCollection:
    """Graphs for graph classification, as every graph dataset loader returns them.

    - ``graphs``: one :class:`torch_geometric.data.Data` per graph, ``x`` float32 ``(n, F)``,
      undirected ``edge_index`` int64 ``(2, e)``, ``y`` int64 ``(1,)`` (or float ``(1, T)`` for
      multi-task data), so ``torch.cat([g.y for g in graphs])`` stacks the labels.
    - ``split``: ``{"train", "val", "test"}`` → int64 indices into ``graphs`` when the dataset
      ships a split (OGB); ``None`` when it does not (TU), in which case the caller shuffles
      with seed 0 and splits 80/10/10, as DosCond does.
    - ``metric``: what to report, ``"accuracy"`` or ``"rocauc"`` (OGB's metric for ogbg-molhiv).
    - ``label_values``: where the files' class labels were remapped to ``0..C-1``, the original
      label of each class (``label_values[c]``), e.g. ``[-1, 1]`` for MUTAG; else ``None``.
    - ``name``: the registry name (``"mutag"``) when a loader made it; methods use it to pick
      their per-dataset presets.

    Checked on construction: every graph has a label; class labels are ``0..C-1`` with every
    class present (loaders remap theirs; a hand-built collection gets an error naming the labels
    it has). Graphs without node features — all of them, e.g. social networks — get the TU
    reader's default, the one-hot encoding of each node's degree with degrees above 64 sharing
    the last column (:func:`degree_features`); some graphs with features and some without, or
    feature widths that differ, are errors.

    It also behaves as a read-only sequence of its graphs (``len``, indexing, iteration).

    Example::

        mutag = load_dataset("mutag")   # GraphCollection(188 graphs, split=None, metric="accuracy")
        y = torch.cat([g.y for g in mutag])
    """

    graphs: list[Data]
    split: dict[str, Tensor] | None
    metric: str
    label_values: list[Any] | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise UserError(f"unknown metric {self.metric!r}; expected one of {', '.join(METRICS)}")
        if self.split is not None and sorted(self.split) != sorted(SPLITS):
            raise UserError(f"a split needs exactly the keys {', '.join(SPLITS)}, got {', '.join(self.split)}")
        _check_labels(self.graphs)
        featured = [g.x is not None for g in self.graphs]
        if self.graphs and not any(featured):
            object.__setattr__(self, "graphs", [degree_features(g) for g in self.graphs])
        elif not all(featured):
            raise UserError(f"graph {featured.index(False)} has no node features (x) while others have them")
        widths = {g.x.shape[1] if g.x.dim() == 2 else -1 for g in self.graphs}
        if len(widths) > 1 or -1 in widths:
            raise UserError(f"every graph needs (n, F) node features of one width F; got widths {sorted(widths)}")

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, index: int) -> Data:
        return self.graphs[index]

    def __iter__(self) -> Iterator[Data]:
        return iter(self.graphs)

    def __repr__(self) -> str:
        split = None if self.split is None else {k: len(v) for k, v in self.split.items()}
        return (f"GraphCollection({len(self.graphs)} graphs, split={split}, metric={self.metric!r}, "
                f"label_values={self.label_values})")


def degree_features(graph: Data, max_degree: int = TU_MAX_DEGREE) -> Data:
    """A copy of ``graph`` whose ``x`` is the one-hot degree of each node ((n, max_degree + 1),
    degrees above ``max_degree`` in the last column): the default node features for graphs that
    have none, as the TU reader gives featureless TU datasets."""
    degree = torch.bincount(graph.edge_index[0], minlength=graph.num_nodes).clamp(max=max_degree)
    featured = graph.clone()
    featured.x = torch.nn.functional.one_hot(degree, max_degree + 1).float()
    return featured


def _check_labels(graphs: list[Data]) -> None:
    missing = next((i for i, g in enumerate(graphs) if g.y is None), None)
    if missing is not None:
        raise UserError(f"graph {missing} has no label (y)")
    if not graphs or graphs[0].y.dtype.is_floating_point:  # multi-task targets: checked where used
        return
    classes = torch.cat([g.y.view(-1)[:1] for g in graphs]).unique()
    if classes[0] != 0 or classes[-1] != len(classes) - 1:
        shown = classes[:10].tolist()
        more = " …" if len(classes) > 10 else ""
        raise UserError(f"class labels must be 0..C-1 with every class present; got {shown}{more} "
                        "(remap them, e.g. with torch.unique(y, return_inverse=True))")
