"""The evaluation protocol of image dataset distillation: fresh networks trained on the synthetic set.

As DC / DSA / DM / MTT evaluate (REFERENCE 5.0): a freshly initialised network (ConvNet-3 by
default) is trained on the synthetic images with SGD (momentum 0.9, weight decay 5e-4), lr 0.01 —
or the set's learned step size for MTT/TESLA — multiplied by 0.1 at half the epochs, batches of
256, cross-entropy; augmentation each batch (``"dsa"``: DSA with independent per-image parameters,
as DSA, DM and MTT evaluate — one operation for the whole batch as their code picks it, or with
``dsa_op="image"`` one per image; ``"dc"``: DC's MNIST recipe of one random crop / scale / rotate
per image; ``"none"``); then the test accuracy of the **last** epoch (no selection on test).
At the decay a fresh SGD starts (momentum reset), as in the reference code. Runs are
seeded from (seed, run) alone through the core harness, so a resumed evaluation gives the
numbers an uninterrupted one would. Every choice is in :class:`EvalProtocol` and goes into
``metrics.json`` with the numbers.

One deviation, stated: the reference code trains ``epochs + 1`` epochs (its loop runs over
``range(epochs + 1)``) and decays at ``epochs // 2 + 1``; we train exactly ``epochs`` and decay
after ``epochs // 2``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from graphdistill.core.errors import UserError
from graphdistill.core.evaluate import RunScore, Summary, repeat_runs
from graphdistill.core.seed import derive_seed, seed_everything
from vision.augment import DIGITS_STRATEGY, DSA, DSASettings
from vision.convnet import INFERENCE_BATCH, fast_inference, winograd_forward
from vision.data import ImageSet
from vision.models import build_model

AUGMENTATIONS = ("dsa", "dc", "none")
DIGIT_DATASETS = ("mnist", "svhn")
# DC's MNIST evaluation augmentation (its code's get_daparam: strategy crop_scale_rotate; the noise it
# also configures is not in that strategy): one of crop (4 px), scale (±20 %), rotate (±45°) per image.
DC_AUGMENT = DSA("crop_scale_rotate", DSASettings(crop_pad=4 / 28, scale=1.2, rotate=45.0))


def dsa_strategy_for(dataset: str, strategy: str = "auto") -> str:
    """``"auto"``: the DSA paper's full strategy, without flips for digit datasets."""
    if strategy != "auto":
        return strategy
    return DIGITS_STRATEGY if dataset in DIGIT_DATASETS else "color_crop_cutout_flip_scale_rotate"


@dataclass(frozen=True)
class EvalProtocol:
    """How a synthetic set is evaluated (defaults: DM / MTT's 1000 epochs with DSA)."""

    model: str = "convnet"
    epochs: int = 1000
    lr: float = 0.01
    use_learned_lr: bool = True  # MTT / TESLA sets carry a learned step size
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch: int = 256
    augment: str = "dsa"
    dsa_strategy: str = "auto"
    dsa_op: str = "batch"  # DSA operation chosen once per batch (the reference code's mode "S") or per image
    runs: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.augment not in AUGMENTATIONS:
            raise UserError(f"evaluation augmentation must be one of {AUGMENTATIONS}, got {self.augment!r}")
        if self.dsa_op not in ("batch", "image"):
            raise UserError(f"dsa_op must be 'batch' or 'image', got {self.dsa_op!r}")
        if self.epochs < 1 or self.runs < 1 or self.batch < 1:
            raise UserError(f"epochs, runs and batch must be ≥ 1, got {self.epochs} / {self.runs} / {self.batch}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise UserError(f"evaluation lr must be a positive number, got {self.lr!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def _augmenter(protocol: EvalProtocol, dataset: str) -> DSA | None:
    if protocol.augment == "dsa":
        return DSA(dsa_strategy_for(dataset, protocol.dsa_strategy), op_per_call=protocol.dsa_op == "batch")
    return DC_AUGMENT if protocol.augment == "dc" else None


def train_on_set(train: ImageSet, test: ImageSet, protocol: EvalProtocol, seed: int, lr: float | None = None,
                 device: torch.device | str = "cpu") -> RunScore:
    """One fresh network trained on ``train`` by the protocol; returns its last-epoch test accuracy.

    Seeds the global generators with ``seed`` (the network's initialisation draws from them); batch
    order and augmentation draw from a generator of a derived seed, so they never replay the weights."""
    seed_everything(seed)
    generator = torch.Generator(device=device).manual_seed(derive_seed(seed, "order-and-augmentation"))
    net = build_model(protocol.model, in_channels=train.shape[0], num_classes=train.num_classes,
                      image_size=train.shape[-1]).to(device)
    lr = protocol.lr if lr is None else lr

    def sgd(rate: float) -> torch.optim.Optimizer:
        return torch.optim.SGD(net.parameters(), lr=rate, momentum=protocol.momentum,
                               weight_decay=protocol.weight_decay)

    optimizer = sgd(lr)
    augment = _augmenter(protocol, test.name)
    images, labels = train.images.to(device), train.labels.to(device)
    losses = []
    net.train()
    for epoch in range(protocol.epochs):
        if epoch == protocol.epochs // 2 and epoch > 0:
            optimizer = sgd(lr * 0.1)  # a fresh SGD (momentum restarts), as the reference code does
        order = torch.randperm(len(labels), generator=generator, device=device)
        total = images.new_zeros(())
        for start in range(0, len(labels), protocol.batch):
            index = order[start:start + protocol.batch]
            x, y = images[index], labels[index]
            if augment is not None:
                x = augment(x, generator)
            with winograd_forward(len(x)):
                loss = F.cross_entropy(net(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total = total + loss.detach()
        losses.append(total)
    accuracy = test_accuracy(net, test, device)
    return RunScore(seed=seed, val=math.nan, test=accuracy, best_epoch=protocol.epochs - 1, seconds=0.0,
                    curves={"loss": torch.stack(losses).tolist()})


@torch.no_grad()
def test_accuracy(net: torch.nn.Module, test: ImageSet, device: torch.device | str = "cpu",
                  batch: int = INFERENCE_BATCH) -> float:
    net.eval()
    correct = torch.zeros((), dtype=torch.long, device=device)
    with fast_inference():
        for x, y in test.batches(batch):
            correct += (net(x.to(device)).argmax(1) == y.to(device)).sum()
    net.train()
    return int(correct) / len(test)


def evaluate_set(train: ImageSet, test: ImageSet, protocol: EvalProtocol, lr: float | None = None,
                 device: torch.device | str = "cpu", done: list[RunScore] = (), on_run_done=None,
                 log=None) -> Summary:
    """``protocol.runs`` fresh networks on ``train`` (resuming after ``done``); test mean ± std."""
    if train.shape != test.shape:
        raise UserError(f"synthetic images {train.shape} and test images {test.shape} differ in shape")

    def once(run_seed: int) -> RunScore:
        score = train_on_set(train, test, protocol, run_seed, lr, device)
        if log is not None:
            log(f"  {protocol.model} run: {100 * score.test:.2f} %")
        return score

    return repeat_runs(once, protocol.runs, protocol.seed, done=done, on_run_done=on_run_done)
