"""Tests of the OGB (ogbn, ogbg) and GraphSAINT readers, and of the Planetoid fake that PyG must accept."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from torch_geometric.data import Data
from torch_geometric.datasets import Planetoid
from torch_geometric.utils import contains_self_loops, index_to_mask

from graphdistill.core.errors import UserError
from graphdistill.graph.formats import (
    GRAPHSAINT_FILES,
    OGBN_ARXIV_FILES,
    FormatError,
    ogbg_files,
    read_graphsaint,
    read_ogbg,
    read_ogbn_arxiv,
)
from tests.graph.fakes import (
    FakeGraph,
    fake_graph,
    planetoid_graph,
    write_graphsaint,
    write_ogbn_arxiv,
    write_planetoid,
)


def _edge_set(edge_index: torch.Tensor) -> set[tuple[int, int]]:
    return {(int(s), int(d)) for s, d in edge_index.t().tolist()}


def _mask(ids: np.ndarray, num_nodes: int) -> torch.Tensor:
    return index_to_mask(torch.from_numpy(ids).long(), size=num_nodes)


def _assert_conventions(data: Data, g: FakeGraph, inductive: bool) -> None:
    """Everything a reader promises, checked against the ground truth that was written."""
    n = g.num_nodes
    assert data.x.dtype == torch.float32 and data.x.shape == g.x.shape
    assert data.y.dtype == torch.int64 and data.y.shape == (n,)
    assert torch.equal(data.y, torch.from_numpy(g.y))

    ei = data.edge_index
    assert ei.dtype == torch.int64 and ei.dim() == 2 and ei.size(0) == 2
    edges = _edge_set(ei)
    assert edges == {(d, s) for s, d in edges}, "edge set must equal its transpose"
    assert edges == g.clean_edge_set()
    assert len(edges) == ei.size(1), "duplicate edges"
    assert not contains_self_loops(ei)
    keys = ei[0] * n + ei[1]
    assert bool((keys[1:] > keys[:-1]).all()), "edge_index must be coalesced (sorted)"

    for name, ids in (("train", g.train), ("val", g.val), ("test", g.test)):
        mask = data[f"{name}_mask"]
        assert mask.dtype == torch.bool and mask.shape == (n,)
        assert torch.equal(mask, _mask(ids, n))
        assert int(mask.sum()) == len(ids)
    assert not (data.train_mask & data.val_mask).any()
    assert not (data.train_mask & data.test_mask).any()
    assert not (data.val_mask & data.test_mask).any()
    assert data.inductive is inductive


def _assert_names(exc: pytest.ExceptionInfo[FormatError], path: Path, *words: str) -> None:
    message = str(exc.value)
    assert "\n" not in message, "messages must be one line"
    assert str(path) in message
    for word in words:
        assert word in message


def _rewrite_csv(path: Path, values: object) -> None:
    pd.DataFrame(values).to_csv(path, header=False, index=False)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


# --- ogbn-arxiv (OGB raw CSV layout) -----------------------------------------------------------


def test_ogbn_arxiv_reads_values_splits_and_undirected_edges(tmp_path):
    root = write_ogbn_arxiv(tmp_path / "ogbn_arxiv")
    data = read_ogbn_arxiv(root)
    g = fake_graph()
    _assert_conventions(data, g, inductive=False)
    np.testing.assert_allclose(data.x.numpy(), g.x, rtol=1e-6)


def test_ogbn_arxiv_ignores_optional_ogb_files(tmp_path):
    root = write_ogbn_arxiv(tmp_path)
    (root / "raw" / "num-node-list.csv.gz").unlink()
    (root / "raw" / "num-edge-list.csv.gz").unlink()
    assert read_ogbn_arxiv(root).num_nodes == fake_graph().num_nodes


@pytest.mark.parametrize("relpath", OGBN_ARXIV_FILES)
def test_ogbn_arxiv_missing_file_is_named(tmp_path, relpath):
    root = write_ogbn_arxiv(tmp_path)
    (root / relpath).unlink()
    with pytest.raises(FormatError) as exc:
        read_ogbn_arxiv(root)
    _assert_names(exc, root / relpath, "missing file", "OGB")


def test_missing_folder_lists_every_file_in_one_line(tmp_path):
    with pytest.raises(FormatError) as exc:
        read_ogbn_arxiv(tmp_path / "absent")
    for relpath in OGBN_ARXIV_FILES:
        _assert_names(exc, tmp_path / "absent" / relpath)
    assert isinstance(exc.value, UserError) and isinstance(exc.value, ValueError)


def _ogb_truncate_features(root):
    _truncate(root / "raw" / "node-feat.csv.gz")
    return "raw/node-feat.csv.gz"


def _ogb_not_gzip(root):
    (root / "raw" / "node-label.csv.gz").write_bytes(b"definitely not gzip")
    return "raw/node-label.csv.gz"


def _ogb_text_in_edges(root):
    _rewrite_csv(root / "raw" / "edge.csv.gz", [[0, 1], ["a", "b"]])
    return "raw/edge.csv.gz"


def _ogb_three_edge_columns(root):
    _rewrite_csv(root / "raw" / "edge.csv.gz", [[0, 1, 2], [2, 3, 4]])
    return "raw/edge.csv.gz"


def _ogb_edge_out_of_range(root):
    _rewrite_csv(root / "raw" / "edge.csv.gz", [[0, 1], [2, fake_graph().num_nodes]])
    return "raw/edge.csv.gz"


def _ogb_label_count_mismatch(root):
    _rewrite_csv(root / "raw" / "node-label.csv.gz", fake_graph().y[:-1, None])
    return "raw/node-label.csv.gz"


def _ogb_short_feature_row(root):
    lines = [",".join(map(str, row)) for row in fake_graph().x.tolist()]
    lines[3] = "0.5,0.25"  # pandas pads a short row with NaN
    with gzip.open(root / "raw" / "node-feat.csv.gz", "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    return "raw/node-feat.csv.gz"


def _ogb_negative_split_id(root):
    _rewrite_csv(root / "split" / "time" / "test.csv.gz", [[-1], [2]])
    return "split/time/test.csv.gz"


def _ogb_overlapping_splits(root):
    g = fake_graph()
    _rewrite_csv(root / "split" / "time" / "valid.csv.gz", np.r_[g.val, g.train[:1]][:, None])
    return "split/time/valid.csv.gz"


@pytest.mark.parametrize(
    "corrupt",
    [
        _ogb_truncate_features,
        _ogb_not_gzip,
        _ogb_text_in_edges,
        _ogb_three_edge_columns,
        _ogb_edge_out_of_range,
        _ogb_label_count_mismatch,
        _ogb_short_feature_row,
        _ogb_negative_split_id,
        _ogb_overlapping_splits,
    ],
)
def test_ogbn_arxiv_corrupt_file_is_named(tmp_path, corrupt):
    root = write_ogbn_arxiv(tmp_path)
    relpath = corrupt(root)
    with pytest.raises(FormatError) as exc:
        read_ogbn_arxiv(root)
    _assert_names(exc, root / relpath, "corrupt file", "expected")


def test_ogbn_arxiv_truncated_gzip_really_is_truncated(tmp_path):
    # Guards the corruption test above: a half-length gzip must not still decode.
    path = write_ogbn_arxiv(tmp_path) / "raw" / "node-feat.csv.gz"
    _truncate(path)
    with pytest.raises(EOFError), gzip.open(path) as handle:
        handle.read()


# --- GraphSAINT layout (Flickr, Reddit) ---------------------------------------------------------


def test_graphsaint_reads_values_splits_and_undirected_edges(tmp_path):
    root = write_graphsaint(tmp_path / "flickr")
    data = read_graphsaint(root, normalize_features=False)
    g = fake_graph()
    _assert_conventions(data, g, inductive=True)
    assert torch.equal(data.x, torch.from_numpy(g.x))


def test_graphsaint_standardises_with_training_statistics_only(tmp_path):
    data = read_graphsaint(write_graphsaint(tmp_path))
    g = fake_graph()
    train = data.x[data.train_mask].double()
    zeros, ones = torch.zeros(g.x.shape[1], dtype=torch.float64), torch.ones(g.x.shape[1] - 1)
    torch.testing.assert_close(train.mean(0), zeros, atol=1e-5, rtol=0)
    std = train.std(0, unbiased=False)
    torch.testing.assert_close(std[1:], ones.double(), atol=1e-5, rtol=0)
    # Column 0 is constant: std 0 is replaced by 1, so it is centred to 0 rather than NaN.
    assert torch.equal(data.x[:, 0], torch.zeros(g.num_nodes))

    node, col = int(g.test[0]), 2
    column = g.x[g.train, col].astype(np.float64)
    expected = (g.x[node, col] - column.mean()) / column.std()
    assert data.x[node, col].item() == pytest.approx(expected, rel=1e-5)
    # fake_graph shifts non-training features by +4 (4/3 train stds): all-node statistics would
    # have centred them, training statistics leave them visibly off-centre.
    held_out = data.x[~data.train_mask][:, 1:]
    assert held_out.mean().item() == pytest.approx(4.0 / 3.0, abs=0.5)


@pytest.mark.parametrize("name", GRAPHSAINT_FILES)
def test_graphsaint_missing_file_is_named(tmp_path, name):
    root = write_graphsaint(tmp_path)
    (root / name).unlink()
    with pytest.raises(FormatError) as exc:
        read_graphsaint(root)
    _assert_names(exc, root / name, "missing file", "GraphSAINT")


def test_graphsaint_multilabel_class_map_is_rejected(tmp_path):
    root = write_graphsaint(tmp_path, multilabel=True)
    with pytest.raises(FormatError) as exc:
        read_graphsaint(root)
    _assert_names(exc, root / "class_map.json", "multi-label")


def _saint_garbage_class_map(root):
    (root / "class_map.json").write_text('{"0": 1, "1": ')
    return "class_map.json", "JSON"


def _saint_class_map_missing_node(root):
    class_map = json.loads((root / "class_map.json").read_text())
    del class_map["5"]
    (root / "class_map.json").write_text(json.dumps(class_map))
    return "class_map.json", "covering all"


def _saint_class_map_string_label(root):
    class_map = json.loads((root / "class_map.json").read_text())
    class_map["5"] = "cat"
    (root / "class_map.json").write_text(json.dumps(class_map))
    return "class_map.json", "int label"


def _saint_role_without_va(root):
    role = json.loads((root / "role.json").read_text())
    del role["va"]
    (root / "role.json").write_text(json.dumps(role))
    return "role.json", "'va'"


def _saint_role_is_a_list(root):
    (root / "role.json").write_text("[1, 2, 3]")
    return "role.json", "JSON list"


def _saint_role_out_of_range(root):
    role = json.loads((root / "role.json").read_text())
    role["te"].append(fake_graph().num_nodes)
    (root / "role.json").write_text(json.dumps(role))
    return "role.json", "node ids"


def _saint_role_overlap(root):
    role = json.loads((root / "role.json").read_text())
    role["te"].append(role["tr"][0])
    (root / "role.json").write_text(json.dumps(role))
    return "role.json", "disjoint"


def _saint_truncated_adjacency(root):
    _truncate(root / "adj_full.npz")
    return "adj_full.npz", "save_npz"


def _saint_adjacency_wrong_shape(root):
    sp.save_npz(root / "adj_full.npz", sp.eye(5, format="csr"))
    return "adj_full.npz", "shape (5, 5)"


def _saint_pickled_features(root):
    # An object array can only be read by unpickling, which the reader must refuse to do.
    np.save(root / "feats.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)
    return "feats.npy", "not pickled"


def _saint_one_dimensional_features(root):
    np.save(root / "feats.npy", np.zeros(fake_graph().num_nodes))
    return "feats.npy", "2-D"


@pytest.mark.parametrize(
    "corrupt",
    [
        _saint_garbage_class_map,
        _saint_class_map_missing_node,
        _saint_class_map_string_label,
        _saint_role_without_va,
        _saint_role_is_a_list,
        _saint_role_out_of_range,
        _saint_role_overlap,
        _saint_truncated_adjacency,
        _saint_adjacency_wrong_shape,
        _saint_pickled_features,
        _saint_one_dimensional_features,
    ],
)
def test_graphsaint_corrupt_file_is_named(tmp_path, corrupt):
    root = write_graphsaint(tmp_path)
    name, word = corrupt(root)
    with pytest.raises(FormatError) as exc:
        read_graphsaint(root)
    _assert_names(exc, root / name, "corrupt file", word)


# --- Planetoid fake, read by PyG itself ---------------------------------------------------------


@pytest.mark.parametrize("name", ["PubMed", "Cora", "CiteSeer"])
def test_planetoid_fake_loads_with_public_split(tmp_path, name):
    root = write_planetoid(tmp_path, name)
    assert (root / name / "raw" / f"ind.{name.lower()}.test.index").is_file()
    dataset = Planetoid(root=str(root), name=name)
    data = dataset[0]
    g = planetoid_graph()

    assert (dataset.num_classes, dataset.num_features) == (3, g.x.shape[1])
    assert data.num_nodes == g.num_nodes == 700
    assert torch.equal(data.x, torch.from_numpy(g.x))
    assert torch.equal(data.y, torch.from_numpy(g.y))
    assert [int(data[f"{s}_mask"].sum()) for s in ("train", "val", "test")] == [60, 500, 100]
    for split, ids in (("train", g.train), ("val", g.val), ("test", g.test)):
        assert torch.equal(data[f"{split}_mask"], _mask(ids, g.num_nodes))
    assert torch.bincount(data.y[data.train_mask]).tolist() == [20, 20, 20]
    assert _edge_set(data.edge_index) == g.clean_edge_set()


# --- OGB graph property prediction (ogbg-molhiv layout) -----------------------------------------

# A tiny ogbg dataset: graph 0 lists one edge twice (once reversed) and has a self loop, graph 1
# lists both directions, graph 2 is a single atom without edges, graph 3 lists edges one way.
OGBG_NODES = [3, 2, 1, 4]
OGBG_EDGES = [[(0, 1), (1, 2), (1, 0), (2, 2)], [(0, 1), (1, 0)], [], [(0, 3), (2, 1)]]
OGBG_LABELS = [0, 1, 1, 0]
OGBG_SPLIT = {"train": [0, 3], "valid": [1], "test": [2]}
ATOM_VOCAB = (119, 5, 12, 12, 10, 6, 6, 2, 2)


def ogbg_atom_features() -> np.ndarray:
    """Ten atoms' categorical features, covering the first and last value of every vocabulary."""
    rng = np.random.default_rng(0)
    feats = np.stack([rng.integers(0, size, size=sum(OGBG_NODES)) for size in ATOM_VOCAB], axis=1)
    feats[0] = 0
    feats[1] = np.asarray(ATOM_VOCAB) - 1
    return feats


