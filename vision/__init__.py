"""Images: data-free knowledge distillation and the KD loss library (image dataset distillation —
DC, DSA, DM, MTT — is the next vision issue).

* :mod:`vision.data` — MNIST / Fashion-MNIST IDX, CIFAR pickles, SVHN ``.mat``; normalisation;
* :mod:`vision.models` — LeNet-5(-half), ResNet-18/34, WRN-16/40 for 32×32 inputs;
* :mod:`vision.kd` — KD, FitNets, AT, SP, RKD, PKT, CRD, L1; hooks; RCO;
* :mod:`vision.dfkd` — the synthesizer protocol, the data-free KD loop, DAFL / RDSKD / DFAD / ZSKT;
* :mod:`vision.train`, :mod:`vision.weights`, :mod:`vision.run` — teachers, checkpoints, run folders.

Example::

    from vision import dfkd_run
    metrics = dfkd_run("teacher.pt", "lenet5-half", "dafl")   # runs/mnist-dafl-lenet5-half-0/
"""

from vision.data import load_images
from vision.models import build_model
from vision.run import dfkd_run, kd_real_run, train_teacher
from vision.weights import load_model, save_model

__all__ = ["build_model", "dfkd_run", "kd_real_run", "load_images", "load_model", "save_model", "train_teacher"]
