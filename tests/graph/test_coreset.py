import pytest
import torch

from graphdistill.core.errors import UserError
from graphdistill.graph import CONDENSERS, CondensedGraph, Herding, KCenter, NodeTask, RandomCoreset


def test_kcenter_is_farthest_first_from_the_point_nearest_the_mean():
    pts = torch.tensor([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0], [-4.0, 0.0], [0.5, 0.0]])
    # mean x = 1.5 → nearest is index 1; farthest from it is 2 (d=9), then 3 (d=5 to 1).
    assert KCenter.select(pts, 3).tolist() == [1, 2, 3]


def test_kcenter_never_repeats_with_duplicate_points():
    pts = torch.zeros(4, 2)
    assert sorted(KCenter.select(pts, 4).tolist()) == [0, 1, 2, 3]


def test_herding_matches_a_brute_force_greedy():
    g = torch.Generator().manual_seed(0)
    pts = torch.randn(15, 3, generator=g)
    mu, chosen = pts.mean(0), []
    for t in range(1, 6):
        rest = [i for i in range(15) if i not in chosen]
        gaps = [((pts[chosen].sum(0) + pts[i]) / t - mu).norm() for i in rest]
        chosen.append(rest[int(torch.stack(gaps).argmin())])
    assert Herding.select(pts, 5).tolist() == chosen
    # herding's mean of all points equals the mean: the k = n selection is a permutation
    assert sorted(Herding.select(pts, 15).tolist()) == list(range(15))


def test_methods_registered():
    assert {"random", "herding", "kcenter"} <= set(CONDENSERS.names())


@pytest.fixture(scope="module")
def cora_task(cora):
    return NodeTask(cora)


def test_random_coreset_is_a_labelled_induced_subgraph(cora, cora_task, tmp_path):
    result = RandomCoreset(budget=35, seed=3).fit(cora, task=cora_task)
    nodes = result.source_nodes
    assert result.num_nodes == 35 and torch.bincount(result.y).tolist() == [5] * 7
    assert cora.train_mask[nodes].all()
    torch.testing.assert_close(result.x, cora.x[nodes])
    assert torch.equal(result.y, cora.y[nodes])
    # every real edge between kept nodes is kept, relabelled
    real = {(a, b) for a, b in cora.edge_index.t().tolist()}
    pos = {int(n): i for i, n in enumerate(nodes)}
    expected = {(pos[a], pos[b]) for a, b in real if a in pos and b in pos}
    assert {tuple(e) for e in result.edge_index.t().tolist()} == expected
    again = RandomCoreset(budget=35, seed=3).fit(cora, task=cora_task)
    assert torch.equal(again.source_nodes, nodes)
    result.save(tmp_path)
    loaded = CondensedGraph.load(tmp_path)
    assert torch.equal(loaded.y, result.y) and loaded.meta["method"] == "random"


def test_kcenter_on_cora_uses_a_trained_embedding(cora, cora_task):
    result = KCenter(budget=14, seed=0, epochs=60).fit(cora, task=cora_task)
    assert torch.bincount(result.y).tolist() == [2] * 7
    assert cora.train_mask[result.source_nodes].all()


def test_bad_hyper_parameters_and_data(cora):
    with pytest.raises(UserError, match="unknown hyper-parameter"):
        Herding(budget=10, epoch=3)
    with pytest.raises(UserError, match="exactly one"):
        RandomCoreset().fit(cora)
    with pytest.raises(UserError, match="must be float"):
        Herding(budget=10, lr="fast")
    bad = cora.clone()
    bad.x = bad.x.clone()
    bad.x[0, 0] = float("nan")
    with pytest.raises(UserError, match="NaN"):
        RandomCoreset(budget=10).fit(bad)
    with pytest.raises(UserError, match="exceeds"):
        RandomCoreset(budget=500).fit(cora)


def test_embeddings_are_trained_once_per_seed_and_config(cora, cora_task):
    logs = []
    first = Herding(budget=7, seed=1, epochs=20).fit(cora, task=cora_task, log=logs.append)
    again = KCenter(budget=14, seed=1, epochs=20).fit(cora, task=cora_task, log=logs.append)
    assert sum("embedding GCN" in m for m in logs) == 1  # k-center reused herding's embedding
    Herding(budget=7, seed=2, epochs=20).fit(cora, task=cora_task, log=logs.append)
    assert sum("embedding GCN" in m for m in logs) == 2
    assert first.num_nodes == 7 and again.num_nodes == 14
