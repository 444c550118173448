"""The networks of image dataset distillation: ConvNet-3 and its variants, MLP and AlexNet-style.

* ``convnet`` — the ConvNet of DC / DSA / DM / MTT (Zhao et al., ICLR 2021, after Gidaris &
  Komodakis, 2018): ``depth`` × [3×3 conv (``width`` channels) → norm → ReLU → 2×2 pooling] →
  flatten → linear. Norm ``"instance"`` is ``GroupNorm(C, C)`` (one group per channel, affine), as
  the field's "instancenorm" is; ``"batch"``, ``"layer"``, ``"group"`` (4 groups) and ``"none"`` are
  the variants of its ablations. One-channel 28×28 inputs get padding 3 in the first convolution,
  so MNIST enters as 32×32 and every depth-3 ConvNet has 128·4·4 = 2048 features. ``convnet-bn``
  is the BatchNorm variant used for cross-architecture studies.
* ``mlp`` — 3-layer perceptron (128 hidden units, ReLU), the weakest cross-architecture learner.
* ``alexnet`` — the small AlexNet of the DC code: five convolutions (128-192-256-192-192 channels)
  with ReLU and 2×2 max pooling after the first, second and last.

All of them expose ``embed(x)`` — the flattened features before the classifier, the embedding
distribution matching (DM) compares — and ``forward(x) = classifier(embed(x))``.

Example::

    net = build_model("convnet", in_channels=1, num_classes=10, image_size=28)
    net.embed(torch.randn(8, 1, 28, 28)).shape      # (8, 2048)
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from graphdistill.core.errors import UserError
from vision.models import MODELS


class _AvgPool2x2(torch.autograd.Function):
    """2×2 average pooling (stride 2) of even-sized maps as two strided half-sums.

    Same numbers as ``F.avg_pool2d(x, 2)``, about 4× faster forward and 2× faster backward on CPU
    (ATen's pooling kernels are generic loops; ConvNet-3 spends a fifth of a forward pass in them).
    The backward is written in differentiable tensor ops, so higher-order gradients (MTT's unrolled
    training) flow through it, and it composes with ``torch.func.vmap``."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor) -> torch.Tensor:
        *lead, h, w = x.shape
        rows = x.reshape(*lead, h // 2, 2 * w)  # each row holds input rows 2i and 2i + 1 side by side
        rows = rows[..., :w] + rows[..., w:]
        pairs = rows.reshape(*lead, h // 2, w // 2, 2)
        return (pairs[..., 0] + pairs[..., 1]).mul_(0.25)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        pass

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        *lead, h, w = grad.shape
        spread = (grad * 0.25).reshape(*lead, h, 1, w, 1).expand(*lead, h, 2, w, 2)
        return spread.reshape(*lead, 2 * h, 2 * w)


class AvgPool2x2(nn.Module):
    """``nn.AvgPool2d(2)`` with the fast path of :class:`_AvgPool2x2` for even-sized maps."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 2 or x.shape[-2] % 2:
            return nn.functional.avg_pool2d(x, 2)
        return _AvgPool2x2.apply(x)


NNPACK_MIN_BATCH = 16  # PyTorch sends smaller batches to its slow reference convolution instead


def winograd_forward(batch: int) -> contextlib.AbstractContextManager:
    """Run the forward convolutions inside on NNPACK (Winograd) rather than oneDNN, on CPU.

    On this project's AVX2 CPU, NNPACK's forward is ~1.4× faster than oneDNN's on ConvNet-3's
    128-channel 3×3 layers, while oneDNN's backward is the faster one. The backend is chosen when
    each convolution runs, so a training step whose forward runs inside this context and whose
    ``backward()`` runs outside gets both: 256 MNIST images forward-and-backward in 3.0 s instead of
    4.2 s on one thread; gradients agree to float rounding (≈1e-4 absolute). Batches smaller than
    NNPACK's minimum, or builds without NNPACK, keep oneDNN. CUDA convolutions are not affected.
    ConvNet's "same" convolutions (:class:`Conv2d`) go further by themselves: their input gradient
    runs on NNPACK too.
    """
    if batch >= NNPACK_MIN_BATCH and torch.backends.nnpack.is_available():
        return torch.backends.mkldnn.flags(enabled=False)
    return contextlib.nullcontext()


def _same_padding_conv(conv: nn.Conv2d) -> bool:
    """Stride 1, no dilation or groups, an odd square kernel and "same" zero padding: the
    convolutions whose input gradient is itself such a convolution (of the flipped weights)."""
    k = conv.kernel_size[0]
    return (conv.kernel_size == (k, k) and k % 2 == 1 and conv.padding == (k // 2, k // 2)
            and conv.stride == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
            and conv.padding_mode == "zeros")


class _WinogradConvolution(torch.autograd.Function):
    """A "same" convolution whose forward pass *and input gradient* run on NNPACK (Winograd) and
    whose weight gradient runs on oneDNN — the fastest CPU backend for each of the three products.

    The input gradient of a stride-1 "same" convolution is the "same" convolution of the output
    gradient with the flipped, transposed weights, so NNPACK's forward kernel computes it (≈ 2×
    faster than oneDNN's backward-data on ConvNet-3's 128-channel layers here). The backward is
    written in differentiable operations, so higher-order gradients (DC's synthetic side, MTT's
    unrolled training) flow through it."""

    @staticmethod
    def forward(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        with torch.backends.mkldnn.flags(enabled=False):
            return F.conv2d(x, weight, bias, padding=weight.shape[-1] // 2)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        x, weight, bias = inputs
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        pad = weight.shape[-1] // 2
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            with torch.backends.mkldnn.flags(enabled=False):
                grad_x = F.conv2d(grad, weight.transpose(0, 1).flip(2, 3), padding=pad)
        want_weight = ctx.needs_input_grad[1]
        want_bias = ctx.has_bias and ctx.needs_input_grad[2]
        if want_weight or want_bias:
            with torch.backends.mkldnn.flags(enabled=True):  # even when backward() runs inside winograd_forward
                _, grad_weight, grad_bias = torch.ops.aten.convolution_backward(
                    grad, x, weight, [weight.shape[0]] if ctx.has_bias else None, [1, 1], [pad, pad], [1, 1],
                    False, [0, 0], 1, [False, want_weight, want_bias])
        return grad_x, grad_weight, grad_bias


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` (same parameters and state dict) that trains "same" convolutions on CPU through
    :class:`_WinogradConvolution`: a DC step on MNIST takes 6–11 % less time than with NNPACK's
    forward and oneDNN's whole backward (benchmarks/RESULTS.md). Anything else — CUDA, small batches,
    other geometries or dtypes, ``torch.func`` transforms, no gradient — is ``nn.Conv2d``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._winograd_applies(x):
            return _WinogradConvolution.apply(x, self.weight, self.bias)
        return super().forward(x)

    def _winograd_applies(self, x: torch.Tensor) -> bool:
        return (torch.is_grad_enabled() and x.device.type == "cpu" and x.dtype == torch.float32
                and x.dim() == 4 and x.shape[0] >= NNPACK_MIN_BATCH and _same_padding_conv(self)
                and torch.backends.nnpack.is_available() and not torch.is_autocast_enabled("cpu")
                and not torch._C._functorch.is_functorch_wrapped_tensor(x)
                and not torch._C._functorch.is_functorch_wrapped_tensor(self.weight))


INFERENCE_BATCH = 128
"""Images per float32 forward pass under :func:`fast_inference`. Small enough that a block's
activations stay near the caches (ConvNet-3's first layer holds 512 KiB per MNIST image): on the
2-core CPU of this project, 2,560 real images for a DM step embed in 3.6–4.1 s in chunks of 128
against 4.4–4.8 s in chunks of 512, and the 10,000-image test pass takes 13.2–13.5 s in batches of
128 against 17.7–18.5 s in batches of 1,000 (2 threads, nothing else running)."""

INFERENCE_BATCH_BF16 = 64
"""The same for bfloat16 passes, whose activations take half the bytes: 2,560 MNIST images through
ConvNet-3 in 1.09–1.20 s in chunks of 64, 1.14–1.23 s in chunks of 32, 1.69–1.82 s in chunks of 128
(AMD EPYC Zen 4, 2 threads)."""

PRECISIONS = ("float32", "bfloat16", "auto")


@cache
def cpu_has_native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AVX512-BF16 or AMX-BF16, read from
    ``/proc/cpuinfo``); without them oneDNN emulates bfloat16 and is slower than float32. False
    where ``/proc/cpuinfo`` cannot be read (non-Linux systems)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return re.search(r"\b(avx512_bf16|amx_bf16)\b", flags) is not None


def resolve_precision(precision: str, device: torch.device | str = "cpu") -> str:
    """``"float32"`` or ``"bfloat16"`` for ``precision``; ``"auto"`` is bfloat16 on a CPU with native
    bfloat16 arithmetic and float32 anywhere else (CUDA included: not measured there yet)."""
    if precision not in PRECISIONS:
        raise UserError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    if precision == "auto":
        native = torch.device(device).type == "cpu" and cpu_has_native_bfloat16()
        return "bfloat16" if native else "float32"
    return precision


def inference_batch(precision: str = "float32") -> int:
    return INFERENCE_BATCH_BF16 if precision == "bfloat16" else INFERENCE_BATCH


@contextlib.contextmanager
def real_forward(batch: int, precision: str = "float32", device_type: str = "cpu") -> Iterator[None]:
    """The forward passes of the *real* side of a matching step — the part that costs (thousands of
    real images against a few synthetic ones) and whose result is a target, not an optimised value.

    ``"float32"``: :func:`winograd_forward`. ``"bfloat16"``: autocast to bfloat16 on oneDNN, whose
    backward (taken after the context exits) then runs in bfloat16 too. On a CPU with native
    bfloat16 (AMD EPYC Zen 4, 2 threads) a whole MNIST DM IPC-1 step takes 1.15–1.25 s instead of
    1.88–2.14 s and a DC IPC-1 step 3.6–4.1 s instead of 6.4–7.2 s. ConvNet-3's parameter gradients
    on 256 real images then differ from float32 by 0.3–11 % (relative norm; cosine ≥ 0.993 per
    tensor); the accuracy of the distilled sets is unchanged within its run-to-run spread
    (benchmarks/RESULTS.md).
    """
    if precision == "bfloat16":
        with torch.backends.mkldnn.flags(enabled=True), torch.autocast(device_type, dtype=torch.bfloat16):
            yield
    else:
        with winograd_forward(batch):
            yield


@contextlib.contextmanager
def fast_inference(precision: str = "float32", device_type: str = "cpu") -> Iterator[None]:
    """Forward passes without gradients on the fastest path: for float32, NNPACK's Winograd (see
    :func:`winograd_forward`; 0.48 vs 0.68 s for 256 MNIST images through ConvNet-3 on an AVX2
    CPU); for bfloat16, :func:`real_forward`'s autocast. Used, in batches of
    :func:`inference_batch`, for the real embeddings of distribution matching and (float32) for
    test accuracy."""
    with torch.no_grad():
        if precision == "bfloat16":
            with real_forward(0, precision, device_type):
                yield
        else:
            with torch.backends.mkldnn.flags(enabled=False):
                yield


def _activation(kind: str) -> nn.Module:
    # In place, as the reference ConvNet: no extra activation tensor (safe after norm or conv).
    return {"relu": lambda: nn.ReLU(inplace=True), "leakyrelu": lambda: nn.LeakyReLU(0.01),
            "sigmoid": nn.Sigmoid}[kind]()


NORMS = ("instance", "batch", "layer", "group", "none")
POOLINGS = ("avg", "max", "none")


def _norm(kind: str, channels: int, size: int) -> nn.Module:
    if kind == "instance":
        return nn.GroupNorm(channels, channels, affine=True)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.LayerNorm([channels, size, size])
    if kind == "group":
        return nn.GroupNorm(4, channels, affine=True)
    return nn.Identity()


class FeatureClassifier(nn.Module):
    """``features`` (→ the embedding) then a linear ``classifier``: the shape of every network here."""

    penultimate = "features"
    features: nn.Module
    classifier: nn.Module

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class ConvNet(FeatureClassifier):
    """ConvNet-``depth`` of width ``width`` (default ConvNet-3, 128 channels, instance norm, avg pooling)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28, width: int = 128,
                 depth: int = 3, norm: str = "instance", pooling: str = "avg", activation: str = "relu") -> None:
        super().__init__()
        if norm not in NORMS or pooling not in POOLINGS:
            raise UserError(f"ConvNet norm must be one of {NORMS} and pooling one of {POOLINGS}; "
                            f"got {norm!r} / {pooling!r}")
        if activation not in ("relu", "leakyrelu", "sigmoid"):
            raise UserError(f"ConvNet activation must be relu, leakyrelu or sigmoid, got {activation!r}")
        if depth < 1 or width < 1:
            raise UserError(f"ConvNet needs depth ≥ 1 and width ≥ 1, got {depth} / {width}")
        one_channel_28 = in_channels == 1 and image_size == 28
        size = 32 if one_channel_28 else image_size
        self.image_size = image_size
        layers: list[nn.Module] = []
        cin = in_channels
        for d in range(depth):
            layers.append(Conv2d(cin, width, 3, padding=3 if (d == 0 and in_channels == 1) else 1))
            layers.append(_norm(norm, width, size))
            layers.append(_activation(activation))
            if pooling != "none":
                layers.append(AvgPool2x2() if pooling == "avg" else nn.MaxPool2d(2))
                size //= 2
            cin = width
        if size < 1:
            raise UserError(f"ConvNet depth {depth} pools a {image_size}×{image_size} image to nothing")
        layers.append(nn.Flatten())
        self.features = nn.Sequential(*layers)
        self.feature_dim = width * size * size
        self.classifier = nn.Linear(self.feature_dim, num_classes)


@MODELS.register("convnet")
def convnet(in_channels: int = 1, num_classes: int = 10, image_size: int = 28, **options) -> nn.Module:
    return ConvNet(in_channels, num_classes, image_size, **options)


@MODELS.register("convnet-bn")
def convnet_bn(in_channels: int = 1, num_classes: int = 10, image_size: int = 28, **options) -> nn.Module:
    return ConvNet(in_channels, num_classes, image_size, norm="batch", **options)


class MLP(FeatureClassifier):
    """Flatten → 128 → 128 → classes with ReLU (the DC code's MLP)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28, hidden: int = 128) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size * image_size, hidden),
                                      nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.classifier = nn.Linear(hidden, num_classes)


@MODELS.register("mlp")
def mlp(in_channels: int = 1, num_classes: int = 10, image_size: int = 28) -> nn.Module:
    return MLP(in_channels, num_classes, image_size)


class AlexNet(FeatureClassifier):
    """The small AlexNet of dataset-condensation cross-architecture tables (5 convolutions)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28) -> None:
        super().__init__()
        first_pad = 4 if in_channels == 1 and image_size == 28 else 2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 128, 5, padding=first_pad), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(128, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(192, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 192, 3, padding=1), nn.ReLU(),
            nn.Conv2d(192, 192, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten())
        size = (image_size + 2 * first_pad - 4) // 8
        self.classifier = nn.Linear(192 * size * size, num_classes)


@MODELS.register("alexnet")
def alexnet(in_channels: int = 1, num_classes: int = 10, image_size: int = 28) -> nn.Module:
    return AlexNet(in_channels, num_classes, image_size)
