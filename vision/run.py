"""Run folders for the vision KD commands: train a teacher, distil with real data, distil data-free.

``dfkd_run`` writes ``<out>/``: ``config.json`` (identity + resolved method), ``checkpoint.pt``
(resumable, removed at the end), ``student.pt`` (spec + weights), ``samples.png`` (a grid of
synthetic images), ``curves.png`` (test accuracy, and synthesis vs KD seconds, per epoch),
``metrics.json`` and ``report.md`` (and, when asked, ``pool.pt``: an inversion method's synthetic
images). Every check (teacher file, classes, input shape, method,
hyper-parameters, output folder) happens before the first training step.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import torch
from torch import nn

from graphdistill.core.checkpoint import Checkpoint
from graphdistill.core.device import resolve_device
from graphdistill.core.io import write_json, write_text
from graphdistill.core.plots import new_figure, plot_image_grid, save_figure
from graphdistill.core.rundir import peak_memory_mib, prepare_folder
from graphdistill.core.seed import derive_seed, seed_everything
from vision.data import ImageSet, load_images
from vision.dfkd.loop import DataFreeKD, KDHistory, KDLoopConfig
from vision.dfkd.methods import DFKD_METHODS
from vision.kd.objective import layer_pairs
from vision.models import build_model
from vision.train import DEFAULT_TRAINING, TrainConfig, accuracy, check_compatible, distill_on_data, train_classifier
from vision.weights import load_model, save_model

IMAGE_SIZE = 32


def file_digest(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def train_teacher(dataset: str, arch: str, out: str | os.PathLike, *, seed: int = 0,
                  config: TrainConfig = DEFAULT_TRAINING, data_root=None, device: str = "auto",
                  anchor_every: int | None = None) -> dict:
    """Train a classifier on the real training set and save it (plus RCO anchors if asked)."""
    dev = resolve_device(device)
    train = load_images(dataset, "train", size=IMAGE_SIZE, root=data_root)
    test = load_images(dataset, "test", size=IMAGE_SIZE, root=data_root)
    seed_everything(seed)  # before the model: its initialisation is part of what the seed fixes
    model = build_model(arch, in_channels=train.shape[0], num_classes=train.num_classes).to(dev)
    start = time.perf_counter()
    history = train_classifier(model, train, config, seed=seed, test=test, anchor_every=anchor_every)
    seconds = time.perf_counter() - start
    out = Path(out)
    save_model(out, model.cpu(), dataset=dataset, test_accuracy=history["test"][-1], seed=seed)
    for i, anchor in enumerate(history["anchors"]):
        save_model(out.with_name(f"{out.stem}.anchor{i}{out.suffix}"), anchor.cpu())
    return {"dataset": dataset, "arch": arch, "test_accuracy": history["test"][-1], "test_curve": history["test"],
            "seconds": seconds, "anchors": len(history["anchors"]), "path": str(out)}


def load_teacher(path: str | os.PathLike, test: ImageSet, device: torch.device, arch: str | None = None) -> nn.Module:
    """A teacher from a file of :func:`~vision.weights.save_model`, or from a bare state dict of
    ``arch`` (sized for ``test``'s channels and classes), checked against ``test``."""
    teacher = load_model(path, arch, in_channels=test.shape[0], num_classes=test.num_classes).to(device).eval()
    check_compatible(teacher, test)
    return teacher


def kd_real_run(teacher_path: str | os.PathLike, student_arch: str, dataset: str = "mnist", *, seed: int = 0,
                config: TrainConfig = DEFAULT_TRAINING, temperature: float = 4.0, feature_loss: str | None = None,
                feature_weight: float = 0.0, anchors: list[str | os.PathLike] = (), data_root=None,
                device: str = "auto", teacher_arch: str | None = None) -> dict:
    """The real-data ceiling: Hinton KD of a fresh student on the real training images, plus
    ``feature_weight`` × any feature loss of the registry (:class:`~vision.kd.objective.KDObjective`).
    ``anchors``: earlier checkpoints of the teacher (``graphdistill teacher --anchor-every``), early
    to late; the student then follows RCO's route through them and ends on ``teacher_path``.
    ``teacher_arch`` names the architecture when the teacher files are bare state dicts."""
    from vision.kd.objective import KDObjective
    from vision.kd.rco import RouteSchedule

    dev = resolve_device(device)
    test = load_images(dataset, "test", size=IMAGE_SIZE, root=data_root)
    teacher = load_teacher(teacher_path, test, dev, teacher_arch)
    route = (RouteSchedule([load_teacher(p, test, dev, teacher_arch) for p in anchors] + [teacher], config.epochs)
             if anchors else None)
    seed_everything(seed)
    student = build_model(student_arch, in_channels=test.shape[0], num_classes=test.num_classes).to(dev)
    check_compatible(student, test)
    objective = KDObjective(student, teacher, test.images[:2].to(dev), temperature=temperature,
                            feature_loss=feature_loss, feature_weight=feature_weight)  # bad names fail here
    train = load_images(dataset, "train", size=IMAGE_SIZE, root=data_root)
    start = time.perf_counter()
    history = distill_on_data(student, route or teacher, train, config, seed=seed, test=test, objective=objective)
    return {"method": "kd-real", "seed": seed, "final_accuracy": history["test"][-1], "test_curve": history["test"],
            "feature_loss": feature_loss, "feature_weight": feature_weight, "temperature": temperature,
            "rco_anchors": len(anchors), "seconds": time.perf_counter() - start,
            "teacher_accuracy": accuracy(teacher, test)}


def dfkd_run(teacher_path: str | os.PathLike, student_arch: str, method: str, dataset: str = "mnist", *,
             seed: int = 0, out: str | os.PathLike | None = None, hyper: dict | None = None, data_root=None,
             device: str = "auto", progress: bool = True, save_pool: bool = False,
             teacher_arch: str | None = None) -> dict:
    """Distil ``teacher_path`` into a fresh ``student_arch`` with a data-free method (generator- or
    inversion-based); the real training set is never loaded. Returns (and writes) the metrics.
    ``save_pool`` also writes an inversion method's synthetic images to ``pool.pt``
    (:meth:`vision.dfkd.pool.ImagePool.load` reads it back). ``teacher_arch`` names the
    architecture when ``teacher_path`` is a bare state dict."""
    spec = DFKD_METHODS.get(method).with_overrides(dict(hyper or {}))
    dev = resolve_device(device)
    test = load_images(dataset, "test", size=IMAGE_SIZE, root=data_root)
    teacher = load_teacher(teacher_path, test, dev, teacher_arch)
    seed_everything(derive_seed(seed, "student"))  # its own stream: the generator below starts from ``seed``
    student = build_model(student_arch, in_channels=test.shape[0], num_classes=test.num_classes).to(dev)
    check_compatible(student, test)
    at_layers = layer_pairs(student, teacher, "stages") if spec.at_weight else ()
    loop_config = KDLoopConfig(**spec.loop_fields(), at_layers=at_layers)
    out = Path(out or f"runs/{dataset}-{spec.name}-{student_arch}-{seed}")
    identity = {"teacher": file_digest(teacher_path), "student": student_arch.lower(), "method": spec.name,
                "dataset": dataset, "seed": seed, "hyper": dict(sorted((hyper or {}).items()))}
    seed_everything(seed)
    synthesizer = spec.build_synthesizer(teacher, student, test, dev)  # checks the teacher (e.g. BatchNorm)
    prepare_folder(out, identity)
    write_json(out / "config.json", {"identity": identity, "method": _jsonable(spec),
                                     "teacher_path": str(teacher_path)})
    teacher_accuracy = accuracy(teacher, test)
    last_images: list[torch.Tensor] = []

    def on_epoch_end(epoch: int, history: KDHistory, report) -> None:
        if report is not None and report.images is not None:
            last_images[:] = [report.images]
        if progress:
            s = history.synthesis_seconds[-1] + history.kd_seconds[-1]
            print(f"  epoch {epoch + 1}/{loop_config.epochs}: student {100 * history.test_accuracy[-1]:.2f} % "
                  f"({s:.0f} s)", flush=True)

    loop = DataFreeKD(teacher, student, synthesizer, loop_config, test=test, on_epoch_end=on_epoch_end)
    checkpoint = Checkpoint(out / "checkpoint.pt")
    history = loop.run(checkpoint)
    images = last_images[0] if last_images else synthesizer.sample()[:64]
    plot_image_grid(test.denormalise(images[:64].float().cpu()), out / "samples.png",
                    title=f"{spec.name}: generated samples (final epoch)")
    _plot_curves(history, out / "curves.png", f"{spec.name}: {student_arch} from {teacher.spec['name']}")
    save_model(out / "student.pt", student.cpu())
    metrics = {
        "dataset": dataset, "method": spec.name, "student": student_arch, "teacher": teacher.spec["name"],
        "seed": seed, "teacher_accuracy": teacher_accuracy, **history.to_dict(),
        "protocol": {"reported": "last epoch (no selection on test; the student never sees real training data)",
                     "generator_ngf": spec.ngf, "batch_size": spec.batch_size, "epochs": spec.epochs,
                     "iterations": spec.iterations, "kd_steps": spec.kd_steps,
                     "inner_steps": getattr(spec, "steps", getattr(spec, "g_steps", 1)),
                     "pool_images": len(getattr(synthesizer, "pool", None) or ()),
                     "generator_precision": getattr(synthesizer, "precision", "float32")},
        **peak_memory_mib(),
    }
    write_json(out / "metrics.json", metrics)
    write_text(out / "report.md", _report(metrics, spec))
    if save_pool and getattr(synthesizer, "pool", None) is not None:
        synthesizer.pool.save(out / "pool.pt")
    checkpoint.remove()
    return metrics


def _jsonable(spec) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in spec.__dict__.items()}