def write_ogbg(
    root: Path,
    feats: np.ndarray | None = None,
    labels: object = None,
    split_name: str = "scaffold",
    edge_feat: bool = False,
) -> Path:
    """Write the tiny dataset above in OGB's raw graph-property layout (gzipped header-less CSVs)."""
    root = Path(root)
    (root / "raw").mkdir(parents=True, exist_ok=True)
    (root / "split" / split_name).mkdir(parents=True, exist_ok=True)
    edges = [pair for graph in OGBG_EDGES for pair in graph]
    _rewrite_csv(root / "raw" / "edge.csv.gz", edges)
    _rewrite_csv(root / "raw" / "node-feat.csv.gz", ogbg_atom_features() if feats is None else feats)
    _rewrite_csv(root / "raw" / "graph-label.csv.gz", np.asarray(OGBG_LABELS)[:, None] if labels is None else labels)
    _rewrite_csv(root / "raw" / "num-node-list.csv.gz", np.asarray(OGBG_NODES)[:, None])
    _rewrite_csv(root / "raw" / "num-edge-list.csv.gz", np.asarray([len(g) for g in OGBG_EDGES])[:, None])
    if edge_feat:
        _rewrite_csv(root / "raw" / "edge-feat.csv.gz", np.zeros((len(edges), 3), dtype=int))
    for stem, ids in OGBG_SPLIT.items():
        _rewrite_csv(root / "split" / split_name / f"{stem}.csv.gz", np.asarray(ids)[:, None])
    return root


