"""What an inversion round optimises to make one batch: pixels, a fresh generator, or a meta-generator.

:class:`~vision.dfkd.inversion.InversionSynthesizer` runs the same inner loop for every
inversion-based method — render the batch, score it against the teacher, take an optimiser step,
keep the best batch — and delegates to a *source* what is optimised and what happens at the end:

* :class:`PixelSource` — DeepInversion (Yin et al., CVPR 2020): the pixels of a batch, from noise,
  clipped to the valid pixel range after every step.
* :class:`FreshGeneratorSource` — CMI (Fang et al., IJCAI 2021): a generator re-initialised for
  every batch (N(0, 0.02) weights) and a learnable latent, optimised jointly.
* :class:`MetaGeneratorSource` — FastDFKD (Fang et al., AAAI 2022): every batch starts from a copy
  of a meta-generator and a fresh learnable latent; after the k inner steps the meta-generator takes
  one step with a first-order meta-gradient:

  - ``"fomaml"`` — first-order MAML (Finn et al., ICML 2017): the gradient of the batch loss at the
    *adapted* generator θ_k, i.e. ∂L(θ_k)/∂θ_k with the inner steps' Jacobian taken as identity.
    (The reference code instead sums the gradients at θ_0 … θ_{k−1}, which under plain SGD is
    (θ_0 − θ_k)/lr — the Reptile direction below.)
  - ``"reptile"`` — Reptile (Nichol et al., 2018): ``scale · (θ_meta − θ_k)``, the sum of the k
    inner updates. The reference multiplies by an unexplained 67; under Adam the scale barely
    matters, so ours defaults to 1.

  The meta-optimiser is Adam with lr = lr_g · k (the reference's rule).

A source's protocol: ``begin(batch_size)`` → parameter groups for the inner Adam; ``render()`` → the
current images; ``after_step()`` (projection, e.g. pixel clipping); ``finish(final_loss)`` at θ_k;
``state_dict()`` / ``load_state_dict()`` for checkpoints.
"""

from __future__ import annotations

import copy

import torch

from graphdistill.core.errors import UserError
from vision.dfkd.generator import Generator

META_RULES = ("fomaml", "reptile")


class Source:
    """Defaults of the source protocol: no projection, no final gradient, no state to checkpoint."""

    needs_final_gradient = False

    def after_step(self) -> None:
        pass

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class PixelSource(Source):
    """DeepInversion's pixels: (B, C, H, W) from N(0, 1) in normalised space, clipped to [low, high]."""

    def __init__(self, shape: tuple[int, int, int], lr: float, pixel_range: tuple[torch.Tensor, torch.Tensor],
                 device: torch.device | str = "cpu") -> None:
        self.shape, self.lr, self.device = shape, lr, device
        self.low, self.high = (t.to(device).view(1, -1, 1, 1) for t in pixel_range)
        self.pixels: torch.Tensor | None = None

    def begin(self, batch_size: int) -> list[dict]:
        self.pixels = torch.randn(batch_size, *self.shape, device=self.device).requires_grad_(True)
        return [{"params": [self.pixels], "lr": self.lr}]

    def render(self) -> torch.Tensor:
        return self.pixels

    @torch.no_grad()
    def after_step(self) -> None:
        self.pixels.copy_(torch.maximum(torch.minimum(self.pixels, self.high), self.low))

    def finish(self, final_loss: torch.Tensor) -> None:
        self.pixels = None


class _LatentGenerator(Source):
    """A generator plus a per-batch learnable latent (shared by CMI's and FastDFKD's sources)."""

    def __init__(self, generator: Generator, lr_g: float, lr_z: float) -> None:
        self.generator, self.lr_g, self.lr_z = generator, lr_g, lr_z
        self.device = next(generator.parameters()).device
        self.active: Generator | None = None
        self.z: torch.Tensor | None = None

    def _start(self, generator: Generator, batch_size: int) -> list[dict]:
        self.active = generator.train()
        self.z = torch.randn(batch_size, generator.nz, device=self.device).requires_grad_(True)
        return [{"params": list(generator.parameters()), "lr": self.lr_g}, {"params": [self.z], "lr": self.lr_z}]

    def render(self) -> torch.Tensor:
        return self.active(self.z)


class FreshGeneratorSource(_LatentGenerator):
    """CMI: the generator is re-initialised (``Generator.reset_parameters``) for every batch."""

    def begin(self, batch_size: int) -> list[dict]:
        self.generator.reset_parameters()
        return self._start(self.generator, batch_size)

    def finish(self, final_loss: torch.Tensor) -> None:
        self.z = None


class MetaGeneratorSource(_LatentGenerator):
    """FastDFKD: copy the meta-generator per batch, adapt, then one first-order meta-step."""

    def __init__(self, generator: Generator, lr_g: float, lr_z: float, inner_steps: int, rule: str = "fomaml",
                 reptile_scale: float = 1.0, betas: tuple[float, float] = (0.5, 0.999)) -> None:
        if rule not in META_RULES:
            raise UserError(f"meta rule must be one of {META_RULES}, got {rule!r}")
        super().__init__(generator, lr_g, lr_z)
        self.rule, self.reptile_scale = rule, reptile_scale
        self.needs_final_gradient = rule == "fomaml"
        self.meta_optimizer = torch.optim.Adam(generator.parameters(), lr=lr_g * inner_steps, betas=betas)

    def begin(self, batch_size: int) -> list[dict]:
        return self._start(copy.deepcopy(self.generator), batch_size)

    def meta_gradient(self, final_loss: torch.Tensor) -> list[torch.Tensor]:
        """The first-order meta-gradient for each meta-parameter (see the module docstring)."""
        fast = list(self.active.parameters())
        if self.rule == "fomaml":
            return list(torch.autograd.grad(final_loss, fast, allow_unused=True, retain_graph=False))
        return [self.reptile_scale * (meta.detach() - adapted.detach())
                for meta, adapted in zip(self.generator.parameters(), fast, strict=True)]

    def finish(self, final_loss: torch.Tensor) -> None:
        grads = self.meta_gradient(final_loss)
        for param, grad in zip(self.generator.parameters(), grads, strict=True):
            param.grad = None if grad is None else grad.detach()
        self.meta_optimizer.step()
        self.meta_optimizer.zero_grad(set_to_none=True)
        self.active, self.z = None, None

    def state_dict(self) -> dict:
        return {"generator": self.generator.state_dict(), "meta_optimizer": self.meta_optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.load_state_dict(state["generator"])
        self.meta_optimizer.load_state_dict(state["meta_optimizer"])

