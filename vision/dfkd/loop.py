"""The data-free KD loop, generic over synthesizers (Fast-Datafree's protocol, REFERENCE 6.0).

Per epoch, ``iterations`` times: ``synthesizer.synthesize()`` (timed as synthesis); then, once
``epoch ≥ warmup_epochs``, ``kd_steps`` student updates on ``synthesizer.sample()`` batches against
the teacher (timed as KD). After each epoch the student is tested on the real test set — *for
reporting only*: nothing is selected on it, and the reported accuracy is the last epoch's. The
student never sees a real training image. The loop checkpoints after every epoch (atomically) and
resumes from the checkpoint with the same numbers it would have produced uninterrupted.

Student loss: a logit KD loss from :data:`vision.kd.KD_LOSSES` (``kd`` with a temperature, or
``l1``), plus optionally ``at_weight ·`` attention transfer between matched teacher/student
feature maps (ZSKT).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from graphdistill.core.checkpoint import Checkpoint
from graphdistill.core.config import require_at_least
from graphdistill.core.errors import UserError
from graphdistill.core.optim import adam
from vision.data import ImageSet
from vision.dfkd.synthesizer import SynthesisReport, Synthesizer
from vision.kd.attention import attention_transfer
from vision.kd.hooks import FeatureHooks
from vision.kd.logits import hinton_kd, l1_discrepancy
from vision.train import accuracy


@dataclass(frozen=True)
class KDLoopConfig:
    """Schedule and student optimisation of the data-free KD loop."""

    epochs: int = 20
    iterations: int = 50           # synthesize() calls per epoch
    kd_steps: int = 1              # student steps per synthesize() call
    warmup_epochs: int = 0         # epochs of synthesis only (RDSKD's generator stage)
    freeze_after_warmup: bool = False  # stop synthesis updates once the student starts (RDSKD)
    student_lr: float = 2e-3
    student_optimizer: str = "adam"  # adam | sgd (momentum 0.9)
    weight_decay: float = 0.0
    schedule: str = "cosine"       # cosine | constant, over the student's epochs
    loss: str = "kd"               # kd | l1
    temperature: float = 1.0
    at_weight: float = 0.0         # ZSKT's β for attention transfer (0: off)
    at_layers: tuple[tuple[str, str], ...] = ()  # (student module, teacher module) pairs

    def __post_init__(self) -> None:
        require_at_least(self, 1, "epochs", "iterations", "kd_steps")
        require_at_least(self, 0, "warmup_epochs")
        if self.warmup_epochs >= self.epochs:
            raise UserError(f"warmup_epochs ({self.warmup_epochs}) leaves no epoch for the student "
                            f"(epochs {self.epochs})")
        for name, allowed in (("student_optimizer", ("adam", "sgd")), ("schedule", ("cosine", "constant")),
                              ("loss", ("kd", "l1"))):
            if getattr(self, name) not in allowed:
                raise UserError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if not self.temperature > 0 or not self.student_lr > 0:
            raise UserError("temperature and student_lr must be > 0")
        if self.at_weight and not self.at_layers:
            raise UserError("at_weight > 0 needs at_layers: (student module, teacher module) pairs")


@dataclass
class KDHistory:
    """Per-epoch curves; times in seconds (synthesis and KD accounted separately)."""

    test_accuracy: list[float] = field(default_factory=list)
    synthesis_seconds: list[float] = field(default_factory=list)
    kd_seconds: list[float] = field(default_factory=list)
    kd_loss: list[float] = field(default_factory=list)
    synthesis_losses: list[dict[str, float]] = field(default_factory=list)

    @property
    def final_accuracy(self) -> float:
        return self.test_accuracy[-1] if self.test_accuracy else math.nan

    def to_dict(self) -> dict:
        return {**asdict(self), "final_accuracy": self.final_accuracy,
                "synthesis_total_seconds": sum(self.synthesis_seconds), "kd_total_seconds": sum(self.kd_seconds)}


class DataFreeKD:
    """Train ``student`` from ``teacher`` on what ``synthesizer`` makes.

    Example::

        loop = DataFreeKD(teacher, student, synthesizer, KDLoopConfig(epochs=20), test=mnist_test)
        history = loop.run(checkpoint=Checkpoint("run/loop.pt"))
    """

    def __init__(self, teacher: nn.Module, student: nn.Module, synthesizer: Synthesizer, config: KDLoopConfig,
                 test: ImageSet | None = None,
                 on_epoch_end: Callable[[int, KDHistory, SynthesisReport | None], None] | None = None) -> None:
        if student is teacher:
            raise UserError("student and teacher are the same module")
        self.teacher, self.student, self.synthesizer, self.config = teacher.eval(), student, synthesizer, config
        self.test, self.on_epoch_end = test, on_epoch_end
        for p in teacher.parameters():
            p.requires_grad_(False)
        if config.student_optimizer == "adam":
            self.optimizer: torch.optim.Optimizer = adam(student.parameters(), config.student_lr, config.weight_decay)
        else:
            self.optimizer = torch.optim.SGD(student.parameters(), lr=config.student_lr, momentum=0.9,
                                             weight_decay=config.weight_decay)
        self.history = KDHistory()
        self.epoch = 0

    def learning_rate(self, epoch: int) -> float:
        """Cosine decay over the student's epochs (those after warm-up), or constant."""
        c = self.config
        if c.schedule == "constant" or epoch < c.warmup_epochs:
            return c.student_lr
        progress = (epoch - c.warmup_epochs) / (c.epochs - c.warmup_epochs)
        return c.student_lr * 0.5 * (1 + math.cos(math.pi * progress))

    def student_loss(self, images: torch.Tensor) -> torch.Tensor:
        c = self.config
        s_names = [s for s, _ in c.at_layers] if c.at_weight else []
        t_names = [t for _, t in c.at_layers] if c.at_weight else []
        with torch.no_grad(), FeatureHooks(self.teacher, t_names) as t_feats:
            t_logits = self.teacher(images)
        with FeatureHooks(self.student, s_names) as s_feats:
            s_logits = self.student(images)
        loss = l1_discrepancy(s_logits, t_logits) if c.loss == "l1" else hinton_kd(s_logits, t_logits, c.temperature)
        for s_name, t_name in zip(s_names, t_names, strict=True):
            loss = loss + c.at_weight * attention_transfer(s_feats[s_name], t_feats[t_name])
        return loss

    def run(self, checkpoint: Checkpoint | None = None, progress: Callable = lambda it, **_: it) -> KDHistory:
        if checkpoint is not None:
            self._resume(checkpoint)
        c = self.config
        for epoch in progress(range(self.epoch, c.epochs), initial=self.epoch, total=c.epochs):
            self.synthesizer.start_epoch(epoch)
            if hasattr(self.synthesizer, "frozen"):
                self.synthesizer.frozen = c.freeze_after_warmup and epoch >= c.warmup_epochs
            for group in self.optimizer.param_groups:
                group["lr"] = self.learning_rate(epoch)
            synth_seconds, kd_seconds, kd_total, kd_count, report = 0.0, 0.0, 0.0, 0, None
            for _ in range(c.iterations):
                report = self.synthesizer.synthesize()
                synth_seconds += report.seconds
                if epoch < c.warmup_epochs:
                    continue
                self.student.train()
                for _ in range(c.kd_steps):
                    start = time.perf_counter()
                    images = self.synthesizer.sample()  # sampling a generator is synthesis cost
                    middle = time.perf_counter()
                    loss = self.student_loss(images)
                    self.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    self.optimizer.step()
                    synth_seconds += middle - start
                    kd_seconds += time.perf_counter() - middle
                    kd_total, kd_count = kd_total + float(loss.detach()), kd_count + 1
            h = self.history
            h.synthesis_seconds.append(synth_seconds)
            h.kd_seconds.append(kd_seconds)
            h.kd_loss.append(kd_total / kd_count if kd_count else math.nan)
            h.synthesis_losses.append(report.losses if report else {})
            h.test_accuracy.append(accuracy(self.student, self.test) if self.test is not None else math.nan)
            self.epoch = epoch + 1
            if checkpoint is not None:
                self._save(checkpoint)
            if self.on_epoch_end is not None:
                self.on_epoch_end(epoch, h, report)
        return self.history

    def _save(self, checkpoint: Checkpoint) -> None:
        checkpoint.save({"epoch": self.epoch, "student": self.student.state_dict(),
                         "optimizer": self.optimizer.state_dict(), "synthesizer": self.synthesizer.state_dict(),
                         "history": asdict(self.history), "rng": torch.get_rng_state(),
                         "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []})

    def _resume(self, checkpoint: Checkpoint) -> None:
        state = checkpoint.load()
        if state is None:
            return
        self.epoch = int(state["epoch"])
        self.student.load_state_dict(state["student"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.synthesizer.load_state_dict(state["synthesizer"])
        self.history = KDHistory(**state["history"])
        torch.set_rng_state(state["rng"])
        if state.get("cuda_rng"):
            torch.cuda.set_rng_state_all(state["cuda_rng"])