def _expected_edges(graph: int) -> set[tuple[int, int]]:
    pairs = {(s, d) for s, d in OGBG_EDGES[graph] if s != d}
    return pairs | {(d, s) for s, d in pairs}


def test_ogbg_reads_graphs_one_hot_atoms_and_undirected_edges(tmp_path):
    graphs, split = read_ogbg(write_ogbg(tmp_path / "ogbg_molhiv"))
    assert len(graphs) == len(OGBG_NODES)
    feats = ogbg_atom_features()
    offsets = np.cumsum(ATOM_VOCAB) - np.asarray(ATOM_VOCAB)
    start = 0
    for i, (graph, n) in enumerate(zip(graphs, OGBG_NODES, strict=True)):
        assert graph.x.dtype == torch.float32 and graph.x.shape == (n, sum(ATOM_VOCAB)) == (n, 174)
        assert torch.equal(graph.x.sum(1), torch.full((n,), 9.0))  # one 1 per categorical column
        for row in range(n):
            hot = graph.x[row].nonzero().flatten().numpy()
            np.testing.assert_array_equal(hot, feats[start + row] + offsets)
        start += n

        ei = graph.edge_index
        assert ei.dtype == torch.int64 and ei.shape == (2, len(_expected_edges(i)))
        assert _edge_set(ei) == _expected_edges(i)
        assert not contains_self_loops(ei)
        keys = ei[0] * n + ei[1]
        assert bool((keys[1:] > keys[:-1]).all()), "edge_index must be coalesced (sorted)"
        assert graph.y.dtype == torch.int64 and graph.y.shape == (1,)
    assert graphs[2].edge_index.shape == (2, 0) and graphs[2].x.shape == (1, 174)
    assert torch.cat([g.y for g in graphs]).tolist() == OGBG_LABELS
    # the first atom is all zeros and the second all maxima: the vocabulary ends are accepted
    assert graphs[0].x[0].nonzero().flatten().tolist() == offsets.tolist()

    assert set(split) == {"train", "val", "test"}
    assert all(ids.dtype == torch.int64 for ids in split.values())
    assert {k: v.tolist() for k, v in split.items()} == {"train": [0, 3], "val": [1], "test": [2]}


