"""ZCA whitening of images, as MTT, TESLA and KIP preprocess CIFAR (REFERENCE 0.3).

ZCA ("zero-phase component analysis"; Bell & Sejnowski, 1997) decorrelates pixels while staying
as close as possible to the original image: with the training images' pixel covariance
Σ = U diag(s) Uᵀ,

    W = U diag(1 / √(s + ε)) Uᵀ,     x ↦ (x − μ) W

ε = 0.1 as the MTT code (through kornia's ``ZCAWhitening(eps=0.1)``, unbiased covariance) uses it.
A synthetic set distilled in ZCA space is only usable with the same transform, so :class:`ZCA`
is saved with the run (``state``/``from_state``) and :meth:`ZCA.invert` maps images back for
viewing.

Example::

    zca = ZCA.fit(train.images)                # (D,) mean, (D, D) whitening and its inverse
    white = zca(train.images)                  # same shape, decorrelated pixels
    torch.testing.assert_close(zca.invert(white), train.images, atol=1e-3, rtol=1e-3)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from graphdistill.core.errors import UserError


@dataclass
class ZCA:
    mean: torch.Tensor  # (D,)
    whiten: torch.Tensor  # (D, D)
    colour: torch.Tensor  # (D, D), the inverse of ``whiten``
    eps: float

    @classmethod
    def fit(cls, images: torch.Tensor, eps: float = 0.1) -> ZCA:
        """Fit on (N, C, H, W) images (computed in float64; N must exceed 1)."""
        if images.dim() != 4 or len(images) < 2:
            raise UserError(f"ZCA needs (N ≥ 2, C, H, W) images, got shape {tuple(images.shape)}")
        if not eps > 0:
            raise UserError(f"ZCA eps must be positive, got {eps!r}")
        x = images.flatten(1).double()
        mean = x.mean(0)
        centred = x - mean
        covariance = centred.T @ centred / (len(x) - 1)
        values, vectors = torch.linalg.eigh(covariance)
        values = values.clamp_min(0) + eps
        whiten = (vectors * values.rsqrt()) @ vectors.T
        colour = (vectors * values.sqrt()) @ vectors.T
        dtype = images.dtype
        return cls(mean.to(dtype), whiten.to(dtype), colour.to(dtype), eps)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        self._check(images)
        return ((images.flatten(1) - self.mean) @ self.whiten).view_as(images)

    def invert(self, images: torch.Tensor) -> torch.Tensor:
        self._check(images)
        return (images.flatten(1) @ self.colour + self.mean).view_as(images)

    def _check(self, images: torch.Tensor) -> None:
        if images[0].numel() != self.mean.numel():
            raise UserError(f"images of {images[0].numel()} values each do not fit a ZCA fitted on "
                            f"{self.mean.numel()}")

    def state(self) -> dict:
        return {"mean": self.mean, "whiten": self.whiten, "colour": self.colour, "eps": self.eps}

    @classmethod
    def from_state(cls, state: dict) -> ZCA:
        return cls(state["mean"], state["whiten"], state["colour"], float(state["eps"]))
