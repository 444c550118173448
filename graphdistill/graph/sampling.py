"""Neighbour sampling on a normalised sparse operator, vectorised (no loop over nodes).

GCond's reference code takes its real-side gradients on neighbourhoods drawn by a GraphSAGE-style
sampler (Hamilton et al., NeurIPS 2017; PyG's ``NeighborSampler``): each target keeps at most
``fanout`` random entries of its row of the normalised adjacency Â, *with Â's full-graph
weights* (no re-normalisation), hop after hop. :func:`sampled_propagation` computes that
estimate of (Â^K X)[targets] for one draw.
"""

from __future__ import annotations

import torch

from graphdistill.graph.graph_input import _to_csr


def sample_rows(op: torch.Tensor, rows: torch.Tensor, fanout: int,
                generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """At most ``fanout`` random entries (without replacement) of each listed row of the CSR
    matrix ``op``: returns (position of the row in ``rows``, column, value) of the kept entries."""
    crow, col, val = op.crow_indices(), op.col_indices(), op.values()
    starts, counts = crow[rows], crow[rows + 1] - crow[rows]
    owner = torch.repeat_interleave(torch.arange(len(rows), device=rows.device), counts)
    offsets = torch.cumsum(counts, 0) - counts
    entry = starts[owner] + torch.arange(len(owner), device=rows.device) - offsets[owner]
    keys = torch.rand(len(owner), generator=generator, device=rows.device, dtype=torch.float64)
    order = torch.argsort(owner.double() + keys)  # rows stay grouped, shuffled inside
    rank = torch.arange(len(order), device=rows.device) - offsets[owner[order]]
    kept = torch.sort(order[rank < fanout]).values
    return owner[kept], col[entry[kept]], val[entry[kept]]


def sampled_propagation(op: torch.Tensor, x: torch.Tensor, targets: torch.Tensor,
                        fanouts: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """One sampled estimate of (op^K x)[targets], K = len(fanouts); ``fanouts[0]`` is the hop
    nearest the targets (GCond's [10, 5] for K = 2)."""
    hops = []
    frontier = targets
    for fanout in fanouts:
        owner, col, val = sample_rows(op, frontier, fanout, generator)
        sources, local = torch.unique(col, return_inverse=True)
        hop = torch.sparse_coo_tensor(torch.stack([owner, local]), val, (len(frontier), len(sources)),
                                      check_invariants=False)
        hops.append(_to_csr(hop.coalesce()))
        frontier = sources
    h = x[frontier]
    for hop in reversed(hops):
        h = hop @ h
    return h
