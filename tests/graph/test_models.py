import pytest
import torch
from torch_geometric.utils import to_dense_adj, to_undirected

from graphdistill.graph.graph_input import GraphInput, as_features
from graphdistill.graph.models import MODELS, build_model, dropout


def small_graph(n=12, f=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    edge_index = to_undirected(torch.randint(0, n, (2, 30), generator=g))
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    weight = torch.rand(edge_index.shape[1], generator=g)
    weight = (weight + weight[_reverse(edge_index)]) / 2  # symmetric weights
    return torch.randn(n, f, generator=g), edge_index, weight


def _reverse(edge_index):
    pos = {tuple(e): i for i, e in enumerate(edge_index.t().tolist())}
    return torch.tensor([pos[(j, i)] for i, j in edge_index.t().tolist()])


def test_gcn_operator_matches_the_closed_form():
    x, ei, w = small_graph()
    a = to_dense_adj(ei, edge_attr=w, max_num_nodes=12)[0] + torch.eye(12)
    d = a.sum(1).pow(-0.5)
    expected = d[:, None] * a * d[None, :]
    sparse = GraphInput(12, ei, w).gcn_operator().to_dense()
    dense = GraphInput.from_dense(a - torch.eye(12)).gcn_operator()
    torch.testing.assert_close(sparse, expected)
    torch.testing.assert_close(dense, expected)


@pytest.mark.parametrize("arch", MODELS.names())
def test_every_model_shapes_and_sparse_dense_agreement(arch):
    torch.manual_seed(0)
    x, ei, w = small_graph()
    model = build_model(arch, 6, 3, hidden=16).eval()
    sparse_graph = GraphInput(12, ei, w)
    dense_graph = GraphInput.from_dense(to_dense_adj(ei, edge_attr=w, max_num_nodes=12)[0])
    out = model(x, sparse_graph)
    assert out.shape == (12, 3) and torch.isfinite(out).all()
    torch.testing.assert_close(model(x, dense_graph), out, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("arch", ["gcn", "sgc", "appnp", "sage"])
def test_structure_gradient_flows_through_dense_adjacency(arch):
    x, ei, w = small_graph()
    adj = to_dense_adj(ei, edge_attr=w, max_num_nodes=12)[0].requires_grad_()
    model = build_model(arch, 6, 3, hidden=16).eval()
    model(x, GraphInput.from_dense(adj)).pow(2).sum().backward()
    assert adj.grad is not None and adj.grad.abs().sum() > 0


def test_weights_matter_for_gcn():
    x, ei, w = small_graph()
    model = build_model("gcn", 6, 3, hidden=16).eval()
    assert not torch.allclose(model(x, GraphInput(12, ei, w)), model(x, GraphInput(12, ei, w * 0.1)))


def test_sparse_features_give_the_same_logits():
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(300, 4000, generator=g) < 0.01).float()
    assert as_features(x).layout == torch.sparse_csr
    assert as_features(x[:10]).layout == torch.strided  # small matrices stay dense
    ei = to_undirected(torch.randint(0, 300, (2, 600), generator=g))
    model = build_model("gcn", 4000, 5, hidden=8).eval()
    graph = GraphInput(300, ei)
    torch.testing.assert_close(model(as_features(x), graph), model(x, graph), rtol=1e-4, atol=1e-5)


def test_dropout_matches_inverted_dropout_semantics():
    torch.manual_seed(0)
    x = torch.ones(200, 200)
    y = dropout(x, 0.5, True)
    assert set(y.unique().tolist()) <= {0.0, 2.0}
    assert abs(float((y == 0).float().mean()) - 0.5) < 0.02
    assert dropout(x, 0.5, False) is x


def test_chebnet_layer_equals_pyg_chebconv_with_the_same_weights():
    from torch_geometric.nn import ChebConv

    from graphdistill.graph.graph_input import GraphInput
    from graphdistill.graph.models import ChebNet

    torch.manual_seed(0)
    n, f, c = 12, 5, 3
    edge_index = torch.randint(0, n, (2, 40))
    edge_index = torch.cat([edge_index, edge_index.flip(0)], 1)
    weight = torch.rand(edge_index.shape[1]) + 0.1
    weight = torch.cat([weight[:40], weight[:40]])  # symmetric weights
    x = torch.randn(n, f)
    for K in (1, 2, 3):
        ours = ChebNet(f, c, num_layers=1, dropout=0.0, K=K).eval()
        conv = ChebConv(f, c, K=K)
        with torch.no_grad():
            conv.lins[0].weight.copy_(ours.layers[0].weight)
            conv.bias.copy_(ours.layers[0].bias)
            for k in range(1, K):
                conv.lins[k].weight.copy_(ours.higher[0][k - 1].weight)
        expected = conv(x, edge_index, weight)
        sparse = ours(x, GraphInput(n, edge_index, weight))
        torch.testing.assert_close(sparse, expected, atol=1e-5, rtol=1e-5)
        dense_adj = torch.zeros(n, n).index_put_((edge_index[0], edge_index[1]), weight, accumulate=True)
        torch.testing.assert_close(ours(x, GraphInput.from_dense(dense_adj)), expected, atol=1e-5, rtol=1e-5)


def test_sage_gcn_aggregates_the_mean_over_a_node_and_its_neighbours():
    from graphdistill.graph.models import GraphSAGEGCN

    x, ei, w = small_graph()
    a = to_dense_adj(ei, edge_attr=w, max_num_nodes=12)[0] + torch.eye(12)
    model = GraphSAGEGCN(6, 3, num_layers=1, dropout=0.0).eval()
    lin = model.layers[0]
    expected = (a / a.sum(1, keepdim=True)) @ (x @ lin.weight.t()) + lin.bias
    torch.testing.assert_close(model(x, GraphInput(12, ei, w)), expected, rtol=1e-5, atol=1e-5)
    assert not hasattr(model, "neighbour"), "the GCN aggregator has no separate root weight"


@pytest.mark.parametrize("K", [1, 2, 3])
def test_shared_chebnet_is_the_chebyshev_sum_of_the_low_pass_operator_with_one_weight(K):
    from graphdistill.graph.models import ChebNetShared

    x, ei, w = small_graph()
    a = to_dense_adj(ei, edge_attr=w, max_num_nodes=12)[0]
    deg = a.sum(1)
    d = torch.where(deg > 0, deg.pow(-0.5), torch.zeros_like(deg))  # isolated nodes: no neighbours
    s = d[:, None] * a * d[None, :]
    polys = [torch.eye(12), s]
    while len(polys) < K:
        polys.append(2 * s @ polys[-1] - polys[-2])
    model = ChebNetShared(6, 3, num_layers=1, dropout=0.0, K=K).eval()
    lin = model.layers[0]
    expected = sum(polys[:K]) @ (x @ lin.weight.t()) + lin.bias
    torch.testing.assert_close(model(x, GraphInput(12, ei, w)), expected, rtol=1e-5, atol=1e-5)
    assert sum(p.numel() for p in model.parameters()) == 6 * 3 + 3, "one weight for all orders"


def test_sgc_mlp_propagates_the_mlp_logits_k_times():
    from graphdistill.graph.models import SGCMLP

    x, ei, w = small_graph()
    a = to_dense_adj(ei, edge_attr=w, max_num_nodes=12)[0] + torch.eye(12)
    d = a.sum(1).pow(-0.5)
    op = d[:, None] * a * d[None, :]
    model = SGCMLP(6, 3, hidden=8, dropout=0.0, K=2).eval()
    first, second = model.layers
    mlp = second(torch.relu(first(x)))
    torch.testing.assert_close(model(x, GraphInput(12, ei, w)), op @ op @ mlp, rtol=1e-5, atol=1e-5)
