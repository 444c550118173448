"""Training and scoring node classifiers on real or condensed graphs (the GCond protocol).

A :class:`NodeTask` holds the real graph prepared once — features (CSR when sparse), normalised
operators and the validation/test sides. Transductive datasets validate and test on the full
graph; inductive ones (Flickr, Reddit) on their validation and test subgraphs, as GCond does
(REFERENCE 2.0). Models trained on any graph — the whole training graph, an induced coreset
subgraph or a synthetic graph — are scored through the same task.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.utils import subgraph

from graphdistill.core.device import resolve_device
from graphdistill.core.evaluate import RunScore, Summary, TrainConfig, fit_select_on_val, repeat_runs
from graphdistill.graph.graph_input import GraphInput, as_features
from graphdistill.graph.models import build_model


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of the evaluation model (default: GCond's 2-layer GCN, hidden 256)."""

    arch: str = "gcn"
    hidden: int = 256
    num_layers: int = 2
    dropout: float = 0.5

    def build(self, in_channels: int, num_classes: int) -> torch.nn.Module:
        kwargs = {"hidden": self.hidden, "num_layers": self.num_layers, "dropout": self.dropout}
        if self.arch == "sgc":
            kwargs = {"K": self.num_layers}
        return build_model(self.arch, in_channels, num_classes, **kwargs)


@dataclass
class GraphSide:
    """Features, structure and labels of one graph the task trains or scores on."""

    x: torch.Tensor
    graph: GraphInput
    y: torch.Tensor
    mask: torch.Tensor | None = None  # nodes whose labels count; None = all


def induced_edges(data: Data, nodes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Edges (2, E') and weights (E',) or None of the subgraph induced by sorted ``nodes`` (k,),
    relabelled 0..k-1."""
    return subgraph(nodes, data.edge_index, getattr(data, "edge_weight", None), relabel_nodes=True,
                    num_nodes=data.num_nodes)


def induced(data: Data, nodes: torch.Tensor, device: torch.device) -> GraphSide:
    """The subgraph induced by ``nodes`` (sorted (k,) int64) as a side on ``device``."""
    edge_index, edge_weight = induced_edges(data, nodes)
    graph = GraphInput(len(nodes), edge_index.to(device),
                       None if edge_weight is None else edge_weight.to(device))
    return GraphSide(as_features(data.x[nodes]).to(device), graph, data.y[nodes].to(device))


class NodeTask:
    """The real graph prepared for repeated evaluation on ``device``."""

    def __init__(self, data: Data, device: torch.device | str = "auto") -> None:
        self.data = data
        self.device = resolve_device(device)
        self.num_features = data.num_features
        self.num_classes = int(data.y.max()) + 1
        self.inductive = bool(getattr(data, "inductive", False))
        self.train_nodes = data.train_mask.nonzero().view(-1)
        if self.inductive:
            self.train_side = induced(data, self.train_nodes, self.device)
            self.val_side = induced(data, data.val_mask.nonzero().view(-1), self.device)
            self.test_side = induced(data, data.test_mask.nonzero().view(-1), self.device)
        else:
            full = GraphSide(as_features(data.x).to(self.device), GraphInput.from_data(data).to(self.device),
                             data.y.to(self.device))
            self.full = full
            self.train_side = GraphSide(full.x, full.graph, full.y, data.train_mask.to(self.device))
            self.val_mask = data.val_mask.to(self.device)
            self.test_mask = data.test_mask.to(self.device)

    def scores(self, model: torch.nn.Module) -> dict[str, float]:
        """Validation and test accuracy of ``model`` (call in eval mode, under no_grad): on the
        full graph's masks (transductive) or the val/test subgraphs (inductive)."""
        if self.inductive:
            return {"val": _accuracy(model, self.val_side), "test": _accuracy(model, self.test_side)}
        pred = model(self.full.x, self.full.graph).argmax(1)
        correct = pred == self.full.y
        return {"val": float(correct[self.val_mask].float().mean()),
                "test": float(correct[self.test_mask].float().mean())}

    def train_and_score(self, side: GraphSide, model_config: ModelConfig, train_config: TrainConfig,
                        seed: int, model: torch.nn.Module | None = None) -> RunScore:
        """Train a fresh model on ``side`` and score it at its best-validation epoch.

        Pass ``model`` to train a given (fresh) instance; it ends with its best-validation weights.
        """
        if model is None:
            model = model_config.build(self.num_features, self.num_classes).to(self.device)

        def loss_fn(m):
            out = m(side.x, side.graph)
            if side.mask is not None:
                return F.cross_entropy(out[side.mask], side.y[side.mask])
            return F.cross_entropy(out, side.y)

        best_epoch, best, curves = fit_select_on_val(model, loss_fn, self.scores, train_config)
        return RunScore(seed=seed, val=best["val"], test=best["test"], best_epoch=best_epoch,
                        seconds=0.0, curves=curves)

    def evaluate(self, side: GraphSide, *, runs: int = 5, seed: int = 0,
                 model_config: ModelConfig | None = None, train_config: TrainConfig | None = None,
                 done=(), on_run_done=None, progress=lambda it: it) -> Summary:
        """``runs`` fresh models trained on ``side``: test accuracy mean ± std (defaults: GCond's
        evaluator, a 2-layer GCN trained 600 epochs)."""
        model_config, train_config = model_config or ModelConfig(), train_config or TrainConfig()
        return repeat_runs(
            lambda s: self.train_and_score(side, model_config, train_config, s),
            runs, seed, done=done, on_run_done=on_run_done, progress=progress,
        )


def _accuracy(model: torch.nn.Module, side: GraphSide) -> float:
    return float((model(side.x, side.graph).argmax(1) == side.y).float().mean())


def config_dict(*configs) -> dict:
    out: dict = {}
    for cfg in configs:
        out.update(asdict(cfg))
    return out
