"""A drawing of a condensed graph: nodes coloured by class, edges shaded by weight."""

from __future__ import annotations

import os

import networkx as nx
import torch

from graphdistill.core.plots import new_figure, save_figure
from graphdistill.graph.condensed import CondensedGraph

MAX_DRAWN_EDGES = 5000


def draw_condensed_graph(graph: CondensedGraph, path: str | os.PathLike, title: str = "") -> None:
    n = graph.num_nodes
    g = nx.Graph()
    g.add_nodes_from(range(n))
    if graph.edge_index is not None and graph.edge_index.numel():
        weight = graph.edge_weight if graph.edge_weight is not None else torch.ones(graph.edge_index.shape[1])
        keep = graph.edge_index[0] < graph.edge_index[1]
        edges = graph.edge_index[:, keep].t().tolist()
        weights = weight[keep].detach().float().tolist()
        order = sorted(range(len(edges)), key=lambda i: -weights[i])[:MAX_DRAWN_EDGES]
        g.add_weighted_edges_from((*edges[i], weights[i]) for i in order)
    layout = nx.spring_layout(g, seed=0)
    fig, ax = new_figure(5.5, 5.5)
    weights = [d["weight"] for _, _, d in g.edges(data=True)]
    top = max(weights, default=1.0) or 1.0
    nx.draw_networkx_edges(g, layout, ax=ax, width=0.6,
                           alpha=[0.15 + 0.85 * w / top for w in weights] if weights else 1.0)
    nx.draw_networkx_nodes(g, layout, ax=ax, node_size=30, node_color=graph.y.tolist(), cmap="tab10",
                           vmin=0, vmax=9)
    ax.set_title(title or f"condensed graph: {n} nodes, {g.number_of_edges()} edges")
    ax.axis("off")
    save_figure(fig, path)
