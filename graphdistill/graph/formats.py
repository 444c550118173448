"""Readers for standard on-disk graph dataset formats (OGB raw CSV, GraphSAINT and TU).

Every node-classification reader returns a :class:`torch_geometric.data.Data` that follows the
same conventions, so the condensation code never needs to know where a graph came from
(``N`` nodes, ``F`` features, ``E`` directed edge slots):

- ``x``: float32 ``(N, F)``; ``y``: int64 ``(N,)``;
- ``edge_index``: int64 ``(2, E)``, undirected (both directions present), coalesced, without
  self loops or duplicate edges;
- ``train_mask``, ``val_mask``, ``test_mask``: bool ``(N,)``, pairwise disjoint, none empty;
- ``inductive``: Python ``bool``; True for GraphSAINT datasets, whose protocol trains on the
  subgraph induced by the training nodes.

The graph-classification readers (:func:`read_ogbg` for OGB graph property prediction,
:func:`read_tu` for the TU collection) return a list of small ``Data`` graphs, each with ``x``
float32 ``(n, F)``, ``edge_index`` int64 ``(2, e)`` with the same edge conventions (node ids
local to the graph), and a graph-level ``y`` whose first dimension is 1, so that
``torch.cat([g.y for g in graphs])`` stacks the labels of all graphs.

Each reader first checks that all of its files exist, and only then parses them; a missing or
malformed file raises :class:`FormatError` with a one-line message naming that file and what
was expected, so the CLI can print it instead of a traceback from deep inside pandas or numpy.

Planetoid datasets (Cora, CiteSeer, PubMed) are read by PyG's
:func:`torch_geometric.io.read_planetoid_data` (see :mod:`graphdistill.graph.datasets`).
"""

from __future__ import annotations

import contextlib
import json
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import index_to_mask, remove_self_loops, to_undirected

from graphdistill.core.errors import UserError

__all__ = ["FormatError", "read_graphsaint", "read_ogbg", "read_ogbn_arxiv", "read_tu"]

OGBN_ARXIV_FILES = (
    "raw/edge.csv.gz",
    "raw/node-feat.csv.gz",
    "raw/node-label.csv.gz",
    "split/time/train.csv.gz",
    "split/time/valid.csv.gz",
    "split/time/test.csv.gz",
)
GRAPHSAINT_FILES = ("adj_full.npz", "feats.npy", "class_map.json", "role.json")
# GraphSAINT's role.json keys, in the order of the masks they become.
GRAPHSAINT_ROLES = {"tr": "train", "va": "val", "te": "test"}

OGBG_RAW_FILES = (
    "raw/edge.csv.gz",
    "raw/node-feat.csv.gz",
    "raw/graph-label.csv.gz",
    "raw/num-node-list.csv.gz",
    "raw/num-edge-list.csv.gz",
)
# The split folder OGB ships for its molecule datasets; read_ogbg accepts any single one.
OGBG_DEFAULT_SPLIT = "scaffold"
# Split names as we call them -> OGB's file stems.
OGB_SPLIT_FILES = {"train": "train", "val": "valid", "test": "test"}
# Vocabulary sizes of OGB's nine categorical atom features (ogb.utils.features.
# get_atom_feature_dims(): atomic number, chirality, degree, formal charge, number of Hs,
# radical electrons, hybridisation, aromatic, in ring), each including OGB's "misc" value.
OGB_ATOM_VOCAB = (119, 5, 12, 12, 10, 6, 6, 2, 2)
# Featureless TU graphs get a one-hot of the node degree with this many buckets minus one.
TU_MAX_DEGREE = 64
# TU files that may be absent; A, graph_indicator and graph_labels are required.
TU_OPTIONAL = ("node_labels", "node_attributes", "edge_labels", "edge_attributes")


def ogbg_files(split: str = OGBG_DEFAULT_SPLIT) -> tuple[str, ...]:
    """The files :func:`read_ogbg` needs, relative to the dataset folder, for split folder ``split``."""
    return OGBG_RAW_FILES + tuple(f"split/{split}/{stem}.csv.gz" for stem in OGB_SPLIT_FILES.values())


def tu_files(name: str, *, optional: bool = False) -> tuple[str, ...]:
    """The TU file names of dataset ``name``: the required ones, or the optional ones."""
    stems = TU_OPTIONAL if optional else ("A", "graph_indicator", "graph_labels")
    return tuple(f"{name}_{stem}.txt" for stem in stems)


# What the parsers we call raise on a truncated or garbled file: gzip raises EOFError/OSError/
# zlib.error, pandas and json raise ValueError subclasses, np.load raises ValueError for pickled
# arrays, and scipy.sparse.load_npz raises BadZipFile or KeyError for a broken archive.
_PARSE_ERRORS = (OSError, EOFError, ValueError, KeyError, zlib.error, zipfile.BadZipFile)


