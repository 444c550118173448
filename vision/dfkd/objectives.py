"""Generator loss terms of the generator-based data-free KD methods, as pure tensor functions, and
the objective that weights and combines them.

Every term is *minimised* by the generator:

* ``one_hot`` — DAFL (Chen et al., ICCV 2019): CE of the teacher's logits against their own argmax
  (confident, class-like samples);
* ``activation`` — DAFL: minus the mean absolute teacher feature (samples that excite the teacher);
* ``entropy`` — DAFL's information entropy: ``Σ_c p̄_c log p̄_c`` of the batch-mean softmax p̄
  (minimised → classes balanced); DAFL's code uses log10, kept as the default base;
* ``diversity`` — RDSKD (Han et al., ICASSP 2021): the batch is split in halves; with
  ``lz = mean|x₁ − x₂| / mean|softmax T(x₁) − softmax T(x₂)|`` the term is ``1 / (lz + 1e-20)``
  (images far apart for a given change of prediction; mean absolute differences as in the
  mode-seeking loss it adapts, since the card leaves the norm open);
* ``adversarial_l1`` — DFAD (Fang et al., 2019): ``−log(L1(S, T) + 1)`` (the log form the paper
  gives for stability; ``log_form=False`` gives ``−L1``);
* ``adversarial_kl`` — ZSKT (Micaelli & Storkey, NeurIPS 2019): ``−KL(p_T ‖ p_S)`` (batch mean);
* ``bn`` — DeepInversion's BatchNorm-statistics loss (:mod:`vision.dfkd.bn_stats`), computed by
  the synthesizer's hooks and passed in; DFQ (Choi et al., CVPRW 2020) trains a generator with it.

:class:`GeneratorObjective` sums ``weight · term``, except for the terms listed in
``exponential``, which enter as ``weight · exp(term − reference)`` with a reference value taken
(detached) at the first step of each epoch — RDSKD's exponentially penalised loss increments.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from graphdistill.core.errors import UserError
from vision.kd.logits import l1_discrepancy

STUDENT_TERMS = ("adversarial_l1", "adversarial_kl")
TERMS = ("one_hot", "activation", "entropy", "diversity", "bn", *STUDENT_TERMS)


def one_hot_loss(teacher_logits: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(teacher_logits, teacher_logits.argmax(1))


def activation_loss(teacher_features: torch.Tensor) -> torch.Tensor:
    return -teacher_features.abs().mean()


def entropy_loss(teacher_logits: torch.Tensor, log_base: float = 10.0) -> torch.Tensor:
    mean_p = F.softmax(teacher_logits, dim=1).mean(0)
    return (mean_p * torch.log(mean_p.clamp_min(1e-30))).sum() / torch.log(torch.tensor(log_base))


def diversity_loss(images: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    half = len(images) // 2
    if half == 0:
        raise UserError("the diversity term needs a batch of at least 2 samples")
    p = F.softmax(teacher_logits, dim=1)
    image_gap = (images[:half] - images[half:2 * half]).abs().mean()
    output_gap = (p[:half] - p[half:2 * half]).abs().mean()
    return 1.0 / (image_gap / output_gap + 1e-20)


def adversarial_l1_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                        log_form: bool = True) -> torch.Tensor:
    gap = l1_discrepancy(student_logits, teacher_logits)
    return -torch.log(gap + 1) if log_form else -gap


def adversarial_kl_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    log_p_t = F.log_softmax(teacher_logits, dim=1)
    log_p_s = F.log_softmax(student_logits, dim=1)
    return -F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True)


@dataclass
class GeneratorObjective:
    """A weighted combination of the terms above (names in :data:`TERMS`)."""

    weights: dict[str, float]
    exponential: tuple[str, ...] = ()
    entropy_log_base: float = 10.0
    l1_log_form: bool = True
    references: dict[str, float] = field(default_factory=dict)
    _refresh: bool = True

    def __post_init__(self) -> None:
        unknown = sorted(set(self.weights) - set(TERMS))
        if unknown:
            raise UserError(f"unknown generator loss term(s) {unknown}; known: {', '.join(TERMS)}")
        if not set(self.exponential) <= set(self.weights):
            raise UserError(f"exponential terms {self.exponential} must also have weights")
        self.weights = {k: float(v) for k, v in self.weights.items() if v != 0}

    @property
    def needs_student(self) -> bool:
        return any(t in self.weights for t in STUDENT_TERMS)

    @property
    def needs_features(self) -> bool:
        return "activation" in self.weights

    @property
    def needs_bn(self) -> bool:
        return "bn" in self.weights

    def start_epoch(self) -> None:
        """The next call takes fresh reference values for the exponential terms (RDSKD: per epoch)."""
        self._refresh = True

    def __call__(self, images: torch.Tensor, teacher_logits: torch.Tensor,
                 teacher_features: torch.Tensor | None = None,
                 student_logits: torch.Tensor | None = None,
                 bn_loss: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """Return (total loss, {term: value}) for one generated batch."""
        values = {}
        for name in self.weights:
            if name == "bn":
                if bn_loss is None:
                    raise UserError("the bn term needs the BatchNorm-statistics loss of the teacher's forward")
                values[name] = bn_loss
                continue
            values[name] = self._term(name, images, teacher_logits, teacher_features, student_logits)
        if self._refresh:
            self.references = {n: float(values[n].detach()) for n in self.exponential}
            self._refresh = False
        total = images.new_zeros(())
        for name, weight in self.weights.items():
            value = values[name]
            if name in self.exponential:
                value = torch.exp(value - self.references[name])
            total = total + weight * value
        return total, {n: float(v.detach()) for n, v in values.items()}

    def _term(self, name: str, images: torch.Tensor, teacher_logits: torch.Tensor,
              teacher_features: torch.Tensor | None, student_logits: torch.Tensor | None) -> torch.Tensor:
        if name == "activation" and teacher_features is None:
            raise UserError("the activation term needs the teacher's features (feature_layer)")
        if name in STUDENT_TERMS and student_logits is None:
            raise UserError(f"the {name} term needs the student's logits")
        terms = {
            "one_hot": lambda: one_hot_loss(teacher_logits),
            "activation": lambda: activation_loss(teacher_features),
            "entropy": lambda: entropy_loss(teacher_logits, self.entropy_log_base),
            "diversity": lambda: diversity_loss(images, teacher_logits),
            "adversarial_l1": lambda: adversarial_l1_loss(student_logits, teacher_logits, self.l1_log_form),
            "adversarial_kl": lambda: adversarial_kl_loss(student_logits, teacher_logits),
        }
        return terms[name]()


def masked_adversarial_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """CMI's / FastDFKD's decision-adversarial term: ``−mean_i KL_i(p_T ‖ p_S) · 1[argmax S = argmax T]``.

    Only samples on which the student still agrees with the teacher are pushed apart (Fang et al.,
    IJCAI 2021): samples already disagreeing carry no gradient, so the batch stays on the teacher's
    decision regions instead of drifting to adversarial noise.
    """
    agree = (student_logits.argmax(1) == teacher_logits.argmax(1)).to(teacher_logits.dtype)
    per_sample = F.kl_div(F.log_softmax(student_logits, 1), F.log_softmax(teacher_logits, 1), reduction="none",
                          log_target=True).sum(1)
    return -(per_sample * agree).mean()


def jensen_shannon_competition(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                               temperature: float = 3.0) -> torch.Tensor:
    """Adaptive DeepInversion's competition term ``1 − clamp(JS(p_S, p_T), 0, 1)`` at temperature T,
    probabilities clamped to [0.01, 0.99] (Yin et al., CVPR 2020, eq. 7)."""
    p_s = F.softmax(student_logits / temperature, 1).clamp(0.01, 0.99)
    p_t = F.softmax(teacher_logits / temperature, 1).clamp(0.01, 0.99)
    m = 0.5 * (p_s + p_t)
    js = 0.5 * ((p_s * (p_s / m).log()).sum(1) + (p_t * (p_t / m).log()).sum(1)).mean()
    return 1 - js.clamp(0, 1)
