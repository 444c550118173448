"""Run folders of user condensation: condense, evaluate with several learners, report.

``condense_run("ml-100k", "distill-cf", 200)`` writes ``runs/ml-100k-distill-cf-200-0/``:

* ``config.json`` — what was run (the folder's identity: a rerun with the same settings resumes,
  different settings are refused);
* ``synthetic.npz`` (scipy sparse user × item matrix), ``logits.pt``, ``synthetic.json``;
* ``metrics.json`` — per learner (∞-AE, EASE) the λ chosen on validation HR@100, validation and
  test metrics, the same learners on all real users, the ratio to them, seconds, peak memory;
* ``report.md``, ``curves.png`` (validation HR@100 along the distillation) and
  ``metric_vs_budget.png`` (test nDCG@10 against the number of users, over every run of the
  dataset found beside this one).

An interrupted distillation resumes from ``checkpoint.pt``; a finished one is not redone.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import torch

from graphdistill.core.checkpoint import Checkpoint
from graphdistill.core.datasets import cache_dir
from graphdistill.core.device import resolve_device
from graphdistill.core.io import read_json, write_json, write_text
from graphdistill.core.plots import new_figure, plot_accuracy_vs_budget, save_figure
from graphdistill.core.rundir import peak_memory_mib, prepare_folder, read_run_json
from recsys.condense import USER_CONDENSERS
from recsys.data import Interactions
from recsys.datasets import load_interactions
from recsys.distilled import MATRIX_FILE, DistilledUsers
from recsys.learners import LEARNERS, evaluate_on_test, evaluation_tensors, fit_on_validation

LEARNER_NAMES = ("infinite-ae", "ease")
HEADLINE = "nDCG@10"
FULL_VERSION = 1  # bump when the learners or metrics change, to invalidate cached full-data numbers


def evaluate_users(matrix: torch.Tensor, data: Interactions, learners=LEARNER_NAMES) -> dict:
    """For each learner: fit on ``matrix`` (λ on validation HR@100), test metrics, seconds."""
    device = matrix.device
    val, test = evaluation_tensors(data, "val", device), evaluation_tensors(data, "test", device)
    results = {}
    for name in learners:
        started = time.perf_counter()
        learner, report = fit_on_validation(name, matrix, data, val=val)
        results[name] = {"lam": report["lam"], "val": report["val"], "test": evaluate_on_test(learner, data, test=test),
                         "seconds": time.perf_counter() - started}
    return results


def full_data_metrics(data: Interactions, split_seed: int, learners=LEARNER_NAMES, device="cpu") -> dict:
    """The learners trained on every real user, cached per dataset and split in the user cache."""
    path = cache_dir() / "recsys" / f"{data.name}-split{split_seed}-full-v{FULL_VERSION}.json"
    cached = read_json(path) if path.is_file() else {}
    missing = [n for n in learners if n not in cached]
    if missing:
        cached.update(evaluate_users(data.dense("train", device), data, missing))
        write_json(path, cached)
    return {n: cached[n] for n in learners}


def condense_run(dataset: str, method: str, n_users: int, *, seed: int = 0, out: str | Path | None = None,
                 data_root=None, device="auto", hyper: dict | None = None, split_seed: int = 0,
                 learners=LEARNER_NAMES, log=print) -> dict:
    """Condense ``dataset`` into ``n_users`` synthetic users with ``method``, evaluate, report."""
    device = resolve_device(device)
    condenser = USER_CONDENSERS.get(method)(n_users, seed=seed, device=device, **(hyper or {}))
    for name in learners:
        LEARNERS.get(name)  # unknown names fail before any work
    data = load_interactions(dataset, data_root, seed=split_seed)
    condenser.check(data)  # before any long work
    out = Path(out) if out is not None else Path("runs") / f"{dataset}-{method}-{n_users}-{seed}"
    identity = {"dataset": dataset, "method": method, "n_users": n_users, "seed": seed, "split_seed": split_seed,
                "config": dataclasses.asdict(condenser.config), "learners": list(learners)}
    prepare_folder(out, identity)
    if (out / "metrics.json").is_file():
        log(f"{out} is complete; reusing it")
        return read_run_json(out / "metrics.json")
    write_json(out / "config.json", {"identity": identity, "device": str(device)})
    log(f"{dataset}: {data.n_users} users × {data.n_items} items; {method} with {n_users} users "
        f"({100 * n_users / data.n_users:.1f}% of the users)")

    started = time.perf_counter()
    if (out / MATRIX_FILE).is_file():  # distilled before an interruption during evaluation
        users = DistilledUsers.load(out)
    else:
        checkpoint = Checkpoint(out / "checkpoint.pt")
        users = condenser.fit(data, checkpoint=checkpoint, log=log)
        users.save(out)
        checkpoint.remove()
    condense_seconds = users.meta.get("seconds", time.perf_counter() - started)
    users.meta["seconds"] = condense_seconds
    started = time.perf_counter()
    results = evaluate_users(users.matrix.to(device), data, learners)
    evaluate_seconds = time.perf_counter() - started
    full = full_data_metrics(data, split_seed, learners, device)
    metrics = {"dataset": dataset, "method": method, "n_users": n_users, "user_fraction": n_users / data.n_users,
               "seed": seed, "learners": results, "full": full,
               "relative": {n: results[n]["test"][HEADLINE] / full[n]["test"][HEADLINE] for n in learners},
               "condense_seconds": condense_seconds, "evaluate_seconds": evaluate_seconds,
               "selected_step": users.meta.get("selected_step"), **peak_memory_mib()}
    write_json(out / "metrics.json", metrics)
    _figures(out, users, metrics)
    write_text(out / "report.md", _report(metrics, users))
    return metrics


def _figures(out: Path, users: DistilledUsers, metrics: dict) -> None:
    curve = users.meta.get("val_curve")
    if curve:
        fig, ax = new_figure(5.5, 3.6)
        ax.plot([c[0] for c in curve], [c[1] for c in curve], marker="o", lw=1)
        ax.set(xlabel="step", ylabel="validation HR@100 (∞-AE)",
               title=f"{metrics['method']}, {metrics['n_users']} users")
        save_figure(fig, out / "curves.png")
    rows = []
    siblings = [read_json(p) for p in sorted(out.parent.glob("*/metrics.json")) if p.parent != out]
    for other in [metrics, *siblings]:  # this run and the finished runs beside it, same dataset
        if other.get("dataset") == metrics["dataset"] and "infinite-ae" in other.get("learners", {}):
            rows.append({"method": other["method"], "budget": other["n_users"], "test_std": 0.0,
                         "test_mean": other["learners"]["infinite-ae"]["test"][HEADLINE]})
    if rows and "infinite-ae" in metrics["full"]:
        full = metrics["full"]["infinite-ae"]["test"][HEADLINE]
        plot_accuracy_vs_budget(rows, out / "metric_vs_budget.png",
                                title=f"{metrics['dataset']}: ∞-AE on synthetic users",
                                reference=full, xlabel="users", ylabel="test nDCG@10", scale=1.0,
                                reference_label="all real users")


def _report(m: dict, users: DistilledUsers) -> str:
    lines = [f"# {m['dataset']}: {m['method']}, {m['n_users']} users ({100 * m['user_fraction']:.1f}% of the users), "
             f"seed {m['seed']}", "",
             "| learner | trained on | λ | nDCG@10 | HR@10 | nDCG@100 | HR@100 | PSP@10 | AUC |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, result in m["learners"].items():
        for label, r in (("synthetic", result), ("all real users", m["full"][name])):
            t = r["test"]
            lines.append(f"| {name} | {label} | {r['lam']:g} | {t['nDCG@10']:.2f} | {t['HR@10']:.2f} | "
                         f"{t['nDCG@100']:.2f} | {t['HR@100']:.2f} | {t['PSP@10']:.2f} | {t['AUC']:.4f} |")
    lines += ["", "Relative to all real users (test nDCG@10): "
              + ", ".join(f"{n} {100 * r:.1f}%" for n, r in m["relative"].items()) + ".", "",
              f"Condensation {m['condense_seconds']:.1f} s, evaluation {m['evaluate_seconds']:.1f} s"
              + (f", peak memory {m['peak_rss_mib']:.0f} MiB" if "peak_rss_mib" in m else "") + ".", ""]
    if m.get("selected_step") is not None:
        lines += [f"Kept the sample of step {m['selected_step']} (best validation HR@100).", "",
                  "![validation curve](curves.png)", ""]
    lines += ["![nDCG@10 vs users](metric_vs_budget.png)", ""]
    return "\n".join(lines)


def is_recsys_dataset(name: str) -> bool:
    """Whether ``name`` is a registered interaction dataset (registers them on first call)."""
    from graphdistill.core.datasets import DATASETS

    return name.lower() in DATASETS and DATASETS.get(name).modality == "recsys"

