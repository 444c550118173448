"""The word-piece embedding space: reading a model folder, encoding, embedding, decoding."""

import json
from pathlib import Path

import pytest
import torch

from graphdistill.core.errors import UserError
from graphdistill.text.embeddings import EmbeddingSpace

MINILM = Path(__file__).resolve().parents[3] / "shared" / "data" / "models" / "all-MiniLM-L6-v2"


def test_encode_pads_truncates_and_embeds_padding_as_zero(space):
    ids = space.encode(["the goal", "film actor award the match team"], length=4)
    assert ids.shape == (2, 4) and ids.dtype == torch.int64
    assert ids[0, 2:].tolist() == [space.pad_id, space.pad_id]
    x = space.embed(ids)
    assert x.shape == (2, 4, 8)
    assert torch.equal(x[0, 2:], torch.zeros(2, 8))
    assert torch.allclose(x[1, 0], space.weight[space.tokenizer.token_to_id("film")])


def test_standardise_scales_to_unit_std(model_folder):
    raw = EmbeddingSpace.from_folder(model_folder, standardise=False)
    unit = EmbeddingSpace.from_folder(model_folder)
    assert unit.weight.std().item() == pytest.approx(1.0, rel=1e-5)
    assert torch.allclose(unit.weight, raw.weight * unit.scale)


def test_decoding_an_exact_token_embedding_returns_that_token(space):
    ids = space.encode(["the market profit of a film"], length=8)
    assert space.nearest_tokens(space.embed(ids)) == [["the", "market", "profit", "of", "a", "film"]]
    # scaled or slightly perturbed vectors decode to the same tokens (cosine)
    noisy = 3 * space.embed(ids) + 1e-3 * torch.randn(1, 8, 8)
    assert space.nearest_ids(noisy)[0, :6].tolist() == ids[0, :6].tolist()
    assert space.decode(space.embed(ids)) == ["the market profit of a film"]


def test_bad_model_folders_are_refused(tmp_path, model_folder):
    with pytest.raises(UserError, match="does not exist"):
        EmbeddingSpace.from_folder(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="neither tokenizer.json nor vocab.txt"):
        EmbeddingSpace.from_folder(empty)
    (empty / "vocab.txt").write_text((model_folder / "vocab.txt").read_text())
    with pytest.raises(UserError, match="no model.safetensors"):
        EmbeddingSpace.from_folder(empty)
    (empty / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(UserError, match="not a readable safetensors"):
        EmbeddingSpace.from_folder(empty)
    (empty / "tokenizer.json").write_text(json.dumps({"broken": True}))
    with pytest.raises(UserError, match="not a readable tokenizer"):
        EmbeddingSpace.from_folder(empty)


@pytest.mark.skipif(not MINILM.is_dir(), reason="all-MiniLM-L6-v2 folder not available")
def test_minilm_folder_round_trip():
    space = EmbeddingSpace.from_folder(MINILM)
    assert (space.vocab_size, space.dim) == (30522, 384)
    text = "shares in the company rose sharply"
    assert space.decode(space.embed(space.encode([text], length=16))) == [text]
