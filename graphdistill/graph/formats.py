"""Readers for standard on-disk graph dataset formats (OGB raw CSV and GraphSAINT).

Every reader returns a node-classification :class:`torch_geometric.data.Data` that follows the
same conventions, so the condensation code never needs to know where a graph came from
(``N`` nodes, ``F`` features, ``E`` directed edge slots):

- ``x``: float32 ``(N, F)``; ``y``: int64 ``(N,)``;
- ``edge_index``: int64 ``(2, E)``, undirected (both directions present), coalesced, without
  self loops or duplicate edges;
- ``train_mask``, ``val_mask``, ``test_mask``: bool ``(N,)``, pairwise disjoint, none empty;
- ``inductive``: Python ``bool``; True for GraphSAINT datasets, whose protocol trains on the
  subgraph induced by the training nodes.

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

__all__ = ["FormatError", "read_graphsaint", "read_ogbn_arxiv"]

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


def _read_csv(path: Path, dtype: type, columns: int | None, expected: str) -> np.ndarray:
    """Read a header-less (gzipped) CSV into a 2-D array, checking the column count."""
    with _parsing(path, expected):
        # An explicit dtype makes pandas reject non-numeric cells instead of yielding objects.
        values = pd.read_csv(path, header=None, dtype=dtype).to_numpy()
    # pandas hands out a read-only, column-major view; torch wants writable row-major memory.
    values = np.require(values, requirements=["C", "W"])
    if columns is not None and values.shape[1] != columns:
        raise _corrupt(path, expected, f"found {values.shape[1]} columns")
    return values


def _check_finite(values: np.ndarray, path: Path, expected: str) -> None:
    if not np.isfinite(values).all():
        raise _corrupt(path, expected, "found NaN or infinite values (short or empty rows?)")


def _check_node_ids(ids: np.ndarray, num_nodes: int, path: Path, expected: str) -> None:
    if ids.size and (ids.min() < 0 or ids.max() >= num_nodes):
        detail = f"node ids span [{ids.min()}, {ids.max()}] but there are {num_nodes} nodes"
        raise _corrupt(path, expected, detail)


def _split_masks(
    splits: Mapping[str, tuple[Path, np.ndarray]], num_nodes: int, expected: str
) -> dict[str, Tensor]:
    """Build ``{name}_mask`` tensors from node-id lists, rejecting empty or overlapping splits.

    ``splits`` maps a split name to the file it came from and its node ids (already range
    checked), so errors can name the file even when several splits share one.
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
            detail = f"{shared} node id(s) in both the {first} and the {second} split"
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
