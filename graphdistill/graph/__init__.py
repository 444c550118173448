"""Graph condensation: datasets, GNN zoo, evaluation protocol and condensation methods."""

from graphdistill.graph import coreset as _coreset  # noqa: F401  (registers the coreset methods)
from graphdistill.graph.collection import GraphCollection
from graphdistill.graph.condense import CONDENSERS, NodeCondenser
from graphdistill.graph.condensed import CondensedGraph
from graphdistill.graph.coreset import Herding, KCenter, RandomCoreset
from graphdistill.graph.datasets import load_dataset
from graphdistill.graph.doscond import DosCond
from graphdistill.graph.gcdm import GCDM, GCDMX
from graphdistill.graph.gcond import GCond, GCondX, OneStepGCond
from graphdistill.graph.graph_input import GraphInput
from graphdistill.graph.graph_set import CondensedGraphSet
from graphdistill.graph.graph_task import GraphTask
from graphdistill.graph.models import MODELS, build_model
from graphdistill.graph.train import ModelConfig, NodeTask

__all__ = [
    "CONDENSERS", "CondensedGraph", "CondensedGraphSet", "DosCond", "GCDM", "GCDMX", "GCond", "GCondX",
    "GraphCollection", "GraphInput", "GraphTask", "Herding", "KCenter", "MODELS", "ModelConfig", "NodeCondenser",
    "NodeTask", "OneStepGCond", "RandomCoreset", "build_model", "load_dataset",
]
