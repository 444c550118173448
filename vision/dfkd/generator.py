"""The generator of the generator-based data-free KD methods, and its synthesizer.

:class:`Generator` is the DAFL / DFAD architecture (Chen et al., ICCV 2019; Fang et al., 2019):
``z (nz) → Linear → (ngf, s/4, s/4) → BN → ×2 up → conv-BN-LeakyReLU → ×2 up → conv(ngf/2)-BN-LeakyReLU →
conv → tanh → non-affine BN``; the final BatchNorm normalises each generated batch the way the
teacher's inputs were normalised. The papers use ``ngf = 128``; the width is a parameter because on
a CPU the two convolutions cost almost all of a step (≈ 7 s per step at ngf 128 and batch 512 on two
cores, 0.3 s at ngf 32 and batch 256 — see benchmarks/DFKD.md). ``bn_eps`` reproduces DAFL's
``BatchNorm2d(128, 0.8)``, whose second argument is ``eps``. ``output="sigmoid"`` replaces the
final tanh + BatchNorm by a sigmoid (pixels in [0, 1]) followed by the dataset's normalisation —
the CMI / FastDFKD generator (Fang et al., IJCAI 2021; AAAI 2022), whose batches must keep the
statistics the BN regulariser shapes rather than be re-standardised.

:class:`GeneratorSynthesizer` trains the generator against the teacher — and, for the adversarial
methods, against the *student* — with a :class:`~vision.dfkd.objectives.GeneratorObjective`.
"""

from __future__ import annotations

import contextlib
import math
import time

import torch
from torch import nn

from graphdistill.core.errors import UserError
from graphdistill.core.optim import adam
from vision.convnet import resolve_precision
from vision.dfkd.bn_stats import BatchNormStatistics, require_batchnorm
from vision.dfkd.objectives import GeneratorObjective
from vision.dfkd.pool import ImagePool
from vision.dfkd.synthesizer import SynthesisReport, Synthesizer, check_student, frozen_logits
from vision.dfkd.views import random_view
from vision.kd.hooks import FeatureHooks


class Generator(nn.Module):
    """DAFL/DFAD generator: (B, nz) noise → (B, channels, img_size, img_size) images."""

    def __init__(self, nz: int = 100, ngf: int = 128, img_size: int = 32, channels: int = 1,
                 bn_eps: float = 1e-5, output: str = "batchnorm",
                 normalisation: tuple[tuple[float, ...], tuple[float, ...]] | None = None) -> None:
        super().__init__()
        if img_size % 4:
            raise UserError(f"the generator upsamples ×4: img_size must be a multiple of 4, got {img_size}")
        if output not in ("batchnorm", "sigmoid"):
            raise UserError(f"generator output must be 'batchnorm' or 'sigmoid', got {output!r}")
        mean, std = normalisation or ((0.0,) * channels, (1.0,) * channels)
        if len(mean) != channels or len(std) != channels:
            raise UserError(f"normalisation needs {channels} mean/std value(s), got {normalisation}")
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))
        self.nz, self.init_size = nz, img_size // 4
        self.project = nn.Linear(nz, ngf * self.init_size**2)
        self.body = nn.Sequential(
            nn.BatchNorm2d(ngf),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(ngf, ngf, 3, 1, 1),
            nn.BatchNorm2d(ngf, eps=bn_eps),
            nn.LeakyReLU(0.2),
            nn.Upsample(scale_factor=2),
            nn.Conv2d(ngf, ngf // 2, 3, 1, 1),
            nn.BatchNorm2d(ngf // 2, eps=bn_eps),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ngf // 2, channels, 3, 1, 1),
        )
        self.output = output
        self.head = nn.Sequential(nn.Tanh(), nn.BatchNorm2d(channels, affine=False)) if output == "batchnorm" \
            else nn.Sigmoid()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).view(len(z), -1, self.init_size, self.init_size)
        x = self.head(self.body(x.contiguous(memory_format=torch.channels_last)))
        return x if self.output == "batchnorm" else (x - self.mean) / self.std

    def reset_parameters(self, std: float = 0.02) -> None:
        """CMI's per-batch re-initialisation: N(0, std) for linear/conv weights, N(1, std) for
        BatchNorm weights, zero biases."""
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.normal_(m.weight, 0.0, std)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d) and m.affine:
                nn.init.normal_(m.weight, 1.0, std)
                nn.init.zeros_(m.bias)


