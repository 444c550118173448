"""GCDM and GCDM-X: batched random GCNs, the objective, determinism, resume, inductive mode."""

import pytest
import torch

from graphdistill.core.checkpoint import Checkpoint
from graphdistill.core.errors import UserError
from graphdistill.graph import CONDENSERS, GCDM, GCDMX, NodeTask
from graphdistill.graph.gcdm import RandomGCNs
from tests.graph.test_gcond import planted_graph

FAST = {"epochs": 6, "cycle": 4, "structure_epochs": 2, "lr_feat": 0.01, "checkpoint_every": 2}


def test_random_gcns_side_by_side_equal_one_network_at_a_time():
    torch.manual_seed(0)
    nets = RandomGCNs(3, [5, 7, 2], torch.device("cpu"))
    x, op = torch.randn(9, 5), torch.rand(9, 9)
    together = nets.layer_embeddings(x, lambda m: op @ m)
    assert [h.shape for h in together] == [(3, 9, 7), (3, 9, 2)]
    for k in range(3):
        h = torch.relu(op @ (x @ nets.weights[0][k]))
        assert torch.allclose(together[0][k], h, atol=1e-5)
        assert torch.allclose(together[1][k], op @ (h @ nets.weights[1][k]), atol=1e-5)
    sparse = nets.layer_embeddings(x.to_sparse_csr(), lambda m: op @ m)
    assert torch.allclose(sparse[1], together[1], atol=1e-5)


@pytest.mark.parametrize("kernel", ["linear", "gaussian"])
def test_gcdm_lowers_its_objective_and_is_registered(kernel):
    data = planted_graph()
    result = GCDMX(budget=9, seed=0, kernel=kernel, nets=2, **{**FAST, "epochs": 30}).fit(data)
    losses = result.meta["matching_loss"]
    assert result.x.shape == (9, 12) and result.edge_index is None
    assert sum(losses[-5:]) < sum(losses[:5])
    assert CONDENSERS.get("gcdm") is GCDM and CONDENSERS.get("gcdm-x") is GCDMX


def test_gcdm_learns_a_structure_is_seeded_and_resumes_exactly(tmp_path):
    data = planted_graph()
    reference = GCDM(budget=9, seed=1, **FAST).fit(data)
    assert reference.edge_index is not None and reference.edge_index.shape[1] > 0
    assert torch.equal(reference.x, GCDM(budget=9, seed=1, **FAST).fit(data).x)
    ckpt = Checkpoint(tmp_path / "c.pt")
    GCDM(budget=9, seed=1, **{**FAST, "epochs": 4}).fit(data, checkpoint=ckpt)
    resumed = GCDM(budget=9, seed=1, **FAST).fit(data, checkpoint=ckpt)
    assert torch.equal(reference.x, resumed.x) and torch.equal(reference.edge_weight, resumed.edge_weight)


def test_gcdm_inductive_and_bad_settings():
    data = planted_graph(inductive=True)
    result = GCDMX(budget=6, seed=0, **FAST).fit(data)
    score = NodeTask(data, "cpu").evaluate(result.to_side(), runs=1)
    assert 0 <= score.test_mean <= 1
    with pytest.raises(UserError, match="kernel"):
        GCDM(budget=6, kernel="cubic")
    with pytest.raises(UserError, match="nets"):
        GCDM(budget=6, nets=0)
    with pytest.raises(UserError, match="unknown hyper-parameter"):
        GCDM(budget=6, outer=3)  # a gradient-matching setting: not GCDM's
    with pytest.raises(UserError, match="fixes structure"):
        GCDMX(budget=6, structure="pge")
