"""Node-level condensation methods: a registry and the shared front half of ``fit``.

A method subclasses :class:`NodeCondenser`, declares its hyper-parameters as a dataclass
(``Config``) and implements :meth:`NodeCondenser.condense`; registering it with
``@CONDENSERS.register("name")`` makes it available to the Python API and the CLI.

Example::

    from graphdistill.graph import load_dataset, KCenter
    result = KCenter(budget=70, seed=0).fit(load_dataset("cora"))
    result.to_data()        # Data(x=[70, 1433], y=[70], edge_index=[2, ...], source_nodes=[70])
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import torch
from torch_geometric.data import Data

from graphdistill.core.budget import Budget, allocate_per_class
from graphdistill.core.checkpoint import Checkpoint
from graphdistill.core.config import build_config
from graphdistill.core.device import resolve_device
from graphdistill.core.errors import UserError
from graphdistill.core.io import read_package_json
from graphdistill.core.registry import Registry
from graphdistill.core.seed import seed_everything
from graphdistill.graph.condensed import CondensedGraph
from graphdistill.graph.train import NodeTask

CONDENSERS: Registry[type[NodeCondenser]] = Registry("condensation method")


@dataclasses.dataclass(frozen=True)
class NoConfig:
    """Methods without hyper-parameters."""


def check_node_data(data: Data) -> None:
    """Fail early on data a node-condensation method cannot use."""
    for attr in ("x", "y", "edge_index", "train_mask", "val_mask", "test_mask"):
        if getattr(data, attr, None) is None:
            raise UserError(f"graph data lacks '{attr}'; node condensation needs features, labels, "
                            "edges and train/val/test masks")
    if not torch.isfinite(data.x).all():
        raise UserError("node features contain NaN or infinite values; clean or impute them first")
    if data.y.dim() != 1 or data.y.shape[0] != data.num_nodes:
        raise UserError(f"labels must be a ({data.num_nodes},) vector of class ids, got {tuple(data.y.shape)}")
    if int(data.train_mask.sum()) == 0:
        raise UserError("train_mask selects no node; condensation needs labelled training nodes")
    if (data.y[data.train_mask] < 0).any():
        raise UserError("some training nodes have no label (negative class id)")
    check_edge_index(data.edge_index, data.num_nodes)
    labelled = data.y[data.y >= 0].unique()
    missing = sorted(set(labelled.tolist()) - set(data.y[data.train_mask].unique().tolist()))
    if missing:
        raise UserError(f"class(es) {missing} have no training node; condensation cannot learn them — "
                        "move some labelled nodes of those classes into train_mask")


def check_edge_index(edge_index: torch.Tensor, num_nodes: int) -> None:
    """A (2, E) integer edge list whose ids are in [0, num_nodes). Self loops and duplicate edges
    are allowed: duplicates are merged when the graph is prepared (GraphInput.from_data) and a
    self loop already present is kept instead of adding one in the GCN normalisation."""
    if edge_index.dim() != 2 or edge_index.shape[0] != 2 or edge_index.is_floating_point():
        raise UserError(f"edge_index must be a (2, E) integer tensor, got {tuple(edge_index.shape)} "
                        f"of {edge_index.dtype}")
    if edge_index.numel():
        low, high = int(edge_index.min()), int(edge_index.max())
        if low < 0 or high >= num_nodes:
            bad = high if high >= num_nodes else low
            raise UserError(f"edge_index refers to node {bad} but the graph has {num_nodes} nodes "
                            f"(ids 0..{num_nodes - 1})")


class NodeCondenser(ABC):
    """Base of node-level condensation methods (transductive and inductive).

    Args:
        budget: number of condensed nodes, at most the number of training nodes.
        ratio: alternatively, a fraction in (0, 1] of ``ratio_of`` nodes.
        ratio_of: ``"train"`` (GCond's code convention) or ``"full"`` (its paper's).
        seed: seed of everything random in the method.
        device: ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``.
        **hyper: overrides of the method's ``Config`` fields.
    """

    Config: ClassVar[type] = NoConfig
    name: ClassVar[str] = ""

    def __init__(self, budget: int | None = None, *, ratio: float | None = None, ratio_of: str = "train",
                 seed: int = 0, device: str | torch.device = "auto", **hyper: Any) -> None:
        self.config = build_config(self.Config, hyper, owner=self.name or type(self).__name__)
        self.budget_arg, self.ratio, self.ratio_of = budget, ratio, ratio_of
        self.seed = seed
        self.device = resolve_device(device)

    def resolve_budget(self, data: Data) -> Budget:
        return Budget.resolve(n_train=int(data.train_mask.sum()), n_full=data.num_nodes,
                              budget=self.budget_arg, ratio=self.ratio, ratio_of=self.ratio_of)

    def resolved_config(self, data: Data) -> Any:
        """The configuration :meth:`fit` will use on ``data`` (methods with per-dataset presets
        override this)."""
        return self.config

    def plan(self, data: Data) -> tuple[Budget, torch.Tensor]:
        """Check ``data`` and the budget; return the budget and the (C,) per-class node counts.

        Cheap: call it before any long work to fail early on bad input.
        """
        check_node_data(data)
        budget = self.resolve_budget(data)
        labels = data.y[data.train_mask]
        return budget, allocate_per_class(labels, budget.size, int(data.y.max()) + 1)

    def fit(self, data: Data, *, checkpoint: Checkpoint | None = None, task: NodeTask | None = None,
            log=lambda msg: None) -> CondensedGraph:
        """Condense ``data``'s training nodes into a graph of ``budget`` nodes."""
        budget, per_class = self.plan(data)
        task = task or NodeTask(data, self.device)
        log(f"budget: {budget.describe()}; per class: {per_class.tolist()}")
        seed_everything(self.seed)
        result = self.condense(task, per_class, checkpoint=checkpoint, log=log)
        result.meta.update({"dataset": getattr(data, "name", None), "method": self.name, "budget": budget.size,
                            "seed": self.seed,
                            "per_class": per_class.tolist(), "config": dataclasses.asdict(self.config)})
        return result

    @abstractmethod
    def condense(self, task: NodeTask, per_class: torch.Tensor, *, checkpoint: Checkpoint | None,
                 log) -> CondensedGraph:
        """Build the condensed graph with ``per_class[c]`` nodes of class ``c``."""


def condenser(name: str):
    """Register a :class:`NodeCondenser` subclass under ``name`` (and record the name on it)."""

    def decorate(cls):
        cls.name = name
        return CONDENSERS.register(name)(cls)

    return decorate


def read_preset(file_name: str) -> dict[str, Any]:
    """A JSON preset shipped in ``graphdistill/graph/presets/`` (package data)."""
    return read_package_json("graphdistill.graph", "presets", file_name)
