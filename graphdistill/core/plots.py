"""Plots for run reports (matplotlib, Agg backend, written atomically as PNG)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure

from graphdistill.core.io import save_with

# Figures are made with matplotlib's object API, not pyplot: no global backend switch and no
# figure registry, so plotting from a notebook or a GUI process changes nothing of theirs.


def new_figure(width: float, height: float, ncols: int = 1):
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots(1, ncols)


def save_figure(fig: Figure, path: str | os.PathLike) -> None:
    save_with(path, lambda handle: fig.savefig(handle, format="png", dpi=110, bbox_inches="tight"))


def plot_training_curves(runs: Sequence[Mapping[str, Sequence[float]]], path: str | os.PathLike,
                         title: str = "") -> None:
    """Training loss and validation accuracy per epoch, one line per evaluation run."""
    fig, (ax_loss, ax_val) = new_figure(10, 3.6, ncols=2)
    for i, curves in enumerate(runs):
        ax_loss.plot(curves["loss"], lw=1, label=f"run {i}")
        ax_val.plot([100 * v for v in curves["val"]], lw=1, label=f"run {i}")
    ax_loss.set(xlabel="epoch", ylabel="training loss", yscale="log", title="loss")
    ax_val.set(xlabel="epoch", ylabel="validation accuracy (%)", title="validation accuracy")
    if runs:
        ax_val.legend(fontsize=7, loc="lower right")
    fig.suptitle(title)
    save_figure(fig, path)


def plot_accuracy_vs_budget(rows: Sequence[Mapping], path: str | os.PathLike, title: str = "",
                            reference: float | None = None, *, xlabel: str = "budget (nodes)",
                            ylabel: str = "test accuracy (%)", scale: float = 100.0,
                            reference_label: str = "whole graph") -> None:
    """A test metric (``test_mean`` ± ``test_std``, times ``scale``) against ``budget``, one line
    per ``method``; ``reference`` (e.g. the full-data value) as a dashed line."""
    fig, ax = new_figure(5.5, 3.8)
    for method in dict.fromkeys(r["method"] for r in rows):
        pts = sorted((r["budget"], r["test_mean"], r["test_std"]) for r in rows if r["method"] == method)
        xs, ys, es = zip(*pts, strict=True)
        ax.errorbar(xs, [scale * y for y in ys], yerr=[scale * e for e in es], marker="o", capsize=3,
                    label=method)
    if reference is not None:
        ax.axhline(scale * reference, color="k", ls="--", lw=1, label=reference_label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def plot_condensation_curves(matching_loss: Sequence[float], val_curve: Sequence[Sequence[float]],
                             path: str | os.PathLike, title: str = "") -> None:
    """Matching loss per condensation epoch and, when monitored, the validation accuracy of an
    evaluation model trained on the graph at that epoch (pairs ``(epoch, accuracy)``)."""
    fig, (ax_loss, ax_val) = new_figure(10, 3.6, ncols=2)
    ax_loss.plot(range(1, len(matching_loss) + 1), matching_loss, lw=1)
    ax_loss.set(xlabel="condensation epoch", ylabel="matching loss", title="matching loss")
    if val_curve:
        epochs, accuracy = zip(*val_curve, strict=True)
        ax_val.plot(epochs, [100 * a for a in accuracy], marker="o", lw=1)
    ax_val.set(xlabel="condensation epoch", ylabel="validation accuracy (%)", title="validation accuracy")
    fig.suptitle(title)
    save_figure(fig, path)


def plot_image_grid(images, path: str | os.PathLike, title: str = "", ncols: int = 8,
                    labels: Sequence[str] | None = None) -> None:
    """A grid of images given as a (N, C, H, W) tensor or array with values in [0, 1] (C = 1 or 3),
    with an optional caption per image."""
    import numpy as np

    array = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images, dtype=np.float32)
    if array.ndim != 4 or array.shape[1] not in (1, 3):
        raise ValueError(f"images must be (N, 1 or 3, H, W), got {array.shape}")
    n = len(array)
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    fig = Figure(figsize=(1.1 * ncols, 1.2 * nrows + (0.3 if title else 0)))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        picture = array[i].transpose(1, 2, 0).clip(0, 1)
        ax.imshow(picture[..., 0] if picture.shape[2] == 1 else picture, cmap="gray", vmin=0, vmax=1)
        if labels is not None:
            ax.set_title(str(labels[i]), fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    save_figure(fig, path)


def plot_series(series: Mapping[str, Sequence[float]], path: str | os.PathLike, *, xlabel: str, ylabel: str,
                title: str = "", x: Sequence[float] | None = None) -> None:
    """Several named curves on one axis (e.g. test accuracy per epoch for each method)."""
    fig, ax = new_figure(5.5, 3.8)
    for name, ys in series.items():
        ax.plot(list(x) if x is not None else range(1, len(ys) + 1), ys, marker=".", lw=1, label=name)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if series:
        ax.legend(fontsize=8)
    save_figure(fig, path)
