"""Inversion-based data-free KD: one synthesizer for DeepInversion, CMI and FastDFKD.

Each ``synthesize()`` makes one batch for random target classes y by minimising, over what the
*source* optimises (:mod:`vision.dfkd.sources`: pixels, a fresh generator, or a meta-generator copy),

    bn·R_BN + one_hot·CE(T(v(x)), y) + adversarial·L_adv + contrastive·L_cr
        + tv_l1·TV₁(x) + tv_l2·TV₂(x) + l2·‖x‖₂

where v is a random shifted (optionally flipped) view (:func:`vision.dfkd.views.random_view`),
R_BN the teacher's BatchNorm-statistics loss (:mod:`vision.dfkd.bn_stats`, plain or with
FastDFKD's momentum), L_adv the student–teacher competition (CMI / FastDFKD: masked KL,
:func:`~vision.dfkd.objectives.masked_adversarial_kl`; adaptive DeepInversion: Jensen–Shannon,
:func:`~vision.dfkd.objectives.jensen_shannon_competition`), switched on once the loop's epoch
reaches ``adversarial_after``, and L_cr CMI's contrastive term (:mod:`vision.dfkd.contrastive`).

The inner loop takes ``steps`` Adam steps and evaluates the loss once more at the final iterate
(k + 1 evaluations for k updates); the batch with the lowest loss among them is kept, added to the
image pool (and, for CMI, its features to the memory bank). The final evaluation is also where
FastDFKD's first-order meta-gradient is taken. ``sample()`` draws KD batches from the pool, as
random views (shift ``sample_shift``, flip) like the reference's crop-with-padding transform of the
pool images.
The BatchNorm hooks are attached only inside ``synthesize()``.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from graphdistill.core.errors import UserError
from vision.dfkd.bn_stats import BatchNormStatistics, batch_norm_layers, l2_prior, require_batchnorm, total_variation
from vision.dfkd.contrastive import ContrastiveBank
from vision.dfkd.objectives import jensen_shannon_competition, masked_adversarial_kl
from vision.dfkd.pool import ImagePool
from vision.dfkd.synthesizer import SynthesisReport, Synthesizer, check_student, frozen_logits
from vision.dfkd.views import random_view

ADVERSARIAL_TERMS = {"masked_kl": masked_adversarial_kl, "js": jensen_shannon_competition}


@dataclass(frozen=True)
class InversionWeights:
    """Weights of the inversion loss terms (0 switches a term off)."""

    bn: float = 1.0
    one_hot: float = 1.0
    adversarial: float = 0.0
    contrastive: float = 0.0
    tv_l1: float = 0.0
    tv_l2: float = 0.0
    l2: float = 0.0

    def __post_init__(self) -> None:
        negative = [k for k, v in asdict(self).items() if v < 0 or not math.isfinite(v)]
        if negative:
            raise UserError(f"inversion loss weights must be finite and ≥ 0: {negative}")


@dataclass(frozen=True)
class ViewSettings:
    """The random view shown to the teacher: shift (pixels), flip, and the fill outside the image."""

    max_shift: int = 2
    flip: bool = False
    fill: float = 0.0
    local_scale: tuple[float, float] = (0.25, 1.0)  # CMI's local view (random-resized crop area)
    sample_shift: int = 0  # shift of the KD batches drawn from the pool (the reference's crop augmentation)


class InversionSynthesizer(Synthesizer):
    """Synthesise batches by model inversion and keep them in a pool for the KD loop.

    Args:
        teacher: a classifier with BatchNorm layers (refused otherwise), kept in eval mode.
        student: the student being distilled (adversarial term only; never the teacher).
        source: :class:`~vision.dfkd.sources.PixelSource`, ``FreshGeneratorSource`` or
            ``MetaGeneratorSource``.
        num_classes: targets are drawn uniformly from ``range(num_classes)``.
        steps: inner optimisation steps per batch (DeepInversion 2k, CMI 200–500, FastDFKD 2/5/10).
        betas: the inner Adam's betas (DeepInversion (0.5, 0.9); CMI / FastDFKD (0.5, 0.999)).
        kd_batch_size: size of a ``sample()`` batch (default: ``batch_size``).
    """

    def __init__(self, teacher: nn.Module, student: nn.Module, source, weights: InversionWeights, *,
                 num_classes: int, batch_size: int = 256, steps: int = 1000,
                 betas: tuple[float, float] = (0.5, 0.999), bn_first_multiplier: float = 1.0,
                 bn_momentum: float | None = None, views: ViewSettings = ViewSettings(),
                 adversarial: str = "masked_kl", adversarial_after: int = 0,
                 contrastive: ContrastiveBank | None = None, pool: ImagePool | None = None,
                 kd_batch_size: int | None = None, method: str = "model inversion") -> None:
        require_batchnorm(teacher, method)
        check_student(teacher, student)
        if steps < 1 or batch_size < 2 or num_classes < 2:
            raise UserError(f"need steps ≥ 1, batch_size ≥ 2 and num_classes ≥ 2; got {steps}, {batch_size}, "
                            f"{num_classes}")
        if adversarial not in ADVERSARIAL_TERMS:
            raise UserError(f"adversarial term must be one of {sorted(ADVERSARIAL_TERMS)}, got {adversarial!r}")
        if weights.contrastive and contrastive is None:
            raise UserError("the contrastive weight is > 0 but no ContrastiveBank was given")
        self.teacher, self.student, self.source, self.weights = teacher.eval(), student, source, weights
        self.num_classes, self.batch_size, self.steps, self.betas = num_classes, batch_size, steps, betas
        self.views, self.adversarial, self.adversarial_after = views, adversarial, adversarial_after
        self.contrastive = contrastive if weights.contrastive else None
        self.bn_stats = BatchNormStatistics(teacher, bn_first_multiplier, bn_momentum,
                                            keep_features=self.contrastive is not None)
        self.pool = pool if pool is not None else ImagePool()
        self.kd_batch_size = kd_batch_size or batch_size
        self.device = next(teacher.parameters()).device
        self.epoch = 0
        for p in teacher.parameters():
            p.requires_grad_(False)

    def start_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def synthesize(self) -> SynthesisReport:
        start = time.perf_counter()
        targets = torch.randint(self.num_classes, (self.batch_size,), device=self.device)
        optimizer = torch.optim.Adam(self.source.begin(self.batch_size), betas=self.betas)
        use_adversarial = bool(self.weights.adversarial) and self.epoch >= self.adversarial_after
        best, best_loss, best_terms = None, math.inf, {}
        with self.bn_stats:
            for step in range(self.steps + 1):
                final = step == self.steps
                with torch.set_grad_enabled(not final or self.source.needs_final_gradient):
                    images = self.source.render()
                    loss, terms = self._loss(images, targets, use_adversarial)
                value = float(loss.detach())
                if value < best_loss or best is None:
                    best, best_loss, best_terms = images.detach().clone(), value, terms
                if final:
                    break
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                self.source.after_step()
                if self.contrastive is not None:
                    self.contrastive.step()
            self.source.finish(loss)
            self.bn_stats.update_momentum()
            if self.contrastive is not None:
                with torch.no_grad():
                    self.contrastive.push(*self._contrastive_features(best))
        self.pool.add(best)
        return SynthesisReport(seconds=time.perf_counter() - start,
                               losses={**best_terms, "total": best_loss, "pool": float(len(self.pool))},
                               images=best[:64])

    def _view(self, images: torch.Tensor, local: bool = False) -> torch.Tensor:
        v = self.views
        if local:
            return random_view(images, scale=v.local_scale, flip=v.flip, fill=v.fill)
        return random_view(images, max_shift=v.max_shift, flip=v.flip, fill=v.fill)

    def _contrastive_features(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(global, local) teacher features of ``images``; the global forward is the latest one."""
        self.teacher(self._view(images, local=True))
        local = self.bn_stats.features()
        view = self._view(images)
        self.teacher(view)
        return self.bn_stats.features(), local

    def _loss(self, images: torch.Tensor, targets: torch.Tensor,
              use_adversarial: bool) -> tuple[torch.Tensor, dict[str, float]]:
        w = self.weights
        if self.contrastive is not None:
            self.teacher(self._view(images, local=True))
            local_features = self.bn_stats.features()
        view = self._view(images)
        t_logits = self.teacher(view)
        terms: dict[str, torch.Tensor] = {"bn": self.bn_stats.loss(), "one_hot": F.cross_entropy(t_logits, targets)}
        if use_adversarial:
            terms["adversarial"] = ADVERSARIAL_TERMS[self.adversarial](frozen_logits(self.student, view), t_logits)
        if self.contrastive is not None:
            terms["contrastive"] = self.contrastive.loss(self.bn_stats.features(), local_features)
        priors = {"tv_l1": lambda: total_variation(images, 1), "tv_l2": lambda: total_variation(images, 2),
                  "l2": lambda: l2_prior(images)}
        for name, prior in priors.items():
            if getattr(w, name):
                terms[name] = prior()
        total = sum(getattr(w, name) * value for name, value in terms.items())
        return total, {name: float(value.detach()) for name, value in terms.items()}

    @torch.no_grad()
    def sample(self) -> torch.Tensor:
        batch = self.pool.sample(self.kd_batch_size)
        v = self.views
        if v.sample_shift or v.flip:
            batch = random_view(batch, max_shift=v.sample_shift, flip=v.flip, fill=v.fill)
        return batch

    def state_dict(self) -> dict:
        return {"source": self.source.state_dict(), "pool": self.pool.state_dict(),
                "bn": self.bn_stats.state_dict(), "epoch": self.epoch,
                "contrastive": self.contrastive.state_dict() if self.contrastive is not None else None}

    def load_state_dict(self, state: dict) -> None:
        self.source.load_state_dict(state["source"])
        self.pool.load_state_dict(state["pool"], self.device)
        self.bn_stats.load_state_dict(state["bn"])
        self.epoch = int(state["epoch"])
        if self.contrastive is not None:
            self.contrastive.load_state_dict(state["contrastive"])


def feature_dim(teacher: nn.Module) -> int:
    """Length of CMI's instance feature: the channels of every BatchNorm input, summed."""
    return sum(layer.num_features for layer in batch_norm_layers(teacher))