def _plot_curves(history: KDHistory, path: Path, title: str) -> None:
    fig, (ax_acc, ax_time) = new_figure(10, 3.6, ncols=2)
    epochs = range(1, len(history.test_accuracy) + 1)
    ax_acc.plot(epochs, [100 * a for a in history.test_accuracy], marker=".")
    ax_acc.set(xlabel="epoch", ylabel="student test accuracy (%)", title="accuracy (reporting only)")
    cumulative_s = torch.tensor(history.synthesis_seconds).cumsum(0).tolist()
    cumulative_k = torch.tensor(history.kd_seconds).cumsum(0).tolist()
    ax_time.plot(epochs, cumulative_s, label="synthesis")
    ax_time.plot(epochs, cumulative_k, label="KD")
    ax_time.set(xlabel="epoch", ylabel="cumulative seconds", title="time")
    ax_time.legend(fontsize=8)
    fig.suptitle(title)
    save_figure(fig, path)


def _report(m: dict, spec) -> str:
    return (f"# Data-free KD: {m['method']} on {m['dataset']}\n\n"
            f"{spec.paper}.\n\n"
            f"| teacher | student | student test accuracy (%) | synthesis (s) | KD (s) |\n|---|---|---|---|---|\n"
            f"| {m['teacher']} ({100 * m['teacher_accuracy']:.2f} %) | {m['student']} | "
            f"{100 * m['final_accuracy']:.2f} | {m['synthesis_total_seconds']:.1f} | {m['kd_total_seconds']:.1f} |\n\n"
            f"Reported: {m['protocol']['reported']}.\n\n"
            "![samples](samples.png)\n\n![curves](curves.png)\n")
