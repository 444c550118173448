"""Image readers on generated files in each standard format, and MNIST from the shared data."""

import gzip
import os
import pickle

import numpy as np
import pytest
import torch

from graphdistill.core import datasets as core_datasets
from graphdistill.core.errors import UserError
from vision.data import NORMALISATION, load_images, read_cifar, read_idx, read_svhn, to_image_set

HAVE_MNIST = os.path.isfile(os.path.join(os.environ.get("GRAPHDISTILL_DATA", "/nonexistent"),
                                         "mnist/MNIST/raw/t10k-images-idx3-ubyte.gz"))


def write_idx(path, array, compress):
    codes = {np.uint8: 0x08, np.int32: 0x0C}
    header = bytes([0, 0, codes[array.dtype.type], array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    body = array.astype(array.dtype.newbyteorder(">")).tobytes()
    payload = header + body
    path.write_bytes(gzip.compress(payload) if compress else payload)


@pytest.mark.parametrize("compress", [True, False])
def test_idx_round_trip(tmp_path, compress):
    images = np.random.default_rng(0).integers(0, 256, size=(3, 4, 5), dtype=np.uint8)
    path = tmp_path / ("x.idx.gz" if compress else "x.idx")
    write_idx(path, images, compress)
    assert np.array_equal(read_idx(path), images)
    ints = np.arange(6, dtype=np.int32).reshape(2, 3)
    write_idx(tmp_path / "i.idx", ints, False)
    assert np.array_equal(read_idx(tmp_path / "i.idx"), ints)


def test_idx_rejects_corrupt_files(tmp_path):
    images = np.zeros((3, 4, 5), dtype=np.uint8)
    write_idx(tmp_path / "x.idx", images, False)
    (tmp_path / "short.idx").write_bytes((tmp_path / "x.idx").read_bytes()[:-7])
    with pytest.raises(UserError, match="truncated"):
        read_idx(tmp_path / "short.idx")
    (tmp_path / "bad.idx").write_bytes(b"\x01\x02\x03\x04junk")
    with pytest.raises(UserError, match="magic"):
        read_idx(tmp_path / "bad.idx")
    (tmp_path / "bad.gz").write_bytes(b"not gzip")
    with pytest.raises(UserError, match="IDX"):
        read_idx(tmp_path / "bad.gz")


def test_cifar_pickles_and_refusal_of_code(tmp_path):
    data = np.random.default_rng(1).integers(0, 256, size=(4, 3072), dtype=np.uint8)
    with open(tmp_path / "data_batch_1", "wb") as handle:
        pickle.dump({"data": data, "labels": [3, 1, 4, 1]}, handle)
    x, y = read_cifar(tmp_path / "data_batch_1")
    assert x.shape == (4, 3, 32, 32) and y.tolist() == [3, 1, 4, 1]
    assert np.array_equal(x[2, 1].numpy().ravel(), data[2, 1024:2048])  # channel-major rows
    with open(tmp_path / "train", "wb") as handle:  # CIFAR-100 layout
        pickle.dump({"data": data, "fine_labels": [0, 99, 5, 7], "coarse_labels": [0, 1, 2, 3]}, handle)
    assert read_cifar(tmp_path / "train")[1].tolist() == [0, 99, 5, 7]

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo owned",))

    with open(tmp_path / "evil", "wb") as handle:
        pickle.dump({"data": data, "labels": Evil()}, handle)
    with pytest.raises(UserError, match="refusing"):
        read_cifar(tmp_path / "evil")


def test_svhn_mat(tmp_path):
    from scipy.io import savemat

    x = np.random.default_rng(2).integers(0, 256, size=(32, 32, 3, 5), dtype=np.uint8)
    savemat(tmp_path / "test_32x32.mat", {"X": x, "y": np.array([[10], [1], [2], [10], [9]])})
    images, labels = read_svhn(tmp_path / "test_32x32.mat")
    assert images.shape == (5, 3, 32, 32) and labels.tolist() == [0, 1, 2, 0, 9]
    assert np.array_equal(images[1, 2].numpy(), x[:, :, 2, 1])


def test_normalisation_and_resize():
    images = torch.full((2, 1, 28, 28), 255, dtype=torch.uint8)
    data = to_image_set("mnist", images, torch.tensor([0, 1]), 10, size=32)
    mean, std = NORMALISATION["mnist"]
    assert data.images.shape == (2, 1, 32, 32)
    assert torch.allclose(data.images, torch.full_like(data.images, (1 - mean[0]) / std[0]))
    assert torch.allclose(data.denormalise(data.images), torch.ones_like(data.images))
    with pytest.raises(UserError, match="channel"):
        to_image_set("cifar10", images, torch.tensor([0, 1]), 10)


@pytest.mark.skipif(not HAVE_MNIST, reason="needs ../shared/data/mnist")
def test_mnist_test_split_from_shared_data():
    test = load_images("mnist", "test", size=32)
    assert len(test) == 10000 and test.shape == (1, 32, 32) and test.num_classes == 10
    assert torch.bincount(test.labels).tolist()[:3] == [980, 1135, 1032]
    assert abs(test.images.mean().item()) < 0.1 and 0.9 < test.images.std().item() < 1.1
    with pytest.raises(UserError, match="split"):
        load_images("mnist", "validation")
    with pytest.raises(UserError, match="unknown dataset"):
        load_images("mnits")


def test_cifar_and_svhn_load_by_name_from_their_layouts(tmp_path, monkeypatch):
    from scipy.io import savemat

    monkeypatch.delenv(core_datasets.ENV_DATA, raising=False)
    monkeypatch.setenv(core_datasets.ENV_OFFLINE, "1")
    with pytest.raises(UserError, match="cifar-10-batches-py/data_batch_1"):
        load_images("cifar10", "train", root=tmp_path)
    rng = np.random.default_rng(3)
    (tmp_path / "cifar-10-batches-py").mkdir()
    for stem in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(tmp_path / "cifar-10-batches-py" / stem, "wb") as handle:
            pickle.dump({"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), "labels": [0, 9, 2, 3]}, handle)
    train = load_images("cifar10", "train", root=tmp_path)
    assert train.images.shape == (20, 3, 32, 32) and train.num_classes == 10
    assert abs(float(train.images.mean())) < 2  # normalised with CIFAR-10's constants
    (tmp_path / "cifar-100-python").mkdir()
    for stem in ("train", "test"):
        with open(tmp_path / "cifar-100-python" / stem, "wb") as handle:
            pickle.dump({"data": rng.integers(0, 256, (3, 3072), dtype=np.uint8), "fine_labels": [0, 99, 5]}, handle)
    assert load_images("cifar100", "test", root=tmp_path).num_classes == 100
    (tmp_path / "svhn").mkdir()
    for stem in ("train", "test"):
        savemat(tmp_path / "svhn" / f"{stem}_32x32.mat",
                {"X": rng.integers(0, 256, (32, 32, 3, 2), dtype=np.uint8), "y": np.array([[10], [4]])})
    svhn = load_images("svhn", "test", root=tmp_path)
    assert svhn.labels.tolist() == [0, 4] and svhn.images.shape == (2, 3, 32, 32)
