"""Writers of tiny, deterministic datasets in standard on-disk graph formats, for tests.

Each ``write_*`` function lays out a synthetic graph exactly as the real dataset ships (OGB raw
CSVs, GraphSAINT npz/npy/json, Planetoid pickles) under a given folder and returns that folder.
The same arguments always produce the same bytes, and the ground truth they encode is available
from :func:`fake_graph` / :func:`planetoid_graph` with the same arguments, so tests can compare
what a reader returns with what was written.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

# Planetoid's public split: 20 labelled training nodes per class, then 500 validation nodes.
PLANETOID_TRAIN_PER_CLASS = 20
PLANETOID_NUM_VAL = 500


@dataclasses.dataclass(frozen=True)
class FakeGraph:
    """Ground truth of a synthetic graph with ``N`` nodes and ``F`` features."""

    x: np.ndarray  # float32 (N, F)
    y: np.ndarray  # int64 (N,)
    edges: np.ndarray  # int64 (2, E): directed, with one self loop and one duplicate edge
    train: np.ndarray  # int64 node ids, sorted
    val: np.ndarray
    test: np.ndarray

    @property
    def num_nodes(self) -> int:
        return self.x.shape[0]

    def clean_edge_set(self) -> set[tuple[int, int]]:
        """The edges a reader must return: both directions, no self loops, no duplicates."""
        pairs = {(int(s), int(d)) for s, d in self.edges.T if s != d}
        return pairs | {(d, s) for s, d in pairs}


def fake_graph(
    num_nodes: int = 48, num_features: int = 5, num_classes: int = 3, seed: int = 0
) -> FakeGraph:
    """A random graph with a random split: half train, a fifth val, a fifth test, rest unused.

    Feature column 0 is constant (to exercise a std == 0 guard), and the other columns of
    non-training nodes are shifted by +4, so statistics over all nodes differ from training ones.
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, num_classes, size=num_nodes)
    y[:num_classes] = np.arange(num_classes)  # every class occurs

    order = rng.permutation(num_nodes)
    num_train, num_held = num_nodes // 2, num_nodes // 5
    train = np.sort(order[:num_train])
    val = np.sort(order[num_train : num_train + num_held])
    test = np.sort(order[num_train + num_held : num_train + 2 * num_held])

    x = rng.normal(2.0, 3.0, size=(num_nodes, num_features))
    x[:, 0] = 1.5
    x[np.setdiff1d(np.arange(num_nodes), train), 1:] += 4.0

    src = np.repeat(np.arange(num_nodes), 3)
    dst = rng.integers(0, num_nodes, size=src.size)
    # Real edge lists contain both defects; readers must clean them up.
    self_loop, duplicate = [[1], [1]], [[src[0]], [dst[0]]]
    edges = np.hstack([np.vstack([src, dst]), self_loop, duplicate])

    return FakeGraph(
        x=x.astype(np.float32),
        y=y.astype(np.int64),
        edges=edges.astype(np.int64),
        train=train.astype(np.int64),
        val=val.astype(np.int64),
        test=test.astype(np.int64),
    )


