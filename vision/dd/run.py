"""One image-distillation run as a folder: distil, evaluate, report.

``image_condense_run("mnist", "dm", ipc=10)`` writes into ``runs/mnist-dm-10-<seed>/``:

* ``config.json`` — the run's identity (dataset, method, ipc, settings, evaluation protocol);
* ``checkpoint.pt`` while distilling (an interrupted run resumes from it), then ``synthetic.pt``
  (images in the dataset's normalisation, labels, learned lr, normalisation constants, settings);
* ``metrics.json`` — test accuracy mean ± std of fresh networks trained on the set (and, with
  ``cross``, of other architectures), the evaluation protocol, distillation seconds per iteration,
  evaluation seconds, peak memory; evaluation runs are saved one by one and resumed;
* ``synthetic.png`` — the images, one row per class; ``curves.png`` — the loss per iteration;
* with ``zca_eps``, ``zca.pt`` — the ZCA transform the set lives in (train and test are whitened
  with the transform fitted on the training images before distilling and evaluating).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import torch

from graphdistill.core.checkpoint import Checkpoint
from graphdistill.core.config import build_config
from graphdistill.core.evaluate import RunScore
from graphdistill.core.io import save_torch, write_json
from graphdistill.core.plots import plot_image_grid, plot_series
from graphdistill.core.registry import Registry
from graphdistill.core.rundir import peak_memory_mib, prepare_folder, read_run_json
from vision.data import load_images
from vision.dd.base import ImageDistiller
from vision.dd.dc import DC, DCConfig
from vision.dd.dm import DM, DMConfig
from vision.dd.evaluate import EvalProtocol, evaluate_set
from vision.dd.mtt import MTT, MTTConfig
from vision.dd.synthetic import SyntheticImages
from vision.zca import ZCA

# method name → (distiller class, its config class, settings that make it that method)
METHODS: Registry[tuple[type[ImageDistiller], type, dict]] = Registry("image distillation method")
METHODS.register("dm")((DM, DMConfig, {}))
METHODS.register("dc")((DC, DCConfig, {"dsa_strategy": "none"}))
METHODS.register("dsa")((DC, DCConfig, {}))
METHODS.register("mtt")((MTT, MTTConfig, {}))
METHODS.register("tesla")((MTT, MTTConfig, {"constant_memory": True}))

# How each method's sets are evaluated by default (REFERENCE 0.4): DC on MNIST with its own
# augmentation, the others with DSA; 1000 epochs whenever augmentation is on, as the reference does.
EVAL_AUGMENT = {"dc": "dc", "dsa": "dsa", "dm": "dsa", "mtt": "dsa", "tesla": "dsa"}


def image_condense_run(dataset: str = "mnist", method: str = "dm", ipc: int = 10, *, hyper: dict | None = None,
                       seed: int = 0, out: str | os.PathLike | None = None, data_root=None,
                       device: str = "cpu", eval_epochs: int = 1000, runs: int = 3, eval_augment: str | None = None,
                       cross: tuple[str, ...] = (), zca_eps: float | None = None, log=print) -> dict:
    """Distil ``dataset`` to ``ipc`` images per class with ``method`` and evaluate; see the module docstring."""
    distiller_cls, config_cls, fixed = METHODS.get(method)
    overrides = {**(hyper or {}), **fixed, "ipc": ipc, "seed": seed}
    config = build_config(config_cls, overrides, method)
    protocol = EvalProtocol(epochs=eval_epochs, runs=runs, seed=seed,
                            augment=eval_augment or EVAL_AUGMENT.get(method, "dsa"))
    train = load_images(dataset, "train", root=data_root)
    test = load_images(dataset, "test", root=data_root)
    zca = None
    if zca_eps is not None:  # distil and evaluate in ZCA space (MTT's CIFAR preprocessing)
        zca = ZCA.fit(train.images, zca_eps)
        train, test = (replace(part, images=zca(part.images)) for part in (train, test))
    distiller = distiller_cls(config, train, device)  # validates the budget before anything is written
    out = Path(out or f"runs/{dataset}-{method}-{ipc}-{seed}")
    identity = {"dataset": dataset, "method": method, "ipc": ipc, "seed": seed, "config": config.to_dict(),
                "evaluation": protocol.to_dict(), "cross": list(cross), "zca_eps": zca_eps}
    prepare_folder(out, identity)
    write_json(out / "config.json", {"identity": identity})
    if zca is not None:
        save_torch(out / "zca.pt", zca.state())  # the set is only usable with this transform

    syn_path = out / "synthetic.pt"
    if syn_path.is_file():
        syn = SyntheticImages.load(syn_path)
        log(f"synthetic set found in {syn_path}")
    else:
        checkpoint = Checkpoint(out / "checkpoint.pt")
        syn, history = distiller.fit(checkpoint, log=log)
        syn.meta["losses"] = history.losses
        syn.save(syn_path)
        checkpoint.remove()
    seconds = syn.meta["seconds"]
    iterations = max(syn.meta["iterations"], 1)
    init_seconds = float(syn.meta.get("init_seconds", 0.0))
    log(f"distilled in {seconds:.1f} s ({seconds / iterations:.2f} s per iteration) after {init_seconds:.1f} s "
        f"of initialisation")

    metrics_path = out / "metrics.json"
    metrics = read_run_json(metrics_path) if metrics_path.is_file() else {}
    rows = metrics.setdefault("rows", {})
    learned_lr = float(syn.lr.detach()) if syn.lr is not None and protocol.use_learned_lr else None
    for arch in (protocol.model, *cross):
        arch_protocol = replace(protocol, model=arch)
        row = rows.setdefault(arch, {"runs": []})
        if len(row["runs"]) >= protocol.runs:
            continue

        def save_runs(scores: list[RunScore], row=row) -> None:
            row["runs"] = [s.to_dict() for s in scores]
            write_json(metrics_path, metrics)

        done = [RunScore(**r) for r in row["runs"]]
        summary = evaluate_set(syn.as_image_set(dataset), test, arch_protocol, learned_lr, device, done,
                               save_runs, log)
        row.update({"mean": summary.test_mean, "std": summary.test_std,
                    "seconds_per_run": sum(r.seconds for r in summary.runs) / len(summary.runs)})
        write_json(metrics_path, metrics)
        log(f"{arch}: {100 * summary.test_mean:.2f} ± {100 * summary.test_std:.2f} % over {len(summary.runs)} runs")
    main = rows[protocol.model]
    metrics.update({"dataset": dataset, "method": method, "ipc": ipc, "seed": seed, "images": len(syn.labels),
                    "test_mean": main["mean"], "test_std": main["std"],
                    "accuracies": [r["test"] for r in main["runs"]],
                    "condense_seconds": seconds, "seconds_per_iteration": seconds / iterations,
                    "init_seconds": init_seconds,
                    "iterations": syn.meta["iterations"], "dsa_strategy": syn.meta.get("dsa_strategy"),
                    "real_precision": syn.meta.get("real_precision", "float32"),
                    "learned_lr": learned_lr, "evaluation": protocol.to_dict(), "device": device,
                    "expert_buffer": syn.meta.get("buffer"), "zca_eps": zca_eps,
                    "threads": torch.get_num_threads(),
                    **{k: max(v, metrics.get(k, 0.0)) for k, v in peak_memory_mib().items()}})
    write_json(metrics_path, metrics)
    _figures(out, syn, train, metrics, zca)
    return metrics


def _figures(out: Path, syn: SyntheticImages, train, metrics: dict, zca: ZCA | None) -> None:
    images = syn.images.detach().cpu()
    images = train.denormalise(images if zca is None else zca.invert(images))
    plot_image_grid(images, out / "synthetic.png", ncols=syn.ipc if syn.ipc > 1 else syn.num_classes,
                    title=f"{metrics['method']} · {metrics['dataset']} · {syn.ipc} per class · "
                          f"{100 * metrics['test_mean']:.1f} %")
    losses = syn.meta.get("losses")
    if losses:
        plot_series({metrics["method"]: losses}, out / "curves.png", xlabel="iteration", ylabel="loss",
                    title=f"{metrics['method']} objective")

