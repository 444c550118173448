"""Fixtures of the text tests: a tiny word-piece model folder and a small generated corpus."""

import pytest
import torch
from safetensors.torch import save_file

from graphdistill.text.data import Corpus
from graphdistill.text.embeddings import EmbeddingSpace

WORDS = ["goal", "match", "team", "film", "actor", "award", "shares", "profit", "market", "the", "a", "of"]


@pytest.fixture
def model_folder(tmp_path):
    """vocab.txt + model.safetensors with random (vocab, 8) word embeddings, BERT-style names."""
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS, "##s"]
    folder = tmp_path / "tiny-bert"
    folder.mkdir()
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    weight = torch.randn(len(vocab), 8, generator=torch.Generator().manual_seed(0))
    save_file({"embeddings.word_embeddings.weight": weight,
               "embeddings.position_embeddings.weight": torch.zeros(4, 8)}, str(folder / "model.safetensors"))
    return folder


@pytest.fixture
def space(model_folder):
    return EmbeddingSpace.from_folder(model_folder)


@pytest.fixture
def toy_corpus():
    """Three classes of 12 short documents, each class drawing on its own words."""
    g = torch.Generator().manual_seed(1)
    words = [["goal", "match", "team"], ["film", "actor", "award"], ["shares", "profit", "market"]]
    texts, labels = [], []
    for label, own in enumerate(words):
        for _ in range(12):
            picks = torch.randint(3, (10,), generator=g).tolist()
            texts.append(" ".join(["the", *[own[i] for i in picks], "of", "a"]))
            labels.append(label)
    import numpy as np

    return Corpus(tuple(texts), np.asarray(labels), ("sport", "film", "money"))
