"""MTT — Dataset Distillation by Matching Training Trajectories (Cazenavette et al., CVPR 2022) —
and its constant-memory gradient (TESLA; Cui, Wang, Si & Hsieh, ICML 2023).

Stage 1, the expert buffer (:func:`train_experts`): ``experts`` networks trained on the real data
with plain SGD (lr 0.01, no momentum or weight decay, DSA per image), their parameters saved after
every epoch — trajectories θ*_0 … θ*_E, stored as one (experts, E + 1, P) tensor.

Stage 2 (:class:`MTT`): each iteration picks an expert and a start epoch t < ``max_start_epoch``;
a student starts at θ*_t and takes N = ``syn_steps`` SGD steps on minibatches of the synthetic set
(DSA per image) with the learnable step size α; the loss

    ‖θ̂_{t+N} − θ*_{t+M}‖² / ‖θ*_t − θ*_{t+M}‖²,   M = ``expert_epochs``,

is minimised over the images (SGD, ``lr_img``, momentum 0.5) and α (SGD, ``lr_lr``, momentum 0.5).
α is kept ≥ :data:`MIN_STEP_SIZE` after each update: the reference leaves it free, and a step
that drives it negative (a gradient *ascent* student, which no evaluation can train with) ends
its runs with an optimiser error; here such a step stops α at the floor instead.
The unrolled steps run through the core's :func:`~graphdistill.core.unroll.unrolled_sgd` (the
routine text distillation uses); ``constant_memory=True`` computes the very same gradient with
:func:`~graphdistill.core.unroll.unrolled_sgd_gradients`, which holds one step's graph at a time —
TESLA's point: memory that does not grow with N (only the N parameter vectors are kept).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.func import functional_call

from graphdistill.core.errors import UserError
from graphdistill.core.io import load_torch, save_torch
from graphdistill.core.seed import derive_seed
from graphdistill.core.unroll import unrolled_sgd, unrolled_sgd_gradients
from vision.augment import DSA
from vision.convnet import winograd_forward
from vision.data import ImageSet
from vision.dd.base import DistillConfig, ImageDistiller
from vision.dd.evaluate import dsa_strategy_for
from vision.dd.synthetic import SyntheticImages
from vision.models import build_model


@dataclass(frozen=True)
class ExpertConfig:
    """How the expert trajectories are trained (MTT: 100 experts × 50 epochs, lr 0.01, DSA)."""

    experts: int = 5
    epochs: int = 10
    lr: float = 0.01
    batch: int = 256
    images_per_epoch: int = 0  # 0: the whole training set each epoch; else a random subset (CPU budgets)
    model: str = "convnet"
    augment: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.experts < 1 or self.epochs < 1 or self.batch < 1 or self.images_per_epoch < 0:
            raise UserError(f"experts, epochs and batch must be ≥ 1 and images_per_epoch ≥ 0; got {self}")


def flat_parameters(net: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in net.parameters()])


def unflatten(flat: torch.Tensor, template: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A flat parameter vector as the name → tensor dict of ``template``'s parameters (views)."""
    out, at = {}, 0
    for name, p in template.named_parameters():
        out[name] = flat[at:at + p.numel()].view_as(p)
        at += p.numel()
    if at != flat.numel():
        raise UserError(f"parameter vector of length {flat.numel()} does not fit a model with {at} parameters")
    return out


def train_experts(data: ImageSet, config: ExpertConfig, path: str | os.PathLike, device: str = "cpu",
                  log=print) -> dict:
    """Train (or resume) the expert buffer at ``path``: saved after every finished expert."""
    path = Path(path)
    state = load_torch(path) if path.is_file() else None
    if state is not None and state.get("config") != asdict(config):
        raise UserError(f"{path} holds experts trained with other settings; choose another buffer path")
    trajectories = list(state["trajectories"]) if state else []
    seconds = float(state["seconds"]) if state else 0.0
    strategy = dsa_strategy_for(data.name)
    augment = DSA(strategy) if config.augment else None
    images, labels = data.images.to(device), data.labels.to(device)
    for e in range(len(trajectories), config.experts):
        tic = time.perf_counter()
        expert_seed = config.seed * 1000 + e
        torch.manual_seed(expert_seed)
        generator = torch.Generator(device=device).manual_seed(derive_seed(expert_seed, "order-and-augmentation"))
        net = build_model(config.model, in_channels=data.shape[0], num_classes=data.num_classes,
                          image_size=data.shape[-1]).to(device)
        optimizer = torch.optim.SGD(net.parameters(), lr=config.lr)
        trajectory = [flat_parameters(net).cpu()]
        for _ in range(config.epochs):
            order = torch.randperm(len(labels), generator=generator, device=device)
            if config.images_per_epoch:
                order = order[:config.images_per_epoch]
            for index in order.split(config.batch):
                x = images[index]
                if augment is not None:
                    x = augment(x, generator)
                with winograd_forward(len(x)):
                    loss = F.cross_entropy(net(x), labels[index])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            trajectory.append(flat_parameters(net).cpu())
        trajectories.append(torch.stack(trajectory))
        seconds += time.perf_counter() - tic
        save_torch(path, {"trajectories": torch.stack(trajectories), "config": asdict(config), "seconds": seconds,
                          "dsa_strategy": strategy if augment else None})
        log(f"expert {e + 1}/{config.experts} trained ({seconds:.0f} s so far)")
    return load_torch(path)


MIN_STEP_SIZE = 1e-6  # floor of the learned step size α


