"""Run folders: condense, evaluate, report — resumable after any interruption.

``condense_run`` writes ``runs/<dataset>-<method>-<budget>-<seed>/`` (or ``out``)::

    config.json      what was asked (the run's identity) and the resolved budget
    synthetic.pt     the condensed graph *with its labels* (CondensedGraph.save)
    metrics.json     test accuracy mean ± std, per-run scores, seconds
    report.md        a human-readable summary with the plots below
    curves.png       training loss / validation accuracy of every evaluation run
    graph.png        a drawing of the condensed graph
    condensation.png matching loss (and monitored validation accuracy) per epoch, for learned graphs
    checkpoint.pt    progress while the run is unfinished (removed at the end)
    candidates/      for a tuned run (``--tune``, or a preset's grid): one such folder per
                     candidate; the one with the best validation accuracy is copied up

Every file is written atomically. Running the same command again resumes from the checkpoint
(the condensed graph, then each finished evaluation run) and, once finished, just reports.
"""

from __future__ import annotations

import dataclasses
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch_geometric.data import Data

from graphdistill.core.budget import Budget
from graphdistill.core.checkpoint import Checkpoint
from graphdistill.core.datasets import DATASETS
from graphdistill.core.datasets import fetch as fetch_dataset
from graphdistill.core.device import resolve_device
from graphdistill.core.errors import UserError
from graphdistill.core.evaluate import RunScore, Summary, TrainConfig
from graphdistill.core.io import as_json_value, write_json, write_text
from graphdistill.core.plots import plot_condensation_curves, plot_training_curves
from graphdistill.core.rundir import peak_memory_mib, prepare_folder, read_run_json
from graphdistill.graph.condense import CONDENSERS, read_preset
from graphdistill.graph.condensed import FILE_NAME, CondensedGraph
from graphdistill.graph.datasets import NODES  # importing it registers the graph datasets
from graphdistill.graph.plots import draw_condensed_graph
from graphdistill.graph.train import GraphSide, ModelConfig, NodeTask
from graphdistill.graph.tuning import (
    adopt_candidate,
    best_by_validation,
    candidate_folder,
    candidates,
    check_grid,
    preset_grid,
)

RUNS_ROOT = Path("runs")
# Cross-architecture evaluation keeps only edges above these weights (GCond's protocol,
# REFERENCE 2.0: GAT attends over unweighted edges, so weak ones are dropped at 0.5).
EDGE_THRESHOLDS = {"gat": 0.5}
WHOLE = "whole"


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines a run's results (its identity); not where or on what device."""

    dataset: str
    method: str
    budget: int | None = None
    ratio: float | None = None
    ratio_of: str = "train"
    seed: int = 0
    runs: int = 5
    arch: str = "gcn"
    epochs: int = 600
    hyper: dict = field(default_factory=dict)

    def identity(self, budget: Budget | None, data_source: str) -> dict:
        """The fields that decide the numbers; ``data_source`` tells, e.g., the Planetoid public
        split from the wheel mirror's seeded split of the same graph."""
        ident = dataclasses.asdict(self)
        ident.update(budget=None if budget is None else budget.size, ratio=None, ratio_of=None,
                     data_source=data_source)
        return ident


def _progress(enabled: bool, desc: str):
    if not enabled:
        return lambda it: it
    from tqdm.auto import tqdm

    return lambda it: tqdm(it, desc=desc, leave=False)


def load_node_dataset(name: str, data_root=None) -> tuple[Data, str]:
    """The graph and the name of the source it came from (e.g. ``planetoid`` or ``mirror``)."""
    if DATASETS.get(name).task != NODES:
        raise UserError(f"dataset {name!r} is not a node-classification graph; "
                        "node condensation needs one such as cora, citeseer or pubmed")
    found = fetch_dataset(name, data_root)
    return found.load(), found.source.name


def evaluation_config(dataset: str, epochs: int) -> TrainConfig:
    """The evaluation optimiser for ``dataset``: GCond's defaults plus the dataset's preset."""
    return TrainConfig(epochs=epochs, **read_preset("evaluation.json").get(dataset, {}))


class _ResumableEvaluation:
    """Evaluation runs whose scores are checkpointed after each one."""

    def __init__(self, out: Path) -> None:
        self.checkpoint = Checkpoint(out / "checkpoint.pt")
        self.state = self.checkpoint.load() or {}

    def run(self, task: NodeTask, side: GraphSide, spec: RunSpec, progress: bool, log) -> Summary:
        done = [RunScore(**r) for r in self.state.get("runs", [])]
        if done:
            log(f"resuming: {len(done)}/{spec.runs} evaluation runs already done")

        def save(scores):
            self.state["runs"] = [s.to_dict() for s in scores]
            self.checkpoint.save(self.state)

        return task.evaluate(side, runs=spec.runs, seed=spec.seed,
                             model_config=ModelConfig(arch=spec.arch),
                             train_config=evaluation_config(spec.dataset, spec.epochs), done=done,
                             on_run_done=save, progress=_progress(progress, f"evaluating {spec.arch}"))


