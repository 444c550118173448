"""Training and scoring graph classifiers on real or condensed graph sets (DosCond's protocol).

A :class:`GraphTask` holds a graph-classification dataset prepared once: its split (the
dataset's own, as OGB ships, or — for TU datasets — all graphs shuffled once with seed 0 and
split 80/10/10 train/val/test, as DosCond does; our permutation comes from torch's generator, so
the graphs in each part differ from the reference code's numpy permutation) and the validation
and test graphs packed with their propagation operators precomputed.

Evaluation (DosCond, Jin et al., KDD 2022): a fresh 3-layer GCN (hidden 128) trained on the
given graph set with Adam (lr 1e-3; at half the epochs a fresh Adam with lr 1e-4, as the
reference code; no weight decay), minibatches of
128 graphs, 500 epochs; the epoch with the best validation score is kept and its test score
reported — accuracy, or ROC-AUC for OGB molecule sets (two-class softmax, class 1's probability
as the score).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from graphdistill.core.device import resolve_device
from graphdistill.core.errors import UserError
from graphdistill.core.evaluate import RunScore, Summary, TrainConfig, fit_select_on_val, repeat_runs
from graphdistill.graph.collection import GraphCollection
from graphdistill.graph.graph_models import GraphGCN
from graphdistill.graph.packed import PackedGraphs, gcn_propagation

SPLIT_SEED = 0
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
# DosCond's evaluator: 500 epochs, Adam 1e-3, at half a fresh Adam with lr 1e-4 (as its code).
GRAPH_TRAIN_CONFIG = TrainConfig(epochs=500, lr=1e-3, weight_decay=0.0, lr_decay_at=0.5, restart_at_decay=True)


@dataclass(frozen=True)
class GraphModelConfig:
    """The evaluation GNN (default: DosCond's GCN, 3 layers, hidden 128, mean pooling)."""

    hidden: int = 128
    num_layers: int = 3
    pooling: str = "mean"
    dropout: float = 0.0
    batch_size: int = 128

    def build(self, in_channels: int, num_classes: int) -> GraphGCN:
        return GraphGCN(in_channels, num_classes, self.hidden, self.num_layers, self.pooling, self.dropout)


def shuffled_split(num_graphs: int, seed: int = SPLIT_SEED) -> dict[str, torch.Tensor]:
    """Graph ids shuffled once with ``seed`` and cut 80/10/10 into train/val/test."""
    order = torch.randperm(num_graphs, generator=torch.Generator().manual_seed(seed))
    n_train, n_val = int(SPLIT_FRACTIONS[0] * num_graphs), int(SPLIT_FRACTIONS[1] * num_graphs)
    return {"train": order[:n_train], "val": order[n_train:n_train + n_val], "test": order[n_train + n_val:]}


def roc_auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Area under the ROC curve of binary ``labels`` ranked by ``scores`` (ties count ½): the
    Mann–Whitney statistic from average ranks. NaN when one class is absent."""
    positives = labels.bool()
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = torch.argsort(scores)
    sorted_scores = scores[order]
    ranks = torch.empty_like(scores, dtype=torch.float64)
    ranks[order] = torch.arange(1, len(scores) + 1, dtype=torch.float64, device=scores.device)
    _, inverse, counts = torch.unique_consecutive(sorted_scores, return_inverse=True, return_counts=True)
    first = torch.cumsum(counts, 0) - counts + 1  # rank of the first of each tie group
    average = (first + (counts - 1) / 2).double()
    ranks[order] = average[inverse]
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


class GraphTask:
    """A graph-classification dataset prepared for repeated training and scoring on ``device``."""

    def __init__(self, collection: GraphCollection, device: torch.device | str = "auto",
                 split_seed: int = SPLIT_SEED) -> None:
        if not len(collection):
            raise UserError("the graph collection is empty")
        if collection.graphs[0].y.dtype.is_floating_point:
            raise UserError("multi-task (float-labelled) graph datasets are not supported yet; "
                            "graph condensation here needs one class label per graph")
        self.device = resolve_device(device)
        self.metric, self.name = collection.metric, collection.name
        self.all = PackedGraphs.from_list(collection.graphs).to(self.device)
        labels = self.all.y
        if labels.min() < 0:
            raise UserError("graph labels must be 0..C-1")
        self.num_classes = int(labels.max()) + 1
        if self.metric == "rocauc" and self.num_classes != 2:
            raise UserError(f"ROC-AUC needs a binary task, got {self.num_classes} classes")
        self.num_features = self.all.x.shape[1]
        split = collection.split or shuffled_split(len(collection), split_seed)
        # select() keeps graphs in increasing id order: position i of self.train is train_ids[i]
        self.split = {k: v.sort().values for k, v in split.items()}
        self.train, self.val, self.test = (self.all.select(self.split[k].to(self.device))
                                           for k in ("train", "val", "test"))
        if min(self.val.num_graphs, self.test.num_graphs, self.train.num_graphs) == 0:
            raise UserError(f"a split part is empty ({len(collection)} graphs are too few)")
        if self.metric == "rocauc":
            for name, part in (("val", self.val), ("test", self.test)):
                if part.y.unique().numel() < 2:
                    raise UserError(f"ROC-AUC needs both classes in the {name} split, which has only class "
                                    f"{int(part.y[0])}")
        self._val_op, self._test_op = gcn_propagation(self.val), gcn_propagation(self.test)
        counts = self.all.node_counts().double()
        self.mean_nodes = max(1, round(float(counts.mean())))

    def _score(self, model: torch.nn.Module, graphs: PackedGraphs, op) -> float:
        logits = model(graphs, op)
        if self.metric == "rocauc":
            return roc_auc(torch.softmax(logits, 1)[:, 1], graphs.y)
        return float((logits.argmax(1) == graphs.y).float().mean())

    def scores(self, model: torch.nn.Module) -> dict[str, float]:
        """Validation and test score of ``model`` (eval mode, no grad)."""
        return {"val": self._score(model, self.val, self._val_op), "test": self._score(model, self.test, self._test_op)}

    def train_and_score(self, graphs: PackedGraphs, model_config: GraphModelConfig, train_config: TrainConfig,
                        seed: int, model: torch.nn.Module | None = None) -> RunScore:
        """Train a fresh GCN on ``graphs`` (minibatches of ``batch_size``), best validation epoch.
        Pass ``model`` to train a given fresh instance; it ends with its best-validation weights."""
        if model is None:
            model = model_config.build(self.num_features, self.num_classes).to(self.device)
        graphs = graphs.to(self.device)
        batch_size = model_config.batch_size
        steps = max(1, math.ceil(graphs.num_graphs / batch_size))
        if steps == 1:  # one batch holds everything: prepare its operator once
            op = gcn_propagation(graphs)

            def loss_fn(m):
                return F.cross_entropy(m(graphs, op), graphs.y)
        else:
            batches: list[torch.Tensor] = []

            def loss_fn(m):
                if not batches:
                    batches.extend(torch.randperm(graphs.num_graphs, device=self.device).split(batch_size))
                batch = graphs.select(batches.pop(0))
                return F.cross_entropy(m(batch), batch.y)

        best_epoch, best, curves = fit_select_on_val(model, loss_fn, self.scores, train_config, steps_per_epoch=steps)
        return RunScore(seed=seed, val=best["val"], test=best["test"], best_epoch=best_epoch, seconds=0.0,
                        curves=curves)

    def evaluate(self, graphs: PackedGraphs, *, runs: int = 5, seed: int = 0,
                 model_config: GraphModelConfig | None = None, train_config: TrainConfig | None = None,
                 done=(), on_run_done=None) -> Summary:
        """``runs`` fresh models trained on ``graphs``: test mean ± std."""
        model_config, train_config = model_config or GraphModelConfig(), train_config or GRAPH_TRAIN_CONFIG
        return repeat_runs(lambda s: self.train_and_score(graphs, model_config, train_config, s),
                           runs, seed, done=done, on_run_done=on_run_done)