class FormatError(UserError):
    """A dataset file is missing or does not have the expected format.

    The message is one line and names the offending file. Subclasses :class:`UserError` (and so
    ``ValueError``) so the CLI reports it like any other bad input.
    """


def _one_line(text: str) -> str:
    # Parser messages (pandas in particular) can span lines; the CLI prints exactly one.
    return re.sub(r"\s+", " ", text).strip()


def _corrupt(path: Path | str, expected: str, detail: str = "") -> FormatError:
    message = f"corrupt file {path}: expected {expected}"
    return FormatError(_one_line(f"{message}; {detail}" if detail else message))


def _require_files(root: Path, relpaths: Sequence[str], layout: str) -> list[Path]:
    """Return ``root / p`` for each of ``relpaths``, or raise naming every one that is missing."""
    paths = [Path(root) / rel for rel in relpaths]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        noun = "file" if len(missing) == 1 else "files"
        listing = ", ".join(relpaths)
        raise FormatError(f"missing {noun} {', '.join(missing)}: expected the {layout} ({listing})")
    return paths


@contextlib.contextmanager
def _parsing(path: Path, expected: str) -> Iterator[None]:
    """Turn any parser failure inside the block into a FormatError naming ``path``."""
    try:
        yield
    except FormatError:
        raise
    except _PARSE_ERRORS as exc:
        raise _corrupt(path, expected, f"{type(exc).__name__}: {exc}") from exc


def _read_csv(
    path: Path, dtype: type, columns: int | None, expected: str, *, allow_empty: bool = False
) -> np.ndarray:
    """Read a header-less (gzipped) CSV into a 2-D array, checking the column count.

    With ``allow_empty`` an empty file reads as zero rows (of ``columns`` columns) instead of
    raising; OGB never ships empty files, but a TU edge list of edgeless graphs may be empty.
    """
    with _parsing(path, expected):
        try:
            # An explicit dtype makes pandas reject non-numeric cells instead of yielding objects.
            values = pd.read_csv(path, header=None, dtype=dtype).to_numpy()
        except pd.errors.EmptyDataError:
            if not allow_empty:
                raise
            values = np.zeros((0, columns or 0), dtype=dtype)
    # pandas hands out a read-only, column-major view; torch wants writable row-major memory.
    values = np.require(values, requirements=["C", "W"])
    if columns is not None and values.shape[1] != columns:
        raise _corrupt(path, expected, f"found {values.shape[1]} columns")
    return values


def _check_finite(values: np.ndarray, path: Path, expected: str) -> None:
    if not np.isfinite(values).all():
        raise _corrupt(path, expected, "found NaN or infinite values (short or empty rows?)")


def _check_node_ids(ids: np.ndarray, num_nodes: int, path: Path, expected: str, item: str = "node") -> None:
    if ids.size and (ids.min() < 0 or ids.max() >= num_nodes):
        detail = f"{item} ids span [{ids.min()}, {ids.max()}] but there are {num_nodes} {item}s"
        raise _corrupt(path, expected, detail)


def _split_masks(
    splits: Mapping[str, tuple[Path, np.ndarray]], num_nodes: int, expected: str, item: str = "node"
) -> dict[str, Tensor]:
    """Build ``{name}_mask`` tensors from id lists, rejecting empty or overlapping splits.

    ``splits`` maps a split name to the file it came from and its node (or graph, with
    ``item="graph"``) ids, already range checked, so errors can name the file even when several
    splits share one.
    """
    masks = {}
    for name, (path, ids) in splits.items():
        if ids.size == 0:
            raise _corrupt(path, expected, f"the {name} split is empty")
        masks[name] = index_to_mask(torch.from_numpy(ids), size=num_nodes)
    for first, second in combinations(splits, 2):
        shared = int((masks[first] & masks[second]).sum())
        if shared:
            files = sorted({str(splits[first][0]), str(splits[second][0])})
            detail = f"{shared} {item} id(s) in both the {first} and the {second} split"
            raise _corrupt(" and ".join(files), "disjoint splits", detail)
    return {f"{name}_mask": mask for name, mask in masks.items()}


def _assemble(
    x: Tensor, y: Tensor, edge_index: Tensor, masks: Mapping[str, Tensor], inductive: bool
) -> Data:
    """Normalise the edge set to the package conventions and pack everything into ``Data``."""
    num_nodes = x.size(0)
    edge_index, _ = remove_self_loops(edge_index.long())
    # to_undirected also coalesces, which sorts the edges and drops duplicates.
    edge_index = to_undirected(edge_index, num_nodes=num_nodes)
    data = Data(x=x.float(), edge_index=edge_index, y=y.long(), **masks)
    data.inductive = bool(inductive)
    return data


