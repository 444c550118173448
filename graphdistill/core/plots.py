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
