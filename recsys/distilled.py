"""The result of user condensation: a small synthetic user × item matrix, saved and reloadable."""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path

import scipy.sparse as sp
import torch

from graphdistill.core.errors import UserError
from graphdistill.core.io import load_torch, read_json, save_torch, save_with, write_json

MATRIX_FILE, LOGITS_FILE, META_FILE = "synthetic.npz", "logits.pt", "synthetic.json"


@dataclasses.dataclass
class DistilledUsers:
    """Synthetic users.

    Attributes:
        matrix: (n_users, n_items) float tensor with entries in [0, 1] (binary for real-user
            samples; soft multi-hot rows for Distill-CF).
        logits: (n_users, n_items) the learned Distill-CF logits, or None.
        meta: method, budget, seed, curves — JSON-serialisable.
    """

    matrix: torch.Tensor
    logits: torch.Tensor | None = None
    meta: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.matrix.dim() != 2:
            raise UserError(f"synthetic users must be a (users, items) matrix, got {tuple(self.matrix.shape)}")

    @property
    def n_users(self) -> int:
        return self.matrix.shape[0]

    def to_scipy(self) -> sp.csr_matrix:
        """The matrix as ``scipy.sparse.csr_matrix`` (exact zeros dropped)."""
        return sp.csr_matrix(self.matrix.detach().cpu().numpy())

    def save(self, folder: str | os.PathLike) -> Path:
        """Write ``synthetic.npz`` (scipy sparse), ``logits.pt`` and ``synthetic.json`` atomically."""
        folder = Path(folder)
        buffer = io.BytesIO()
        sp.save_npz(buffer, self.to_scipy())
        save_with(folder / MATRIX_FILE, lambda handle: handle.write(buffer.getvalue()))
        if self.logits is not None:
            save_torch(folder / LOGITS_FILE, self.logits.detach().cpu())
        write_json(folder / META_FILE, self.meta)
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> DistilledUsers:
        folder = Path(folder)
        if not (folder / MATRIX_FILE).is_file():
            raise UserError(f"{folder} holds no {MATRIX_FILE}; is it a recsys run folder?")
        matrix = torch.as_tensor(sp.load_npz(folder / MATRIX_FILE).toarray(), dtype=torch.float32)
        logits = load_torch(folder / LOGITS_FILE) if (folder / LOGITS_FILE).is_file() else None
        meta = read_json(folder / META_FILE) if (folder / META_FILE).is_file() else {}
        return cls(matrix, logits, meta)
