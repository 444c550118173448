"""Differentiable Siamese Augmentation (DSA; Zhao & Bilen, ICML 2021).

Dataset condensation matches what a network sees on real and synthetic images; DSA augments both
sides *with the same sampled transformation* so that the match is between like and like, and keeps
every transformation differentiable in the image, so the synthetic images learn through it.

Operations (parameters as in the paper's code, :class:`DSASettings`): ``color`` (brightness
x + (u − ½)·1, saturation (x − x̄_channels)·2u + x̄_channels, contrast (x − x̄)·(u + ½) + x̄),
``crop`` (integer translation by up to 12.5 % of the side, zero fill), ``cutout`` (a zeroed
square of half the side), ``flip`` (horizontal, p = ½; leave it out for digits), ``scale`` (each
axis by a factor in [1/1.2, 1.2]) and ``rotate`` (±15°). The geometric ones are affine warps with
bilinear sampling; ``noise`` (Gaussian, σ = ``noise``) is offered for DC's evaluation recipe.

Two ways to draw parameters, both from an explicit :class:`torch.Generator` (never the clock, which
makes the reference runs irreproducible):

* **Siamese, per group** — :meth:`DSA.draw` samples one parameter set per *group* (e.g. per class);
  :meth:`DSA.apply` gives every image its group's set, so the real and synthetic images of a class
  get the identical transformation in one batched call over all classes (the reference code does
  the same class by class: it seeds both sides alike and copies image 0's parameters to all);
* **independent** — :meth:`DSA.__call__` draws per image (augmentation while training on the
  synthetic set).

``single=True`` (the code's mode "S", the default) applies one operation group per draw, chosen
uniformly from the strategy; ``single=False`` applies them all in strategy order. With
``op_per_call=True`` the operation is chosen once per call and shared by every group, while its
parameters still differ per group — how the reference code augments a training batch (one
operation for the batch, per-image parameters).

Example::

    dsa = DSA("color_crop_cutout_scale_rotate")
    draw = dsa.draw(groups=10, generator=g)                 # one transformation per class
    real_aug = dsa.apply(real, draw, real_labels)           # real images of class c get draw[c]
    syn_aug = dsa.apply(syn, draw, syn_labels)              # …and so do synthetic ones
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from graphdistill.core.errors import UserError

OPERATIONS = ("color", "crop", "cutout", "flip", "scale", "rotate", "noise")
GEOMETRIC = ("crop", "flip", "scale", "rotate")
UNIFORMS = 11  # uniforms per draw: brightness, saturation, contrast, 2 shifts, 2 cutout centres, flip, 2 scales, angle
DEFAULT_STRATEGY = "color_crop_cutout_flip_scale_rotate"
DIGITS_STRATEGY = "color_crop_cutout_scale_rotate"


@dataclass(frozen=True)
class DSASettings:
    """Magnitudes of the operations (defaults: the DSA paper's code)."""

    brightness: float = 1.0
    saturation: float = 2.0
    contrast: float = 0.5
    crop_pad: float = 0.125
    cutout: float = 0.5
    flip: float = 0.5
    scale: float = 1.2
    rotate: float = 15.0
    noise: float = 0.001


@dataclass
class Draw:
    """Sampled parameters, one row per group: which operation(s) apply, and their values."""

    active: torch.Tensor  # (G, len(ops)) bool: operation k applies to group g
    uniforms: torch.Tensor  # (G, UNIFORMS) uniforms in [0, 1) from which every parameter is read
    noise_seed: int  # seeds the per-pixel noise of the ``noise`` operation

    def __len__(self) -> int:
        return self.active.shape[0]


class DSA:
    """A DSA strategy (``"_"``-joined operation names) and how to sample it."""

    def __init__(self, strategy: str = DEFAULT_STRATEGY, settings: DSASettings = DSASettings(),
                 single: bool = True, op_per_call: bool = False) -> None:
        ops = tuple(op for op in strategy.lower().split("_") if op)
        unknown = [op for op in ops if op not in OPERATIONS]
        if unknown or not ops:
            raise UserError(f"unknown DSA operation(s) {unknown or [strategy]}; known: {', '.join(OPERATIONS)}")
        self.ops, self.settings, self.single, self.op_per_call = ops, settings, single, op_per_call

    @property
    def strategy(self) -> str:
        return "_".join(self.ops)

    def draw(self, groups: int, generator: torch.Generator | None = None, device: torch.device | str = "cpu",
             shared_op: bool = False) -> Draw:
        """Parameters for ``groups`` groups, sampled on ``device`` from ``generator``; in
        single-operation mode the operation is chosen per group, or once for all with ``shared_op``."""
        n_ops = len(self.ops)
        if self.single:
            choice = torch.randint(n_ops, (1 if shared_op else groups,), generator=generator, device=device)
            active = F.one_hot(choice.expand(groups), n_ops).bool()
        else:
            active = torch.ones(groups, n_ops, dtype=torch.bool, device=device)
        uniforms = torch.rand(groups, UNIFORMS, generator=generator, device=device)
        seed = int(torch.randint(2**62, (1,), generator=generator, device=device))
        return Draw(active, uniforms, seed)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Augment each image of ``x`` independently (one operation for all with ``op_per_call``)."""
        draw = self.draw(len(x), generator, x.device, shared_op=self.op_per_call)
        return self.apply(x, draw, torch.arange(len(x), device=x.device))

    def apply(self, x: torch.Tensor, draw: Draw, group: torch.Tensor) -> torch.Tensor:
        """Transform image i of ``x`` (N, C, H, W) with the parameters of group ``group[i]``.

        In single-operation mode every image has at most one geometric operation, so all of them
        run as one batched warp; otherwise the operations run in strategy order, one warp each.
        """
        if x.dim() != 4:
            raise UserError(f"DSA expects (N, C, H, W) images, got shape {tuple(x.shape)}")
        if group.shape != (len(x),):
            raise UserError(f"need one group index per image: {len(x)} images, group shape {tuple(group.shape)}")
        active = draw.active[group]  # (N, ops)
        u = draw.uniforms[group]  # (N, UNIFORMS)
        theta, warped = _identity(len(x), x), torch.zeros(len(x), dtype=torch.bool, device=x.device)
        for k, op in enumerate(self.ops):
            on = active[:, k]
            if op in GEOMETRIC:
                step = getattr(self, f"_{op}")(x, u)
                if self.single:
                    theta, warped = torch.where(on.view(-1, 1, 1), step, theta), warped | on
                else:
                    x = _warp(x, step, on)
            else:
                x = getattr(self, f"_{op}")(x, on, u, draw)
        return _warp(x, theta, warped) if self.single else x

    # --- pixel operations: images whose ``on`` flag is False pass unchanged ---------------------

    def _color(self, x, on, u, draw):
        s = self.settings
        mask = on.view(-1, 1, 1, 1)
        x = x + mask.to(x.dtype) * (u[:, 0] - 0.5).view(-1, 1, 1, 1) * s.brightness
        mean_c = x.mean(1, keepdim=True)
        x = torch.where(mask, (x - mean_c) * (u[:, 1] * s.saturation).view(-1, 1, 1, 1) + mean_c, x)
        mean = x.mean((1, 2, 3), keepdim=True)
        return torch.where(mask, (x - mean) * (u[:, 2] + s.contrast).view(-1, 1, 1, 1) + mean, x)

    def _cutout(self, x, on, u, draw):
        h, w = x.shape[-2:]
        ch, cw = int(h * self.settings.cutout + 0.5), int(w * self.settings.cutout + 0.5)
        cy = torch.floor(u[:, 5] * (h + 1 - ch % 2))  # centre row and column, as the reference samples them
        cx = torch.floor(u[:, 6] * (w + 1 - cw % 2))
        rows = torch.arange(h, device=x.device, dtype=x.dtype)
        cols = torch.arange(w, device=x.device, dtype=x.dtype)
        top, left = (cy - ch // 2).view(-1, 1), (cx - cw // 2).view(-1, 1)
        in_rows = (rows >= top) & (rows < top + ch)  # (N, H)
        in_cols = (cols >= left) & (cols < left + cw)  # (N, W)
        hole = in_rows.unsqueeze(2) & in_cols.unsqueeze(1) & on.view(-1, 1, 1)
        return x * (~hole).unsqueeze(1).to(x.dtype)

    def _noise(self, x, on, u, draw):
        gen = torch.Generator(device=x.device).manual_seed(draw.noise_seed)
        noise = torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype) * self.settings.noise
        return x + noise * on.to(x.dtype).view(-1, 1, 1, 1)

    # --- geometric operations: (N, 2, 3) affine matrices in affine_grid's convention -----------

    def _crop(self, x, u):
        h, w = x.shape[-2:]
        max_dy, max_dx = int(h * self.settings.crop_pad + 0.5), int(w * self.settings.crop_pad + 0.5)
        dy = torch.floor(u[:, 3] * (2 * max_dy + 1)) - max_dy  # integer shifts in [−max, max]
        dx = torch.floor(u[:, 4] * (2 * max_dx + 1)) - max_dx
        theta = _identity(len(x), x)
        theta[:, 0, 2] = -2 * dx / max(w - 1, 1)  # with align_corners=True: exact pixel shifts
        theta[:, 1, 2] = -2 * dy / max(h - 1, 1)
        return theta

    def _flip(self, x, u):
        theta = _identity(len(x), x)
        theta[:, 0, 0] = torch.where(u[:, 7] < self.settings.flip, -1.0, 1.0)
        return theta

    def _scale(self, x, u):
        r = self.settings.scale
        theta = _identity(len(x), x)
        theta[:, 0, 0] = u[:, 8] * (r - 1 / r) + 1 / r
        theta[:, 1, 1] = u[:, 9] * (r - 1 / r) + 1 / r
        return theta

    def _rotate(self, x, u):
        angle = (u[:, 10] - 0.5) * 2 * self.settings.rotate / 180 * math.pi
        theta = _identity(len(x), x)
        cos, sin = torch.cos(angle), torch.sin(angle)
        theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
        return theta


def _identity(n: int, like: torch.Tensor) -> torch.Tensor:
    return torch.eye(2, 3, dtype=like.dtype, device=like.device).repeat(n, 1, 1)


def _warp(x: torch.Tensor, theta: torch.Tensor, on: torch.Tensor) -> torch.Tensor:
    """Bilinear affine warp of the images flagged ``on`` (the rest pass through untouched)."""
    if not bool(on.any()):
        return x
    theta = torch.where(on.view(-1, 1, 1), theta, _identity(len(x), x))
    grid = F.affine_grid(theta, list(x.shape), align_corners=True)
    warped = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return torch.where(on.view(-1, 1, 1, 1), warped, x)