def condense_run(spec: RunSpec, *, out: str | Path | None = None, data_root=None, device="auto",
                 progress: bool = True, log=print, tune: dict[str, list] | None = None) -> dict:
    """Condense ``spec.dataset`` with ``spec.method``, evaluate, and write the run folder.

    ``tune``: a grid of hyper-parameter values to choose from on validation accuracy
    (:mod:`graphdistill.graph.tuning`); ``None`` takes the method's preset grid for the dataset,
    if any, less the names ``spec.hyper`` fixes; ``{}`` tunes nothing.

    Returns the metrics dict (also in ``metrics.json``). All input checks happen before any
    long computation.
    """
    method_cls = CONDENSERS.get(spec.method)
    device = resolve_device(device)
    data, source = load_node_dataset(spec.dataset, data_root)
    grid = _tuning_grid(spec, tune)
    condensers = [method_cls(budget=spec.budget, ratio=spec.ratio, ratio_of=spec.ratio_of, seed=spec.seed,
                             device=device, **spec.hyper, **combination) for combination in candidates(grid)]
    budget, _ = condensers[0].plan(data)  # every input check, before any folder or long work
    configs = [condenser.resolved_config(data) for condenser in condensers]  # each candidate's values
    out = Path(out) if out else RUNS_ROOT / f"{spec.dataset}-{spec.method}-{budget.size}-{spec.seed}"
    if grid:
        return _tuned_run(spec, grid, out, data, source, budget, data_root, device, progress, log)
    # The resolved configuration (presets included) is part of the identity: a changed preset
    # must not silently resume or reuse a folder made under the old one.
    identity = as_json_value({**spec.identity(budget, source), "config": dataclasses.asdict(configs[0])})
    if not _open_folder(out, identity, budget, data_root, device, log):
        return read_run_json(out / "metrics.json")
    log(f"{spec.dataset} / {spec.method}: budget {budget.describe()}")
    task = NodeTask(data, device)
    evaluation = _ResumableEvaluation(out)
    if (out / FILE_NAME).is_file():
        condensed = CondensedGraph.load(out)
        log("resuming: condensed graph loaded from the run folder")
    else:
        start = time.perf_counter()
        method_ckpt = Checkpoint(out / "condense-checkpoint.pt")
        condensed = condensers[0].fit(data, checkpoint=method_ckpt, task=task, log=log)
        condensed.meta["dataset"] = spec.dataset
        evaluation.state["condense_seconds"] = time.perf_counter() - start
        evaluation.state["condense_peak"] = peak_memory_mib()
        evaluation.checkpoint.save(evaluation.state)
        condensed.save(out)
        method_ckpt.remove()
    summary = evaluation.run(task, condensed.to_side(device), spec, progress, log)
    metrics = {"dataset": spec.dataset, "method": spec.method, "budget": budget.size,
               "budget_description": budget.describe(), "per_class": condensed.meta.get("per_class"),
               "arch": spec.arch, "condense_seconds": evaluation.state.get("condense_seconds", 0.0),
               **{f"condense_{k}": v for k, v in evaluation.state.get("condense_peak", {}).items()},
               "eval_seconds": summary.seconds, **summary.to_dict()}
    _finish(out, spec, metrics, summary, condensed)
    return metrics


def _tuning_grid(spec: RunSpec, tune: dict[str, list] | None) -> dict[str, list]:
    if tune is None:
        return {k: v for k, v in check_grid(preset_grid(spec.method, spec.dataset)).items() if k not in spec.hyper}
    clash = sorted(set(tune) & set(spec.hyper))
    if clash:
        raise UserError(f"{', '.join(clash)} is both fixed (--hp) and tuned (--tune); give one of the two")
    return check_grid(tune)


def _open_folder(out: Path, identity: dict, budget: Budget, data_root, device, log) -> bool:
    """Check or create the run folder; False when it already holds the finished run."""
    prepare_folder(out, identity)
    if (out / "metrics.json").is_file():
        log(f"{out} is complete; delete metrics.json to evaluate again")
        return False
    write_json(out / "config.json", {"identity": identity, "budget": budget.describe(),
                                      "ratio_of_train": budget.ratio_of_train,
                                      "ratio_of_full": budget.ratio_of_full,
                                      "data_root": str(data_root) if data_root else None,
                                      "environment": _environment(device)})
    return True


