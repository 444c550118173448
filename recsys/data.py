"""Implicit-feedback interaction data: reading, cleaning, the per-user split of Distill-CF.

Protocol (Sachdeva et al., NeurIPS 2022; their ``preprocess.py``): every rating becomes an
interaction (or only ratings ≥ ``threshold``); users with fewer than ``min_interactions`` (3) are
dropped; each user's items are shuffled with a seeded generator, the first shuffled item goes to
the test set (so every user has one), the next ones up to ⌊0.8·n⌋ to train, up to ⌊0.9·n⌋ to
validation, the rest to test. 50 negatives per user (items the user never interacted with) are drawn
once for AUC.

Input handling, decided here once for every loader:

* ids may be any integers or strings; they are remapped to contiguous 0-based indices and the
  original ids are kept (``user_ids``, ``item_ids``);
* duplicate (user, item) rows (re-ratings) count as one interaction, with their highest rating;
  how many were merged is recorded in ``stats``;
* non-numeric, NaN or negative ratings are errors, as are missing columns and empty files;
* items left without any interaction after filtering are dropped.

Example::

    from recsys import load_interactions
    data = load_interactions("ml-100k")      # Interactions(943 users × 1682 items, ...)
    data.train                                # scipy.sparse.csr_matrix, binary
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from graphdistill.core.errors import UserError

COLUMNS = ("user", "item", "rating", "timestamp")
AUC_NEGATIVES = 50


@dataclasses.dataclass
class Interactions:
    """A user × item implicit-feedback matrix split per user into train / validation / test.

    Attributes:
        train, val, test: (n_users, n_items) binary ``scipy.sparse.csr_matrix``, disjoint.
        negatives: (n_users, 50) item indices the user never interacted with, for AUC.
        user_ids, item_ids: the original id of each row / column.
        name: dataset name; stats: counts from cleaning (merged duplicates, dropped users, …).
    """

    train: sp.csr_matrix
    val: sp.csr_matrix
    test: sp.csr_matrix
    negatives: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray
    name: str = "interactions"
    stats: dict = dataclasses.field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return self.train.shape[0]

    @property
    def n_items(self) -> int:
        return self.train.shape[1]

    @property
    def num_train_interactions(self) -> int:
        return int(self.train.nnz)

    def item_popularity(self) -> np.ndarray:
        """(n_items,) number of training interactions of each item."""
        return np.asarray(self.train.sum(0)).ravel()

    def dense(self, part: str, device: torch.device | str = "cpu", dtype=torch.float32) -> torch.Tensor:
        """``"train"``, ``"val"``, ``"test"`` or ``"train+val"`` as a dense tensor."""
        matrices = {"train": self.train, "val": self.val, "test": self.test, "train+val": self.train + self.val}
        if part not in matrices:
            raise UserError(f"unknown part {part!r}; choose one of {sorted(matrices)}")
        return torch.as_tensor(matrices[part].toarray(), dtype=dtype, device=device)

    def __repr__(self) -> str:
        return (f"Interactions({self.name}: {self.n_users} users × {self.n_items} items, "
                f"{self.train.nnz}/{self.val.nnz}/{self.test.nnz} train/val/test interactions)")


# ---------------------------------------------------------------------------------------------
# Readers: each returns a frame with columns user, item, rating[, timestamp]


def read_grouplens(path: str | Path, separator: str = "\t") -> pd.DataFrame:
    """GroupLens rating files: ML-100K ``u.data`` (tab-separated), ML-1M ``ratings.dat``
    (``separator="::"``): user, item, rating, timestamp, no header."""
    path = _existing(path)
    frame = pd.read_csv(path, sep=separator, header=None, engine="python" if len(separator) > 1 else "c",
                        names=list(COLUMNS), dtype=str)
    return frame


def read_atomic(path: str | Path) -> pd.DataFrame:
    """RecBole's atomic ``.inter`` files: a tab-separated header ``user_id:token
    item_id:token rating:float timestamp:float``, then one interaction per line."""
    frame = pd.read_csv(_existing(path), sep="\t", dtype=str)
    frame.columns = [c.split(":")[0] for c in frame.columns]
    return frame.rename(columns={"user_id": "user", "item_id": "item"})


def read_table(path: str | Path, user: str = "user", item: str = "item", rating: str | None = "rating") -> pd.DataFrame:
    """A CSV or Parquet table with a user and an item column and an optional rating column
    (absent: every row is an interaction)."""
    path = _existing(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path, dtype=str)
    missing = [c for c in (user, item) if c not in frame.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {missing}; columns are {list(frame.columns)}")
    renamed = frame.rename(columns={user: "user", item: "item"})
    if rating is not None and rating in frame.columns:
        renamed = renamed.rename(columns={rating: "rating"})
    else:
        renamed["rating"] = "1"
    return renamed[["user", "item", "rating"]]


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"interaction file {path} not found")
    if path.stat().st_size == 0:
        raise UserError(f"interaction file {path} is empty (corrupt or truncated download?)")
    return path


# ---------------------------------------------------------------------------------------------
# Cleaning and splitting


def from_frame(frame: pd.DataFrame, *, name: str = "interactions", threshold: float | None = None,
               min_interactions: int = 3, seed: int = 0) -> Interactions:
    """Binarise, clean and split a (user, item[, rating]) frame (module docstring)."""
    if min_interactions < 3:
        raise UserError(f"min_interactions must be ≥ 3 (a train and a test item at least), got {min_interactions}")
    for column in ("user", "item"):
        if column not in frame.columns:
            raise UserError(f"interactions need a {column!r} column; got {list(frame.columns)}")
    if frame.empty:
        raise UserError(f"{name}: no interactions")
    if frame[["user", "item"]].isna().any().any():
        raise UserError(f"{name}: {int(frame[['user', 'item']].isna().any(axis=1).sum())} rows lack a user or item id")
    ratings = _ratings(frame, name)
    stats = {"rows": len(frame)}
    keep = ratings >= threshold if threshold is not None else np.ones(len(frame), dtype=bool)
    stats["below_threshold"] = int((~keep).sum())
    pairs = pd.DataFrame({"user": frame["user"].astype(str).to_numpy()[keep],
                          "item": frame["item"].astype(str).to_numpy()[keep]})
    before = len(pairs)
    pairs = pairs.drop_duplicates()
    stats["merged_duplicates"] = before - len(pairs)
    counts = pairs.groupby("user")["item"].transform("size")
    stats["dropped_users"] = int(pairs.loc[counts < min_interactions, "user"].nunique())
    pairs = pairs[counts >= min_interactions]
    if pairs.empty:
        raise UserError(f"{name}: no user has {min_interactions} or more interactions")
    user_ids, users = _codes(pairs["user"])
    item_ids, items = _codes(pairs["item"])
    stats["dropped_items"] = int(frame["item"].astype(str).nunique() - len(item_ids))
    train, val, test = split_per_user(users, items, len(user_ids), len(item_ids), seed)
    negatives = sample_negatives(train + val + test, AUC_NEGATIVES, seed)
    return Interactions(train, val, test, negatives, user_ids, item_ids, name=name, stats=stats)


def _ratings(frame: pd.DataFrame, name: str) -> np.ndarray:
    if "rating" not in frame.columns:
        return np.ones(len(frame))
    ratings = pd.to_numeric(frame["rating"], errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(ratings)
    if bad.any():
        first = frame["rating"][bad].iloc[0]
        raise UserError(f"{name}: {int(bad.sum())} non-numeric or missing rating(s), e.g. {first!r}")
    if (ratings < 0).any():
        raise UserError(f"{name}: {int((ratings < 0).sum())} negative rating(s), e.g. {ratings[ratings < 0][0]}")
    return ratings


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous codes, in numeric order of the ids when they are all integers."""
    numeric = pd.to_numeric(values, errors="coerce")
    key = numeric if not numeric.isna().any() else values
    uniques, codes = np.unique(key.to_numpy(), return_inverse=True)
    original = uniques.astype(np.int64) if key is numeric else uniques.astype(str)
    return original, codes


