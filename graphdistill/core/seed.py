"""Seeding. We never touch global RNG state implicitly except through :func:`seed_everything`."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device) with one integer."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def derive_seed(seed: int, *keys: int | str) -> int:
    """A child seed that depends deterministically on ``seed`` and ``keys``.

    Used so that run ``i`` of an evaluation gets the same seed whether or not the runs before it
    were executed in this process (which makes resumed runs bit-identical to uninterrupted ones).
    """
    text = ":".join([str(seed), *map(str, keys)])
    value = 1469598103934665603  # FNV-1a, stable across processes unlike hash()
    for byte in text.encode():
        value = ((value ^ byte) * 1099511628211) % 2**64
    return value % 2**31
