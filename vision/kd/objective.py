"""One KD objective for any registered loss: Hinton KD on the logits plus β × a feature loss.

The recipe of the CRD benchmark (Tian, Krishnan & Isola, "Contrastive Representation
Distillation", ICLR 2020, and its RepDistiller code): ``L = α·KD + β·L_feature`` (their γ·CE term is
left out: KD here needs no labels, so the same objective serves real and synthetic images).
The feature loss is looked up by name in :data:`~vision.kd.registry.KD_LOSSES`, so a loss added
in its own file is usable here at once:

* a function ``loss(student_features, teacher_features)`` is called as is;
* a class (a loss with parameters or state) must offer ``from_shapes(student_shape,
  teacher_shape)``; its parameters (FitNets' regressor, CRD's projection heads) train with the
  student (:meth:`KDObjective.parameters`).

Which features: a loss whose ``kd_layers`` attribute is ``"stages"`` (attention transfer) compares
every stage pair of :func:`~vision.models.stage_layers` and averages over them; the others compare
the models' penultimate features (:func:`~vision.models.penultimate_layer`). Features are read
through :class:`~vision.kd.hooks.FeatureHooks`, so no model is modified.

Example::

    objective = KDObjective(student, teacher, probe=x[:2], feature_loss="sp", feature_weight=3000.0)
    loss = objective(x)                    # KD + 3000 · SP, one backward for student and heads
"""

from __future__ import annotations

import torch
from torch import nn

from graphdistill.core.errors import UserError
from vision.kd.hooks import FeatureHooks
from vision.kd.logits import hinton_kd
from vision.kd.registry import KD_LOSSES

LOGIT_LOSSES = ("kd", "l1")  # registry entries that compare logits, not features


def layer_pairs(student: nn.Module, teacher: nn.Module, kind: str) -> tuple[tuple[str, str], ...]:
    """(student module, teacher module) names compared by a feature loss: the penultimate layers,
    or every stage pair in order (``kind="stages"``); a clear error when a model does not name them."""
    from vision.models import penultimate_layer, stage_layers

    if kind == "stages":
        s, t = stage_layers(student), stage_layers(teacher)
        if not s or len(s) != len(t):
            raise UserError(f"attention transfer pairs stages, which need matching lists; "
                            f"{type(student).__name__} has {s}, {type(teacher).__name__} has {t}")
        return tuple(zip(s, t, strict=True))
    s, t = penultimate_layer(student), penultimate_layer(teacher)
    if s is None or t is None:
        raise UserError(f"this loss compares penultimate features, which {type(student).__name__} or "
                        f"{type(teacher).__name__} does not name (set a `penultimate` module name)")
    return ((s, t),)


class KDObjective:
    """``hinton_kd(s, t, T) + feature_weight · mean over layer pairs of feature_loss(f_s, f_t)``.

    Args:
        student, teacher: the models (the teacher's outputs are constants).
        probe: a few input images, run once to read the feature shapes a parametric loss needs.
        temperature: Hinton KD's T.
        feature_loss: a :data:`KD_LOSSES` name other than the logit losses, or None (KD only).
        feature_weight: β (RepDistiller's CIFAR-100 weights, for orientation: FitNets 100, AT 1000,
            SP 3000, PKT 30000, RKD 1 (its own 25/50 inside), CRD 0.8).
    """

    def __init__(self, student: nn.Module, teacher: nn.Module, probe: torch.Tensor, *, temperature: float = 4.0,
                 feature_loss: str | None = None, feature_weight: float = 0.0) -> None:
        if (feature_loss is None) != (feature_weight == 0) or feature_weight < 0:
            raise UserError(f"a feature loss needs a weight > 0 and a weight needs a feature loss; got "
                            f"{feature_loss!r} with weight {feature_weight}")
        if feature_loss in LOGIT_LOSSES:
            raise UserError(f"{feature_loss!r} compares logits; pick a feature loss "
                            f"({', '.join(n for n in KD_LOSSES.names() if n not in LOGIT_LOSSES)})")
        self.student, self.teacher, self.temperature = student, teacher, temperature
        self.feature_weight, self.pairs = feature_weight, ()
        self.heads = nn.ModuleList()  # parametric loss terms (one per layer pair), trained with the student
        self._functions: list = []
        if feature_loss is None:
            return
        entry = KD_LOSSES.get(feature_loss)
        self.pairs = layer_pairs(student, teacher, getattr(entry, "kd_layers", "penultimate"))
        if isinstance(entry, type):
            if not hasattr(entry, "from_shapes"):
                raise UserError(f"KD loss {feature_loss!r} is a class without from_shapes(student, teacher)")
            shapes = self._feature_shapes(probe)
            self.heads.extend(entry.from_shapes(s, t) for s, t in shapes)
            self.heads.to(next(student.parameters()).device)
        else:
            self._functions = [entry] * len(self.pairs)

    def parameters(self) -> list[torch.Tensor]:
        """The loss terms' own parameters (empty for parameter-free losses): optimise them with the
        student's."""
        return list(self.heads.parameters())

    def train(self, mode: bool = True) -> KDObjective:
        self.heads.train(mode)
        return self

    def _feature_shapes(self, probe: torch.Tensor) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        student = self.student
        was_training = student.training
        student.eval()
        try:
            with torch.no_grad():
                s_feats, t_feats = self._features(probe, self.teacher)[2:]
        finally:
            student.train(was_training)
        return [(tuple(s.shape[1:]), tuple(t.shape[1:])) for s, t in zip(s_feats, t_feats, strict=True)]

    def _features(self, x: torch.Tensor, teacher: nn.Module):
        s_names = [s for s, _ in self.pairs]
        t_names = [t for _, t in self.pairs]
        with FeatureHooks(teacher, t_names) as t_hooks, torch.no_grad():
            t_logits = teacher(x)
            t_feats = [t_hooks[n] for n in t_names]
        with FeatureHooks(self.student, s_names) as s_hooks:
            s_logits = self.student(x)
            s_feats = [s_hooks[n] for n in s_names]
        return s_logits, t_logits, s_feats, t_feats

    def __call__(self, x: torch.Tensor, teacher: nn.Module | None = None) -> torch.Tensor:
        """The loss on images ``x``; ``teacher`` replaces the teacher for this call (RCO's anchors)."""
        s_logits, t_logits, s_feats, t_feats = self._features(x, teacher or self.teacher)
        loss = hinton_kd(s_logits, t_logits, temperature=self.temperature)
        if self.pairs and self.feature_weight:
            losses = list(self.heads) or self._functions
            terms = [loss_fn(s, t) for loss_fn, s, t in zip(losses, s_feats, t_feats, strict=True)]
            loss = loss + self.feature_weight * torch.stack(terms).mean()
        return loss