def test_ogbg_graph_storage_is_not_shared(tmp_path):
    # Each graph owns its tensors: saving one graph must not drag the whole dataset along.
    graphs, _ = read_ogbg(write_ogbg(tmp_path))
    storages = {g.x.untyped_storage().data_ptr() for g in graphs}
    storages |= {g.edge_index.untyped_storage().data_ptr() for g in graphs if g.num_edges}
    assert len(storages) == len(graphs) + sum(1 for g in graphs if g.num_edges)
    assert graphs[1].x.untyped_storage().nbytes() == graphs[1].x.numel() * 4


def test_ogbg_multitask_labels_keep_nan(tmp_path):
    labels = [[0, 1, None], [1, None, 0], [None, None, None], [1, 0, 1]]
    graphs, _ = read_ogbg(write_ogbg(tmp_path, labels=labels))
    y = torch.cat([g.y for g in graphs])
    assert y.dtype == torch.float32 and y.shape == (4, 3) and graphs[0].y.shape == (1, 3)
    expected = torch.tensor([[0, 1, np.nan], [1, np.nan, 0], [np.nan] * 3, [1, 0, 1]], dtype=torch.float32)
    torch.testing.assert_close(y, expected, equal_nan=True)


def test_ogbg_regression_label_is_float(tmp_path):
    graphs, _ = read_ogbg(write_ogbg(tmp_path, labels=[[0.5], [-1.25], [2.0], [3.0]]))
    assert graphs[1].y.dtype == torch.float32 and graphs[1].y.tolist() == [[-1.25]]


