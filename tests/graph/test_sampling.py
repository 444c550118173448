"""Neighbour sampling on the normalised operator (GCond's real-side [10, 5] fan-outs)."""

from __future__ import annotations

import torch
from torch_geometric.utils import to_undirected

from graphdistill.graph.graph_input import GraphInput
from graphdistill.graph.sampling import sample_rows, sampled_propagation


def operator(n=40, edges=160, seed=0):
    g = torch.Generator().manual_seed(seed)
    edge_index = to_undirected(torch.randint(0, n, (2, edges), generator=g), num_nodes=n)
    return GraphInput(n, edge_index).gcn_operator().to_sparse_csr()


def test_sampled_rows_are_distinct_entries_of_their_row_at_most_fanout_each():
    op = operator()
    dense = op.to_dense()
    rows = torch.tensor([0, 5, 5, 17, 39])  # a repeated row is sampled independently
    owner, col, val = sample_rows(op, rows, 3, torch.Generator().manual_seed(1))
    degree = (dense[rows] != 0).sum(1)
    assert torch.equal(torch.bincount(owner, minlength=len(rows)), degree.clamp(max=3))
    torch.testing.assert_close(val, dense[rows[owner], col])  # the operator's own weights, not renormalised
    pairs = set(zip(owner.tolist(), col.tolist(), strict=True))
    assert len(pairs) == len(owner), "sampled without replacement"
    again = sample_rows(op, rows, 3, torch.Generator().manual_seed(1))
    assert all(torch.equal(a, b) for a, b in zip((owner, col, val), again, strict=True))


def test_every_neighbour_is_kept_when_the_fanout_covers_the_degree():
    op = operator()
    x = torch.randn(40, 6, generator=torch.Generator().manual_seed(2))
    targets = torch.tensor([3, 8, 21])
    big = int((op.to_dense() != 0).sum(1).max())
    exact = (op @ (op @ x))[targets]
    sampled = sampled_propagation(op, x, targets, (big, big), torch.Generator().manual_seed(0))
    torch.testing.assert_close(sampled, exact, rtol=1e-5, atol=1e-6)
    small = sampled_propagation(op, x, targets, (2, 1), torch.Generator().manual_seed(0))
    assert small.shape == exact.shape and not torch.allclose(small, exact)
