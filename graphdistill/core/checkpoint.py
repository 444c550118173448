"""Checkpoints that survive SIGKILL: written atomically, loaded without arbitrary unpickling."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from graphdistill.core.errors import UserError
from graphdistill.core.io import load_torch, save_torch


class Checkpoint:
    """A single-file checkpoint of nested dicts/lists of tensors, numbers and strings.

    ``save`` replaces the file atomically, so a kill at any instant leaves either the previous
    checkpoint or the new one, never a truncated file.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self) -> dict[str, Any] | None:
        if not self.exists():
            return None
        try:
            return load_torch(self.path)
        except Exception as err:
            raise UserError(f"checkpoint {self.path} is unreadable ({err}); delete it to start over") from err

    def save(self, state: dict[str, Any]) -> None:
        save_torch(self.path, state)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