def test_ogbg_other_feature_widths_are_floats_as_given(tmp_path):
    feats = np.arange(sum(OGBG_NODES) * 4, dtype=np.float64).reshape(-1, 4) / 8 - 1
    graphs, _ = read_ogbg(write_ogbg(tmp_path, feats=feats))
    x = torch.cat([g.x for g in graphs])
    assert x.dtype == torch.float32
    assert torch.equal(x, torch.from_numpy(feats).float())


def test_ogbg_accepts_any_single_split_folder_and_ignores_edge_features(tmp_path):
    graphs, split = read_ogbg(write_ogbg(tmp_path, split_name="species", edge_feat=True))
    assert len(graphs) == 4 and split["val"].tolist() == [1]


def test_ogbg_two_split_folders_are_ambiguous(tmp_path):
    root = write_ogbg(tmp_path)
    (root / "split" / "random").mkdir()
    with pytest.raises(FormatError) as exc:
        read_ogbg(root)
    _assert_names(exc, root / "split", "scaffold", "random")


@pytest.mark.parametrize("relpath", ogbg_files())
def test_ogbg_missing_file_is_named(tmp_path, relpath):
    root = write_ogbg(tmp_path)
    (root / relpath).unlink()
    with pytest.raises(FormatError) as exc:
        read_ogbg(root)
    _assert_names(exc, root / relpath, "missing file", "OGB")