def read_ogbn_arxiv(root: Path) -> Data:
    """Read ogbn-arxiv from the raw layout of the OGB zip (Hu et al., NeurIPS 2020).

    Expects, under ``root``: ``raw/edge.csv.gz`` (``E x 2`` directed citations ``src,dst``),
    ``raw/node-feat.csv.gz`` (``N x 128`` floats), ``raw/node-label.csv.gz`` (``N x 1`` ints)
    and ``split/time/{train,valid,test}.csv.gz`` (one column of node ids each); all CSVs are
    gzipped and header-less. Other OGB files (``num-node-list.csv.gz`` ...) are ignored.

    The citation graph is made undirected, as GCond does. Returns ``Data`` with ``x`` float32
    ``(N, F)``, ``y`` int64 ``(N,)``, undirected ``edge_index`` int64 ``(2, E')``, the three
    time-split masks, and ``inductive=False``. Raises :class:`FormatError` naming the file when
    one is missing or malformed.
    """
    layout = "OGB raw CSV layout of ogbn-arxiv"
    edge_path, feat_path, label_path, *split_paths = _require_files(root, OGBN_ARXIV_FILES, layout)

    feat_expected = "a header-less CSV with one row of float features per node"
    x = _read_csv(feat_path, np.float32, None, feat_expected)
    _check_finite(x, feat_path, feat_expected)
    num_nodes = x.shape[0]

    label_expected = f"a header-less CSV with one label >= 0 per node ({num_nodes} rows)"
    y = _read_csv(label_path, np.int64, 1, label_expected)[:, 0]
    if y.shape[0] != num_nodes:
        raise _corrupt(label_path, label_expected, f"found {y.shape[0]} rows")
    if y.min() < 0:
        raise _corrupt(label_path, label_expected, f"found label {y.min()}")

    edge_expected = "a header-less CSV with two integer columns src,dst"
    edges = _read_csv(edge_path, np.int64, 2, edge_expected)
    _check_node_ids(edges, num_nodes, edge_path, edge_expected)

    split_expected = "a header-less CSV with one integer column of node ids"
    splits = {}
    for name, path in zip(("train", "val", "test"), split_paths, strict=True):
        ids = _read_csv(path, np.int64, 1, split_expected)[:, 0]
        _check_node_ids(ids, num_nodes, path, split_expected)
        splits[name] = (path, ids)
    masks = _split_masks(splits, num_nodes, split_expected)

    edge_index = torch.from_numpy(np.ascontiguousarray(edges.T))
    return _assemble(torch.from_numpy(x), torch.from_numpy(y), edge_index, masks, False)


def _load_json_object(path: Path, expected: str) -> dict[str, Any]:
    with _parsing(path, expected), path.open("rb") as handle:
        obj = json.load(handle)
    if not isinstance(obj, dict):
        raise _corrupt(path, expected, f"found a JSON {type(obj).__name__}")
    return obj


def _int_array(values: Any, path: Path, expected: str) -> np.ndarray:
    """Convert a JSON list to an int64 array, refusing floats and strings (no silent casts)."""
    with _parsing(path, expected):  # ragged nested lists make numpy raise ValueError
        array = np.asarray(values)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise _corrupt(path, expected, f"found values of type {array.dtype} shape {array.shape}")
    return array.astype(np.int64)


def _graphsaint_labels(path: Path, num_nodes: int) -> np.ndarray:
    """Read ``class_map.json`` into an int64 ``(N,)`` label vector indexed by node id."""
    expected = f'a JSON object {{"node id": int label}} covering all {num_nodes} nodes'
    class_map = _load_json_object(path, expected)
    if any(isinstance(label, list) for label in class_map.values()):
        raise FormatError(
            f"unsupported file {path}: its labels are lists (multi-label), but multi-label "
            "datasets are not supported for node classification here"
        )
    with _parsing(path, expected):
        ids = np.fromiter((int(key) for key in class_map), dtype=np.int64, count=len(class_map))
    labels = _int_array(list(class_map.values()), path, expected)
    _check_node_ids(ids, num_nodes, path, expected)
    # Keys are unique JSON strings, but "7" and "07" name the same node, so count distinct ids.
    if len(np.unique(ids)) != num_nodes:
        raise _corrupt(path, expected, f"found labels for {len(np.unique(ids))} distinct nodes")
    if labels.min() < 0:
        raise _corrupt(path, expected, f"found a negative label {labels.min()}")
    y = np.empty(num_nodes, dtype=np.int64)
    y[ids] = labels
    return y


