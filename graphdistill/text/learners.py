"""Text classifiers that read embedded sequences (batch, length, dim), not token ids.

Real documents (embedded through :class:`~graphdistill.text.embeddings.EmbeddingSpace`) and
distilled sequences (free matrices in the same space) therefore go through the same model — the
setting of Sucholutsky & Schonlau (IJCNN 2021), whose TextConvNet learner follows Kim (EMNLP 2014).

* ``textcnn`` — Kim's CNN: parallel 1-D convolutions of widths 3, 4, 5 (100 filters each), ReLU,
  max over time, dropout, linear classifier.
* ``meanpool`` — the mean of the sequence's vectors through a one-hidden-layer MLP (a "bag of
  embeddings" baseline; padded zero vectors count as zeros).
* ``transformer`` — a small pre-norm Transformer encoder (2 layers, width 128, 4 heads) over a
  linear projection of the embeddings plus learned positions, mean-pooled.

All are plain ``nn.Module`` s, so :func:`torch.func.functional_call` can run them with unrolled
parameters. ``build_learner(name, dim, classes, length)`` makes one from the registry.

Example::

    model = build_learner("textcnn", dim=384, num_classes=5, length=128)
    logits = model(torch.randn(8, 128, 384))                    # (8, 5)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from graphdistill.core.errors import UserError
from graphdistill.core.registry import Registry

LEARNERS: Registry[type[nn.Module]] = Registry("text learner")


def _check_input(x: torch.Tensor, dim: int) -> None:
    if x.dim() != 3 or x.shape[-1] != dim:
        raise UserError(f"expected (batch, length, {dim}) embeddings, got shape {tuple(x.shape)}")


@LEARNERS.register("textcnn")
class TextCNN(nn.Module):
    """Kim (EMNLP 2014) convolutional sentence classifier on (B, L, D) embeddings → (B, C) logits."""

    def __init__(self, dim: int, num_classes: int, length: int, widths: Sequence[int] = (3, 4, 5),
                 filters: int = 100, dropout: float = 0.5) -> None:
        super().__init__()
        if length < max(widths):
            raise UserError(f"sequences of length {length} are shorter than the widest filter ({max(widths)})")
        self.dim = dim
        self.convs = nn.ModuleList(nn.Conv1d(dim, filters, w) for w in widths)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(filters * len(widths), num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.dim)
        x = x.transpose(1, 2)  # (B, D, L): channels first for Conv1d
        return torch.cat([conv(x).relu().amax(dim=2) for conv in self.convs], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.features(x)))


@LEARNERS.register("meanpool")
class MeanPoolMLP(nn.Module):
    """Mean of the sequence's embeddings → Linear → ReLU → dropout → Linear: (B, L, D) → (B, C)."""

    def __init__(self, dim: int, num_classes: int, length: int, hidden: int = 256, dropout: float = 0.5) -> None:
        super().__init__()
        self.dim = dim
        self.hidden = nn.Linear(dim, hidden)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.dim)
        return self.hidden(x.mean(dim=1)).relu()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.features(x)))


@LEARNERS.register("transformer")
class TransformerLearner(nn.Module):
    """Projection to ``width`` + learned positions → pre-norm Transformer encoder → mean pool → Linear."""

    def __init__(self, dim: int, num_classes: int, length: int, width: int = 128, layers: int = 2,
                 heads: int = 4, dropout: float = 0.1) -> None:
        super().__init__()
        self.dim = dim
        self.project = nn.Linear(dim, width)
        self.positions = nn.Parameter(torch.randn(length, width) * 0.02)
        layer = nn.TransformerEncoderLayer(width, heads, dim_feedforward=2 * width, dropout=dropout,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.classifier = nn.Linear(width, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.dim)
        if x.shape[1] > len(self.positions):
            raise UserError(f"sequence length {x.shape[1]} exceeds the learner's {len(self.positions)} positions")
        h = self.project(x) + self.positions[: x.shape[1]]
        return self.norm(self.encoder(h)).mean(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def build_learner(name: str, dim: int, num_classes: int, length: int, **kwargs) -> nn.Module:
    """A freshly initialised learner from :data:`LEARNERS` (current torch RNG)."""
    return LEARNERS.get(name)(dim, num_classes, length, **kwargs)
