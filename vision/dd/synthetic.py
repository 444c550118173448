"""The synthetic image set being learned, and class-balanced sampling of the real one.

* :class:`SyntheticImages` — ``ipc`` learnable images per class (class-major order: images
  ``c·ipc … (c+1)·ipc − 1`` belong to class c), fixed hard labels, an optional learned step size
  (MTT/TESLA), initialised from random real images of each class (``"real"``, the papers'
  default), Gaussian noise (``"noise"``) or the real images herding picks in an embedding
  (``"herding"``); saved with the normalisation it lives in, since a set
  is only usable with the same transform (REFERENCE 0.3).
* :class:`ClassSampler` — draws ``n`` real images of every class at once, without replacement
  within a class, by one sort of random keys (no Python loop over classes or images).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from graphdistill.core.coresets import herding
from graphdistill.core.errors import UserError
from graphdistill.core.io import load_torch, save_torch
from vision.data import ImageSet

INITIALISATIONS = ("real", "noise", "herding")


class ClassSampler:
    """Class-balanced random batches from an :class:`ImageSet` held on ``device``."""

    def __init__(self, data: ImageSet, device: torch.device | str = "cpu") -> None:
        labels = data.labels.to(device)
        self.num_classes = data.num_classes
        self.counts = torch.bincount(labels, minlength=self.num_classes)
        if (self.counts == 0).any():
            missing = torch.nonzero(self.counts == 0).flatten().tolist()
            raise UserError(f"{data.name}: no training images of class(es) {missing}")
        order = torch.argsort(labels, stable=True)
        self.images = data.images.to(device)[order]  # class-major copy
        self.labels = labels[order]
        self.starts = torch.cumsum(self.counts, 0) - self.counts
        self.device = torch.device(device)

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(C·n, …) images, class-major, and their labels; n per class without replacement
        (all of a class's images, in random order, when it has fewer than n)."""
        per_class = min(n, int(self.counts.min()))
        keys = torch.rand(len(self.labels), generator=generator, device=self.device) + self.labels
        order = torch.argsort(keys)  # classes stay in blocks, shuffled within each block
        take = (self.starts.unsqueeze(1) + torch.arange(per_class, device=self.device)).flatten()
        index = order[take]
        return self.images[index], self.labels[index]

    def first(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n random distinct images of each class (the "real" initialisation), class-major."""
        self._check_budget(n)
        return self.sample(n, generator)[0].clone()

    def herded(self, n: int, embed: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """n images of each class chosen by herding (:func:`graphdistill.core.coresets.herding`) in the
        embedding ``embed`` maps a class's images (m, …) to (m, F) with: the n real images whose mean
        embedding is greedily closest to the class's. Class-major, in herding's order within a class."""
        self._check_budget(n)
        chosen = []
        for start, count in zip(self.starts.tolist(), self.counts.tolist(), strict=True):
            members = self.images[start:start + count]
            chosen.append(members[herding(embed(members), n).to(self.device)])
        return torch.cat(chosen).clone()

    def _check_budget(self, n: int) -> None:
        if n > int(self.counts.min()):
            raise UserError(f"{n} images per class requested but the smallest class has {int(self.counts.min())}")


@dataclass
class SyntheticImages:
    """Learnable synthetic images with hard labels (and an optional learned step size)."""

    images: torch.Tensor  # (C·ipc, channels, H, W), requires grad while learning
    labels: torch.Tensor  # (C·ipc,) int64, class-major
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    lr: torch.Tensor | None = None  # learned step size (MTT / TESLA), a 0-d tensor
    meta: dict = field(default_factory=dict)

    @property
    def ipc(self) -> int:
        return len(self.labels) // self.num_classes

    @classmethod
    def initialise(cls, real: ClassSampler, data: ImageSet, ipc: int, init: str = "real",
                   generator: torch.Generator | None = None,
                   embed: Callable[[torch.Tensor], torch.Tensor] | None = None) -> SyntheticImages:
        """``init``: "real" (random real images), "noise" (Gaussian) or "herding" (real images chosen by
        herding in the embedding ``embed``; see :meth:`ClassSampler.herded`)."""
        if ipc < 1:
            raise UserError(f"images per class must be ≥ 1, got {ipc}")
        if init == "real":
            images = real.first(ipc, generator)
        elif init == "noise":
            shape = (real.num_classes * ipc, *real.images.shape[1:])
            images = torch.randn(shape, generator=generator, device=real.device)
        elif init == "herding":
            if embed is None:
                raise UserError("herding initialisation needs an embedding function")
            images = real.herded(ipc, embed)
        else:
            raise UserError(f"unknown initialisation {init!r}; use one of {INITIALISATIONS}")
        labels = torch.arange(real.num_classes, device=real.device).repeat_interleave(ipc)
        return cls(images.requires_grad_(True), labels, real.num_classes, data.mean, data.std)

    def as_image_set(self, name: str = "synthetic") -> ImageSet:
        return ImageSet(name, self.images.detach().cpu(), self.labels.cpu(), self.num_classes, self.mean, self.std)

    def state(self) -> dict:
        return {"images": self.images.detach().cpu(), "labels": self.labels.cpu(), "num_classes": self.num_classes,
                "mean": list(self.mean), "std": list(self.std),
                "lr": None if self.lr is None else float(self.lr.detach()), "meta": self.meta}

    @classmethod
    def from_state(cls, state: dict, device: torch.device | str = "cpu") -> SyntheticImages:
        try:
            lr = state["lr"]
            return cls(state["images"].to(device).requires_grad_(True), state["labels"].to(device),
                       int(state["num_classes"]), tuple(state["mean"]), tuple(state["std"]),
                       None if lr is None else torch.tensor(float(lr), device=device), dict(state.get("meta", {})))
        except (KeyError, TypeError, AttributeError) as err:
            raise UserError(f"not a synthetic image set ({err})") from err

    def save(self, path: str | os.PathLike) -> None:
        save_torch(path, self.state())

    @classmethod
    def load(cls, path: str | os.PathLike, device: torch.device | str = "cpu") -> SyntheticImages:
        return cls.from_state(load_torch(path), device)
