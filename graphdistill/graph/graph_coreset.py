"""Graph-level coreset baselines: real training graphs chosen per class.

* ``random`` — k uniformly random training graphs of each class;
* ``herding`` (Welling, ICML 2009) — per class, greedily the graph that keeps the running mean of
  the chosen graphs' embeddings closest to the class mean, in the pooled embedding of a GCN
  trained on all training graphs (the evaluator's architecture, best validation epoch), as the
  graph-classification baselines of DosCond's tables.

Both return a :class:`~graphdistill.graph.graph_set.CondensedGraphSet` of the chosen real
graphs with their ids (``source_ids``, into the collection).
"""

from __future__ import annotations

import torch
from torch_geometric.data import Data

from graphdistill.core.coresets import herding
from graphdistill.core.registry import Registry
from graphdistill.core.seed import derive_seed
from graphdistill.graph.gcond import sample_per_class
from graphdistill.graph.graph_set import CondensedGraphSet
from graphdistill.graph.graph_task import GRAPH_TRAIN_CONFIG, GraphModelConfig, GraphTask

SELECTORS: Registry = Registry("graph coreset")


@SELECTORS.register("random")
def random_graphs(task: GraphTask, per_class: torch.Tensor, seed: int) -> torch.Tensor:
    """Positions (into the training graphs) of ``per_class[c]`` random graphs of each class c."""
    generator = torch.Generator().manual_seed(derive_seed(seed, "graph-coreset"))
    return sample_per_class(task.train.y.cpu(), per_class.cpu(), generator)


@SELECTORS.register("herding")
def herding_graphs(task: GraphTask, per_class: torch.Tensor, seed: int) -> torch.Tensor:
    """Positions of graphs chosen by herding in a trained GCN's pooled embedding."""
    devices = [task.device] if task.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(derive_seed(seed, "herding-embedding"))
        model = GraphModelConfig().build(task.num_features, task.num_classes).to(task.device)
        task.train_and_score(task.train, GraphModelConfig(), GRAPH_TRAIN_CONFIG, seed, model=model)
    model.eval()
    with torch.no_grad():
        embeddings = model.embed(task.train).cpu()
    labels = task.train.y.cpu()
    chosen = []
    for c, k in enumerate(per_class.tolist()):
        members = (labels == c).nonzero().view(-1)
        chosen.append(members[herding(embeddings[members], k)])
    return torch.cat(chosen)


def select_graphs(method: str, task: GraphTask, graphs: list[Data], per_class: torch.Tensor,
                  seed: int) -> CondensedGraphSet:
    """The coreset of ``method`` as a graph set; ``graphs`` is the collection the task was built
    from (its training part is ``task.split["train"]``)."""
    positions = SELECTORS.get(method)(task, per_class, seed)
    ids = task.split["train"].cpu()[positions]
    return CondensedGraphSet([graphs[i] for i in ids.tolist()], source_ids=ids,
                             meta={"method": method, "seed": seed, "graphs_per_class": int(per_class.max())})