@dataclass
class MTTConfig(DistillConfig):
    """MTT's settings. MTT published no MNIST setting; these defaults are ours (see the benchmark)."""

    iterations: int = 1000
    lr_img: float = 100.0
    lr_lr: float = 1e-5
    lr_teacher: float = 0.01  # the learned step size α starts here (the experts' lr)
    syn_steps: int = 20
    expert_epochs: int = 2
    max_start_epoch: int = 5
    batch_syn: int = 0  # 0: the whole synthetic set every step
    constant_memory: bool = False  # TESLA's gradient (same value, memory flat in syn_steps)
    buffer: str = ""  # the expert buffer file (see train_experts)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.syn_steps < 1 or self.expert_epochs < 1 or self.max_start_epoch < 1 or self.batch_syn < 0:
            raise UserError("MTT needs syn_steps, expert_epochs, max_start_epoch ≥ 1 and batch_syn ≥ 0")
        if not self.buffer:
            raise UserError("MTT needs an expert buffer: --hp buffer=PATH, made by `graphdistill experts` "
                            "(or vision.dd.mtt.train_experts)")


class MTT(ImageDistiller):
    name = "mtt"
    bfloat16_real_side = False  # expert training and the unrolled student steps stay float32

    def __init__(self, config: MTTConfig, data, device="cpu") -> None:
        super().__init__(config, data, device)
        if not Path(config.buffer).is_file():
            raise UserError(f"expert buffer {config.buffer} not found")
        buffer = load_torch(config.buffer)
        self.trajectories = buffer["trajectories"]  # (experts, epochs + 1, P), kept on the CPU
        self.buffer_info = {"path": str(config.buffer), "experts": self.trajectories.shape[0],
                            "epochs": self.trajectories.shape[1] - 1, "training_seconds": buffer["seconds"],
                            "settings": buffer["config"],
                            "mib": self.trajectories.numel() * self.trajectories.element_size() / 2**20}
        self.template = self.new_network()
        epochs = self.trajectories.shape[1] - 1
        if config.max_start_epoch + config.expert_epochs > epochs:
            raise UserError(f"max_start_epoch + expert_epochs = {config.max_start_epoch + config.expert_epochs} "
                            f"exceeds the {epochs} epochs of the expert buffer")
        if self.trajectories.shape[2] != sum(p.numel() for p in self.template.parameters()):
            raise UserError(f"the expert buffer was trained with another architecture than {config.model}")
        self.name = "tesla" if config.constant_memory else "mtt"

    def describe(self) -> dict:
        return {"buffer": self.buffer_info}

    def initialise(self) -> SyntheticImages:
        syn = super().initialise()
        syn.lr = torch.tensor(self.config.lr_teacher, device=self.device, requires_grad=True)
        return syn

    def prepare(self, syn: SyntheticImages) -> None:
        syn.lr.requires_grad_(True)
        self.optimizer = torch.optim.SGD([syn.images], lr=self.config.lr_img, momentum=0.5)
        self.lr_optimizer = torch.optim.SGD([syn.lr], lr=self.config.lr_lr, momentum=0.5)

    def extra_state(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "lr_optimizer": self.lr_optimizer.state_dict()}

    def load_extra_state(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.lr_optimizer.load_state_dict(state["lr_optimizer"])

    def _step_loss(self, syn: SyntheticImages):
        """The student's loss at unrolled step t: a fixed minibatch and DSA draw per step."""
        cfg, n = self.config, len(syn.labels)
        batch = cfg.batch_syn or n
        orders = [torch.randperm(n, generator=self.generator, device=self.device)[:batch]
                  for _ in range(cfg.syn_steps)]
        draws = [None if self.dsa is None else self.dsa.draw(batch, self.generator, self.device)
                 for _ in range(cfg.syn_steps)]
        group = torch.arange(batch, device=self.device)

        def step_loss(params, t: int) -> torch.Tensor:
            x = syn.images[orders[t]]
            if draws[t] is not None:
                x = self.dsa.apply(x, draws[t], group)
            with winograd_forward(len(x)):
                return F.cross_entropy(functional_call(self.template, params, (x,)), syn.labels[orders[t]])

        return step_loss

    def step(self, syn: SyntheticImages, iteration: int) -> torch.Tensor:
        cfg = self.config
        expert = int(torch.randint(len(self.trajectories), (1,), generator=self.generator, device=self.device))
        start = int(torch.randint(cfg.max_start_epoch, (1,), generator=self.generator, device=self.device))
        theta_start = self.trajectories[expert, start].to(self.device)
        theta_target = self.trajectories[expert, start + cfg.expert_epochs].to(self.device)
        scale = (theta_start - theta_target).pow(2).sum()
        params = {k: v.clone().requires_grad_(True) for k, v in unflatten(theta_start, self.template).items()}
        target = unflatten(theta_target, self.template)
        lrs = syn.lr.expand(cfg.syn_steps)
        step_loss = self._step_loss(syn)

        def matching(final) -> torch.Tensor:
            return sum((final[k] - target[k]).pow(2).sum() for k in final) / scale

        self.optimizer.zero_grad(set_to_none=True)
        self.lr_optimizer.zero_grad(set_to_none=True)
        if cfg.constant_memory:
            loss, (grad_images, grad_lr) = unrolled_sgd_gradients(step_loss, params, lrs, matching,
                                                                  [syn.images, syn.lr])
            syn.images.grad, syn.lr.grad = grad_images, grad_lr
        else:
            loss = matching(unrolled_sgd(step_loss, params, lrs))
            loss.backward()
        self.optimizer.step()
        self.lr_optimizer.step()
        with torch.no_grad():
            syn.lr.clamp_(min=MIN_STEP_SIZE)
        return loss.detach()
