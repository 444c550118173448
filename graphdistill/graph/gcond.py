"""GCond, GCond-X and one-step GCond: node-level graph condensation by gradient matching.

* **GCond** (Jin, Zhao, Zhang, Liu, Tang & Shah, "Graph Condensation for Graph Neural
  Networks", ICLR 2022): learn synthetic features X' and a feature-driven structure A' = PGE(X')
  (:class:`~graphdistill.graph.structure.PairwiseStructure`) so that a GNN's per-class gradients
  on (X', A') match those on the real graph, over fresh initialisations and along training on
  the synthetic graph. Structure and features are updated in alternating phases (per cycle of
  ``cycle`` epochs, the first ``structure_epochs`` update the PGE, the rest X').
* **GCond-X**: the structure-free variant — A' = I while condensing and when training on the
  result (the real side keeps its graph).
* **One-step GCond** (the node-classification setting of DosCond; Jin et al., "Condensing
  Graphs via One-Step Gradient Matching", KDD 2022): one matching step per fresh model, no inner
  training — gradients at initialisation only.

Matching runs on the shared, modality-agnostic core (:mod:`graphdistill.core.matching`). The
matching model is SGC (K = 2, GCond's ``--sgc 1``) or a GCN. With SGC the real graph's
propagation Â^K X is precomputed once, so a real gradient costs one small dense product; the
reference code re-samples and re-propagates neighbourhoods for every class at every step. Real
gradients use each class's training nodes exactly (up to ``batch_per_class`` sampled per class
and step, GCond's 256) through the full propagation rather than the reference's sampled [10, 5]
neighbourhoods — the quantity those samples estimate.

Per-dataset settings (loops, learning rates, epochs) live in ``presets/gcond.json`` and are
applied by dataset name; anything passed explicitly wins. Example::

    from graphdistill.graph import GCond, load_dataset
    result = GCond(budget=70, seed=0).fit(load_dataset("cora"))
    result.to_data()   # Data(x=[70, 1433], edge_index=[2, E], edge_weight=[E], y=[70])
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data

from graphdistill.core.checkpoint import Checkpoint
from graphdistill.core.config import build_config, require_at_least
from graphdistill.core.errors import UserError
from graphdistill.core.evaluate import TrainConfig
from graphdistill.core.matching import DISTANCES, match_epoch
from graphdistill.core.optim import adam
from graphdistill.core.seed import derive_seed
from graphdistill.core.selection import ValidationSelection
from graphdistill.graph.condense import NodeCondenser, condenser, read_preset
from graphdistill.graph.condensed import CondensedGraph
from graphdistill.graph.graph_input import GraphInput
from graphdistill.graph.models import build_model
from graphdistill.graph.sampling import sampled_propagation
from graphdistill.graph.structure import PairwiseStructure
from graphdistill.graph.train import ModelConfig, NodeTask

MATCHING_MODELS = ("sgc", "gcn")
STRUCTURES = ("pge", "none")


@dataclasses.dataclass(frozen=True)
class NodeCondensationConfig:
    """Settings every learned node condensation shares (GCond's loop; GCDM reuses it).

    Attributes:
        epochs: condensation epochs; each starts from freshly initialised network(s).
        lr_feat, lr_adj: Adam learning rates of X' and of the PGE.
        hops: number of propagation layers of the network that embeds/matches (K of SGC).
        hidden: width of its hidden layers.
        structure: ``"pge"`` (learned A') or ``"none"`` (A' = I: the -X variants).
        pge_hidden, pge_layers: size of the PGE.
        cycle, structure_epochs: alternation — epochs with ``epoch % cycle < structure_epochs``
            update the PGE, the others X' (GCond: 50 and 10).
        batch_per_class: real training nodes sampled per class and step (all if fewer).
        threshold: adjacency entries ≤ this are dropped from the saved graph (GCond's ε = 0.01).
        checkpoint_every: epochs between checkpoints of an interrupted condensation.
        eval_every: every this many epochs (0: never) train one evaluation GCN on the current
            condensed graph and record its validation accuracy (the curve in the report).
        select: ``"last"`` returns the graph of the last epoch; ``"val"`` the one with the best
            validation accuracy among those evaluated every ``eval_every`` epochs (model selection
            on validation nodes only, as GCond's evaluator does for its GCN — never on test).
    """

    epochs: int = 600
    lr_feat: float = 1e-4
    lr_adj: float = 1e-4
    hops: int = 2
    hidden: int = 256
    structure: str = "pge"
    pge_hidden: int = 128
    pge_layers: int = 3
    cycle: int = 50
    structure_epochs: int = 10
    batch_per_class: int = 256
    threshold: float = 0.01
    checkpoint_every: int = 50
    eval_every: int = 0
    select: str = "last"

    def __post_init__(self) -> None:
        require_at_least(self, 1, "epochs", "hops", "hidden", "pge_hidden", "cycle", "batch_per_class",
                         "checkpoint_every")
        if self.structure_epochs < 0 or self.eval_every < 0:
            raise UserError("structure_epochs and eval_every must be ≥ 0")
        if self.pge_layers < 2:
            raise UserError(f"pge_layers must be ≥ 2, got {self.pge_layers}")
        for name in ("lr_feat", "lr_adj", "threshold"):
            if getattr(self, name) < 0:
                raise UserError(f"{name} must be ≥ 0, got {getattr(self, name)}")
        if self.structure not in STRUCTURES:
            raise UserError(f"structure must be one of {STRUCTURES}, got {self.structure!r}")
        if self.select not in ("last", "val"):
            raise UserError(f"select must be 'last' or 'val', got {self.select!r}")
        if self.select == "val" and not self.eval_every:
            raise UserError("select='val' needs eval_every > 0 (how often to evaluate on validation)")

    def updates_structure(self, epoch: int) -> bool:
        return self.structure == "pge" and epoch % self.cycle < self.structure_epochs


@dataclasses.dataclass(frozen=True)
class GCondConfig(NodeCondensationConfig):
    """Hyper-parameters of GCond and its variants (defaults: GCond's generic settings; the
    per-dataset presets of the paper's scripts override them). Besides the shared
    :class:`NodeCondensationConfig` fields:

    Attributes:
        outer: matching updates per epoch.
        inner: training steps of the matching model on the synthetic graph between updates.
        lr_model: Adam learning rate of the inner training.
        matching_model: ``"sgc"`` (linear, K = ``hops`` propagations) or ``"gcn"``.
        distance: gradient distance (``layerwise``, ``mse``, ``cosine``).
        real_fanouts: ``None`` (default): real gradients through the exact propagation Â^K X.
            A list of K fan-outs (GCond's code: ``[10, 5]``, nearest hop first): each step
            estimates it on freshly sampled neighbourhoods instead (SGC matching only;
            :mod:`graphdistill.graph.sampling`).
        smoothness: weight α of GCond's optional smoothness regulariser α·tr(Y'ᵀ L̃ Y') of the
            labels over the synthetic graph (L̃ the normalised Laplacian of A').
    """

    outer: int = 20
    inner: int = 10
    lr_model: float = 0.01
    matching_model: str = "sgc"
    distance: str = "layerwise"
    real_fanouts: tuple[int, ...] | None = None
    smoothness: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        require_at_least(self, 1, "outer")
        if self.inner < 0:
            raise UserError("inner must be ≥ 0")
        if self.real_fanouts is not None:
            if not isinstance(self.real_fanouts, (list, tuple)):
                raise UserError(f"real_fanouts must be a list of fan-outs, e.g. [10, 5]; got {self.real_fanouts!r}")
            object.__setattr__(self, "real_fanouts", tuple(int(f) for f in self.real_fanouts))
            if len(self.real_fanouts) != self.hops or min(self.real_fanouts) < 1:
                raise UserError(f"real_fanouts needs {self.hops} fan-outs ≥ 1 (one per hop), got {self.real_fanouts}")
            if self.matching_model != "sgc":
                raise UserError("real_fanouts is implemented for the SGC matching model only")
        for name in ("lr_model", "smoothness"):
            if getattr(self, name) < 0:
                raise UserError(f"{name} must be ≥ 0, got {getattr(self, name)}")
        if self.matching_model not in MATCHING_MODELS:
            raise UserError(f"matching_model must be one of {MATCHING_MODELS}, got {self.matching_model!r}")
        DISTANCES.get(self.distance)  # unknown names fail here, with suggestions


def load_presets(method: str) -> dict[str, dict[str, Any]]:
    """Per-dataset hyper-parameters of ``method`` from ``presets/gcond.json``."""
    return read_preset("gcond.json")[method]


def preset_for(method: str, data: Data) -> dict[str, Any]:
    """The preset of ``method`` for ``data``: the setting's default ("transductive" or
    "inductive") updated with the dataset's own entry, if any."""
    presets = load_presets(method)
    setting = "inductive" if getattr(data, "inductive", False) else "transductive"
    values = dict(presets.get(setting, {}))
    values.update(presets.get(f"{getattr(data, 'name', '')}", {}))
    values.update(presets.get(f"{getattr(data, 'name', '')}/{setting}", {}))
    return values


# ---------------------------------------------------------------------------------------------
# The two sides of the matching problem


class _SGCMatching:
    """SGC (Wu et al., ICML 2019) as matching model: logits = (Â^K X) W + b. The real side's
    Â^K X is computed once, for the training nodes only — or, with ``fanouts``, estimated on
    neighbourhoods sampled afresh at every step (GCond's reference behaviour)."""

    def __init__(self, x: torch.Tensor, graph: GraphInput, nodes: torch.Tensor, hops: int,
                 num_classes: int, fanouts: tuple[int, ...] | None = None,
                 generator: torch.Generator | None = None) -> None:
        self.hops, self.num_classes = hops, num_classes
        x = x.to_dense() if x.layout != torch.strided else x
        self.fanouts, self.generator = fanouts, generator
        if fanouts is None:
            self.real_features = self.propagate(x, graph)[nodes]
        else:
            self.x, self.operator, self.nodes = x, graph.gcn_operator(), nodes

    def propagate(self, x: torch.Tensor, graph: GraphInput | None) -> torch.Tensor:
        if graph is None:  # structure-free: Â = I
            return x
        op = graph.gcn_operator()
        for _ in range(self.hops):
            x = op @ x
        return x

    def new_model(self) -> nn.Module:
        features = self.real_features if self.fanouts is None else self.x
        return nn.Linear(features.shape[1], self.num_classes).to(features.device)

    def real_logits(self, model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        if self.fanouts is None:
            return model(self.real_features[batch])
        return model(sampled_propagation(self.operator, self.x, self.nodes[batch], self.fanouts, self.generator))

    def synthetic_inputs(self, x: torch.Tensor, graph: GraphInput) -> torch.Tensor:
        return self.propagate(x, graph)

    def synthetic_logits(self, model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
        return model(inputs)


class _GCNMatching:
    """A GCN (no dropout) as matching model; the real side is the full real graph."""

    vectorize_real = False  # the real graph's sparse products have no batched backward

    def __init__(self, x: torch.Tensor, graph: GraphInput, nodes: torch.Tensor, hops: int,
                 num_classes: int, hidden: int) -> None:
        self.x, self.graph, self.nodes = x, graph, nodes
        self.hops, self.hidden, self.num_classes = hops, hidden, num_classes
        self._no_edges: GraphInput | None = None

    def new_model(self) -> nn.Module:
        return build_model("gcn", self.x.shape[1], self.num_classes, hidden=self.hidden,
                           num_layers=self.hops, dropout=0.0).to(self.x.device)

    def real_logits(self, model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        return model(self.x, self.graph)[self.nodes[batch]]

    def synthetic_inputs(self, x: torch.Tensor, graph: GraphInput | None):
        if graph is None:  # structure-free: Â = I, dense (batched backward needs dense products)
            if self._no_edges is None or self._no_edges.num_nodes != len(x):
                self._no_edges = GraphInput.from_dense(torch.zeros(len(x), len(x), device=x.device))
            graph = self._no_edges  # built once: its normalised operator is cached
        return x, graph

    def synthetic_logits(self, model: nn.Module, inputs) -> torch.Tensor:
        return model(*inputs)


def sample_per_class(labels: torch.Tensor, take: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Indices of ``take[c]`` random items of each class c (all of them when fewer), grouped by
    class — in one vectorised pass: sort by (class, random key), keep the ranks below ``take``."""
    keys = torch.rand(len(labels), generator=generator, device=labels.device, dtype=torch.float64)
    order = torch.argsort(labels.double() + keys)
    sorted_labels = labels[order]
    counts = torch.bincount(labels, minlength=len(take))
    rank = torch.arange(len(order), device=order.device) - (torch.cumsum(counts, 0) - counts)[sorted_labels]
    return order[rank < take[sorted_labels]]


class _ClassBatches:
    """Per step, up to ``cap`` random training nodes of every class (all when fewer)."""

    def __init__(self, labels: torch.Tensor, num_classes: int, cap: int, generator: torch.Generator) -> None:
        self.labels, self.num_classes, self.generator = labels, num_classes, generator
        self.take = torch.full((num_classes,), cap, device=labels.device)
        self.everything = bool((torch.bincount(labels, minlength=num_classes) <= cap).all())
        self.all_nodes = torch.arange(len(labels), device=labels.device)

    def draw(self) -> torch.Tensor:
        if self.everything:
            return self.all_nodes
        return sample_per_class(self.labels, self.take, self.generator)


def class_means(per_item: torch.Tensor, classes: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(num_classes,) mean of ``per_item`` (n,) over the items of each class (0 for none)."""
    sums = per_item.new_zeros(num_classes).index_add(0, classes, per_item)
    counts = torch.bincount(classes, minlength=num_classes).clamp(min=1)
    return sums / counts


class SyntheticGraph(nn.Module):
    """Learnable features X' (N', d), fixed labels y' (sorted by class) and, unless
    structure-free, the PGE that maps X' to A'."""

    def __init__(self, features: torch.Tensor, labels: torch.Tensor, structure: PairwiseStructure | None) -> None:
        super().__init__()
        self.x = nn.Parameter(features.clone())
        self.register_buffer("y", labels.clone())
        self.structure = structure

    def graph(self) -> GraphInput | None:
        """The current structure, differentiable when grad is enabled: dense A', or None for
        the structure-free variant (A' = I)."""
        if self.structure is None:
            return None
        return GraphInput.from_dense(self.structure(self.x))


class _NodeMatchingProblem:
    """The :class:`~graphdistill.core.matching.MatchingProblem` of node condensation."""

    def __init__(self, arch, synthetic: SyntheticGraph, real_labels: torch.Tensor, classes: torch.Tensor,
                 batches: _ClassBatches) -> None:
        self.arch, self.synthetic, self.real_labels = arch, synthetic, real_labels
        self.classes, self.batches = classes, batches
        self.num_classes = batches.num_classes
        self.vectorize_real = getattr(arch, "vectorize_real", True)
        self._graph: GraphInput | None = None

    def current_graph(self) -> GraphInput | None:
        """A' for the current synthetic parameters, built once and shared by the inner phase
        (detached) and the next matching step (with its autograd graph): A' does not depend on
        the matching model, so this saves one PGE pass per outer step at no change in result."""
        if self._graph is None:
            self._graph = self.synthetic.graph()
        return self._graph

    def synthetic_changed(self) -> None:
        """Call after every update of the synthetic parameters."""
        self._graph = None

    def new_model(self) -> nn.Module:
        return self.arch.new_model()

    def real_class_losses(self, model: nn.Module) -> torch.Tensor:
        batch = self.batches.draw()
        labels = self.real_labels[batch]
        per_node = F.cross_entropy(self.arch.real_logits(model, batch), labels, reduction="none")
        return class_means(per_node, labels, self.num_classes)[self.classes]

    def synthetic_class_losses(self, model: nn.Module) -> torch.Tensor:
        inputs = self.arch.synthetic_inputs(self.synthetic.x, self.current_graph())
        y = self.synthetic.y
        per_node = F.cross_entropy(self.arch.synthetic_logits(model, inputs), y, reduction="none")
        return class_means(per_node, y, self.num_classes)[self.classes]

    def inner_objective(self):
        graph = self.current_graph()
        if graph is not None:
            graph = GraphInput.from_dense(graph.dense_adj.detach())
        with torch.no_grad():
            inputs = self.arch.synthetic_inputs(self.synthetic.x, graph)
        y = self.synthetic.y
        return lambda model: F.cross_entropy(self.arch.synthetic_logits(model, inputs), y)


def label_smoothness(adj: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """tr(Yᵀ L̃ Y) with L̃ = D^-1/2 (D − A) D^-1/2 (degrees + 1e-8, as GCond's code): small when
    edges join nodes of the same class."""
    onehot = F.one_hot(labels, num_classes).to(adj.dtype)
    adj = (adj + adj.t()) / 2
    deg = adj.sum(1)
    inv_sqrt = (deg + 1e-8).pow(-0.5)
    laplacian = inv_sqrt[:, None] * (torch.diag(deg) - adj) * inv_sqrt[None, :]
    return torch.trace(onehot.t() @ laplacian @ onehot)


class NodeRun:
    """The state of one learned node condensation — synthetic graph, optimisers, random
    streams, curves — shared by GCond and GCDM; subclasses define ``train_epoch``.
    ``state_dict`` / ``load_state_dict`` make a run resumable exactly."""

    def __init__(self, cfg: NodeCondensationConfig, task: NodeTask, per_class: torch.Tensor,
                 synthetic: SyntheticGraph, seed: int) -> None:
        self.cfg, self.synthetic = cfg, synthetic
        self.generator = torch.Generator(device=task.device).manual_seed(derive_seed(seed, "real-batches"))
        self.classes = per_class.nonzero().view(-1)
        self.class_weights = per_class[self.classes].float() / per_class.max()
        self.opt_feat = adam([synthetic.x], lr=cfg.lr_feat)
        self.opt_adj = adam(synthetic.structure.parameters(), lr=cfg.lr_adj) if synthetic.structure else None
        self.epoch, self.losses = 0, []
        self.selection = ValidationSelection(keep_best=cfg.select == "val")

    def phase_optimizer(self) -> torch.optim.Optimizer:
        """Unfreeze the side this epoch updates (PGE or X', by the alternation schedule) and
        return its optimiser; the frozen side needs no gradient."""
        structure_phase = self.cfg.updates_structure(self.epoch)
        self.synthetic.x.requires_grad_(not structure_phase)
        if self.synthetic.structure is not None:
            self.synthetic.structure.requires_grad_(structure_phase)
        return self.opt_adj if structure_phase else self.opt_feat

    def train_epoch(self) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "losses": self.losses, "val_curve": self.selection.curve,
                "best": self.selection.best,
                "synthetic": self.synthetic.state_dict(), "opt_feat": self.opt_feat.state_dict(),
                "opt_adj": None if self.opt_adj is None else self.opt_adj.state_dict(),
                "rng": torch.get_rng_state(), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.synthetic.load_state_dict(state["synthetic"])
        self.opt_feat.load_state_dict(state["opt_feat"])
        if self.opt_adj is not None:
            self.opt_adj.load_state_dict(state["opt_adj"])
        torch.set_rng_state(state["rng"])
        self.generator.set_state(state["generator"])
        self.epoch, self.losses = state["epoch"], state["losses"]
        self.selection.curve, self.selection.best = state["val_curve"], state["best"]

    def record_validation(self, epoch: int, val: float) -> None:
        self.selection.record(epoch, val, self.synthetic)


class _GCondRun(NodeRun):
    """GCond's epoch: gradient matching on the core (:func:`~graphdistill.core.matching.match_epoch`)."""

    def __init__(self, cfg: GCondConfig, task: NodeTask, per_class: torch.Tensor, synthetic: SyntheticGraph,
                 seed: int) -> None:
        super().__init__(cfg, task, per_class, synthetic, seed)
        x, graph, nodes = _real_training_view(task)
        labels = task.data.y.to(task.device)[task.train_nodes.to(task.device)]
        if cfg.matching_model == "sgc":
            arch = _SGCMatching(x, graph, nodes, cfg.hops, task.num_classes, cfg.real_fanouts, self.generator)
        else:
            arch = _GCNMatching(x, graph, nodes, cfg.hops, task.num_classes, cfg.hidden)
        batches = _ClassBatches(labels, task.num_classes, cfg.batch_per_class, self.generator)
        self.problem = _NodeMatchingProblem(arch, synthetic, labels, self.classes, batches)
        self.distance = DISTANCES.get(cfg.distance)

    def train_epoch(self) -> None:
        """A fresh matching model, ``outer`` updates of X' or of the PGE (by the alternation
        schedule) with ``inner`` model-training steps between them."""
        cfg, synthetic, problem = self.cfg, self.synthetic, self.problem
        optimizer = self.phase_optimizer()

        def update(loss: torch.Tensor) -> None:
            graph = problem.current_graph()
            if cfg.smoothness > 0 and graph is not None:
                loss = loss + cfg.smoothness * label_smoothness(graph.dense_adj, synthetic.y, problem.num_classes)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            problem.synthetic_changed()

        loss = match_epoch(problem, outer=cfg.outer, inner=cfg.inner, distance=self.distance,
                           class_weights=self.class_weights, update=update, model_lr=cfg.lr_model)
        synthetic.x.requires_grad_(False)
        self.losses.append(float(loss))
        self.epoch += 1


# ---------------------------------------------------------------------------------------------
# The methods


@condenser("gcond")
class GCond(NodeCondenser):
    """GCond (Jin et al., ICLR 2022): gradient matching with a learned, feature-driven structure.

    Hyper-parameters: :class:`GCondConfig`; per-dataset presets in ``presets/gcond.json``.
    """

    Config: ClassVar[type] = GCondConfig
    run_class: ClassVar[type[NodeRun]] = _GCondRun
    preset_name: ClassVar[str] = "gcond"
    fixed: ClassVar[dict[str, Any]] = {}

    def __init__(self, budget: int | None = None, **kwargs: Any) -> None:
        hyper = {k: v for k, v in kwargs.items() if k not in ("ratio", "ratio_of", "seed", "device")}
        for name, value in self.fixed.items():
            if name in hyper and hyper[name] != value:
                raise UserError(f"{self.name} fixes {name}={value!r}; use another method for {hyper[name]!r}")
        super().__init__(budget, **kwargs)
        self.explicit = dict(hyper)

    def resolved_config(self, data: Data) -> NodeCondensationConfig:
        """The preset for ``data`` overridden by the explicitly passed hyper-parameters.

        A preset's ``real_fanouts`` (one fan-out per hop of the SGC matching model) yields to an
        explicit matching model or number of hops it cannot serve: such runs use exact propagation.
        """
        values = {**preset_for(self.preset_name, data), **self.explicit, **self.fixed}
        if "real_fanouts" in values and "real_fanouts" not in self.explicit:
            defaults = {f.name: f.default for f in dataclasses.fields(self.Config)}
            model = values.get("matching_model", defaults.get("matching_model"))
            hops = values.get("hops", defaults.get("hops"))
            if values["real_fanouts"] is not None and (model != "sgc" or len(values["real_fanouts"]) != hops):
                values["real_fanouts"] = None
        return build_config(self.Config, values, owner=self.name)

    def fit(self, data: Data, **kwargs) -> CondensedGraph:
        self.config = self.resolved_config(data)
        return super().fit(data, **kwargs)

    def condense(self, task: NodeTask, per_class: torch.Tensor, *, checkpoint: Checkpoint | None,
                 log) -> CondensedGraph:
        cfg = self.config
        run = self.run_class(cfg, task, per_class.to(task.device), self._initial_graph(task, per_class), self.seed)
        state = checkpoint.load() if checkpoint else None
        if state:
            run.load_state_dict(state)
            log(f"resuming condensation at epoch {run.epoch}/{cfg.epochs}")
        started = time.perf_counter()
        while run.epoch < cfg.epochs:
            run.train_epoch()
            done = run.epoch
            if cfg.eval_every and done % cfg.eval_every == 0:
                score = self._monitor(task, run.synthetic, done)
                run.record_validation(done, score.val)
                log(f"epoch {done}: validation {100 * score.val:.2f}%")
            if done % cfg.checkpoint_every == 0 or done == cfg.epochs:
                if checkpoint is not None and done < cfg.epochs:
                    checkpoint.save(run.state_dict())
                log(f"epoch {done}/{cfg.epochs}: matching loss {run.losses[-1]:.4f} "
                    f"({time.perf_counter() - started:.1f} s)")
        selected = run.selection.restore_best(run.synthetic)
        if selected is not None:
            log(f"selected the graph of epoch {selected} (validation {100 * run.selection.best['val']:.2f}%)")
        result = self._result(run.synthetic, run.losses)
        result.meta["val_curve"] = run.selection.curve
        result.meta["selected_epoch"] = cfg.epochs if selected is None else selected
        return result

    def _monitor(self, task: NodeTask, synthetic: SyntheticGraph, epoch: int):
        """One evaluation GCN on the current graph, on its own random stream (the condensation's
        stream is untouched, so monitoring does not change the result)."""
        side = self._result(synthetic, []).to_side(task.device)
        devices = [task.device] if task.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(derive_seed(self.seed, "monitor", epoch))
            return task.train_and_score(side, ModelConfig(), TrainConfig(), self.seed)

    def _initial_graph(self, task: NodeTask, per_class: torch.Tensor) -> SyntheticGraph:
        """X' from random real training nodes of each class (``per_class[c]`` of class c), on
        the method's own random stream."""
        labels = task.data.y[task.train_nodes]
        generator = torch.Generator().manual_seed(derive_seed(self.seed, "initial-features"))
        picked = sample_per_class(labels, per_class, generator)  # grouped by class
        features = task.data.x[task.train_nodes[picked]]
        structure = None
        if self.config.structure == "pge":
            structure = PairwiseStructure(task.num_features, self.config.pge_hidden, self.config.pge_layers)
        return SyntheticGraph(features, labels[picked], structure).to(task.device)

    def _result(self, synthetic: SyntheticGraph, losses: list[float]) -> CondensedGraph:
        x, y = synthetic.x.detach().cpu(), synthetic.y.cpu()
        meta = {"matching_loss": list(losses)}
        if synthetic.structure is None:
            return CondensedGraph(x=x, y=y, meta=meta)
        with torch.no_grad():
            adj = synthetic.structure(synthetic.x).cpu()
        edge_index, edge_weight = GraphInput.from_dense(adj).sparse_edges(self.config.threshold)
        meta["density"] = float((adj > self.config.threshold).float().mean())
        return CondensedGraph(x=x, y=y, edge_index=edge_index, edge_weight=edge_weight, meta=meta)


@condenser("gcond-x")
class GCondX(GCond):
    """GCond-X (Jin et al., ICLR 2022): features only, A' = I while condensing and training."""

    preset_name = "gcond-x"
    fixed = {"structure": "none"}


@condenser("one-step")
class OneStepGCond(GCond):
    """One-step GCond (Jin et al., KDD 2022, node classification): gradients matched at
    initialisation only — one update per fresh model, no inner training."""

    preset_name = "one-step"
    fixed = {"inner": 0}


def _real_training_view(task: NodeTask) -> tuple[torch.Tensor, GraphInput, torch.Tensor]:
    """Features (CSR when sparse), structure and training-node ids of the graph real gradients
    come from:
    the full graph (transductive) or the training subgraph only (inductive)."""
    if task.inductive:
        side = task.train_side
        return side.x, side.graph, torch.arange(len(task.train_nodes), device=task.device)
    return task.full.x, task.full.graph, task.train_nodes.to(task.device)