def _tuned_run(spec: RunSpec, grid: dict[str, list], out: Path, data: Data, source: str, budget: Budget,
               data_root, device, progress: bool, log) -> dict:
    """One run folder per candidate under ``out/candidates``; the best on validation adopted."""
    base = CONDENSERS.get(spec.method)(budget=spec.budget, ratio=spec.ratio, ratio_of=spec.ratio_of,
                                       seed=spec.seed, device=device, **spec.hyper)
    identity = as_json_value({**spec.identity(budget, source), "config": dataclasses.asdict(base.resolved_config(data)),
                              "tuning": grid})
    if not _open_folder(out, identity, budget, data_root, device, log):
        return read_run_json(out / "metrics.json")
    scored = []
    for combination in candidates(grid):
        folder = candidate_folder(out, combination)
        log(f"tuning {spec.method} on {spec.dataset}: candidate {combination}")
        metrics = condense_run(dataclasses.replace(spec, hyper={**spec.hyper, **combination}), out=folder,
                               data_root=data_root, device=device, progress=progress, log=log, tune={})
        scored.append({"hyper": combination, "folder": str(folder.relative_to(out)), "val_mean": metrics["val_mean"],
                       "test_mean": metrics["test_mean"], "test_std": metrics["test_std"],
                       "condense_seconds": metrics["condense_seconds"], "eval_seconds": metrics["eval_seconds"]})
    best = best_by_validation(scored)
    log(f"kept {best['hyper']} (validation {100 * best['val_mean']:.2f}%)")
    adopt_candidate(out, out / best["folder"])
    metrics = read_run_json(out / best["folder"] / "metrics.json")  # the kept graph's own peaks and seconds
    metrics["tuning"] = {"grid": grid, "selected": best["hyper"], "criterion": "val_mean", "candidates": scored,
                         "seconds": sum(c["condense_seconds"] + c["eval_seconds"] for c in scored)}
    write_text(out / "report.md", (out / "report.md").read_text() + _tuning_report(metrics["tuning"]))
    write_json(out / "metrics.json", metrics)
    return metrics


def _tuning_report(tuning: dict) -> str:
    lines = ["", "## Tuning", "",
             f"Kept {tuning['selected']}: the best mean validation accuracy of the candidates "
             f"({tuning['seconds']:.0f} s for all of them).", "",
             "| candidate | validation (%) | test (%) | condense (s) |", "|---|---|---|---|"]
    lines += [f"| {c['hyper']} | {100 * c['val_mean']:.2f} | {100 * c['test_mean']:.2f} ± {100 * c['test_std']:.2f} | "
              f"{c['condense_seconds']:.0f} |" for c in tuning["candidates"]]
    return "\n".join(lines) + "\n"


def whole_graph_run(spec: RunSpec, *, out: str | Path | None = None, data_root=None, device="auto",
                    progress: bool = True, log=print) -> dict:
    """The full-data reference: models trained on the whole training graph, same protocol."""
    device = resolve_device(device)
    data, source = load_node_dataset(spec.dataset, data_root)
    out = Path(out) if out else RUNS_ROOT / f"{spec.dataset}-{WHOLE}-{spec.seed}"
    identity = spec.identity(None, source)
    prepare_folder(out, identity)
    if (out / "metrics.json").is_file():
        return read_run_json(out / "metrics.json")
    write_json(out / "config.json", {"identity": identity, "environment": _environment(device)})
    task = NodeTask(data, device)
    summary = _ResumableEvaluation(out).run(task, task.train_side, spec, progress, log)
    n_train = int(data.train_mask.sum())
    metrics = {"dataset": spec.dataset, "method": WHOLE, "budget": n_train,
               "budget_description": f"all {n_train} training nodes", "arch": spec.arch,
               "condense_seconds": 0.0, "eval_seconds": summary.seconds, **summary.to_dict()}
    _finish(out, spec, metrics, summary, None)
    return metrics


def _finish(out: Path, spec: RunSpec, metrics: dict, summary: Summary, condensed: CondensedGraph | None) -> None:
    metrics.update(peak_memory_mib())
    title = f"{spec.dataset} / {spec.method} / {metrics['budget']} nodes"
    plot_training_curves([r.curves for r in summary.runs], out / "curves.png", title)
    if condensed is not None:
        draw_condensed_graph(condensed, out / "graph.png")
        if condensed.meta.get("matching_loss"):
            plot_condensation_curves(condensed.meta["matching_loss"], condensed.meta.get("val_curve", []),
                                     out / "condensation.png", f"{title}: condensation")
    write_text(out / "report.md", _report(spec, metrics, condensed))
    write_json(out / "metrics.json", metrics)
    Checkpoint(out / "checkpoint.pt").remove()