def _graphsaint_splits(path: Path, num_nodes: int) -> dict[str, Tensor]:
    """Read ``role.json`` (``{"tr": [...], "va": [...], "te": [...]}``) into the three masks."""
    expected = 'a JSON object with "tr", "va" and "te" lists of node ids'
    role = _load_json_object(path, expected)
    absent = [key for key in GRAPHSAINT_ROLES if key not in role]
    if absent:
        raise _corrupt(path, expected, f"key(s) {', '.join(map(repr, absent))} missing")
    splits = {}
    for key, name in GRAPHSAINT_ROLES.items():
        ids = _int_array(role[key], path, expected)
        _check_node_ids(ids, num_nodes, path, expected)
        splits[name] = (path, ids)
    return _split_masks(splits, num_nodes, expected)


def _standardize(x: Tensor, train_mask: Tensor) -> Tensor:
    """Standardise every column with the training rows' mean and (population) std.

    Using training statistics only keeps the inductive protocol honest (GraphSAINT fits a
    StandardScaler on training nodes, and GCond follows it); constant columns keep scale 1.
    """
    # Statistics in float64 for accuracy; the full matrix stays float32 (Reddit's is ~0.5 GB).
    train = x[train_mask].double()
    mean = train.mean(dim=0)
    std = train.std(dim=0, unbiased=False)
    std[std == 0] = 1.0
    return (x - mean.float()) / std.float()


def read_graphsaint(root: Path, normalize_features: bool = True) -> Data:
    """Read a dataset in the GraphSAINT layout (Zeng et al., ICLR 2020), e.g. Flickr or Reddit.

    Expects, under ``root``: ``adj_full.npz`` (an ``N x N`` scipy.sparse matrix written by
    ``scipy.sparse.save_npz``), ``feats.npy`` (an ``N x F`` numeric array),
    ``class_map.json`` (``{"node id": label}``; list labels mean multi-label and are rejected)
    and ``role.json`` (``{"tr": [...], "va": [...], "te": [...]}`` node ids). Nothing is
    unpickled.

    With ``normalize_features`` the features are standardised with the mean and std of the
    training nodes only. Returns ``Data`` with ``x`` float32 ``(N, F)``, ``y`` int64 ``(N,)``,
    undirected ``edge_index`` int64 ``(2, E')``, the three masks, and ``inductive=True``.
    Raises :class:`FormatError` naming the file when one is missing or malformed.
    """
    layout = "GraphSAINT layout"
    adj_path, feat_path, class_map_path, role_path = _require_files(root, GRAPHSAINT_FILES, layout)

    feat_expected = "a 2-D numeric array (nodes x features) saved by numpy.save, not pickled"
    with _parsing(feat_path, feat_expected):
        feats = np.load(feat_path, allow_pickle=False)
    if feats.ndim != 2 or feats.dtype.kind not in "fiu":
        detail = f"found dtype {feats.dtype} with shape {feats.shape}"
        raise _corrupt(feat_path, feat_expected, detail)
    x = torch.from_numpy(feats.astype(np.float32, copy=False))
    _check_finite(feats, feat_path, feat_expected)
    num_nodes = x.size(0)

    # Labels and splits are cheap to validate; do it before converting the (large) adjacency.
    y = _graphsaint_labels(class_map_path, num_nodes)
    masks = _graphsaint_splits(role_path, num_nodes)

    adj_expected = f"a ({num_nodes}, {num_nodes}) sparse matrix saved by scipy.sparse.save_npz"
    with _parsing(adj_path, adj_expected):
        adj = sp.load_npz(adj_path).tocoo()
    if adj.shape != (num_nodes, num_nodes):
        raise _corrupt(adj_path, adj_expected, f"found shape {adj.shape}")
    adj.eliminate_zeros()  # an explicitly stored 0 is not an edge
    edge_index = torch.from_numpy(np.vstack([adj.row, adj.col]).astype(np.int64))

    if normalize_features:
        x = _standardize(x, masks["train_mask"])
    return _assemble(x, torch.from_numpy(y), edge_index, masks, True)


# --- graph classification: OGB graph property prediction and the TU collection -----------------


def _clean_edges(
    edge_index: Tensor, edge_attr: Tensor | None, num_nodes: int
) -> tuple[Tensor, Tensor | None]:
    """Drop self loops, add reverse edges and coalesce a block-diagonal edge set (global ids).

    Coalescing sorts the edges by source node, so with each graph owning a contiguous range
    of node ids the edges come out grouped by graph. Attributes of an edge given in both
    directions are averaged (they agree in the files we read, so this keeps them unchanged).
    """
    edge_index, edge_attr = remove_self_loops(edge_index, edge_attr)
    if edge_attr is None:
        return to_undirected(edge_index, num_nodes=num_nodes), None
    return to_undirected(edge_index, edge_attr, num_nodes=num_nodes, reduce="mean")


