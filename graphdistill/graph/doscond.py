"""DosCond for graph classification: one-step gradient matching of Bernoulli-structured graphs.

Jin, Tang, Jiang, Li, Zhang, Tang & Yin, "Condensing Graphs via One-Step Gradient Matching",
KDD 2022. Per class, k synthetic graphs of n nodes with learnable node features X (G, n, F) and
edge logits Ω (G, n, n). n is the mean node count of the whole dataset (``nodes_from="dataset"``,
the reference code) or, per class, of that class's training graphs (``"class"``: smaller graphs
for classes of small graphs; the graphs are then padded to the largest class's n with masked
nodes that have no edges and no readout). Every iteration:

1. sample each synthetic adjacency from its edge distribution through the binary concrete
   relaxation (:func:`~graphdistill.core.relaxed.binary_concrete`, symmetric, no self loops),
   temperature annealed from 1 to 0.01 over the first 200 sampling calls;
2. build a *fresh* GCN (3 layers, hidden 128, mean pooling; sum for molecule benchmarks) and
   match, class by class, its gradient on up to 256 real training graphs of the class with its
   gradient on the class's synthetic graphs — at initialisation only (one-step matching:
   :func:`~graphdistill.core.matching.match_epoch` with outer 1, inner 0), squared-error
   distance (the paper's ``mse``);
3. add the sparsity regulariser β·relu(mean σ(Ω) − initial density) and step X and Ω with two
   Adam optimisers, both re-created with lr ×0.1 at iteration 400 (as the reference code does).

Initialisation (``init="real"``): each synthetic graph copies a random real training graph of its
class with at most n nodes (as the reference; any graph, truncated, when a class has too few),
padded to n with isolated zero-feature nodes, with Ω = 10·A − 5. Output:
discrete graphs of n nodes each, A = 1[σ(sym Ω) > ½] (the most likely graph, as the reference code evaluates
it; documented alternative: one sample), as a :class:`~graphdistill.graph.graph_set.CondensedGraphSet`.

As in the reference, the temperature counter counts sampling calls — one per matching step,
for all classes' graphs at once. All classes are matched in one vectorised pass (the reference
loops over classes).

Example::

    from graphdistill.graph.datasets import load_dataset
    from graphdistill.graph.doscond import DosCond
    result = DosCond(graphs_per_class=10, seed=0).fit(load_dataset("mutag"))
    result.graphs[0]   # Data(x=[18, 7], edge_index=[2, E], y=[1])
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from graphdistill.core.checkpoint import Checkpoint
from graphdistill.core.config import build_config, require_at_least
from graphdistill.core.device import resolve_device
from graphdistill.core.errors import UserError
from graphdistill.core.matching import DISTANCES, class_gradients, match_epoch
from graphdistill.core.optim import adam
from graphdistill.core.relaxed import annealed_temperature, binary_concrete
from graphdistill.core.seed import derive_seed
from graphdistill.core.selection import ValidationSelection
from graphdistill.graph.collection import GraphCollection
from graphdistill.graph.condense import read_preset
from graphdistill.graph.gcond import class_means, sample_per_class
from graphdistill.graph.graph_models import GraphGCN
from graphdistill.graph.graph_set import CondensedGraphSet, dense_to_graphs
from graphdistill.graph.graph_task import GRAPH_TRAIN_CONFIG, GraphModelConfig, GraphTask
from graphdistill.graph.packed import DENSE_MAX_NODES, DensePropagation, PackedGraphs, gcn_propagation

INITS = ("real", "random")
NODE_COUNTS = ("dataset", "class")


@dataclasses.dataclass(frozen=True)
class DosCondConfig:
    """Hyper-parameters (defaults: the reference ``script.sh``; per-dataset values in
    ``presets/doscond.json``).

    Attributes:
        iterations: matching iterations (a fresh GCN each).
        outer, inner: matching updates per fresh GCN and training steps of the GCN on the
            synthetic graphs between them; 1 and 0 is DosCond's one-step matching, larger values
            the multi-step (GCond-style) matching the paper compares its speed with.
        lr_model: Adam learning rate of those inner steps.
        lr_feat, lr_adj: Adam learning rates of the node features and of the edge logits.
        decay_at: iteration at which both optimisers restart with lr ×0.1 (0: never).
        batch_real: real training graphs sampled per class and iteration (all when fewer).
        hidden, num_layers, pooling: the matching GCN (same family as the evaluator).
        distance: gradient distance (``mse`` as the paper; ``layerwise``, ``cosine``).
        beta: weight of the sparsity regulariser.
        tau_start, tau_end, tau_calls: temperature schedule over sampling calls.
        nodes: nodes per synthetic graph (0: a mean node count, as ``nodes_from`` says).
        nodes_from: ``"dataset"`` (the mean node count of all graphs, as the reference code) or
            ``"class"`` (each class's graphs get the mean node count of its training graphs).
        init: ``"real"`` (copies of real graphs) or ``"random"`` (Gaussian features, Ω = 0).
        threshold: edges with σ(Ω) above it are kept in the output graphs.
        checkpoint_every: iterations between checkpoints.
        eval_every: every this many iterations (0: never) train one evaluation GCN on the current
            discrete graphs and record its validation score (the reference evaluates every 200).
        select: ``"last"`` returns the graphs of the last iteration, ``"val"`` those with the best
            validation score among the evaluated iterations (validation graphs only, never test).
    """

    iterations: int = 1000
    outer: int = 1
    inner: int = 0
    lr_model: float = 0.01
    lr_feat: float = 0.01
    lr_adj: float = 0.1
    decay_at: int = 400
    batch_real: int = 256
    hidden: int = 128
    num_layers: int = 3
    pooling: str = "mean"
    distance: str = "mse"
    beta: float = 0.1
    tau_start: float = 1.0
    tau_end: float = 0.01
    tau_calls: int = 200
    nodes: int = 0
    nodes_from: str = "dataset"
    init: str = "real"
    threshold: float = 0.5
    checkpoint_every: int = 100
    eval_every: int = 0
    select: str = "last"

    def __post_init__(self) -> None:
        require_at_least(self, 1, "iterations", "outer", "batch_real", "hidden", "num_layers", "tau_calls",
                         "checkpoint_every")
        if self.decay_at < 0 or self.nodes < 0 or self.beta < 0 or self.inner < 0:
            raise UserError("decay_at, nodes, beta and inner must be ≥ 0")
        if min(self.lr_feat, self.lr_adj, self.tau_start, self.tau_end) <= 0:
            raise UserError("learning rates and temperatures must be > 0")
        if self.init not in INITS:
            raise UserError(f"init must be one of {INITS}, got {self.init!r}")
        if self.nodes_from not in NODE_COUNTS:
            raise UserError(f"nodes_from must be one of {NODE_COUNTS}, got {self.nodes_from!r}")
        if self.eval_every < 0 or self.select not in ("last", "val") or (self.select == "val" and not self.eval_every):
            raise UserError("select must be 'last' or 'val' (the latter with eval_every > 0); eval_every ≥ 0")
        if not 0 < self.threshold < 1:
            raise UserError(f"threshold must be in (0, 1), got {self.threshold}")
        DISTANCES.get(self.distance)


class SyntheticGraphs(nn.Module):
    """Learnable features (G, n, F) and edge logits (G, n, n) with fixed labels (G,) and node
    counts (G,) ≤ n: graph g consists of its first ``sizes[g]`` nodes, the rest is padding that
    never gets an edge."""

    def __init__(self, x: torch.Tensor, logits: torch.Tensor, y: torch.Tensor,
                 sizes: torch.Tensor | None = None) -> None:
        super().__init__()
        self.x = nn.Parameter(x.clone())
        self.logits = nn.Parameter(logits.clone())
        self.register_buffer("y", y.clone())
        sizes = torch.full_like(y, x.shape[1]) if sizes is None else sizes.to(y)
        self.register_buffer("node_mask", (torch.arange(x.shape[1], device=x.device) < sizes.unsqueeze(1)).to(x))
        pairs = self.node_mask.unsqueeze(2) * self.node_mask.unsqueeze(1)
        self.register_buffer("edge_mask", pairs * (1 - torch.eye(x.shape[1], dtype=x.dtype, device=x.device)),
                             persistent=False)

    @property
    def sizes(self) -> torch.Tensor:
        """(G,) nodes of each graph."""
        return self.node_mask.sum(1).long()

    def edge_probabilities(self) -> torch.Tensor:
        """(G, n, n) σ(sym Ω), zero on the diagonal and at padding nodes."""
        sym = (self.logits + self.logits.transpose(-1, -2)) / 2
        return torch.sigmoid(sym) * self.edge_mask

    def density(self) -> torch.Tensor:
        """Mean edge probability over each graph's own n_g² node pairs (diagonal included)."""
        return self.edge_probabilities().sum() / self.sizes.square().sum()

    def packed(self, adj: torch.Tensor, *, detach: bool = False) -> PackedGraphs:
        """The graphs with adjacency ``adj`` (G, n, n; zero at padding nodes) for a GNN forward."""
        x = self.x.detach() if detach else self.x
        return PackedGraphs.from_dense(x, adj, self.y, self.node_mask)

    def discrete(self, threshold: float) -> torch.Tensor:
        """The most likely graphs: 1[σ(sym Ω) > threshold], zero diagonal, (G, n, n)."""
        with torch.no_grad():
            return (self.edge_probabilities() > threshold).to(self.x.dtype)


def _class_losses(model: nn.Module, graphs: PackedGraphs, op, classes: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(len(classes),) mean cross-entropy of ``model`` over each class's graphs (``op``: a
    prepared propagation, or None)."""
    per_graph = F.cross_entropy(model(graphs, op), graphs.y, reduction="none")
    return class_means(per_graph, graphs.y, num_classes)[classes]


class _GraphMatchingProblem:
    """The core's MatchingProblem for graph classification."""

    def __init__(self, cfg: DosCondConfig, task: GraphTask, synthetic: SyntheticGraphs, per_class: torch.Tensor,
                 generator: torch.Generator, calls: int) -> None:
        self.cfg, self.task, self.synthetic, self.generator = cfg, task, synthetic, generator
        self.num_classes = task.num_classes
        self.classes = per_class.nonzero().view(-1)
        self.take = torch.full((task.num_classes,), cfg.batch_real, device=task.device)
        self.calls = calls
        # batched per-class backward passes need the padded dense layout (graphs up to 128 nodes)
        self.vectorize_real = int(task.train.node_counts().max()) <= DENSE_MAX_NODES

    def new_model(self) -> nn.Module:
        return GraphGCN(self.task.num_features, self.num_classes, self.cfg.hidden, self.cfg.num_layers,
                        self.cfg.pooling).to(self.task.device)

    def real_class_losses(self, model: nn.Module) -> torch.Tensor:
        picked = sample_per_class(self.task.train.y, self.take, self.generator)
        return _class_losses(model, self.task.train.select(picked), None, self.classes, self.num_classes)

    def sample_adjacency(self) -> torch.Tensor:
        tau = annealed_temperature(self.calls, start=self.cfg.tau_start, end=self.cfg.tau_end,
                                   steps=self.cfg.tau_calls)
        self.calls += 1  # one sampling call per matching step, all classes at once (as the reference)
        sample = binary_concrete(self.synthetic.logits, tau, generator=self.generator, symmetric=True)
        return sample * self.synthetic.edge_mask

    def synthetic_class_losses(self, model: nn.Module) -> torch.Tensor:
        graphs = self.synthetic.packed(self.sample_adjacency())
        return _class_losses(model, graphs, None, self.classes, self.num_classes)

    def inner_objective(self):
        s = self.synthetic
        graphs = s.packed(s.discrete(self.cfg.threshold), detach=True)
        op = gcn_propagation(graphs)
        return lambda model: F.cross_entropy(model(graphs, op), s.y)


def matching_distance(task: GraphTask, graphs: PackedGraphs, *, seeds: range = range(10), distance: str = "mse",
                      hidden: int = 128, num_layers: int = 3, pooling: str = "mean") -> float:
    """DosCond's objective for any labelled graph set: the per-class gradient distance between
    the set and all real training graphs of the class, summed over classes and averaged over
    fresh GCNs seeded by ``seeds`` — lower means the set trains a GCN's first step more like
    the real data does. Compares a condensed set with a coreset of the same budget."""
    measure = DISTANCES.get(distance)
    graphs = graphs.to(task.device)
    classes = graphs.y.unique()
    real_op, set_op = gcn_propagation(task.train), gcn_propagation(graphs)
    total = 0.0
    for seed in seeds:
        with torch.random.fork_rng(devices=[task.device] if task.device.type == "cuda" else []):
            torch.manual_seed(seed)
            model = GraphGCN(task.num_features, task.num_classes, hidden, num_layers, pooling).to(task.device)
        params = list(model.parameters())
        real = class_gradients(_class_losses(model, task.train, real_op, classes, task.num_classes), params)
        fake = class_gradients(_class_losses(model, graphs, set_op, classes, task.num_classes), params)
        total += float(measure(real, fake).sum())
    return total / len(seeds)


def class_node_counts(task: GraphTask, nodes: int, nodes_from: str) -> torch.Tensor:
    """(C,) nodes of each class's synthetic graphs: ``nodes`` when > 0, else the rounded mean node
    count of the whole dataset (``nodes_from="dataset"``) or of the class's training graphs
    (``"class"``; the dataset's mean for a class without training graphs)."""
    if nodes:
        return torch.full((task.num_classes,), nodes)
    if nodes_from == "dataset":
        return torch.full((task.num_classes,), task.mean_nodes)
    labels, counts = task.train.y.cpu(), task.train.node_counts().cpu().double()
    graphs = torch.bincount(labels, minlength=task.num_classes)
    total = torch.zeros(task.num_classes, dtype=torch.float64).index_add(0, labels, counts)
    means = torch.where(graphs > 0, total / graphs.clamp_min(1), float(task.mean_nodes))
    return means.round().long().clamp_min(1)


def initial_graphs(task: GraphTask, per_class: torch.Tensor, nodes: torch.Tensor, init: str,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(G, n, F) features, (G, n, n) logits, (G,) labels and (G,) node counts, grouped by class,
    where class c's graphs have ``nodes[c]`` nodes and n = max(nodes).

    ``real``: random real training graphs of each class with at most ``nodes[c]`` nodes (any,
    truncated, when a class has too few), padded with isolated zero-feature nodes, Ω = 10·A − 5.
    ``random``: standard normal features and Ω = 0 (edge probability ½), labels as ``real``.
    Entries beyond a graph's own node count are zero (masked by :class:`SyntheticGraphs`)."""
    labels = task.train.y.cpu()
    fits = task.train.node_counts().cpu() <= nodes[labels]  # as the reference: copy graphs that fit whole
    enough = torch.bincount(labels[fits], minlength=len(per_class)) >= per_class
    pool = torch.where(enough[labels], fits, torch.ones_like(fits))  # else any graph, truncated
    candidates = pool.nonzero().view(-1)
    picked = candidates[sample_per_class(labels[candidates], per_class.cpu(), generator)]
    chosen = task.train.select(picked.to(task.device))
    order = torch.argsort(chosen.y, stable=True)  # select() orders by graph id: group by class again
    padded = DensePropagation.padded(chosen)
    width, n = padded.x.shape[1], int(nodes.max())
    x = padded.x[:, :n] if width >= n else F.pad(padded.x, (0, 0, 0, n - width))
    adj = padded.adj[:, :n, :n] if width >= n else F.pad(padded.adj, (0, n - width, 0, n - width))
    x, adj, y = x[order], adj[order], chosen.y[order]
    sizes = nodes.to(y.device)[y]
    keep = (torch.arange(n, device=x.device) < sizes.unsqueeze(1)).to(x)  # truncate to each class's n
    x, adj = x * keep.unsqueeze(2), adj * keep.unsqueeze(2) * keep.unsqueeze(1)
    if init == "random":
        x = torch.randn(x.shape, generator=generator).to(x) * keep.unsqueeze(2)
        return x, torch.zeros_like(adj), y, sizes
    return x, 10 * adj.clamp(max=1) - 5, y, sizes


class DosCond:
    """DosCond (Jin et al., KDD 2022) for graph classification; see the module docstring.

    Args:
        graphs_per_class: synthetic graphs per class (the paper's GPC).
        seed: all randomness of the condensation (initial graphs, real batches, relaxation noise,
            matching networks) derives from it.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        **hyper: :class:`DosCondConfig` fields; they override the dataset's preset.
    """

    name = "doscond"

    def __init__(self, graphs_per_class: int, *, seed: int = 0, device: str | torch.device = "auto",
                 **hyper: Any) -> None:
        if not isinstance(graphs_per_class, int) or graphs_per_class < 1:
            raise UserError(f"graphs per class must be a whole number ≥ 1, got {graphs_per_class!r}")
        self.graphs_per_class, self.seed, self.device = graphs_per_class, seed, resolve_device(device)
        self.explicit = dict(hyper)
        build_config(DosCondConfig, self.explicit, owner=self.name)  # unknown names fail now

    def resolved_config(self, dataset: str) -> DosCondConfig:
        values = {**read_preset("doscond.json").get(dataset, {}), **self.explicit}
        return build_config(DosCondConfig, values, owner=self.name)

    def plan(self, task: GraphTask) -> torch.Tensor:
        """(C,) graphs per class, after checking every class has that many training graphs."""
        counts = torch.bincount(task.train.y.cpu(), minlength=task.num_classes)
        short = [c for c in range(task.num_classes) if counts[c] < self.graphs_per_class]
        if short:
            raise UserError(f"{self.graphs_per_class} graphs per class asked, but class(es) {short} have only "
                            f"{[int(counts[c]) for c in short]} training graphs")
        return torch.full((task.num_classes,), self.graphs_per_class)

    def fit(self, data: GraphCollection | GraphTask, *, dataset: str = "", checkpoint: Checkpoint | None = None,
            log=lambda message: None) -> CondensedGraphSet:
        """Condense ``data`` (a collection, split as :class:`GraphTask` does, or a prepared task);
        the per-dataset preset is that of ``dataset``, by default the collection's own name."""
        task = data if isinstance(data, GraphTask) else GraphTask(data, self.device)
        dataset = dataset or task.name
        cfg = self.resolved_config(dataset)
        per_class = self.plan(task)
        run = _DosCondRun(cfg, task, per_class, self.seed)
        state = checkpoint.load() if checkpoint else None
        if state:
            run.load_state_dict(state)
            log(f"resuming condensation at iteration {run.iteration}/{cfg.iterations}")
        started = time.perf_counter()
        while run.iteration < cfg.iterations:
            run.step()
            done = run.iteration
            if cfg.eval_every and done % cfg.eval_every == 0:
                val = self._validate(task, run.synthetic, cfg, done)
                run.record_validation(done, val)
                log(f"iteration {done}: validation {100 * val:.2f}")
            if done % cfg.checkpoint_every == 0 or done == cfg.iterations:
                if checkpoint is not None and done < cfg.iterations:
                    checkpoint.save(run.state_dict())
                log(f"iteration {done}/{cfg.iterations}: matching loss {run.losses[-1]:.4f} "
                    f"({time.perf_counter() - started:.1f} s)")
        s = run.synthetic
        selected = run.selection.restore_best(s)
        if selected is not None:
            log(f"selected the graphs of iteration {selected} (validation {100 * run.selection.best['val']:.2f})")
        adjacency = s.discrete(cfg.threshold)
        graphs = dense_to_graphs(s.x, adjacency, s.y, s.sizes)
        discrete_density = float(adjacency.sum() / s.sizes.square().sum())
        meta = {"method": self.name, "dataset": dataset, "graphs_per_class": self.graphs_per_class,
                "seed": self.seed, "config": dataclasses.asdict(cfg), "matching_loss": run.losses,
                "nodes": run.nodes.tolist(), "initial_density": run.initial_density,
                "density": discrete_density, "val_curve": run.selection.curve,
                "selected_iteration": cfg.iterations if selected is None else selected}
        return CondensedGraphSet(graphs, meta=meta)


    def _validate(self, task: GraphTask, synthetic: SyntheticGraphs, cfg: DosCondConfig, iteration: int) -> float:
        """Validation score of one evaluation GCN trained on the current discrete graphs, on its
        own random stream (the condensation's streams are untouched)."""
        graphs = synthetic.packed(synthetic.discrete(cfg.threshold), detach=True)
        devices = [task.device] if task.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(derive_seed(self.seed, "monitor", iteration))
            return task.train_and_score(graphs, GraphModelConfig(), GRAPH_TRAIN_CONFIG, self.seed).val


class _DosCondRun:
    """One condensation's state and its iteration step; resumable exactly from ``state_dict``."""

    def __init__(self, cfg: DosCondConfig, task: GraphTask, per_class: torch.Tensor, seed: int) -> None:
        self.cfg, self.task = cfg, task
        init_gen = torch.Generator().manual_seed(derive_seed(seed, "initial-graphs"))
        self.nodes = class_node_counts(task, cfg.nodes, cfg.nodes_from)
        x, logits, y, sizes = initial_graphs(task, per_class, self.nodes, cfg.init, init_gen)
        self.synthetic = SyntheticGraphs(x, logits, y, sizes).to(task.device)
        with torch.no_grad():
            self.initial_density = float(self.synthetic.density())
        self.generator = torch.Generator(device=task.device).manual_seed(derive_seed(seed, "matching"))
        self.model_seed = derive_seed(seed, "models")
        self.problem = _GraphMatchingProblem(cfg, task, self.synthetic, per_class.to(task.device),
                                             self.generator, calls=0)
        self.distance = DISTANCES.get(cfg.distance)
        self.class_weights = torch.ones(len(self.problem.classes), device=task.device)
        self.iteration, self.losses = 0, []
        self.selection = ValidationSelection(keep_best=cfg.select == "val")
        self._optimizers(1.0)

    def record_validation(self, iteration: int, val: float) -> None:
        self.selection.record(iteration, val, self.synthetic)

    def _optimizers(self, scale: float) -> None:
        self.opt_feat = adam([self.synthetic.x], lr=self.cfg.lr_feat * scale)
        self.opt_adj = adam([self.synthetic.logits], lr=self.cfg.lr_adj * scale)

    def step(self) -> None:
        cfg, synthetic = self.cfg, self.synthetic
        if cfg.decay_at and self.iteration == cfg.decay_at:
            self._optimizers(0.1)

        def update(loss: torch.Tensor) -> None:
            density = synthetic.density()
            total = loss + cfg.beta * torch.relu(density - self.initial_density)
            self.opt_feat.zero_grad(set_to_none=True)
            self.opt_adj.zero_grad(set_to_none=True)
            total.backward()
            self.opt_feat.step()
            self.opt_adj.step()

        devices = [self.task.device] if self.task.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):  # the fresh network's weights, from (seed, iteration)
            torch.manual_seed(derive_seed(self.model_seed, self.iteration))
            loss = match_epoch(self.problem, outer=cfg.outer, inner=cfg.inner, distance=self.distance,
                               class_weights=self.class_weights, update=update, model_lr=cfg.lr_model)
        self.losses.append(float(loss))
        self.iteration += 1

    def state_dict(self) -> dict[str, Any]:
        return {"iteration": self.iteration, "losses": self.losses, "calls": self.problem.calls,
                "val_curve": self.selection.curve, "best": self.selection.best,
                "synthetic": self.synthetic.state_dict(), "opt_feat": self.opt_feat.state_dict(),
                "opt_adj": self.opt_adj.state_dict(), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.synthetic.load_state_dict(state["synthetic"])
        self.iteration, self.losses, self.problem.calls = state["iteration"], state["losses"], state["calls"]
        self.selection.curve, self.selection.best = state["val_curve"], state["best"]
        self._optimizers(0.1 if self.cfg.decay_at and self.iteration > self.cfg.decay_at else 1.0)
        self.opt_feat.load_state_dict(state["opt_feat"])
        self.opt_adj.load_state_dict(state["opt_adj"])
        self.generator.set_state(state["generator"])