class GeneratorSynthesizer(Synthesizer):
    """One generator, trained against the teacher (and the student for adversarial terms).

    ``synthesize()`` runs ``g_steps`` generator updates on fresh noise. ``sample()`` returns a batch
    from fresh noise, or — with ``reuse_last`` — the images of the latest synthesis step (DAFL trains
    the student on exactly the batch the generator was just updated on; ZSKT trains several student
    steps on one pseudo-batch). ``frozen`` stops the generator updates (RDSKD's second stage).
    ``sample_shift`` > 0 shifts every sampled image by up to that many pixels each way (outside the
    image: ``fill``), the crop-with-padding augmentation of the student's batches that the
    inversion methods apply to their pools; the generator's own updates see unshifted images.
    ``cosine_epochs`` > 0 decays the generator's learning rate along a cosine over that many epochs
    (set at each :meth:`start_epoch`), as DFAD's reference code decays both players' rates; 0 keeps
    it constant (DAFL). ``precision="bfloat16"`` runs the generator's own layers under bfloat16
    autocast (its images come out in float32; teacher and student stay float32): on a CPU with
    native bfloat16 a generator step then costs about half (benchmarks/RESULTS.md).

    ``replay`` > 0 draws that fraction of every student batch from an :class:`~vision.dfkd.pool.ImagePool`
    of the generator's earlier batches (every batch a generator step was trained on, a ring buffer of
    ``replay_capacity`` images), the rest from the generator as usual. An adversarial generator moves
    on to whatever the student gets wrong now and stops drawing what it drew before; the replayed
    batches keep those earlier regions in the student's diet. This is the memory of generated samples
    that Binici et al. (WACV 2022, arXiv 2108.05698) add to adversarial data-free KD against
    catastrophic forgetting; Momentum Adversarial Distillation (Do et al., NeurIPS 2022) keeps an EMA
    of the generator instead.

    Args:
        teacher: any classifier; kept in eval mode, its parameters are never updated.
        student: the student being distilled; used only by adversarial terms, and refused if it is
            the teacher (that wiring silently zeroes the adversarial term).
        feature_layer: module name (see :class:`~vision.kd.hooks.FeatureHooks`) of the teacher's
            penultimate features, for the activation term.
    """

    def __init__(self, teacher: nn.Module, student: nn.Module, generator: Generator, objective: GeneratorObjective,
                 lr: float = 1e-3, batch_size: int = 256, g_steps: int = 1, reuse_last: bool = False,
                 feature_layer: str | None = None, betas: tuple[float, float] = (0.5, 0.999),
                 sample_shift: int = 0, fill: float = 0.0, cosine_epochs: int = 0,
                 precision: str = "float32", replay: float = 0.0, replay_capacity: int = 0) -> None:
        check_student(teacher, student)
        if objective.needs_bn:
            require_batchnorm(teacher, "the bn generator term")
        if objective.needs_features and feature_layer is None:
            raise UserError("the activation term needs feature_layer (the teacher's penultimate module name)")
        if batch_size < 2:
            raise UserError(f"batch_size must be ≥ 2, got {batch_size}")
        if sample_shift < 0 or cosine_epochs < 0:
            raise UserError(f"sample_shift and cosine_epochs must be ≥ 0, got {sample_shift}, {cosine_epochs}")
        if not 0.0 <= replay < 1.0:
            raise UserError(f"replay is the replayed fraction of a student batch, in [0, 1); got {replay}")
        if replay and replay_capacity < batch_size:
            raise UserError(f"replay needs replay_capacity ≥ batch_size ({batch_size}), got {replay_capacity}")
        self.teacher, self.student, self.generator, self.objective = teacher.eval(), student, generator, objective
        self.batch_size, self.g_steps, self.reuse_last = batch_size, g_steps, reuse_last
        self.feature_layer, self.sample_shift, self.fill = feature_layer, sample_shift, fill
        self.device = next(generator.parameters()).device
        self.precision = resolve_precision(precision, self.device)
        self.optimizer = adam(generator.parameters(), lr)
        self.lr, self.cosine_epochs = lr, cosine_epochs
        for group in self.optimizer.param_groups:
            group["betas"] = betas
        self.frozen = False
        self.replay = replay
        self.pool = ImagePool(replay_capacity) if replay else None
        self.bn_stats = BatchNormStatistics(teacher) if objective.needs_bn else None
        self._last: torch.Tensor | None = None
        for p in teacher.parameters():
            p.requires_grad_(False)

    def noise(self, n: int | None = None) -> torch.Tensor:
        return torch.randn(n or self.batch_size, self.generator.nz, device=self.device)

    def generate(self, n: int | None = None) -> torch.Tensor:
        """A float32 batch (``n`` images, default the batch size) from fresh noise, through the generator
        at this synthesizer's precision."""
        if self.precision == "float32":
            return self.generator(self.noise(n))
        with torch.autocast(self.device.type, dtype=torch.bfloat16):
            return self.generator(self.noise(n)).float()

    def start_epoch(self, epoch: int) -> None:
        self.objective.start_epoch()
        if self.cosine_epochs:
            progress = min(epoch / self.cosine_epochs, 1.0)
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr * 0.5 * (1 + math.cos(math.pi * progress))

    def synthesize(self) -> SynthesisReport:
        start = time.perf_counter()
        if self.frozen:
            return SynthesisReport(seconds=0.0)
        self.generator.train()
        losses: dict[str, float] = {}
        for _ in range(self.g_steps):
            images = self.generate()
            hooks = FeatureHooks(self.teacher, [self.feature_layer] if self.objective.needs_features else [])
            with hooks, self.bn_stats or contextlib.nullcontext():
                t_logits = self.teacher(images)
                bn_loss = self.bn_stats.loss() if self.bn_stats is not None else None
            features = hooks[self.feature_layer] if self.objective.needs_features else None
            s_logits = frozen_logits(self.student, images) if self.objective.needs_student else None
            loss, losses = self.objective(images, t_logits, features, s_logits, bn_loss)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            self._last = images.detach()
            if self.pool is not None:
                self.pool.add(self._last)
        return SynthesisReport(seconds=time.perf_counter() - start,
                               losses={**losses, "generator": float(loss.detach())}, images=self._last[:64])

    @torch.no_grad()
    def sample(self) -> torch.Tensor:
        replayed = min(round(self.replay * self.batch_size), self.batch_size - 1) \
            if self.pool is not None and len(self.pool) else 0  # at least one fresh image per batch
        if self.reuse_last and self._last is not None and not self.frozen:
            images = self._last[:self.batch_size - replayed]
        else:
            # While the generator learns, its batches use batch statistics (DAFL, DFAD); a frozen generator
            # samples with its running BatchNorm statistics (RDSKD's student stage puts it in eval mode).
            self.generator.train(not self.frozen)
            images = self.generate(self.batch_size - replayed)
        if replayed:
            images = torch.cat([images, self.pool.sample(replayed)])
        return random_view(images, max_shift=self.sample_shift, fill=self.fill) if self.sample_shift else images

    def state_dict(self) -> dict:
        return {"generator": self.generator.state_dict(), "optimizer": self.optimizer.state_dict(),
                "frozen": self.frozen, "references": dict(self.objective.references),
                "pool": self.pool.state_dict() if self.pool is not None else None}

    def load_state_dict(self, state: dict) -> None:
        self.generator.load_state_dict(state["generator"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.frozen = bool(state["frozen"])
        self.objective.references = dict(state["references"])
        if self.pool is not None and state.get("pool") is not None:
            self.pool.load_state_dict(state["pool"], self.device)
