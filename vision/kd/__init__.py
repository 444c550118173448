"""Knowledge-distillation losses (pure tensor functions or small modules), hooks and RCO.

Importing this package registers every loss in :data:`KD_LOSSES`.
"""

from vision.kd import attention, crd, fitnets, logits, pkt, relational, similarity  # noqa: F401  (registration)
from vision.kd.hooks import FeatureHooks
from vision.kd.registry import KD_LOSSES

__all__ = ["KD_LOSSES", "FeatureHooks"]
