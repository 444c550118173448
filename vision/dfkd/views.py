"""Random differentiable views of a batch for model inversion, as one batched affine warp.

Inversion methods show the teacher randomly shifted (and flipped) copies of the images being
optimised, so that they cannot overfit to one pixel grid: DeepInversion's jitter and flip, CMI's and
FastDFKD's "crop with padding 4 + flip" (the global view), and CMI's random-resized crop of area
[0.25, 1] (the local view). All are translations, scalings and flips, so every sample's view is one
``affine_grid`` / ``grid_sample`` call for the whole batch — no loop over samples, and gradients flow
to the images. Outside the image the view is zero-padded (the normalised value of a black pixel is
not zero, so pass ``fill`` = that value to pad with black).

Example::

    view = random_view(images, max_shift=2, flip=False, generator=g)        # (B, C, H, W)
    local = random_view(images, scale=(0.25, 1.0), flip=False, generator=g)  # zoomed-in crops
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_view(x: torch.Tensor, *, max_shift: int = 0, scale: tuple[float, float] = (1.0, 1.0),
                flip: bool = False, fill: float = 0.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """One random view per sample of ``x`` (B, C, H, W).

    Args:
        max_shift: uniform translation of up to this many pixels each way (crop-with-padding).
        scale: range of the crop's *area* fraction; a crop of side √a is taken at a uniform random
            position inside the image and resized to (H, W) (random-resized crop, square aspect).
        flip: mirror horizontally with probability ½ (off for digits).
        fill: value outside the image.
        generator: a random generator on ``x``'s device (default: the global one).
    """
    b, _, h, w = x.shape
    dev, dtype = x.device, x.dtype

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(b, generator=generator, device=dev, dtype=dtype)

    side = uniform(*scale).sqrt()                        # crop side as a fraction of the image
    free = 1 - side                                      # room left for the crop's centre, each way
    cx = free * (2 * uniform(0.0, 1.0) - 1) + 2 * max_shift / w * (2 * uniform(0.0, 1.0) - 1)
    cy = free * (2 * uniform(0.0, 1.0) - 1) + 2 * max_shift / h * (2 * uniform(0.0, 1.0) - 1)
    sx = side
    if flip:
        sx = sx * torch.where(uniform(0.0, 1.0) < 0.5, -1.0, 1.0).to(dtype)
    theta = torch.zeros(b, 2, 3, device=dev, dtype=dtype)
    theta[:, 0, 0], theta[:, 1, 1], theta[:, 0, 2], theta[:, 1, 2] = sx, side, cx, cy
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    if fill == 0.0:
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    shifted = F.grid_sample(x - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return shifted + fill