def _report(spec: RunSpec, m: dict, condensed: CondensedGraph | None) -> str:
    lines = [
        f"# {spec.dataset} — {spec.method}", "",
        f"- budget: {m['budget_description']}",
        f"- per-class counts: {m.get('per_class')}" if m.get("per_class") else None,
        f"- evaluation: {m['runs']} fresh {spec.arch.upper()} models, {spec.epochs} epochs each, "
        "checkpoint selected on validation accuracy, test accuracy reported",
        f"- seed: {spec.seed}",
        f"- peak memory: {m['peak_rss_mib']:.0f} MiB resident" if "peak_rss_mib" in m else None,
        f"- peak GPU memory: {m['peak_cuda_mib']:.0f} MiB" if "peak_cuda_mib" in m else None, "",
        "| method | budget | test accuracy (%) | validation (%) | condense (s) | evaluate (s) |",
        "|---|---|---|---|---|---|",
        f"| {spec.method} | {m['budget']} | {100 * m['test_mean']:.2f} ± {100 * m['test_std']:.2f} | "
        f"{100 * m['val_mean']:.2f} | {m['condense_seconds']:.1f} | {m['eval_seconds']:.1f} |", "",
        "Per run: " + ", ".join(f"{100 * r['test']:.1f}% (epoch {r['best_epoch']})" for r in m["per_run"]),
        "", "![training curves](curves.png)", "",
    ]
    if condensed is not None:
        n_edges = 0 if condensed.edge_index is None else condensed.edge_index.shape[1] // 2
        lines += [f"Condensed graph: {condensed.num_nodes} nodes, {n_edges} undirected edges, saved "
                  f"with labels in `{FILE_NAME}`.", "", "![condensed graph](graph.png)", ""]
        if condensed.meta.get("matching_loss"):
            selected = condensed.meta.get("selected_epoch")
            lines += [f"Condensation: {len(condensed.meta['matching_loss'])} epochs"
                      + (f", graph of epoch {selected} kept" if selected else "") + ".", "",
                      "![condensation curves](condensation.png)", ""]
    return "\n".join(line for line in lines if line is not None) + "\n"


def _environment(device: torch.device) -> dict:
    return {"torch": torch.__version__, "python": platform.python_version(), "device": str(device),
            "machine": platform.machine(), "threads": torch.get_num_threads()}


def evaluate_run_dir(run_dir: str | Path, archs: list[str], *, runs: int | None = None, data_root=None,
                     dropout: float | None = None, device="auto", progress: bool = True,
                     log=print) -> dict[str, dict]:
    """Cross-architecture evaluation of a finished run folder; results go into metrics.json.

    ``dropout``: of the evaluated models (default: the evaluator's 0.5). GCond's own
    cross-architecture script trains every model with dropout 0 on Cora and CiteSeer; results
    with a non-default dropout are stored under ``"<arch>, dropout <p>"``.
    """
    from graphdistill.graph.models import MODELS

    run_dir = Path(run_dir)
    for arch in archs:
        MODELS.get(arch)
    if runs is not None and runs < 1:
        raise UserError(f"runs must be ≥ 1, got {runs}")
    if dropout is not None and not 0 <= dropout < 1:
        raise UserError(f"dropout must be in [0, 1), got {dropout}")
    model_config = ModelConfig() if dropout is None else ModelConfig(dropout=dropout)
    if not (run_dir / "config.json").is_file():
        raise UserError(f"{run_dir} is not a run folder (no config.json); run `graphdistill condense` first")
    if not (run_dir / "metrics.json").is_file():
        raise UserError(f"{run_dir} is unfinished; rerun its `graphdistill condense` command to finish it")
    identity = read_run_json(run_dir / "config.json").get("identity")
    if not isinstance(identity, dict):
        raise UserError(f"{run_dir / 'config.json'} has no run identity; rerun the condensation")
    condensed = CondensedGraph.load(run_dir)
    device = resolve_device(device)
    data, source = load_node_dataset(identity["dataset"], data_root)
    if source != identity.get("data_source"):
        raise UserError(f"{run_dir} was made from the {identity.get('data_source')!r} copy of "
                        f"{identity['dataset']} but the {source!r} copy was found; point --data-root at the former")
    task = NodeTask(data, device)
    results = {}
    for arch in archs:
        side = condensed.thresholded(EDGE_THRESHOLDS.get(arch, 0.0)).to_side(device)
        summary = task.evaluate(side, runs=runs or identity["runs"], seed=identity["seed"],
                                model_config=dataclasses.replace(model_config, arch=arch),
                                train_config=evaluation_config(identity["dataset"], identity["epochs"]),
                                progress=_progress(progress, f"evaluating {arch}"))
        key = arch if model_config.dropout == ModelConfig.dropout else f"{arch}, dropout {model_config.dropout:g}"
        results[key] = {**summary.to_dict(), "dropout": model_config.dropout}
        log(f"{key}: {summary.describe()} %")
    metrics_path = run_dir / "metrics.json"
    metrics = read_run_json(metrics_path)
    metrics.setdefault("cross_arch", {}).update(results)
    write_json(metrics_path, metrics)
    return results