def _graph_features(dense: Tensor | None, codes: Tensor | None, width: int) -> Tensor:
    """One graph's ``x``: its dense float block, then the one-hot encoding of its codes.

    ``codes`` is int64 ``(n, k)``: for every node, the positions of its ``k`` ones in the
    ``width`` one-hot columns. Materialising one graph at a time keeps peak memory at the size of
    the final features (ogbg-molhiv's one-hot atoms alone take ~0.7 GB as float32).
    """
    parts = [] if dense is None else [dense.clone()]
    if codes is not None:
        parts.append(torch.zeros(codes.size(0), width).scatter_(1, codes, 1.0))
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


def _build_graphs(
    nodes_per_graph: np.ndarray,
    edge_index: Tensor,
    edge_attr: Tensor | None,
    features: tuple[Tensor | None, Tensor | None, int],
    y: Tensor,
) -> list[Data]:
    """Cut whole-dataset tensors into one ``Data`` per graph.

    ``edge_index`` (``(2, E)``, global node ids, cleaned by :func:`_clean_edges`) is grouped by
    graph; every slice boundary comes from cumulative sums, so the only Python loop is the one
    that packs each graph's slices into its ``Data``. ``features`` is ``(dense (N, F) or None,
    codes (N, k) or None, one-hot width)``; ``y`` has one row per graph.
    """
    num_graphs = nodes_per_graph.size
    counts = torch.from_numpy(nodes_per_graph)
    offsets = torch.cumsum(counts, 0) - counts
    graph_of_node = torch.repeat_interleave(torch.arange(num_graphs), counts)
    graph_of_edge = graph_of_node[edge_index[0]]
    # (E, 2) row blocks, one per graph, with node ids made local to their graph.
    local = (edge_index - offsets[graph_of_edge]).t().contiguous()
    edge_sizes = torch.bincount(graph_of_edge, minlength=num_graphs).tolist()
    edge_blocks = local.split(edge_sizes)
    attr_blocks = edge_attr.split(edge_sizes) if edge_attr is not None else None

    node_sizes = nodes_per_graph.tolist()
    dense, codes, width = features
    dense_blocks = dense.split(node_sizes) if dense is not None else [None] * num_graphs
    code_blocks = codes.split(node_sizes) if codes is not None else [None] * num_graphs

    graphs = []
    for i in range(num_graphs):
        data = Data(
            x=_graph_features(dense_blocks[i], code_blocks[i], width),
            edge_index=edge_blocks[i].t().contiguous(),
            y=y[i:i + 1].clone(),
        )
        if attr_blocks is not None:
            data.edge_attr = attr_blocks[i].clone()
        graphs.append(data)
    return graphs


def _counts(path: Path, expected: str) -> np.ndarray:
    counts = np.ascontiguousarray(_read_csv(path, np.int64, 1, expected)[:, 0])
    if counts.size and counts.min() < 0:
        raise _corrupt(path, expected, f"found a negative count {counts.min()}")
    return counts


def _ogbg_split_folder(folder: Path) -> str:
    """The name of the one folder under ``split/`` (``scaffold`` for the molecule datasets)."""
    split_root = folder / "split"
    found = sorted(p.name for p in split_root.iterdir() if p.is_dir()) if split_root.is_dir() else []
    if len(found) > 1:
        raise FormatError(
            f"ambiguous split folders in {split_root}: found {', '.join(found)}; "
            "keep exactly one (OGB ships one per dataset)"
        )
    return found[0] if found else OGBG_DEFAULT_SPLIT


def _ogbg_atom_codes(values: np.ndarray, path: Path, expected: str) -> Tensor:
    """OGB's categorical atom features ``(N, 9)`` → their positions in the concatenated one-hot."""
    if (values != np.round(values)).any():
        raise _corrupt(path, expected, "found a non-integer value")
    sizes = np.asarray(OGB_ATOM_VOCAB)
    bad = (values < 0) | (values >= sizes)
    if bad.any():
        row, col = (int(i[0]) for i in np.nonzero(bad))
        detail = (f"line {row + 1}, column {col + 1} holds {values[row, col]:g} but that atom feature "
                  f"takes values 0..{sizes[col] - 1}")
        raise _corrupt(path, expected, detail)
    offsets = np.cumsum(sizes) - sizes
    return torch.from_numpy(values.astype(np.int64) + offsets)


