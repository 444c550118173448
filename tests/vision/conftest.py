"""A small trained MNIST teacher shared by the vision tests that need real behaviour."""

import pytest
import torch

from vision.data import load_images
from vision.models import build_model
from vision.train import TrainConfig, train_classifier
from vision.weights import save_model


@pytest.fixture(scope="session")
def mnist(data_root):
    train = load_images("mnist", "train", size=32, root=data_root)
    test = load_images("mnist", "test", size=32, root=data_root)
    return train, test


def small_teacher(mnist, tmp_path_factory, arch: str):
    """``arch`` trained for two epochs on 20,000 MNIST images (about 15 s); saved to a file."""
    train, test = mnist
    subset = type(train)(train.name, train.images[:20000], train.labels[:20000], 10, train.mean, train.std)
    torch.manual_seed(0)
    teacher = build_model(arch, 1, 10)
    history = train_classifier(teacher, subset, TrainConfig(epochs=2, batch_size=64, lr=2e-3), seed=0, test=test)
    path = tmp_path_factory.mktemp("teacher") / f"{arch}.pt"
    save_model(path, teacher)
    return path, history["test"][-1]


@pytest.fixture(scope="session")
def mnist_teacher(mnist, tmp_path_factory):
    return small_teacher(mnist, tmp_path_factory, "lenet5")


@pytest.fixture(scope="session")
def mnist_bn_teacher(mnist, tmp_path_factory):
    """LeNet-5 with BatchNorm (the inversion methods' teacher), trained like ``mnist_teacher``."""
    return small_teacher(mnist, tmp_path_factory, "lenet5-bn")
