"""Graph-classification datasets: the TU reader (featureless and labelled), MUTAG, ogbg-molhiv."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch_geometric.data import Data, InMemoryDataset
from torch_geometric.io import read_tu_data

from graphdistill.core import datasets as ds
from graphdistill.core.errors import UserError
from graphdistill.graph import load_dataset
from graphdistill.graph.collection import GraphCollection
from graphdistill.graph.datasets import GRAPHS, TU_GRAPH_SETS, load_tu
from graphdistill.graph.formats import TU_MAX_DEGREE, FormatError, read_tu
from tests.graph.test_formats import OGBG_LABELS, OGBG_NODES, write_ogbg

# A featureless TU dataset (like IMDB-BINARY): a path on nodes 1-3, two isolated nodes 4-5 (a
# graph without edges), and a star centred on node 6 with leaves 7-9. Labels are -1/1.
TOY_A = [(1, 2), (2, 1), (2, 3), (3, 2), (6, 7), (7, 6), (6, 8), (8, 6), (6, 9), (9, 6)]
TOY_INDICATOR = [1, 1, 1, 2, 2, 3, 3, 3, 3]
TOY_LABELS = [1, -1, 1]
TOY_DEGREES = [[1, 2, 1], [0, 0], [3, 1, 1, 1]]


def _lines(rows) -> str:
    return "".join((", ".join(map(str, row)) if isinstance(row, tuple) else str(row)) + "\n" for row in rows)


def write_tu(root: Path, name: str = "TOY", edges=TOY_A, indicator=TOY_INDICATOR, labels=TOY_LABELS,
             **optional) -> Path:
    """Write a TU dataset as ``<root>/tu/<name>/raw/<name>_*.txt``; ``optional`` adds e.g.
    ``node_labels=[...]``. Returns the raw folder."""
    raw = Path(root) / "tu" / name / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    files = {"A": edges, "graph_indicator": indicator, "graph_labels": labels, **optional}
    for stem, rows in files.items():
        (raw / f"{name}_{stem}.txt").write_text(_lines(rows))
    return raw


def _edge_set(edge_index: torch.Tensor) -> set[tuple[int, int]]:
    return {(int(s), int(d)) for s, d in edge_index.t().tolist()}


# --- featureless TU data: degree one-hot, label remapping ---------------------------------------


def test_featureless_tu_gets_degree_one_hot_and_remapped_labels(tmp_path):
    write_tu(tmp_path)
    collection = load_tu(tmp_path, "TOY")
    assert isinstance(collection, GraphCollection)
    assert collection.split is None and collection.metric == "accuracy"
    assert collection.label_values == [-1, 1]
    assert len(collection) == 3
    assert torch.cat([g.y for g in collection]).tolist() == [1, 0, 1]

    for graph, degrees in zip(collection, TOY_DEGREES, strict=True):
        assert graph.x.dtype == torch.float32
        assert graph.x.shape == (len(degrees), TU_MAX_DEGREE + 1) == (len(degrees), 65)
        assert torch.equal(graph.x.sum(1), torch.ones(len(degrees)))
        assert graph.x.argmax(1).tolist() == degrees
        assert graph.y.dtype == torch.int64 and graph.y.shape == (1,)
        assert "edge_attr" not in graph

    path, empty, star = collection.graphs
    assert _edge_set(path.edge_index) == {(0, 1), (1, 0), (1, 2), (2, 1)}
    assert empty.edge_index.dtype == torch.int64 and empty.edge_index.shape == (2, 0)
    assert empty.num_nodes == 2
    assert _edge_set(star.edge_index) == {(0, k) for k in (1, 2, 3)} | {(k, 0) for k in (1, 2, 3)}


def test_degrees_above_the_cap_share_the_last_column(tmp_path):
    write_tu(tmp_path)
    star = load_tu(tmp_path, "TOY", max_degree=2)[2]
    assert star.x.shape == (4, 3)
    assert star.x.argmax(1).tolist() == [2, 1, 1, 1]


def test_edges_given_one_way_self_loops_and_duplicates_are_cleaned(tmp_path):
    write_tu(tmp_path, edges=[(1, 2), (2, 3), (2, 3), (3, 3), (7, 6)])
    path, _, star = load_tu(tmp_path, "TOY")
    assert _edge_set(path.edge_index) == {(0, 1), (1, 0), (1, 2), (2, 1)}
    assert path.edge_index.size(1) == 4
    assert path.x.argmax(1).tolist() == [1, 2, 1]  # degree counts neighbours, not listed lines
    assert star.x.argmax(1).tolist() == [1, 1, 0, 0]


def test_dataset_without_any_edge_loads(tmp_path):
    write_tu(tmp_path, edges=[])
    collection = load_tu(tmp_path, "TOY")
    assert [g.num_edges for g in collection] == [0, 0, 0]
    assert all(g.x.shape == (g.num_nodes, 65) and g.x[:, 0].all() for g in collection)


def test_one_based_multiclass_labels_are_remapped_in_sorted_order(tmp_path):
    write_tu(tmp_path, labels=[3, 1, 2])
    collection = load_tu(tmp_path, "TOY")
    assert collection.label_values == [1, 2, 3]
    assert torch.cat([g.y for g in collection]).tolist() == [2, 0, 1]


def test_node_labels_and_attributes_replace_degrees(tmp_path):
    node_labels = [2, 3, 2, 4, 2, 3, 3, 2, 4]  # three kinds, shifted to start at 0
    attributes = [(0.5, float(i)) for i in range(9)]
    write_tu(tmp_path, node_labels=node_labels, node_attributes=attributes, edge_labels=[1] * 10)
    path = load_tu(tmp_path, "TOY")[0]
    assert path.x.shape == (3, 2 + 3)
    assert torch.equal(path.x[:, :2], torch.tensor([[0.5, 0.0], [0.5, 1.0], [0.5, 2.0]]))
    assert path.x[:, 2:].argmax(1).tolist() == [0, 1, 0]
    assert path.edge_attr.shape == (4, 1) and bool((path.edge_attr == 1).all())


def test_same_graphs_as_pyg_reader_on_a_labelled_toy(tmp_path):
    raw = write_tu(tmp_path, node_labels=[0, 1, 0, 1, 1, 2, 0, 0, 0], edge_labels=[0, 0, 1, 1, 0, 0, 2, 2, 0, 0])
    _assert_same_as_pyg(read_tu(raw, "TOY")[0], raw, "TOY")


class _PyGGraphs(InMemoryDataset):
    def __init__(self, raw: Path, name: str) -> None:
        super().__init__(None)
        self.data, self.slices, _ = read_tu_data(str(raw), name)


def _assert_same_as_pyg(graphs, raw: Path, name: str) -> None:
    reference = list(_PyGGraphs(raw, name))
    assert len(graphs) == len(reference)
    for ours, theirs in zip(graphs, reference, strict=True):
        assert torch.equal(ours.x, theirs.x.float())
        assert torch.equal(ours.edge_index, theirs.edge_index)
        assert torch.equal(ours.edge_attr, theirs.edge_attr.float())
        assert torch.equal(ours.y, theirs.y)


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("stem", ["A", "graph_indicator", "graph_labels"])
def test_missing_tu_file_is_named(tmp_path, stem):
    raw = write_tu(tmp_path)
    (raw / f"TOY_{stem}.txt").unlink()
    with pytest.raises(FormatError) as exc:
        load_tu(tmp_path, "TOY")
    assert str(raw / f"TOY_{stem}.txt") in str(exc.value) and "missing file" in str(exc.value)


@pytest.mark.parametrize("changes, stem, word", [
    ({"edges": [(1, 2), (3, 6)]}, "A", "joins graphs 1 and 3"),
    ({"edges": [(1, 2), (2, 10)]}, "A", "node ids span [1, 10]"),
    ({"indicator": [1, 1, 1, 3, 3, 2, 3, 3, 3]}, "graph_indicator", "decrease at line 6"),
    ({"indicator": [1, 1, 1, 3, 3, 3, 3, 3, 3]}, "graph_indicator", "graph 2 has no nodes"),
    ({"indicator": [1, 1, 1, 2, 2, 3, 3, 3, 4]}, "graph_indicator", "graph ids span [1, 4]"),
    ({"labels": [1, "a", 1]}, "graph_labels", "integer class label"),
    ({"node_labels": [0, 1, 0]}, "node_labels", "found 3 rows"),
    ({"node_attributes": [0.5] * 8 + ["nan"]}, "node_attributes", "NaN"),
])
def test_inconsistent_tu_file_is_named(tmp_path, changes, stem, word):
    raw = write_tu(tmp_path, **changes)
    with pytest.raises(FormatError) as exc:
        load_tu(tmp_path, "TOY")
    message = str(exc.value)
    assert "\n" not in message and str(raw / f"TOY_{stem}.txt") in message and word in message


@pytest.mark.parametrize("max_degree", [-1, 2.5, True])
def test_max_degree_must_be_a_natural_number(tmp_path, max_degree):
    write_tu(tmp_path)
    with pytest.raises(UserError, match="max_degree"):
        load_tu(tmp_path, "TOY", max_degree=max_degree)


def test_graph_collection_validates_metric_and_split():
    with pytest.raises(UserError, match="metric"):
        GraphCollection([], split=None, metric="f1")
    with pytest.raises(UserError, match="keys"):
        GraphCollection([], split={"train": torch.zeros(1, dtype=torch.long)}, metric="accuracy")


def _graph(label: int, x: torch.Tensor | None = None) -> Data:
    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])  # a path on 3 nodes
    return Data(x=x, edge_index=edge_index, y=torch.tensor([label]), num_nodes=3)


def test_graphs_without_features_get_degree_one_hot_and_bad_graphs_are_refused():
    plain = [_graph(0), _graph(1)]
    collection = GraphCollection(plain, split=None, metric="accuracy")
    assert collection[0].x.shape == (3, TU_MAX_DEGREE + 1)
    assert collection[0].x.argmax(1).tolist() == [1, 2, 1] and plain[0].x is None  # inputs untouched
    with pytest.raises(UserError, match="graph 1 has no node features"):
        GraphCollection([_graph(0, torch.ones(3, 2)), _graph(1)], split=None, metric="accuracy")
    with pytest.raises(UserError, match="one width"):
        GraphCollection([_graph(0, torch.ones(3, 2)), _graph(1, torch.ones(3, 4))], split=None, metric="accuracy")
    with pytest.raises(UserError, match=r"0..C-1 .* got \[0, 2\]"):
        GraphCollection([_graph(0), _graph(2)], split=None, metric="accuracy")
    with pytest.raises(UserError, match=r"got \[1, 2\]"):
        GraphCollection([_graph(1), _graph(2)], split=None, metric="accuracy")
    no_label = _graph(0)
    no_label.y = None
    with pytest.raises(UserError, match="graph 0 has no label"):
        GraphCollection([no_label], split=None, metric="accuracy")


# --- real MUTAG (shared data root) and ogbg-molhiv through the registry -------------------------


def test_mutag_from_the_data_root(data_root):
    collection = load_tu(data_root, "MUTAG")
    assert len(collection) == 188 and all(g.x.shape[1] == 7 for g in collection)
    assert sorted({int(g.y) for g in collection}) == [0, 1]
    assert collection.label_values == [-1, 1]
    assert collection.split is None and collection.metric == "accuracy"
    # identical to what the PyG TU reader (the previous implementation) gives
    _assert_same_as_pyg(collection.graphs, data_root / "tu" / "MUTAG" / "raw", "MUTAG")


def test_mutag_through_the_registry_is_a_collection(data_root):
    collection = load_dataset("mutag", data_root)
    assert isinstance(collection, GraphCollection) and len(collection) == 188
    assert ds.DATASETS.get("mutag").task == GRAPHS


@pytest.mark.parametrize("name", sorted(TU_GRAPH_SETS))
def test_other_tu_benchmarks_load_by_name_from_the_tu_layout(tmp_path, monkeypatch, name):
    folder = TU_GRAPH_SETS[name][0]
    monkeypatch.delenv(ds.ENV_DATA, raising=False)
    monkeypatch.setenv(ds.ENV_OFFLINE, "1")
    with pytest.raises(UserError) as exc:  # absent: the message names the layout and the archive
        load_dataset(name, tmp_path)
    assert f"tu/{folder}/raw/{folder}_A.txt" in str(exc.value) and f"{folder}.zip" in str(exc.value)
    write_tu(tmp_path, folder)
    collection = load_dataset(name, tmp_path)
    assert ds.DATASETS.get(name).task == GRAPHS
    assert isinstance(collection, GraphCollection) and len(collection) == len(TOY_LABELS)
    assert [g.num_nodes for g in collection] == [len(d) for d in TOY_DEGREES]
    assert collection.name == name  # what picks a method's per-dataset preset


def test_ogbg_molhiv_through_the_registry(tmp_path):
    spec = ds.DATASETS.get("ogbg-molhiv")
    assert spec.task == GRAPHS and spec.modality == "graph"
    assert spec.description == "41127 molecule graphs, HIV inhibition, binary (OGB)"
    assert "hiv.zip" in spec.provenance and "ogbg_molhiv" in spec.provenance
    write_ogbg(tmp_path / "ogbg_molhiv")
    collection = load_dataset("ogbg-molhiv", tmp_path)
    assert isinstance(collection, GraphCollection) and collection.metric == "rocauc"
    assert collection.label_values is None
    assert [g.num_nodes for g in collection] == OGBG_NODES
    assert torch.cat([g.y for g in collection]).tolist() == OGBG_LABELS
    assert {k: v.tolist() for k, v in collection.split.items()} == {"train": [0, 3], "val": [1], "test": [2]}


def test_ogbg_molhiv_missing_names_the_layout(tmp_path, monkeypatch):
    monkeypatch.delenv(ds.ENV_DATA, raising=False)
    monkeypatch.setenv(ds.ENV_OFFLINE, "1")
    with pytest.raises(UserError) as exc:
        load_dataset("ogbg-molhiv", tmp_path)
    assert "ogbg_molhiv/raw/edge.csv.gz" in str(exc.value) and "hiv.zip" in str(exc.value)