def _ogbg_edges(path: Path, num_nodes: np.ndarray, num_edges: np.ndarray) -> Tensor:
    """Read the per-graph edge lists and return them as int64 ``(2, E)`` with global node ids."""
    total = int(num_edges.sum())
    expected = (f"a header-less CSV with two integer columns src,dst of node ids local to each graph "
                f"({total} rows, the sum of num-edge-list.csv.gz)")
    edges = _read_csv(path, np.int64, 2, expected)
    if edges.shape[0] != total:
        raise _corrupt(path, expected, f"found {edges.shape[0]} rows")
    graph = np.repeat(np.arange(num_nodes.size), num_edges)
    size = num_nodes[graph][:, None]
    bad = (edges < 0) | (edges >= size)
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        detail = (f"line {row + 1} ({edges[row, 0]}, {edges[row, 1]}) belongs to graph {graph[row]}, "
                  f"which has {size[row, 0]} nodes")
        raise _corrupt(path, expected, detail)
    offsets = np.cumsum(num_nodes) - num_nodes
    return torch.from_numpy(np.ascontiguousarray((edges + offsets[graph][:, None]).T))


def _ogbg_labels(path: Path, num_graphs: int) -> Tensor:
    """``(G,)`` int64 for one task with integer labels ≥ 0, else float32 ``(G, T)`` (NaN = missing)."""
    expected = f"a header-less CSV with one row of task labels per graph ({num_graphs} rows, empty = missing)"
    values = _read_csv(path, np.float64, None, expected)
    if values.shape[0] != num_graphs:
        raise _corrupt(path, expected, f"found {values.shape[0]} rows")
    if np.isinf(values).any():
        raise _corrupt(path, expected, "found infinite values")
    if values.shape[1] == 1 and np.isfinite(values).all() and (values >= 0).all() \
            and (values == np.round(values)).all():
        return torch.from_numpy(np.ascontiguousarray(values[:, 0]).astype(np.int64))
    return torch.from_numpy(values.astype(np.float32))


def _ogbg_splits(paths: Sequence[Path], num_graphs: int) -> dict[str, Tensor]:
    expected = f"a header-less CSV with one integer column of graph ids (0..{num_graphs - 1})"
    splits = {}
    for name, path in zip(OGB_SPLIT_FILES, paths, strict=True):
        ids = np.ascontiguousarray(_read_csv(path, np.int64, 1, expected)[:, 0])
        _check_node_ids(ids, num_graphs, path, expected, item="graph")
        if np.unique(ids).size != ids.size:
            raise _corrupt(path, expected, "found a graph id more than once")
        splits[name] = (path, ids)
    _split_masks(splits, num_graphs, expected, item="graph")
    return {name: torch.from_numpy(ids) for name, (_, ids) in splits.items()}


