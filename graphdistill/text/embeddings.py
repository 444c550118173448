"""A fixed word-piece embedding space read offline from a Hugging Face model folder.

Text dataset distillation (Sucholutsky & Schonlau, "Soft-Label Dataset Distillation and Text
Dataset Distillation", IJCNN 2021) works after the embedding lookup: a document is the sequence of
its tokens' embedding vectors, and a distilled "sentence" is a free (length × dim) matrix in the
same space. This module provides that space from any BERT-style folder — ``tokenizer.json`` (or
``vocab.txt``) plus the word-piece embedding matrix in ``model.safetensors`` — with the light
``tokenizers`` and ``safetensors`` packages; no ``transformers``, no network.

Conventions: documents are tokenised without ``[CLS]``/``[SEP]``, truncated to ``length`` word
pieces and padded with the pad id; padded positions embed to the zero vector (so a learner sees
"nothing" there, and mean pooling over a fixed length is a length-weighted average). By default
the matrix is divided by the standard deviation of all its entries (``standardise``; MiniLM's is
0.056), so that learners see unit-scale inputs and plain gradient steps train them at ordinary
learning rates; cosine decoding is unaffected by the scale. The
distilled data are tied to this table (the pitfall DiLM points out): run folders record the
model folder and a fingerprint of the matrix.

Example::

    space = EmbeddingSpace.from_folder("../shared/data/models/all-MiniLM-L6-v2")
    ids = space.encode(["Shares rose sharply."], length=16)    # (1, 16) int64
    x = space.embed(ids)                                        # (1, 16, 384)
    space.nearest_tokens(x)[0][:4]                              # ['shares', 'rose', 'sharply', '.']
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from graphdistill.core.cache import fingerprint
from graphdistill.core.errors import UserError

PAD = "[PAD]"
EMBEDDING_SUFFIX = "word_embeddings.weight"


@dataclass
class EmbeddingSpace:
    """A tokenizer and its (V, D) word-piece embedding matrix.

    Attributes:
        tokenizer: a ``tokenizers.Tokenizer`` with truncation and padding turned off.
        weight: (V, D) float32 embedding matrix (not trainable).
        pad_id: the id of ``[PAD]``; its positions embed to zeros.
        source: where it was read from (for run folders).
    """

    tokenizer: object
    weight: torch.Tensor
    pad_id: int
    source: str = ""
    scale: float = 1.0  # the factor the stored matrix was multiplied by

    @property
    def dim(self) -> int:
        return self.weight.shape[1]

    @property
    def vocab_size(self) -> int:
        return self.weight.shape[0]

    def fingerprint(self) -> str:
        return fingerprint(self.weight)

    @classmethod
    def from_folder(cls, folder: str | os.PathLike, standardise: bool = True) -> EmbeddingSpace:
        """Read a BERT-style model folder: ``tokenizer.json`` or ``vocab.txt``, ``model.safetensors``.

        ``standardise`` divides the matrix by the standard deviation of its entries.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise UserError(f"model folder {folder} does not exist")
        tokenizer = _read_tokenizer(folder)
        weight = _read_word_embeddings(folder)
        vocab = tokenizer.get_vocab_size(with_added_tokens=True)
        if vocab > weight.shape[0]:
            raise UserError(f"{folder}: the tokenizer knows {vocab} tokens but the embedding matrix has only "
                            f"{weight.shape[0]} rows — tokenizer and weights come from different models")
        pad_id = tokenizer.token_to_id(PAD)
        if pad_id is None:
            raise UserError(f"{folder}: the tokenizer has no {PAD} token")
        scale = 1.0 / float(weight.std()) if standardise else 1.0
        return cls(tokenizer, weight * scale, pad_id, str(folder), scale)

    def encode(self, texts: Sequence[str], length: int) -> torch.Tensor:
        """(N, length) int64 word-piece ids: no special tokens, truncated, right-padded."""
        if length < 1:
            raise UserError(f"sequence length must be at least 1, got {length}")
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        ids = torch.full((len(encodings), length), self.pad_id, dtype=torch.int64)
        for row, enc in enumerate(encodings):
            pieces = enc.ids[:length]
            ids[row, : len(pieces)] = torch.as_tensor(pieces, dtype=torch.int64)
        return ids

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """(…, L) ids → (…, L, D) embeddings; pad positions are zero vectors."""
        weight = self.weight.to(ids.device)
        return F.embedding(ids, weight) * (ids != self.pad_id).unsqueeze(-1).to(weight.dtype)

    def nearest_ids(self, vectors: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
        """(…, D) vectors → (…) ids of the most cosine-similar tokens; (near-)zero vectors → pad.

        ``[PAD]`` itself is never a candidate for a non-zero vector. Computed in row chunks so a
        long batch does not build one huge similarity matrix.
        """
        if vectors.shape[-1] != self.dim:
            raise UserError(f"vectors have dimension {vectors.shape[-1]}, the embedding space {self.dim}")
        flat = vectors.detach().reshape(-1, self.dim).to(self.weight)
        table = F.normalize(self.weight, dim=1)
        out = torch.empty(len(flat), dtype=torch.int64)
        for start in range(0, len(flat), chunk):
            block = flat[start:start + chunk]
            scores = F.normalize(block, dim=1) @ table.T
            scores[:, self.pad_id] = -float("inf")
            best = scores.argmax(1)
            best[block.norm(dim=1) < 1e-8] = self.pad_id
            out[start:start + chunk] = best
        return out.reshape(vectors.shape[:-1])

    def nearest_tokens(self, vectors: torch.Tensor) -> list[list[str]]:
        """(N, L, D) sequences → N lists of L nearest tokens (trailing pads dropped)."""
        ids = self.nearest_ids(vectors)
        rows = []
        for row in ids.tolist():
            while row and row[-1] == self.pad_id:
                row.pop()
            rows.append([self.tokenizer.id_to_token(i) for i in row])
        return rows

    def decode(self, vectors: torch.Tensor) -> list[str]:
        """(N, L, D) sequences → N strings of their nearest tokens, word pieces joined."""
        return [" ".join(tokens).replace(" ##", "") for tokens in self.nearest_tokens(vectors)]


def _read_tokenizer(folder: Path):
    from tokenizers import Tokenizer
    from tokenizers.implementations import BertWordPieceTokenizer

    if (folder / "tokenizer.json").is_file():
        try:
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as err:  # tokenizers raises a bare Exception on malformed files
            raise UserError(f"{folder / 'tokenizer.json'} is not a readable tokenizer file: {err}") from err
    elif (folder / "vocab.txt").is_file():
        lowercase = True
        config = folder / "tokenizer_config.json"
        if config.is_file():
            lowercase = bool(json.loads(config.read_text()).get("do_lower_case", True))
        tokenizer = BertWordPieceTokenizer(str(folder / "vocab.txt"), lowercase=lowercase)
    else:
        raise UserError(f"{folder} has neither tokenizer.json nor vocab.txt: not a word-piece model folder")
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def _read_word_embeddings(folder: Path) -> torch.Tensor:
    from safetensors import SafetensorError, safe_open

    path = folder / "model.safetensors"
    if not path.is_file():
        raise UserError(f"{folder} has no model.safetensors (the word-piece embedding matrix is read from it)")
    try:
        with safe_open(str(path), framework="pt") as handle:
            keys = [k for k in handle.keys() if k.endswith(EMBEDDING_SUFFIX)]
            if len(keys) != 1:
                raise UserError(f"{path}: expected one tensor named '*{EMBEDDING_SUFFIX}', found {keys or 'none'}")
            weight = handle.get_tensor(keys[0])
    except SafetensorError as err:
        raise UserError(f"{path} is not a readable safetensors file: {err}") from err
    if weight.dim() != 2 or not torch.isfinite(weight).all():
        raise UserError(f"{path}: the embedding matrix must be a finite 2-D tensor, got shape {tuple(weight.shape)}")
    return weight.float().contiguous()
