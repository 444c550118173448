"""What every image-distillation method shares: settings, the iteration loop, checkpoints, timing.

A method (:mod:`vision.dd.dm`, :mod:`vision.dd.dc`, :mod:`vision.dd.mtt`) subclasses
:class:`ImageDistiller` and implements :meth:`~ImageDistiller.step` — one update of the synthetic
set, returning its loss — plus, if it keeps optimiser state, :meth:`~ImageDistiller.extra_state`.
The loop here runs the iterations, checkpoints atomically every ``checkpoint_every`` iterations
(images, optimiser, both random streams, losses), resumes from a checkpoint to the same result an
uninterrupted run gives on CPU, and times the iterations without host syncs inside them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from graphdistill.core.checkpoint import Checkpoint
from graphdistill.core.errors import UserError
from graphdistill.core.seed import derive_seed
from vision.augment import DSA
from vision.convnet import fast_inference, inference_batch, resolve_precision
from vision.data import ImageSet
from vision.dd.evaluate import dsa_strategy_for
from vision.dd.synthetic import INITIALISATIONS, ClassSampler, SyntheticImages
from vision.models import build_model


@dataclass
class DistillConfig:
    """Settings every method has (each method's dataclass adds its own)."""

    ipc: int = 10
    iterations: int = 1000
    lr_img: float = 1.0
    init: str = "real"  # "real", "noise" or "herding" (vision.dd.synthetic.INITIALISATIONS)
    init_networks: int = 4  # herding init: random networks whose embeddings it concatenates
    batch_real: int = 256
    model: str = "convnet"
    dsa_strategy: str = "auto"  # "auto": the paper's strategy (no flip for digits); "none" disables DSA
    checkpoint_every: int = 25
    seed: int = 0
    # Arithmetic of the real-image passes ("float32", "bfloat16" or "auto": bfloat16 where the CPU
    # has it natively; vision.convnet.real_forward). The synthetic side always stays float32.
    real_precision: str = "auto"

    def __post_init__(self) -> None:
        if self.ipc < 1 or self.iterations < 0 or self.batch_real < 1 or self.checkpoint_every < 1:
            raise UserError(f"need ipc ≥ 1, iterations ≥ 0, batch_real ≥ 1 and checkpoint_every ≥ 1; got "
                            f"{self.ipc} / {self.iterations} / {self.batch_real} / {self.checkpoint_every}")
        if not self.lr_img > 0:
            raise UserError(f"lr_img must be positive, got {self.lr_img!r}")
        if self.init not in INITIALISATIONS:
            raise UserError(f"init must be one of {INITIALISATIONS}, got {self.init!r}")
        if self.init_networks < 1:
            raise UserError(f"init_networks must be ≥ 1, got {self.init_networks}")
        resolve_precision(self.real_precision)  # rejects unknown names early

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class History:
    losses: list[float]
    seconds: float
    iterations: int


class ImageDistiller:
    """Base class: subclasses set ``name`` and implement :meth:`step`."""

    name = "base"
    bfloat16_real_side = True  # whether the method runs its real-image passes through real_forward

    def __init__(self, config: DistillConfig, data: ImageSet, device: torch.device | str = "cpu") -> None:
        self.config, self.data, self.device = config, data, torch.device(device)
        self.sampler = ClassSampler(data, self.device)
        if config.ipc > int(self.sampler.counts.min()):
            raise UserError(f"{config.ipc} images per class requested but {data.name}'s smallest class has "
                            f"{int(self.sampler.counts.min())} training images")
        strategy = dsa_strategy_for(data.name, config.dsa_strategy)
        self.dsa = None if strategy.lower() == "none" else DSA(strategy)
        # Real-image sampling, initialisation and augmentation draw from their own stream: seeded like the
        # global generator (which initialises the networks), it would replay the networks' weights.
        self.generator = torch.Generator(device=self.device).manual_seed(derive_seed(config.seed, "sampling"))
        if config.real_precision == "bfloat16" and not self.bfloat16_real_side:
            raise UserError(f"{self.name} has no bfloat16 real side; use real_precision 'float32' or 'auto'")
        self.precision = resolve_precision(config.real_precision, self.device) if self.bfloat16_real_side \
            else "float32"

    @property
    def num_classes(self) -> int:
        return self.data.num_classes

    def new_network(self) -> torch.nn.Module:
        return build_model(self.config.model, in_channels=self.data.shape[0], num_classes=self.num_classes,
                           image_size=self.data.shape[-1]).to(self.device)

    def initialise(self) -> SyntheticImages:
        embed = self.random_embedding() if self.config.init == "herding" else None
        return SyntheticImages.initialise(self.sampler, self.data, self.config.ipc, self.config.init, self.generator,
                                          embed)

    def random_embedding(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """Images → the concatenated embeddings of ``init_networks`` freshly initialised networks (the
        features DM matches means of, so herding in them picks the real images with the smallest DM
        objective over those networks). The networks draw from their own seed, not the global stream."""
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(derive_seed(self.config.seed, "herding-init"))
            nets = [self.new_network().eval().requires_grad_(False) for _ in range(self.config.init_networks)]
        if not all(hasattr(net, "embed") for net in nets):
            raise UserError(f"herding initialisation needs a network with embed(); {self.config.model} has none")

        def embed(images: torch.Tensor) -> torch.Tensor:
            with fast_inference(self.precision, self.device.type):
                return torch.cat([torch.cat([net.embed(chunk).float() for net in nets], dim=1)
                                  for chunk in images.split(inference_batch(self.precision))])
        return embed

    def prepare(self, syn: SyntheticImages) -> None:
        """Build optimisers over ``syn`` (called once before the loop)."""
        raise NotImplementedError

    def step(self, syn: SyntheticImages, iteration: int) -> torch.Tensor:
        """One update of ``syn``; returns the detached loss (a 0-d tensor)."""
        raise NotImplementedError

    def extra_state(self) -> dict:
        return {}

    def describe(self) -> dict:
        """Facts about the run to keep with the synthetic set (e.g. MTT's expert buffer)."""
        return {}

    def load_extra_state(self, state: dict) -> None:
        pass

    def fit(self, checkpoint: Checkpoint | None = None, log=print) -> tuple[SyntheticImages, History]:
        """Run the iterations (resuming from ``checkpoint`` if it holds a state)."""
        torch.manual_seed(self.config.seed)
        state = checkpoint.load() if checkpoint is not None else None
        if state is None:
            tic = time.perf_counter()
            syn, start, losses, seconds = self.initialise(), 0, [], 0.0
            self.init_seconds = time.perf_counter() - tic
            self.prepare(syn)
        else:
            syn = SyntheticImages.from_state(state["synthetic"], self.device)
            self.prepare(syn)
            self.load_extra_state(state["extra"])
            self.generator.set_state(state["generator"])
            torch.set_rng_state(state["torch_rng"])
            start, losses, seconds = int(state["iteration"]), list(state["losses"]), float(state["seconds"])
            self.init_seconds = float(state.get("init_seconds", 0.0))
            log(f"resuming {self.name} at iteration {start} of {self.config.iterations}")
        pending: list[torch.Tensor] = []
        tic = time.perf_counter()
        for it in range(start, self.config.iterations):
            pending.append(self.step(syn, it))
            done = it + 1
            if done % self.config.checkpoint_every == 0 or done == self.config.iterations:
                losses += torch.stack(pending).tolist()
                pending = []
                seconds += time.perf_counter() - tic
                tic = time.perf_counter()
                log(f"{self.name} iteration {done}/{self.config.iterations}: loss {losses[-1]:.4f} "
                    f"({seconds / max(done - start, 1):.2f} s/it)" if start == 0 else
                    f"{self.name} iteration {done}/{self.config.iterations}: loss {losses[-1]:.4f}")
                if checkpoint is not None and done < self.config.iterations:
                    checkpoint.save({"synthetic": syn.state(), "extra": self.extra_state(), "iteration": done,
                                     "losses": losses, "seconds": seconds, "init_seconds": self.init_seconds,
                                     "generator": self.generator.get_state(),
                                     "torch_rng": torch.get_rng_state()})
        syn.meta.update({"method": self.name, "config": self.config.to_dict(), "seconds": seconds,
                         "init_seconds": self.init_seconds,
                         "iterations": self.config.iterations, "dataset": self.data.name,
                         "dsa_strategy": None if self.dsa is None else self.dsa.strategy,
                         "real_precision": self.precision, **self.describe()})
        return syn, History(losses, seconds, self.config.iterations)