def read_ogbg(folder: Path) -> tuple[list[Data], dict[str, Tensor]]:
    """Read an OGB graph property prediction dataset (e.g. ogbg-molhiv; Hu et al., NeurIPS 2020).

    Expects, under ``folder`` (the unzipped OGB archive, e.g. ``<root>/ogbg_molhiv``), gzipped
    header-less CSVs: ``raw/num-node-list.csv.gz`` and ``raw/num-edge-list.csv.gz`` (``G x 1``
    counts), ``raw/node-feat.csv.gz`` (``N x F``, the nodes of all graphs one after the other),
    ``raw/edge.csv.gz`` (``E x 2``, each graph's edges in turn, node ids local to the graph),
    ``raw/graph-label.csv.gz`` (``G x T``, empty cells for missing labels) and
    ``split/<name>/{train,valid,test}.csv.gz`` (graph ids; ``<name>`` is whichever single folder
    ``split/`` holds, ``scaffold`` for the molecule datasets). ``raw/edge-feat.csv.gz`` is ignored.

    Node features: nine columns are OGB's categorical atom features, one-hot encoded per column
    with OGB's vocabulary sizes ``(119, 5, 12, 12, 10, 6, 6, 2, 2)`` and concatenated
    (``F' = 174``); a value outside its vocabulary is an error. This is our choice in place of
    OGB's learned ``AtomEncoder`` embeddings, so that any GNN (and any condensation method that
    learns synthetic features) can consume the graphs as they are. Any other number of columns
    is taken as float features as given.

    Labels: one task with integer labels >= 0 (ogbg-molhiv: binary) gives each graph ``y``
    int64 ``(1,)``; otherwise (several tasks, or regression) ``y`` is float32 ``(1, T)`` with NaN
    kept for missing labels. Either way ``torch.cat([g.y for g in graphs])`` stacks them.

    Returns ``(graphs, split)``: ``G`` graphs with ``x`` float32 ``(n, F')``, undirected,
    coalesced, loop-free ``edge_index`` int64 ``(2, e)``, and ``y``; ``split`` maps ``"train"``,
    ``"val"`` and ``"test"`` to disjoint int64 graph-index tensors. Raises :class:`FormatError`
    naming the file when one is missing, malformed or inconsistent with the others.

    Example::

        graphs, split = read_ogbg(Path("data/ogbg_molhiv"))
        train = [graphs[i] for i in split["train"].tolist()]
    """
    folder = Path(folder)
    layout = "OGB raw CSV layout of a graph property prediction dataset"
    files = _require_files(folder, ogbg_files(_ogbg_split_folder(folder)), layout)
    edge_path, feat_path, label_path, nodes_path, edge_count_path, *split_paths = files

    num_nodes = _counts(nodes_path, "a header-less CSV with one node count >= 0 per graph")
    num_graphs = num_nodes.size
    count_expected = f"a header-less CSV with one edge count >= 0 per graph ({num_graphs} rows, as num-node-list)"
    num_edges = _counts(edge_count_path, count_expected)
    if num_edges.size != num_graphs:
        raise _corrupt(edge_count_path, count_expected, f"found {num_edges.size} rows")

    total_nodes = int(num_nodes.sum())
    feat_expected = (f"a header-less CSV with one row of numeric features per node ({total_nodes} rows, "
                     "the sum of num-node-list)")
    feats = _read_csv(feat_path, np.float64, None, feat_expected)
    _check_finite(feats, feat_path, feat_expected)
    if feats.shape[0] != total_nodes:
        raise _corrupt(feat_path, feat_expected, f"found {feats.shape[0]} rows")
    if feats.shape[1] == len(OGB_ATOM_VOCAB):
        features = (None, _ogbg_atom_codes(feats, feat_path, feat_expected), sum(OGB_ATOM_VOCAB))
    else:
        features = (torch.from_numpy(feats.astype(np.float32)), None, 0)

    y = _ogbg_labels(label_path, num_graphs)
    edge_index = _ogbg_edges(edge_path, num_nodes, num_edges)
    split = _ogbg_splits(split_paths, num_graphs)

    edge_index, _ = _clean_edges(edge_index, None, total_nodes)
    return _build_graphs(num_nodes, edge_index, None, features, y), split


def _check_one_based(ids: np.ndarray, count: int, path: Path, expected: str, item: str) -> None:
    if ids.size and (ids.min() < 1 or ids.max() > count):
        detail = f"{item} ids span [{ids.min()}, {ids.max()}] but there are {count} {item}s (ids 1..{count})"
        raise _corrupt(path, expected, detail)


def _tu_codes(values: np.ndarray) -> tuple[Tensor, int]:
    """TU categorical columns ``(n, k)`` → positions in their concatenated one-hot, and its width.

    Each column is shifted to start at 0 and takes ``max - min + 1`` slots (as PyG's TU reader
    does), so MUTAG's seven atom types become seven columns.
    """
    if values.shape[0] == 0:
        return torch.zeros(0, values.shape[1], dtype=torch.long), 0
    shifted = values - values.min(axis=0)
    widths = shifted.max(axis=0) + 1
    offsets = np.cumsum(widths) - widths
    return torch.from_numpy(shifted + offsets), int(widths.sum())


def _tu_table(path: Path, rows: int, dtype: type, what: str, allow_empty: bool = False) -> np.ndarray:
    """An optional TU per-node / per-edge file: one comma-separated row per node or edge."""
    expected = f"a text file with one row of {what} ({rows} rows)"
    values = _read_csv(path, dtype, None, expected, allow_empty=allow_empty)
    if values.shape[0] != rows:
        raise _corrupt(path, expected, f"found {values.shape[0]} rows")
    if dtype is np.float32:
        _check_finite(values, path, expected)
    return values


