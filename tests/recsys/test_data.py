"""Interaction loading, cleaning and Distill-CF's per-user split."""

import numpy as np
import pandas as pd
import pytest

from graphdistill.core.errors import UserError
from recsys.data import from_frame, read_atomic, read_grouplens, read_table


def frame(n_users=30, n_items=40, per_user=12, seed=0):
    rng = np.random.default_rng(seed)
    rows = [(u, i, int(rng.integers(1, 6))) for u in range(n_users)
            for i in rng.choice(n_items, per_user + u % 5, replace=False)]
    return pd.DataFrame(rows, columns=["user", "item", "rating"]).astype(str)


def test_split_is_a_disjoint_partition_with_a_test_item_for_everyone():
    data = from_frame(frame(n_items=120), seed=3)
    train, val, test = data.train.toarray(), data.val.toarray(), data.test.toarray()
    assert ((train + val + test) <= 1).all()
    assert (train + val + test).sum() == len(frame(n_items=120))
    assert (test.sum(1) >= 1).all() and (train.sum(1) >= 1).all()
    n = (train + val + test).sum(1)
    # ⌊0.8 n⌋ − 1 training items (rank 0 always goes to test), the rest split at ⌊0.9 n⌋
    assert (train.sum(1) == np.floor(0.8 * n) - 1).all()
    assert (val.sum(1) == np.floor(0.9 * n) - np.floor(0.8 * n)).all()
    assert data.negatives.shape == (30, 50)


def test_same_seed_same_split_and_another_seed_another():
    a, b, c = (from_frame(frame(n_items=120), seed=s) for s in (1, 1, 2))
    assert (a.train != b.train).nnz == 0 and (a.test != b.test).nnz == 0
    assert (a.train != c.train).nnz > 0
    positives = (a.train + a.val + a.test).toarray() > 0
    assert not positives[np.arange(a.n_users)[:, None], a.negatives].any()
    assert all(len(set(row)) == 50 for row in a.negatives)


def test_cleaning_rules():
    f = frame(n_items=120)
    f = pd.concat([f, f.iloc[:5]])  # duplicates merge
    f.loc[len(f)] = ["lonely", "0", "4"]  # a user with one interaction is dropped
    f["user"] = "u" + f["user"]  # string ids are remapped, originals kept
    data = from_frame(f)
    assert data.stats["merged_duplicates"] == 5 and data.stats["dropped_users"] == 1
    assert data.n_users == 30 and data.user_ids[0] == "u0"
    high = from_frame(frame(n_items=120), threshold=4)
    assert high.stats["below_threshold"] > 0 and high.train.nnz < data.train.nnz


@pytest.mark.parametrize("rating, message", [("-1", "negative"), ("five", "non-numeric"), ("nan", "non-numeric")])
def test_bad_ratings(rating, message):
    f = frame(n_items=120)
    f.loc[3, "rating"] = rating
    with pytest.raises(UserError, match=message):
        from_frame(f)


def test_readers_on_generated_files(tmp_path):
    f = frame(n_items=120)
    (tmp_path / "u.data").write_text("\n".join("\t".join(r) + "\t881250949" for r in f.values.tolist()))
    (tmp_path / "ratings.dat").write_text("\n".join("::".join(r) + "::881250949" for r in f.values.tolist()))
    (tmp_path / "x.inter").write_text("user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
                                      + "\n".join("\t".join(r) + "\t1" for r in f.values.tolist()))
    f.rename(columns={"user": "uid", "item": "iid"}).to_parquet(tmp_path / "x.parquet")
    loaded = [from_frame(read_grouplens(tmp_path / "u.data")),
              from_frame(read_grouplens(tmp_path / "ratings.dat", "::")),
              from_frame(read_atomic(tmp_path / "x.inter")),
              from_frame(read_table(tmp_path / "x.parquet", user="uid", item="iid"))]
    for data in loaded:
        assert (data.train != loaded[0].train).nnz == 0
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(UserError, match="empty"):
        read_table(tmp_path / "empty.csv")
    with pytest.raises(UserError, match="not found"):
        read_grouplens(tmp_path / "missing.data")
    with pytest.raises(UserError, match="missing column"):
        read_table(tmp_path / "x.parquet")


def test_movielens_100k(data_root):
    from recsys import load_interactions

    data = load_interactions("ml-100k", data_root)
    assert (data.n_users, data.n_items) == (943, 1682)
    assert data.train.nnz + data.val.nnz + data.test.nnz == 100_000
