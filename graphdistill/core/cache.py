"""An on-disk cache of derived tensors (e.g. node embeddings), keyed by content fingerprints.

Stored under ``<user cache>/artifacts/<sha256>.pt`` and written atomically; a corrupt entry is
recomputed. Keys include everything the value depends on, so entries never go stale silently:
callers put a version string in the key when their algorithm changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import torch

from graphdistill.core.datasets import cache_dir
from graphdistill.core.io import load_torch, save_torch


def fingerprint(*tensors: torch.Tensor) -> str:
    """SHA-256 of the tensors' dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        digest.update(f"{t.dtype}{tuple(t.shape)}".encode())
        digest.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    return digest.hexdigest()


def cached_tensor(key: dict, compute: Callable[[], torch.Tensor]) -> torch.Tensor:
    """Return the tensor cached under ``key`` (a JSON-serialisable dict), computing it if absent."""
    name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    path = cache_dir() / "artifacts" / f"{name}.pt"
    if path.is_file():
        try:
            return load_torch(path)
        except Exception:  # a corrupt entry is just a cache miss
            path.unlink(missing_ok=True)
    value = compute()
    save_torch(path, value)
    return value
