"""DC — Dataset Condensation with Gradient Matching (Zhao, Mopuri & Bilen, ICLR 2021) — and DSA,
DC with Differentiable Siamese Augmentation (Zhao & Bilen, ICML 2021).

Per iteration, a freshly initialised ConvNet θ; ``outer`` times: for every class c, the layer-wise
cosine distance between the network's gradient on ``batch_real`` real images of c and on the
synthetic images of c — with DSA, both augmented by the same transformation A_c — summed over
classes and minimised over the synthetic images (SGD lr 0.1, momentum 0.5); then ``inner`` SGD
steps (lr 0.01) of the network on the synthetic set, augmented per image with DSA. (outer, inner)
follow the paper's table by images per class (:data:`LOOPS`).

The matching itself is the core's (:func:`graphdistill.core.matching.match_epoch` with the
``"layerwise"`` distance) — the same code GCond and DosCond run on graphs; this module only says
what a class's real and synthetic loss is for images. Gradients are taken class by class
(:func:`~graphdistill.core.matching.separate_class_gradients`), each class's real batch in one
forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from graphdistill.core.errors import UserError
from graphdistill.core.matching import DISTANCES, match_epoch, separate_class_gradients
from vision.convnet import real_forward
from vision.dd.base import DistillConfig, ImageDistiller
from vision.dd.synthetic import SyntheticImages

# (outer, inner) loops by images per class (DC paper / official get_loops).
LOOPS = {1: (1, 1), 10: (10, 50), 20: (20, 25), 30: (30, 20), 40: (40, 15), 50: (50, 10)}


def loops_for(ipc: int) -> tuple[int, int]:
    if ipc not in LOOPS:
        raise UserError(f"DC has loop settings for {sorted(LOOPS)} images per class, not {ipc}; "
                        "set outer and inner explicitly")
    return LOOPS[ipc]


@dataclass
class DCConfig(DistillConfig):
    """DC's settings (defaults: the paper's). ``dsa_strategy="none"`` is DC; anything else is DSA."""

    iterations: int = 1000
    lr_img: float = 0.1
    momentum: float = 0.5
    lr_net: float = 0.01
    batch_train: int = 256
    outer: int = 0  # 0: from LOOPS by ipc
    inner: int = -1  # −1: from LOOPS by ipc
    distance: str = "layerwise"

    def __post_init__(self) -> None:
        super().__post_init__()
        DISTANCES.get(self.distance)
        if self.outer == 0 or self.inner == -1:
            outer, inner = loops_for(self.ipc)
            self.outer = self.outer or outer
            self.inner = inner if self.inner == -1 else self.inner
        if self.outer < 1 or self.inner < 0:
            raise UserError(f"need outer ≥ 1 and inner ≥ 0, got {self.outer} / {self.inner}")


class _ImageMatching:
    """The :class:`~graphdistill.core.matching.MatchingProblem` of one DC/DSA iteration."""

    def __init__(self, distiller: DC, syn: SyntheticImages) -> None:
        self.distiller, self.syn = distiller, syn
        self.draw = None
        self.inner_order: torch.Tensor | None = None

    def new_model(self) -> nn.Module:
        return self.distiller.new_network()

    def _augment(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        dsa = self.distiller.dsa
        return images if dsa is None else dsa.apply(images, self.draw, labels)

    def real_class_gradients(self, model: nn.Module, params) -> list[torch.Tensor]:
        d = self.distiller
        real, labels = d.sampler.sample(d.config.batch_real, d.generator)
        if d.dsa is not None:  # one transformation per class, shared with the synthetic side
            self.draw = d.dsa.draw(d.num_classes, d.generator, d.device)
        real = self._augment(real, labels)
        per_class = real.shape[0] // d.num_classes
        blocks, block_labels = real.split(per_class), labels.split(per_class)

        def class_loss(c: int) -> torch.Tensor:
            with real_forward(per_class, d.precision, d.device.type):  # the core's backward() runs after it
                return F.cross_entropy(model(blocks[c]), block_labels[c])

        return separate_class_gradients(class_loss, range(d.num_classes), params)

    def synthetic_class_gradients(self, model: nn.Module, params) -> list[torch.Tensor]:
        ipc, syn = self.syn.ipc, self.syn
        images = self._augment(syn.images, syn.labels)
        blocks, labels = images.split(ipc), syn.labels.split(ipc)
        return separate_class_gradients(lambda c: F.cross_entropy(model(blocks[c]), labels[c]),
                                        range(syn.num_classes), params, create_graph=True)

    def inner_objective(self):
        """Cross-entropy on the next batch of a detached snapshot of S, DSA per image."""
        d = self.distiller
        images, labels = self.syn.images.detach(), self.syn.labels
        batch = d.config.batch_train
        state = {"order": torch.randperm(len(labels), generator=d.generator, device=d.device), "at": 0}

        def objective(model: nn.Module) -> torch.Tensor:
            if state["at"] >= len(labels):
                state["order"], state["at"] = torch.randperm(len(labels), generator=d.generator, device=d.device), 0
            index = state["order"][state["at"]:state["at"] + batch]
            state["at"] += batch
            x = images[index]
            if d.dsa is not None:
                x = d.dsa(x, d.generator)
            return F.cross_entropy(model(x), labels[index])

        return objective


class DC(ImageDistiller):
    """DC (``dsa_strategy="none"``) or DSA (any DSA strategy)."""

    name = "dc"

    def __init__(self, config: DCConfig, data, device="cpu") -> None:
        super().__init__(config, data, device)
        self.name = "dc" if self.dsa is None else "dsa"
        self.distance = DISTANCES.get(config.distance)
        # One inner "epoch" over the synthetic set is ceil(N / batch_train) steps.
        self.steps_per_epoch = -(-(config.ipc * data.num_classes) // config.batch_train)

    def prepare(self, syn: SyntheticImages) -> None:
        self.optimizer = torch.optim.SGD([syn.images], lr=self.config.lr_img, momentum=self.config.momentum)
        self.class_weights = torch.ones(self.num_classes, device=self.device)

    def extra_state(self) -> dict:
        return {"optimizer": self.optimizer.state_dict()}

    def load_extra_state(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])

    def _update(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()

    def step(self, syn: SyntheticImages, iteration: int) -> torch.Tensor:
        cfg = self.config
        loss = match_epoch(_ImageMatching(self, syn), outer=cfg.outer, inner=cfg.inner * self.steps_per_epoch,
                           distance=self.distance, class_weights=self.class_weights, update=self._update,
                           model_optimizer=lambda params: torch.optim.SGD(params, lr=cfg.lr_net))
        return loss.detach()
