"""Route-constrained optimisation (Jin et al., "Knowledge Distillation via Route Constrained
Optimization", ICCV 2019): the student follows the teacher's own training route, distilling from a
sequence of teacher checkpoints ("anchors") from early to final — an easy-to-hard curriculum.

The paper picks anchors greedily; no public code of that selection is known, so anchors here are
the checkpoints the caller saved (e.g. ``train_classifier(..., anchor_every=k)``) and the student
spends an equal share of its epochs on each, ending on the last (the reference implementation in
KD_Lib does the same with equal intervals). Any KD loss works: RCO only decides *which* teacher.

Example::

    route = RouteSchedule(anchors, epochs=12)     # 4 anchors → 3 epochs each
    teacher = route.teacher_at(epoch)
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from graphdistill.core.errors import UserError


class RouteSchedule:
    """Which anchor teacher to distil from at each student epoch (equal intervals)."""

    def __init__(self, anchors: Sequence[nn.Module], epochs: int) -> None:
        if not anchors:
            raise UserError("RCO needs at least one teacher checkpoint (anchor)")
        if epochs < len(anchors):
            raise UserError(f"RCO with {len(anchors)} anchors needs at least as many student epochs, got {epochs}")
        self.anchors, self.epochs = list(anchors), epochs

    def index_at(self, epoch: int) -> int:
        return min(len(self.anchors) - 1, epoch * len(self.anchors) // self.epochs)

    def teacher_at(self, epoch: int) -> nn.Module:
        return self.anchors[self.index_at(epoch)]
