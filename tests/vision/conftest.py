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


@pytest.fixture(scope="session")
def mnist_teacher(mnist, tmp_path_factory):
    """LeNet-5 trained for two epochs on 20,000 MNIST images (about 15 s); saved to a file."""
    train, test = mnist
    subset = type(train)(train.name, train.images[:20000], train.labels[:20000], 10, train.mean, train.std)
    torch.manual_seed(0)
    teacher = build_model("lenet5", 1, 10)
    history = train_classifier(teacher, subset, TrainConfig(epochs=2, batch_size=64, lr=2e-3), seed=0, test=test)
    path = tmp_path_factory.mktemp("teacher") / "lenet5.pt"
    save_model(path, teacher)
    return path, history["test"][-1]
