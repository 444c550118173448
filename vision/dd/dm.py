"""DM — Dataset Condensation with Distribution Matching (Zhao & Bilen, WACV 2023).

Each iteration draws a freshly initialised network ψ (ConvNet-3) and, with one DSA transformation
A_c per class shared by the real and synthetic images of that class, minimises

    L = Σ_c ‖ mean_{x ∈ T_c} ψ(A_c(x)) − mean_{s ∈ S_c} ψ(A_c(s)) ‖²

over the synthetic images S by SGD (lr_img 1, momentum 0.5), T_c being ``batch_real`` random real
images of class c. The objective is the core's linear-kernel MMD
(:func:`graphdistill.core.distribution.mean_embedding_distance`), the very function GCDM uses.

Against the reference code (``main_DM.py``), which loops over classes and augments and embeds
each one separately: here all classes are augmented in one batched DSA call (one draw per class)
and embedded in one forward pass, the real side without autograd on the fastest CPU forward path;
``networks > 1`` averages the objective over several random networks evaluated together through
:func:`torch.func.vmap`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from graphdistill.core.distribution import mean_embedding_distance, real_class_means
from graphdistill.core.errors import UserError
from vision.convnet import fast_inference, inference_batch
from vision.dd.base import DistillConfig, ImageDistiller
from vision.dd.synthetic import SyntheticImages


@dataclass
class DMConfig(DistillConfig):
    """DM's settings (defaults: the paper's; 20,000 iterations in the paper, here by choice)."""

    iterations: int = 20000
    lr_img: float = 1.0
    momentum: float = 0.5
    networks: int = 1  # random networks per iteration (1 in the paper)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.networks < 1:
            raise UserError(f"networks must be ≥ 1, got {self.networks}")


class _Embedder(nn.Module):
    """``forward`` = the network's ``embed`` (what functional_call and vmap need)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.embed(x)


class RandomEmbeddings:
    """``k`` freshly initialised networks' embeddings of a batch, stacked: (k, N, F)."""

    def __init__(self, nets: list[nn.Module]) -> None:
        for net in nets:
            net.requires_grad_(False)
            if not hasattr(net, "embed"):
                raise UserError(f"{type(net).__name__} has no embed(); DM needs a network with an embedding")
        self.single = nets[0] if len(nets) == 1 else None
        if self.single is None:
            embedders = [_Embedder(net) for net in nets]
            self.params, self.buffers = stack_module_state(embedders)
            base = copy.deepcopy(embedders[0]).to("meta")
            self._batched = vmap(lambda p, b, x: functional_call(base, (p, b), (x,)), in_dims=(0, 0, None))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.single is not None:
            return self.single.embed(x).unsqueeze(0)
        return self._batched(self.params, self.buffers, x)


class DM(ImageDistiller):
    name = "dm"

    def prepare(self, syn: SyntheticImages) -> None:
        self.optimizer = torch.optim.SGD([syn.images], lr=self.config.lr_img, momentum=self.config.momentum)

    def extra_state(self) -> dict:
        return {"optimizer": self.optimizer.state_dict()}

    def load_extra_state(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])

    def class_losses(self, syn: SyntheticImages) -> torch.Tensor:
        """(C,) per-class squared mean-embedding distances, averaged over the random networks."""
        embed = RandomEmbeddings([self.new_network() for _ in range(self.config.networks)])
        real, real_labels = self.sampler.sample(self.config.batch_real, self.generator)
        images = syn.images
        if self.dsa is not None:
            draw = self.dsa.draw(self.num_classes, self.generator, self.device)
            real = self.dsa.apply(real, draw, real_labels)
            images = self.dsa.apply(images, draw, syn.labels)
        with fast_inference(self.precision, self.device.type):  # in chunks: 2,560 images' first layer is 1.3 GB
            features = torch.cat([embed(chunk) for chunk in real.split(inference_batch(self.precision))], dim=1)
            real_means = real_class_means(features.float(), real_labels, self.num_classes)  # (k, C, F)
        distances = mean_embedding_distance(real_means, embed(images), syn.labels)  # (k, C)
        return distances.mean(0)

    def step(self, syn: SyntheticImages, iteration: int) -> torch.Tensor:
        loss = self.class_losses(syn).sum()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()
