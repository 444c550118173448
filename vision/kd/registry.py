"""The registry of knowledge-distillation losses: a loss is added by decorating it in its own file.

Each entry is a callable; feature losses take ``(student_features, teacher_features)``, logit losses
``(student_logits, teacher_logits)``; modules with parameters or state (FitNets' regressor, CRD's
memory banks) are registered as classes with a ``from_shapes(student_shape, teacher_shape)``
constructor. A feature loss that compares every stage pair instead of the penultimate features
sets ``kd_layers = "stages"`` on itself. :class:`~vision.kd.objective.KDObjective` (and through it
``graphdistill kd --feature-loss NAME``) uses any entry by its name.

Example::

    from vision.kd import KD_LOSSES
    loss = KD_LOSSES.get("kd")(student_logits, teacher_logits, temperature=4.0)
"""

from __future__ import annotations

from collections.abc import Callable

from graphdistill.core.registry import Registry

KD_LOSSES: Registry[Callable] = Registry("KD loss")
