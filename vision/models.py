"""Classifiers for teachers and students, written here (no torchvision), in a registry.

* ``lenet5`` / ``lenet5-half`` — LeNet-5 (LeCun et al., 1998) on 32×32 inputs as the data-free KD
  papers use it (DAFL, Chen et al., ICCV 2019; DFAD, Fang et al., 2019): conv 5×5 (6, 16, 120
  channels) with ReLU and 2×2 max pooling, then fully connected 120 → 84 → classes; the "half"
  student has half the channels and units (3, 8, 60, 42). ``lenet5-bn`` / ``lenet5-half-bn`` put a
  BatchNorm after each convolution (conv-BN-ReLU-pool): the inversion-based data-free methods
  (DeepInversion, CMI, FastDFKD, DFQ) need a teacher's BatchNorm running statistics.
* ``resnet18`` / ``resnet34`` — ResNets (He et al., CVPR 2016) for 32×32 inputs: a 3×3 stem without
  max pooling, four stages of basic blocks (64–512 channels), as in the CIFAR KD benchmarks.
* ``resnet18-in`` — ResNet-18 with instance norm (GroupNorm per channel), for distilled images.
* ``convnet``, ``convnet-bn``, ``mlp``, ``alexnet`` — the dataset-distillation networks of
  :mod:`vision.convnet` (ConvNet-3 and its variants).
* ``wrn-16-1``, ``wrn-16-2``, ``wrn-40-1``, ``wrn-40-2`` — wide ResNets (Zagoruyko & Komodakis,
  BMVC 2016), pre-activation blocks, widths 16k/32k/64k.

Every model maps ``(B, C, H, W)`` images to ``(B, classes)`` logits and stores its constructor
arguments in ``model.spec`` so that a checkpoint can be rebuilt. Intermediate features are read with
:class:`vision.kd.hooks.FeatureHooks` through module names (e.g. ``"features.conv3"`` or
``"layer3"``), never through a changed ``forward``; ``penultimate_layer`` and ``stage_layers``
name the usual ones.

Example::

    teacher = build_model("lenet5", in_channels=1, num_classes=10)
    logits = teacher(torch.randn(8, 1, 32, 32))          # (8, 10)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from graphdistill.core.errors import UserError
from graphdistill.core.registry import Registry

MODELS: Registry[Callable[..., nn.Module]] = Registry("image model")


def build_model(name: str, in_channels: int, num_classes: int, **kwargs) -> nn.Module:
    """Instantiate a registered model and record how (``model.spec``) for checkpoints."""
    factory = MODELS.get(name)
    model = factory(in_channels=in_channels, num_classes=num_classes, **kwargs)
    model.spec = {"name": name.lower(), "in_channels": in_channels, "num_classes": num_classes, **kwargs}
    return model


def penultimate_layer(model: nn.Module) -> str | None:
    """Module name of the features before the classifier (DAFL's activation term), if known."""
    return getattr(model, "penultimate", None)


def stage_layers(model: nn.Module) -> tuple[str, ...]:
    """Module names of the spatial stages (attention transfer pairs them in order)."""
    return tuple(getattr(model, "stages", ()))


class LeNet5(nn.Module):
    """LeNet-5 for 32×32 inputs; ``width`` scales every layer (0.5 gives LeNet-5-half);
    ``batch_norm`` inserts ``bn1``–``bn3`` between each convolution and its ReLU.

    The 120-d output of ``features`` (after ``conv3`` and ReLU) is the "penultimate" feature DAFL's
    activation loss reads; ``classifier`` holds fc 120→84→classes.
    """

    input_size = 32
    penultimate = "features"
    stages = ("features.relu1", "features.relu2")

    def __init__(self, in_channels: int = 1, num_classes: int = 10, width: float = 1.0,
                 batch_norm: bool = False) -> None:
        super().__init__()
        c1, c2, c3, f1 = (max(1, round(c * width)) for c in (6, 16, 120, 84))
        self.features = nn.Sequential()
        for i, (cin, cout) in enumerate(((in_channels, c1), (c1, c2), (c2, c3)), start=1):
            self.features.add_module(f"conv{i}", nn.Conv2d(cin, cout, 5))
            if batch_norm:
                self.features.add_module(f"bn{i}", nn.BatchNorm2d(cout))
            self.features.add_module(f"relu{i}", nn.ReLU())
            if i < 3:
                self.features.add_module(f"pool{i}", nn.MaxPool2d(2))
        self.features.add_module("flatten", nn.Flatten())
        self.classifier = nn.Sequential()
        self.classifier.add_module("fc1", nn.Linear(c3, f1))
        self.classifier.add_module("relu4", nn.ReLU())
        self.classifier.add_module("fc2", nn.Linear(f1, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (32, 32):
            raise UserError(f"LeNet-5 takes 32×32 inputs, got {tuple(x.shape[-2:])}; load MNIST with size=32")
        return self.classifier(self.features(x))


@MODELS.register("lenet5")
def lenet5(in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    return LeNet5(in_channels, num_classes, width=1.0)


@MODELS.register("lenet5-half")
def lenet5_half(in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    return LeNet5(in_channels, num_classes, width=0.5)


@MODELS.register("lenet5-bn")
def lenet5_bn(in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    return LeNet5(in_channels, num_classes, width=1.0, batch_norm=True)


@MODELS.register("lenet5-half-bn")
def lenet5_half_bn(in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    return LeNet5(in_channels, num_classes, width=0.5, batch_norm=True)


class BasicBlock(nn.Module):
    """Two 3×3 conv-BN layers with an identity (or 1×1 projection) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int, norm: Callable[[int], nn.Module] = nn.BatchNorm2d) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = norm(cout)
        self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), norm(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet(nn.Module):
    """ResNet for 32×32 images (CIFAR stem: 3×3 conv, no max pooling); stages ``layer1``–``layer4``.

    ``norm`` builds each normalisation layer from a channel count: BatchNorm by default,
    ``instance_norm`` for the ResNet-18-IN of dataset-distillation cross-architecture tables."""

    penultimate = "pool"
    stages = ("layer1", "layer2", "layer3", "layer4")

    def __init__(self, blocks: tuple[int, ...], in_channels: int, num_classes: int,
                 norm: Callable[[int], nn.Module] = nn.BatchNorm2d) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False), norm(64), nn.ReLU())
        cin = 64
        for i, (count, cout) in enumerate(zip(blocks, (64, 128, 256, 512), strict=True)):
            stride = 1 if i == 0 else 2
            layers = [BasicBlock(cin if j == 0 else cout, cout, stride if j == 0 else 1, norm) for j in range(count)]
            self.add_module(f"layer{i + 1}", nn.Sequential(*layers))
            cin = cout
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
        return torch.flatten(self.pool(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embed(x))


def instance_norm(channels: int) -> nn.Module:
    """The field's "instancenorm": GroupNorm with one group per channel, affine."""
    return nn.GroupNorm(channels, channels, affine=True)


@MODELS.register("resnet18")
def resnet18(in_channels: int = 3, num_classes: int = 10, image_size: int | None = None) -> nn.Module:
    # image_size is accepted for a uniform factory signature: global pooling takes any size.
    return ResNet((2, 2, 2, 2), in_channels, num_classes)


@MODELS.register("resnet18-in")
def resnet18_in(in_channels: int = 3, num_classes: int = 10, image_size: int | None = None) -> nn.Module:
    return ResNet((2, 2, 2, 2), in_channels, num_classes, norm=instance_norm)


@MODELS.register("resnet34")
def resnet34(in_channels: int = 3, num_classes: int = 10) -> nn.Module:
    return ResNet((3, 4, 6, 3), in_channels, num_classes)


class WideBlock(nn.Module):
    """Pre-activation wide-ResNet block: BN-ReLU-conv ×2, 1×1 projection when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.project = None if stride == 1 and cin == cout else nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = torch.relu(self.bn1(x))
        out = self.conv2(torch.relu(self.bn2(self.conv1(pre))))
        return out + (x if self.project is None else self.project(pre))


class WideResNet(nn.Module):
    """WRN-depth-k: (depth − 4) / 6 blocks per stage, widths 16k, 32k, 64k (stages ``block1``–``block3``)."""

    penultimate = "pool"
    stages = ("block1", "block2", "block3")

    def __init__(self, depth: int, widen: int, in_channels: int, num_classes: int) -> None:
        super().__init__()
        if (depth - 4) % 6:
            raise UserError(f"wide-ResNet depth must be 6n + 4, got {depth}")
        n = (depth - 4) // 6
        widths = (16 * widen, 32 * widen, 64 * widen)
        self.conv = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        cin = 16
        for i, cout in enumerate(widths):
            stride = 1 if i == 0 else 2
            layers = [WideBlock(cin if j == 0 else cout, cout, stride if j == 0 else 1) for j in range(n)]
            self.add_module(f"block{i + 1}", nn.Sequential(*layers))
            cin = cout
        self.bn = nn.BatchNorm2d(cin)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block3(self.block2(self.block1(self.conv(x))))
        x = torch.relu(self.bn(x))
        return self.fc(torch.flatten(self.pool(x), 1))


def _register_wrn(depth: int, widen: int) -> None:
    @MODELS.register(f"wrn-{depth}-{widen}")
    def factory(in_channels: int = 3, num_classes: int = 10) -> nn.Module:
        return WideResNet(depth, widen, in_channels, num_classes)


for _depth, _widen in ((16, 1), (16, 2), (40, 1), (40, 2)):
    _register_wrn(_depth, _widen)


from vision import convnet as _convnet  # noqa: E402,F401  (registers the dataset-distillation networks)
