"""Validation-based selection of a synthetic set during condensation, shared by every method.

Condensation methods evaluate their current synthetic set every few steps (one model trained on
it, scored on *validation* data only) and may return the best one instead of the last — model
selection as GCond's evaluator does it, never on test data.
"""

from __future__ import annotations

from typing import Any

from torch import nn


class ValidationSelection:
    """The validation curve and, when ``keep_best``, a snapshot of the best-scoring state.

    ``curve``: [[step, score], ...]; ``best``: {"step", "val", "state"} or None.
    """

    def __init__(self, keep_best: bool) -> None:
        self.keep_best = keep_best
        self.curve: list[list[float]] = []
        self.best: dict[str, Any] | None = None

    def record(self, step: int, val: float, module: nn.Module) -> None:
        """Add ``(step, val)``; snapshot ``module``'s state if it is the best so far (first wins ties)."""
        self.curve.append([step, val])
        if self.keep_best and (self.best is None or val > self.best["val"]):
            state = {k: v.detach().clone() for k, v in module.state_dict().items()}
            self.best = {"step": step, "val": val, "state": state}

    def restore_best(self, module: nn.Module) -> int | None:
        """Load the best snapshot into ``module``; its step, or None when there is none."""
        if not self.keep_best or self.best is None:
            return None
        module.load_state_dict(self.best["state"])
        return self.best["step"]
