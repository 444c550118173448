"""The generator-based data-free KD methods as presets of one generator synthesizer and one loop.

A method is data: the generator-loss weights (:mod:`vision.dfkd.objectives`), how the generator is
updated and sampled, and the student's loss and schedule (:class:`~vision.dfkd.loop.KDLoopConfig`).
Adding a method is one more registered :class:`Method` in this file.

The defaults are the MNIST LeNet-5 → LeNet-5-half budgets we can afford on two CPU cores; each
preset's ``paper`` field records the published setting it reduces (REFERENCE 6.1–6.4). Any field
can be overridden (CLI ``--hp key=value``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from graphdistill.core.config import build_config, require_at_least
from graphdistill.core.errors import UserError
from graphdistill.core.registry import Registry

DFKD_METHODS: Registry[Method] = Registry("data-free KD method")


@dataclass(frozen=True)
class Method:
    """One generator-based data-free KD method (weights, generator and loop settings)."""

    name: str
    paper: str
    weights: dict[str, float]
    exponential: tuple[str, ...] = ()
    entropy_log_base: float = 10.0
    # generator
    nz: int = 100
    ngf: int = 16
    bn_eps: float = 1e-5
    generator_lr: float = 1e-3
    generator_beta1: float = 0.5
    batch_size: int = 256
    g_steps: int = 1
    reuse_last: bool = False
    # loop (see KDLoopConfig)
    epochs: int = 16
    iterations: int = 50
    kd_steps: int = 1
    warmup_epochs: int = 0
    freeze_after_warmup: bool = False
    student_lr: float = 2e-3
    student_optimizer: str = "adam"
    weight_decay: float = 0.0
    schedule: str = "cosine"
    loss: str = "kd"
    temperature: float = 1.0
    at_weight: float = 0.0
    notes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_at_least(self, 1, "nz", "ngf", "g_steps", "batch_size")
        if not self.generator_lr > 0:
            raise UserError(f"generator_lr must be > 0, got {self.generator_lr}")

    def with_overrides(self, overrides: dict) -> Method:
        """A copy with user overrides, type-checked (unknown names are refused)."""
        values = {**{f.name: getattr(self, f.name) for f in dataclasses.fields(self)}, **overrides}
        fixed = {"name", "paper", "weights", "exponential", "notes"} & set(overrides)
        if fixed:
            raise UserError(f"{sorted(fixed)} define the method and cannot be overridden")
        return build_config(Method, values, f"method {self.name}")

    def loop_fields(self) -> dict:
        names = ("epochs", "iterations", "kd_steps", "warmup_epochs", "freeze_after_warmup", "student_lr",
                 "student_optimizer", "weight_decay", "schedule", "loss", "temperature", "at_weight")
        return {n: getattr(self, n) for n in names}


def register(method: Method) -> Method:
    return DFKD_METHODS.register(method.name)(method)


register(Method(
    name="dafl", paper="Chen et al., Data-Free Learning of Student Networks, ICCV 2019",
    weights={"one_hot": 1.0, "entropy": 5.0, "activation": 0.1}, bn_eps=0.8, generator_lr=0.2,
    kd_steps=5, loss="kd", temperature=1.0,
    notes={"paper": "MNIST: oh 1, ie 5, a 0.1; Adam lr_G 0.2, lr_S 2e-3; batch 512; ngf 128; "
                    "200 epochs × 120 iterations; one student step on the generator's batch"},
))
register(Method(
    name="rdskd", paper="Han et al., Robustness and Diversity Seeking Data-Free KD, ICASSP 2021",
    weights={"one_hot": 1.0, "entropy": 1.0, "diversity": 1.0}, exponential=("one_hot", "entropy"),
    entropy_log_base=2.718281828459045, generator_lr=1e-3, epochs=24, warmup_epochs=8, freeze_after_warmup=True,
    kd_steps=5, loss="kd", temperature=10.0,
    notes={"paper": "generator alone 20 epochs × 120 iterations (Adam 1e-3, batch 512), then the student "
                    "1000 epochs × 120 iterations on the frozen generator, KD T = 10, lr_S 2e-3"},
))
register(Method(
    name="dfad", paper="Fang et al., Data-Free Adversarial Distillation, arXiv 1912.11006 (2019)",
    weights={"adversarial_l1": 1.0}, generator_lr=1e-3, generator_beta1=0.9, kd_steps=5, loss="l1",
    notes={"paper": "MNIST: nz 100, Adam lr_G 1e-3, SGD lr_S 0.01 (momentum 0.9, wd 5e-4), batch 256, "
                    "5 student steps per generator step, 100 epochs × 50 iterations. Here the student "
                    "uses Adam 2e-3 (cosine): with SGD 0.01 and our 16-epoch budget seed 0 ended at 93.73 %"},
))
register(Method(
    name="zskt", paper="Micaelli & Storkey, Zero-shot Knowledge Transfer via Adversarial Belief Matching, "
                       "NeurIPS 2019",
    weights={"adversarial_kl": 1.0}, generator_lr=1e-3, reuse_last=True, kd_steps=10, loss="kd",
    temperature=1.0, at_weight=250.0, batch_size=128, epochs=6,
    notes={"paper": "8e4 pseudo-batches of 128, ng 1 / ns 10, Adam (cosine) lr_S 2e-3, lr_G 1e-3, "
                    "KL T = 1, β = 250 attention transfer"},
))