def _write_csv_gz(path: Path, values: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(np.atleast_2d(values)).to_csv(path, header=False, index=False)


def write_ogbn_arxiv(
    root: Path,
    num_nodes: int = 48,
    num_features: int = 5,
    num_classes: int = 3,
    seed: int = 0,
) -> Path:
    """Write ``fake_graph(...)`` in OGB's raw ogbn-arxiv layout (gzipped header-less CSVs)."""
    root = Path(root)
    g = fake_graph(num_nodes, num_features, num_classes, seed)
    raw = root / "raw"
    _write_csv_gz(raw / "edge.csv.gz", g.edges.T)
    _write_csv_gz(raw / "node-feat.csv.gz", g.x)
    _write_csv_gz(raw / "node-label.csv.gz", g.y[:, None])
    # Shipped by OGB but not needed by the reader; written so tests can show they are optional.
    _write_csv_gz(raw / "num-node-list.csv.gz", np.array([[g.num_nodes]]))
    _write_csv_gz(raw / "num-edge-list.csv.gz", np.array([[g.edges.shape[1]]]))
    for name, ids in (("train", g.train), ("valid", g.val), ("test", g.test)):
        _write_csv_gz(root / "split" / "time" / f"{name}.csv.gz", ids[:, None])
    return root


def write_graphsaint(
    root: Path,
    num_nodes: int = 48,
    num_features: int = 5,
    num_classes: int = 3,
    seed: int = 0,
    multilabel: bool = False,
) -> Path:
    """Write ``fake_graph(...)`` in the GraphSAINT layout (as Flickr and Reddit ship).

    Unlike real data, role.json leaves some nodes out of every split (as ``fake_graph`` does).
    With ``multilabel`` the labels are written as one-hot lists, as PPI or Yelp ship them.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    g = fake_graph(num_nodes, num_features, num_classes, seed)

    ones = np.ones(g.edges.shape[1], dtype=np.float32)
    adj = sp.coo_matrix((ones, (g.edges[0], g.edges[1])), shape=(g.num_nodes, g.num_nodes))
    # GraphSAINT's adj_full is symmetric; the self loop survives, to be removed by the reader.
    adj = ((adj + adj.T) > 0).astype(np.float32).tocsr()
    sp.save_npz(root / "adj_full.npz", adj)

    # GraphSAINT ships float64 features; readers must cast them to float32.
    np.save(root / "feats.npy", g.x.astype(np.float64))

    if multilabel:
        labels = np.eye(num_classes, dtype=np.int64)[g.y].tolist()
    else:
        labels = g.y.tolist()
    class_map = {str(node): label for node, label in enumerate(labels)}
    (root / "class_map.json").write_text(json.dumps(class_map))
    role = {"tr": g.train.tolist(), "va": g.val.tolist(), "te": g.test.tolist()}
    (root / "role.json").write_text(json.dumps(role))
    return root


def planetoid_graph(
    num_classes: int = 3,
    num_features: int = 6,
    num_unlabeled: int = 40,
    num_test: int = 100,
    seed: int = 0,
) -> FakeGraph:
    """A graph laid out for Planetoid's public split, which PyG infers from row positions.

    Nodes ``[0, 20 * C)`` are training nodes (20 per class), the next 500 are validation nodes,
    then ``num_unlabeled`` nodes in no split, then ``num_test`` test nodes at the end.
    """
    num_train = PLANETOID_TRAIN_PER_CLASS * num_classes
    num_nodes = num_train + PLANETOID_NUM_VAL + num_unlabeled + num_test
    g = fake_graph(num_nodes, num_features, num_classes, seed)
    y = g.y.copy()
    y[:num_train] = np.tile(np.arange(num_classes), PLANETOID_TRAIN_PER_CLASS)
    return dataclasses.replace(
        g,
        y=y,
        train=np.arange(num_train),
        val=np.arange(num_train, num_train + PLANETOID_NUM_VAL),
        test=np.arange(num_nodes - num_test, num_nodes),
    )


def _pickle(path: Path, obj: object) -> None:
    with path.open("wb") as handle:
        pickle.dump(obj, handle)


def write_planetoid(
    root: Path,
    name: str = "PubMed",
    num_classes: int = 3,
    num_features: int = 6,
    num_unlabeled: int = 40,
    num_test: int = 100,
    seed: int = 0,
) -> Path:
    """Write ``planetoid_graph(...)`` as the 8 raw files ``torch_geometric.datasets.Planetoid``
    reads: ``root/<name>/raw/ind.<name lower>.{x,tx,allx,y,ty,ally,graph,test.index}``.

    ``x``/``allx``/``tx`` are pickled scipy CSR matrices (training rows, all non-test rows,
    test rows); ``y``/``ally``/``ty`` the matching one-hot numpy arrays; ``graph`` a pickled
    dict of neighbour lists; ``test.index`` the test node ids, one per line. Returns ``root``,
    the folder to pass to ``Planetoid(root=..., name=name)``.
    """
    root = Path(root)
    g = planetoid_graph(num_classes, num_features, num_unlabeled, num_test, seed)
    raw = root / name / "raw"
    raw.mkdir(parents=True, exist_ok=True)

    num_train, num_labeled = g.train.size, g.num_nodes - num_test
    # The originals list test ids in shuffled order with tx/ty rows in that order; PyG reorders
    # them by sorting, so shuffling here checks that the files encode the intended node order.
    test_index = num_labeled + np.random.default_rng(seed).permutation(num_test)
    one_hot = np.eye(num_classes, dtype=np.int64)[g.y]
    neighbours: dict[int, list[int]] = {node: [] for node in range(g.num_nodes)}
    # Both directions, as in the originals: PyG does not symmetrise Planetoid graphs itself.
    for src, dst in g.edges.T.tolist():
        neighbours[src].append(dst)
        neighbours[dst].append(src)

    files = {
        "x": sp.csr_matrix(g.x[:num_train]),
        "tx": sp.csr_matrix(g.x[test_index]),
        "allx": sp.csr_matrix(g.x[:num_labeled]),
        "y": one_hot[:num_train],
        "ty": one_hot[test_index],
        "ally": one_hot[:num_labeled],
        "graph": neighbours,
    }
    prefix = f"ind.{name.lower()}"
    for suffix, obj in files.items():
        _pickle(raw / f"{prefix}.{suffix}", obj)
    (raw / f"{prefix}.test.index").write_text("\n".join(map(str, test_index)) + "\n")
    return root
