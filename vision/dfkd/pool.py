"""The in-memory pool of synthesised images that inversion-based KD samples its batches from.

DeepInversion, CMI and FastDFKD synthesise one batch per round and train the student on everything
synthesised so far (the pool grows by one batch per round, as in the papers). The reference code
writes every batch as PNG files and rebuilds a data loader at each sampling (REFERENCE 6.7); here the
pool is one preallocated tensor that grows by doubling, sampled by index, optionally capped
(``capacity``: oldest batches are overwritten, a ring buffer). ``save()`` / ``load()`` write it to
disk atomically, and ``state_dict()`` makes it part of the KD loop's checkpoint.

Example::

    pool = ImagePool()
    pool.add(images)                     # (B, C, H, W), detached
    batch = pool.sample(256, generator)  # uniform over the pool, without replacement when it can
"""

from __future__ import annotations

import os

import torch

from graphdistill.core.errors import UserError
from graphdistill.core.io import load_torch, save_torch


class ImagePool:
    """A growing (or capped) store of images, sampled uniformly."""

    def __init__(self, capacity: int | None = None) -> None:
        if capacity is not None and capacity < 1:
            raise UserError(f"pool capacity must be ≥ 1, got {capacity}")
        self.capacity = capacity
        self._data: torch.Tensor | None = None
        self._size = 0
        self._next = 0  # write position once the pool is full (ring buffer)

    def __len__(self) -> int:
        return self._size

    @property
    def images(self) -> torch.Tensor:
        if self._data is None:
            raise UserError("the image pool is empty: synthesize() before sample()")
        return self._data[:self._size]

    @torch.no_grad()
    def add(self, images: torch.Tensor) -> None:
        images = images.detach()
        if self._data is not None and images.shape[1:] != self._data.shape[1:]:
            raise UserError(f"pool holds {tuple(self._data.shape[1:])} images, got {tuple(images.shape[1:])}")
        if self.capacity is not None and len(images) > self.capacity:
            images = images[-self.capacity:]
        n = len(images)
        if self._data is None:
            room = n if self.capacity is None else self.capacity
            self._data = images.new_empty((max(room, n), *images.shape[1:]))
        if self.capacity is None:
            if self._size + n > len(self._data):
                grown = self._data.new_empty((max(2 * len(self._data), self._size + n), *self._data.shape[1:]))
                grown[:self._size] = self._data[:self._size]
                self._data = grown
            self._data[self._size:self._size + n] = images
            self._size += n
            return
        positions = (self._next + torch.arange(n)) % self.capacity
        self._data[positions.to(self._data.device)] = images
        self._next = int((self._next + n) % self.capacity)
        self._size = min(self.capacity, self._size + n)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images drawn uniformly (without replacement when the pool holds at least ``n``)."""
        images = self.images
        if len(images) >= n:
            index = torch.randperm(len(images), generator=generator)[:n]
        else:
            index = torch.randint(len(images), (n,), generator=generator)
        return images[index.to(images.device)]

    def state_dict(self) -> dict:
        data = None if self._data is None else self._data[:self._size].cpu().clone()
        return {"capacity": self.capacity, "images": data, "next": self._next}

    def load_state_dict(self, state: dict, device: torch.device | str = "cpu") -> None:
        self.capacity, self._next = state["capacity"], int(state["next"])
        images = state["images"]
        self._data = None if images is None else images.to(device)
        self._size = 0 if images is None else len(images)
        if self._data is not None and self.capacity is not None and len(self._data) < self.capacity:
            self._data = torch.cat([self._data, self._data.new_empty((self.capacity - len(self._data),
                                                                      *self._data.shape[1:]))])

    def save(self, path: str | os.PathLike) -> None:
        """Write the pool to ``path`` (atomically: a crash leaves the old file or none)."""
        save_torch(path, self.state_dict())

    @classmethod
    def load(cls, path: str | os.PathLike, device: torch.device | str = "cpu") -> ImagePool:
        pool = cls()
        pool.load_state_dict(load_torch(path), device)
        return pool