def read_tu(folder: Path, name: str, max_degree: int = TU_MAX_DEGREE) -> tuple[list[Data], list[int]]:
    """Read a graph-classification dataset in the TU text format (Morris et al., 2020).

    Expects, in ``folder``, the comma-separated text files ``{name}_A.txt`` (one ``src, dst``
    edge per line, 1-based node ids over the whole dataset), ``{name}_graph_indicator.txt`` (the
    1-based graph id of every node, non-decreasing) and ``{name}_graph_labels.txt`` (one integer
    class per graph), and optionally ``{name}_node_labels.txt``, ``{name}_node_attributes.txt``,
    ``{name}_edge_labels.txt`` and ``{name}_edge_attributes.txt``.

    Node features ``x`` (float32 ``(n, F)``): the node attributes, then every node-label column
    one-hot encoded (shifted to start at 0, as PyG's TU reader does). A dataset with neither file
    (e.g. IMDB-BINARY) gets the one-hot encoding of each node's degree, with degrees above
    ``max_degree`` put in the last bucket (``F = max_degree + 1``, the same width for every
    dataset, so graphs with no edges still have a feature row per node). Edge labels and
    attributes become ``edge_attr`` the same way. Edges are made undirected and coalesced,
    without self loops; the node ids of each graph are local to it.

    Class labels are remapped to ``0..C-1`` in sorted order of the original values ({-1, 1}
    becomes {0, 1}); ``y`` is int64 ``(1,)`` per graph. Returns ``(graphs, label_values)`` where
    ``label_values[c]`` is the original label of class ``c``. Raises :class:`FormatError` naming
    the file when one is missing, malformed or inconsistent with the others.

    Example::

        graphs, label_values = read_tu(Path("data/tu/MUTAG/raw"), "MUTAG")
    """
    if isinstance(max_degree, bool) or not isinstance(max_degree, int) or max_degree < 0:
        raise UserError(f"max_degree must be an integer >= 0, got {max_degree!r}")
    folder = Path(folder)
    a_path, indicator_path, label_path = _require_files(folder, tu_files(name), f"TU text layout of {name}")
    optional = {stem: folder / f for stem, f in zip(TU_OPTIONAL, tu_files(name, optional=True), strict=True)}
    optional = {stem: path for stem, path in optional.items() if path.is_file()}

    label_expected = "a text file with one integer class label per graph"
    raw_labels = np.ascontiguousarray(_read_csv(label_path, np.int64, 1, label_expected)[:, 0])
    num_graphs = raw_labels.size
    label_values, y = np.unique(raw_labels, return_inverse=True)
    y = y.reshape(-1).astype(np.int64)

    indicator_expected = f"a text file with the 1-based graph id of each node, non-decreasing ({num_graphs} graphs)"
    indicator = np.ascontiguousarray(_read_csv(indicator_path, np.int64, 1, indicator_expected)[:, 0])
    _check_one_based(indicator, num_graphs, indicator_path, indicator_expected, "graph")
    if (np.diff(indicator) < 0).any():
        line = int(np.flatnonzero(np.diff(indicator) < 0)[0]) + 2
        raise _corrupt(indicator_path, indicator_expected, f"graph ids decrease at line {line}")
    nodes_per_graph = np.bincount(indicator - 1, minlength=num_graphs)
    if (nodes_per_graph == 0).any():
        empty = int(np.flatnonzero(nodes_per_graph == 0)[0]) + 1
        raise _corrupt(indicator_path, indicator_expected, f"graph {empty} has no nodes")
    num_nodes = indicator.size

    edge_expected = f"a text file with one edge 'src, dst' per line (1-based node ids, {num_nodes} nodes)"
    edges = _read_csv(a_path, np.int64, 2, edge_expected, allow_empty=True)
    _check_one_based(edges, num_nodes, a_path, edge_expected, "node")
    edges = edges - 1
    crossing = indicator[edges[:, 0]] != indicator[edges[:, 1]]
    if crossing.any():
        row = int(np.flatnonzero(crossing)[0])
        detail = f"line {row + 1} joins graphs {indicator[edges[row, 0]]} and {indicator[edges[row, 1]]}"
        raise _corrupt(a_path, edge_expected, detail)
    edge_index = torch.from_numpy(np.ascontiguousarray(edges.T))

    num_edges = edges.shape[0]
    edge_parts = []
    if "edge_attributes" in optional:
        values = _tu_table(optional["edge_attributes"], num_edges, np.float32, "edge attributes", True)
        edge_parts.append(torch.from_numpy(values))
    if "edge_labels" in optional:
        codes, width = _tu_codes(_tu_table(optional["edge_labels"], num_edges, np.int64, "edge labels", True))
        edge_parts.append(torch.zeros(num_edges, width).scatter_(1, codes, 1.0))
    edge_attr = torch.cat(edge_parts, dim=1) if edge_parts else None
    edge_index, edge_attr = _clean_edges(edge_index, edge_attr, num_nodes)

    dense = codes = None
    width = 0
    if "node_attributes" in optional:
        dense = torch.from_numpy(_tu_table(optional["node_attributes"], num_nodes, np.float32, "node attributes"))
    if "node_labels" in optional:
        codes, width = _tu_codes(_tu_table(optional["node_labels"], num_nodes, np.int64, "node labels"))
    if dense is None and codes is None:
        degree = torch.bincount(edge_index[0], minlength=num_nodes)
        codes, width = degree.clamp(max=max_degree).unsqueeze(1), max_degree + 1

    graphs = _build_graphs(nodes_per_graph, edge_index, edge_attr, (dense, codes, width), torch.from_numpy(y))
    return graphs, label_values.tolist()