def _ogbg_feature_rows_mismatch(root):
    _rewrite_csv(root / "raw" / "node-feat.csv.gz", ogbg_atom_features()[:-1])
    return "raw/node-feat.csv.gz", "found 9 rows"


def _ogbg_atom_out_of_range(root):
    feats = ogbg_atom_features()
    feats[4, 1] = ATOM_VOCAB[1]  # chirality takes 0..4
    _rewrite_csv(root / "raw" / "node-feat.csv.gz", feats)
    return "raw/node-feat.csv.gz", "line 5, column 2 holds 5"


def _ogbg_negative_atom(root):
    feats = ogbg_atom_features()
    feats[2, 0] = -1
    _rewrite_csv(root / "raw" / "node-feat.csv.gz", feats)
    return "raw/node-feat.csv.gz", "atom feature"


def _ogbg_fractional_atom(root):
    feats = ogbg_atom_features().astype(float)
    feats[2, 0] = 1.5
    _rewrite_csv(root / "raw" / "node-feat.csv.gz", feats)
    return "raw/node-feat.csv.gz", "non-integer"


def _ogbg_edge_rows_mismatch(root):
    _rewrite_csv(root / "raw" / "edge.csv.gz", [(0, 1), (1, 2)])
    return "raw/edge.csv.gz", "found 2 rows"


def _ogbg_edge_outside_its_graph(root):
    edges = [pair for graph in OGBG_EDGES for pair in graph]
    edges[5] = (0, 2)  # graph 1 has two nodes, 0 and 1
    _rewrite_csv(root / "raw" / "edge.csv.gz", edges)
    return "raw/edge.csv.gz", "graph 1, which has 2 nodes"


def _ogbg_edge_count_rows_mismatch(root):
    _rewrite_csv(root / "raw" / "num-edge-list.csv.gz", [[4], [2], [2]])
    return "raw/num-edge-list.csv.gz", "found 3 rows"


def _ogbg_negative_node_count(root):
    _rewrite_csv(root / "raw" / "num-node-list.csv.gz", [[3], [2], [-1], [6]])
    return "raw/num-node-list.csv.gz", "negative"


def _ogbg_label_rows_mismatch(root):
    _rewrite_csv(root / "raw" / "graph-label.csv.gz", [[0], [1], [1]])
    return "raw/graph-label.csv.gz", "found 3 rows"


def _ogbg_split_out_of_range(root):
    _rewrite_csv(root / "split" / "scaffold" / "test.csv.gz", [[2], [4]])
    return "split/scaffold/test.csv.gz", "graph ids span [2, 4]"


def _ogbg_split_duplicate(root):
    _rewrite_csv(root / "split" / "scaffold" / "train.csv.gz", [[0], [3], [0]])
    return "split/scaffold/train.csv.gz", "more than once"


def _ogbg_splits_overlap(root):
    _rewrite_csv(root / "split" / "scaffold" / "valid.csv.gz", [[1], [0]])
    return "split/scaffold/valid.csv.gz", "graph id(s) in both the train and the val split"


@pytest.mark.parametrize(
    "corrupt",
    [
        _ogbg_feature_rows_mismatch,
        _ogbg_atom_out_of_range,
        _ogbg_negative_atom,
        _ogbg_fractional_atom,
        _ogbg_edge_rows_mismatch,
        _ogbg_edge_outside_its_graph,
        _ogbg_edge_count_rows_mismatch,
        _ogbg_negative_node_count,
        _ogbg_label_rows_mismatch,
        _ogbg_split_out_of_range,
        _ogbg_split_duplicate,
        _ogbg_splits_overlap,
    ],
)
def test_ogbg_corrupt_or_inconsistent_file_is_named(tmp_path, corrupt):
    root = write_ogbg(tmp_path)
    relpath, word = corrupt(root)
    with pytest.raises(FormatError) as exc:
        read_ogbg(root)
    _assert_names(exc, root / relpath, "corrupt file", "expected", word)


def test_ogbg_truncated_gzip_is_named(tmp_path):
    root = write_ogbg(tmp_path)
    _rewrite_csv(root / "raw" / "node-feat.csv.gz", np.tile(ogbg_atom_features(), (200, 1)))
    _truncate(root / "raw" / "node-feat.csv.gz")
    with pytest.raises(FormatError) as exc:
        read_ogbg(root)
    _assert_names(exc, root / "raw/node-feat.csv.gz", "corrupt file")
