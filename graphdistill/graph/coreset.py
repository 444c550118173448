"""Coreset baselines: random, herding and k-center selection of training nodes.

The comparison rows of every graph-condensation paper (GCond, ICLR 2022, Table 2). Each class
``c`` keeps ``per_class[c]`` of its training nodes; the condensed graph is the subgraph of the
real graph induced by the kept nodes, with their real features and labels.

* **Random**: uniform without replacement.
* **Herding** (Welling, ICML 2009): greedily add the node that keeps the running mean of the
  selected embeddings closest to the class mean.
* **K-center** (Sener & Savarese, ICLR 2018): start from the node nearest the class mean, then
  repeatedly add the node farthest from all selected ones.

Herding and k-center embed nodes with a 2-layer GCN trained on the training graph (selected on
validation accuracy, as in the official GCond ``train_coreset.py``) and use its output logits
as the embedding; the embedding model's seed is the method's seed. Embeddings are cached in
the user cache (keyed by graph, seed and configuration).
"""

from __future__ import annotations

import dataclasses

import torch

from graphdistill.core.cache import cached_tensor, fingerprint
from graphdistill.core.coresets import herding, k_center
from graphdistill.core.errors import UserError
from graphdistill.core.evaluate import TrainConfig
from graphdistill.core.seed import derive_seed, seed_everything
from graphdistill.graph.condense import NodeCondenser, condenser
from graphdistill.graph.condensed import CondensedGraph
from graphdistill.graph.train import ModelConfig, NodeTask, induced_edges


def induced_coreset(task: NodeTask, nodes: torch.Tensor) -> CondensedGraph:
    """The subgraph of the real graph induced by ``nodes`` ((k,) real node ids), with the real
    features and labels of those nodes; ``source_nodes`` keeps the ids (sorted)."""
    nodes = nodes.sort().values.cpu()
    edge_index, edge_weight = induced_edges(task.data, nodes)
    return CondensedGraph(x=task.data.x[nodes].clone(), y=task.data.y[nodes].clone(), edge_index=edge_index,
                          edge_weight=edge_weight, source_nodes=nodes)


def _per_class_pick(task: NodeTask, per_class: torch.Tensor, pick) -> torch.Tensor:
    """Apply ``pick(class_nodes, count)`` to each class's training nodes; concat the picks."""
    labels = task.data.y[task.train_nodes]
    chosen = [pick(task.train_nodes[labels == c], int(k)) for c, k in enumerate(per_class.tolist()) if k]
    return torch.cat(chosen)


@condenser("random")
class RandomCoreset(NodeCondenser):
    """Uniformly random training nodes per class."""

    def condense(self, task, per_class, *, checkpoint, log):
        gen = torch.Generator().manual_seed(self.seed)
        return induced_coreset(task, _per_class_pick(
            task, per_class, lambda nodes, k: nodes[torch.randperm(len(nodes), generator=gen)[:k]]))


@dataclasses.dataclass(frozen=True)
class EmbeddingConfig:
    """The GCN whose outputs embed nodes for herding and k-center."""

    hidden: int = 256
    epochs: int = 600
    lr: float = 0.01
    weight_decay: float = 5e-4

    def __post_init__(self) -> None:
        if self.hidden < 1:
            raise UserError(f"hidden must be ≥ 1, got {self.hidden}")
        self.train_config()  # validates epochs, lr and weight decay now, not after minutes of work

    def train_config(self) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, lr=self.lr, weight_decay=self.weight_decay)


class _EmbeddingCoreset(NodeCondenser):
    Config = EmbeddingConfig

    def embed(self, task: NodeTask, log) -> torch.Tensor:
        """(num_nodes, C) logits of the embedding GCN; rows of non-training nodes unused.

        Cached on disk by (graph, seed, config): herding and k-center at several budgets with
        one seed train the embedding model once.
        """
        data = task.data
        weight = getattr(data, "edge_weight", None)
        tensors = [data.x, data.edge_index, data.y, data.train_mask, data.val_mask]
        key = {"what": "coreset-embedding-v1", "seed": self.seed, "config": dataclasses.asdict(self.config),
               "graph": fingerprint(*tensors, *([weight] if weight is not None else [])),
               "device": task.device.type, "torch": torch.__version__}
        return cached_tensor(key, lambda: self._train_embedding(task, log))

    def _train_embedding(self, task: NodeTask, log) -> torch.Tensor:
        cfg = self.config
        seed_everything(derive_seed(self.seed, "embedding"))
        model_cfg = ModelConfig(arch="gcn", hidden=cfg.hidden)
        train_cfg = cfg.train_config()
        model = model_cfg.build(task.num_features, task.num_classes).to(task.device)
        score = task.train_and_score(task.train_side, model_cfg, train_cfg, self.seed, model=model)
        log(f"embedding GCN: val {100 * score.val:.1f}% at epoch {score.best_epoch}")
        model.eval()
        with torch.no_grad():
            side = task.train_side
            embeddings = model(side.x, side.graph).cpu()
        if task.inductive:  # rows of the training subgraph are the training nodes, in order
            full = torch.zeros(task.data.num_nodes, embeddings.shape[1])
            full[task.train_nodes] = embeddings
            embeddings = full
        return embeddings

    def condense(self, task, per_class, *, checkpoint, log):
        emb = self.embed(task, log)
        return induced_coreset(task, _per_class_pick(
            task, per_class, lambda nodes, k: nodes[self.select(emb[nodes], k)]))

    @staticmethod
    def select(embeddings: torch.Tensor, k: int) -> torch.Tensor:
        raise NotImplementedError


@condenser("herding")
class Herding(_EmbeddingCoreset):
    """Herding selection (Welling, ICML 2009) in the embedding of a trained GCN."""

    select = staticmethod(herding)


@condenser("kcenter")
class KCenter(_EmbeddingCoreset):
    """Greedy k-center selection (Sener & Savarese, ICLR 2018) in the embedding of a trained GCN."""

    select = staticmethod(k_center)
