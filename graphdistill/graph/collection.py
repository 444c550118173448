"""A graph-classification dataset: its graphs, the split to use and the metric to report."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from torch import Tensor
from torch_geometric.data import Data

from graphdistill.core.errors import UserError

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

    It also behaves as a read-only sequence of its graphs (``len``, indexing, iteration).

    Example::

        mutag = load_dataset("mutag")   # GraphCollection(188 graphs, split=None, metric="accuracy")
        y = torch.cat([g.y for g in mutag])
    """

    graphs: list[Data]
    split: dict[str, Tensor] | None
    metric: str
    label_values: list[Any] | None = None

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise UserError(f"unknown metric {self.metric!r}; expected one of {', '.join(METRICS)}")
        if self.split is not None and sorted(self.split) != sorted(SPLITS):
            raise UserError(f"a split needs exactly the keys {', '.join(SPLITS)}, got {', '.join(self.split)}")

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