def split_per_user(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int,
                   seed: int) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    """Distill-CF's per-user split, vectorised: rank each user's items by a seeded random key;
    rank 0 → test; ranks < ⌊0.8 n⌋ → train; ranks < ⌊0.9 n⌋ → validation; the rest → test."""
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(users)), users))
    users, items = users[order], items[order]
    counts = np.bincount(users, minlength=n_users)
    rank = np.arange(len(users)) - (np.cumsum(counts) - counts)[users]
    n = counts[users]
    is_test = (rank == 0) | (rank >= (0.9 * n).astype(int))
    is_train = ~is_test & (rank < (0.8 * n).astype(int))
    is_val = ~is_test & ~is_train

    def matrix(mask: np.ndarray) -> sp.csr_matrix:
        ones = np.ones(int(mask.sum()), dtype=np.float32)
        return sp.csr_matrix((ones, (users[mask], items[mask])), shape=(n_users, n_items))

    return matrix(is_train), matrix(is_val), matrix(is_test)


def sample_negatives(positives: sp.csr_matrix, count: int, seed: int) -> np.ndarray:
    """(n_users, count) distinct items per user outside ``positives`` (rejection sampling,
    vectorised over users)."""
    n_users, n_items = positives.shape
    if (positives.getnnz(1) + count > n_items).any():
        raise UserError(f"some user has fewer than {count} items left to sample as AUC negatives")
    rng = np.random.default_rng(seed + 1)
    dense = positives.toarray() > 0
    chosen = np.zeros((n_users, count), dtype=np.int64)
    filled = np.zeros(n_users, dtype=np.int64)
    taken = dense.copy()
    while (filled < count).any():
        rows = np.nonzero(filled < count)[0]
        candidate = rng.integers(0, n_items, size=len(rows))
        fresh = ~taken[rows, candidate]
        rows, candidate = rows[fresh], candidate[fresh]
        chosen[rows, filled[rows]] = candidate
        taken[rows, candidate] = True
        filled[rows] += 1
    return chosen
