"""Packed graph batches, their GCN operators, the graph GCN and the graph-task helpers."""

import math

import pytest
import torch
from torch_geometric.data import Data

from graphdistill.core.errors import UserError
from graphdistill.graph.graph_models import GraphGCN
from graphdistill.graph.graph_task import roc_auc, shuffled_split
from graphdistill.graph.packed import DensePropagation, PackedGraphs, SparsePropagation, gcn_propagation


def _graphs(seed: int = 0, count: int = 6) -> list[Data]:
    gen = torch.Generator().manual_seed(seed)
    graphs = []
    for i in range(count):
        n = 3 + i % 4
        edges = torch.combinations(torch.arange(n), 2)[torch.rand(n * (n - 1) // 2, generator=gen) < 0.5].t()
        if i == 2:
            edges = torch.zeros(2, 0, dtype=torch.long)  # a graph without edges
        edge_index = torch.cat([edges, edges.flip(0)], 1)
        graphs.append(Data(x=torch.randn(n, 4, generator=gen), edge_index=edge_index, y=torch.tensor([i % 2])))
    return graphs


def test_pack_and_select_keep_graphs_intact():
    graphs = _graphs()
    packed = PackedGraphs.from_list(graphs)
    assert packed.num_graphs == 6 and packed.x.shape == (sum(g.num_nodes for g in graphs), 4)
    assert torch.equal(packed.node_counts(), torch.tensor([g.num_nodes for g in graphs]))
    picked = packed.select(torch.tensor([4, 1]))  # returned in increasing id order
    assert picked.num_graphs == 2 and torch.equal(picked.y, torch.tensor([1, 0]))
    assert torch.equal(picked.x, torch.cat([graphs[1].x, graphs[4].x]))
    offset = graphs[1].num_nodes
    expected = torch.cat([graphs[1].edge_index, graphs[4].edge_index + offset], 1)
    assert torch.equal(picked.edge_index, expected)


def test_dense_padded_and_sparse_operators_agree_and_the_model_is_layout_free():
    packed = PackedGraphs.from_list(_graphs())
    sparse, dense = SparsePropagation(packed), DensePropagation.padded(packed)
    h = torch.randn(packed.x.shape[0], 5)
    flat = sparse(h)
    padded_h = torch.zeros(*dense.mask.shape, 5)
    padded_h[dense.mask.bool()] = h
    assert torch.allclose(dense(padded_h)[dense.mask.bool()], flat, atol=1e-6)
    torch.manual_seed(0)
    model = GraphGCN(4, 2, hidden=8)
    assert torch.allclose(model(packed, sparse), model(packed, dense), atol=1e-5)
    assert model(packed).shape == (6, 2)


def test_from_dense_is_differentiable_and_matches_its_sparse_form():
    x, adj = torch.randn(3, 5, 4), (torch.rand(3, 5, 5) > 0.5).float()
    adj = torch.triu(adj, 1)
    adj = (adj + adj.transpose(1, 2)).requires_grad_(True)
    packed = PackedGraphs.from_dense(x, adj, torch.tensor([0, 1, 1]))
    torch.manual_seed(0)
    model = GraphGCN(4, 2, hidden=8)
    out = model(packed)
    out.sum().backward()
    assert adj.grad is not None and adj.grad.abs().sum() > 0
    assert torch.allclose(out, model(packed.to_sparse()), atol=1e-5)
    assert isinstance(gcn_propagation(packed), DensePropagation)
    with pytest.raises(UserError, match="expected"):
        PackedGraphs.from_dense(x, adj[:, :4], torch.tensor([0, 1, 1]))


def test_roc_auc_closed_form_with_ties():
    assert roc_auc(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1])) == 0.75
    assert roc_auc(torch.tensor([0.5, 0.5]), torch.tensor([0, 1])) == 0.5
    assert math.isnan(roc_auc(torch.tensor([0.2, 0.9]), torch.tensor([1, 1])))  # one class only


def test_shuffled_split_is_seeded_disjoint_and_80_10_10():
    split = shuffled_split(188)
    assert [len(split[k]) for k in ("train", "val", "test")] == [150, 18, 20]
    assert len(torch.cat(list(split.values())).unique()) == 188
    assert all(torch.equal(split[k], shuffled_split(188)[k]) for k in split)


def test_ogb_molecules_get_roc_auc_and_degenerate_splits_are_refused(tmp_path):
    from graphdistill.graph.datasets import load_dataset
    from graphdistill.graph.graph_task import GraphTask
    from tests.graph.test_formats import write_ogbg

    write_ogbg(tmp_path / "ogbg_molhiv")
    collection = load_dataset("ogbg-molhiv", tmp_path)
    assert collection.metric == "rocauc" and len(collection) == 4
    with pytest.raises(UserError, match="ROC-AUC needs both classes"):
        GraphTask(collection, "cpu")
