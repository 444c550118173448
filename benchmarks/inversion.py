"""Inversion-based data-free KD on MNIST, LeNet-5-BN → LeNet-5-half: DeepInversion (several step
counts), CMI, DFQ and FastDFKD-{2,5,10}, accuracy against synthesis time, side by side.

    python benchmarks/inversion.py [--seeds 0,1,2] [--methods deepinversion,cmi,dfq,fastdfkd-2,...]
        [--di-steps 100,200,1000] [--threads 1] [--parts methods,steps,report] [--tag cpu]

Every cell is a run folder under ``benchmarks/runs/inversion/`` (resumable: an interrupted script run
again skips finished cells and resumes the interrupted one from its checkpoint). The teacher is a
LeNet-5 with BatchNorm trained here (``graphdistill teacher mnist --arch lenet5-bn``); the student
never sees a real training image and is reported on the real test set at its last epoch.
Writes ``benchmarks/results/inversion-mnist-<tag>.json``, ``benchmarks/INVERSION.md``,
``benchmarks/inversion-mnist.png`` (accuracy against synthesis seconds) and a sample grid per method.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import time
from pathlib import Path

import torch
from dfkd import dfkd_cell, mean_std, parse_cell_arguments, teacher_file  # the sibling benchmark script (same folder)

from graphdistill.core.io import read_json, write_json, write_text
from graphdistill.core.plots import new_figure, save_figure

HERE = Path(__file__).parent
METHODS = "deepinversion,cmi,dfq,fastdfkd-2,fastdfkd-5,fastdfkd-10"
FLOOR = {"deepinversion": 97.0, "cmi": 97.0}
ANCHOR = "deepinversion"  # the speed-ups are synthesis time relative to this row (as FastDFKD Table 1)


def cell(args, teacher: Path, method: str, seed: int, hyper: dict, name: str) -> dict:
    metrics = dfkd_cell(args, teacher, method, seed, hyper, name)
    metrics["name"], metrics["inner_steps"] = name, metrics["protocol"]["inner_steps"]
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--methods", default=METHODS)
    parser.add_argument("--di-steps", default="100,200,1000",
                        help="extra DeepInversion step counts (seed 0) for the accuracy-vs-time curve")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tag", default="cpu")
    parser.add_argument("--out", type=Path, default=HERE / "runs" / "inversion")
    parser.add_argument("--parts", default="methods,steps,report", help="what to do: methods, steps, report")
    args, parts, seeds, methods = parse_cell_arguments(parser)
    di_steps = [int(s) for s in args.di_steps.split(",") if s]
    started = time.perf_counter()
    teacher = teacher_file(args, "lenet5-bn")

    if "methods" in parts:
        for m in methods:
            for s in seeds:
                cell(args, teacher, m, s, {}, f"{m}-{s}")
    if "steps" in parts:
        for k in di_steps:
            cell(args, teacher, "deepinversion", 0, {"steps": k}, f"deepinversion-s{k}-0")
    if "report" not in parts:
        return

    rows = {m: [cell(args, teacher, m, s, {}, f"{m}-{s}") for s in seeds
                if (args.out / f"{m}-{s}" / "metrics.json").is_file()] for m in methods}
    rows = {m: r for m, r in rows.items() if r}
    steps = [cell(args, teacher, "deepinversion", 0, {"steps": k}, f"deepinversion-s{k}-0") for k in di_steps
             if (args.out / f"deepinversion-s{k}-0" / "metrics.json").is_file()]
    teacher_info = read_json(args.out / "teacher.json") if (args.out / "teacher.json").is_file() else {}
    result = {"machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
              "torch": torch.__version__, "device": args.device, "teacher": teacher_info,
              "methods": rows, "deepinversion_steps": steps, "wall_seconds": time.perf_counter() - started}
    write_json(HERE / "results" / f"inversion-mnist-{args.tag}.json", result)
    for m, runs in rows.items():
        shutil.copyfile(args.out / runs[0]["name"] / "samples.png", HERE / f"inversion-samples-{m}.png")
    plot(rows, steps, HERE / "inversion-mnist.png")
    text = report(result, seeds)
    write_text(HERE / "INVERSION.md", text)
    print(text)


def synthesis_seconds(runs: list[dict]) -> float:
    return statistics.mean(r["synthesis_total_seconds"] for r in runs)


def plot(rows: dict[str, list[dict]], steps: list[dict], path: Path) -> None:
    fig, ax = new_figure(6, 4)
    for method, runs in rows.items():
        ax.scatter([r["synthesis_total_seconds"] for r in runs], [100 * r["final_accuracy"] for r in runs],
                   label=method)
    if steps:
        ax.plot([r["synthesis_total_seconds"] for r in steps], [100 * r["final_accuracy"] for r in steps],
                "k:", marker="x", label="deepinversion, other step counts (seed 0)")
    ax.set_xscale("log")
    ax.set(xlabel="synthesis seconds (CPU, log scale)", ylabel="student test accuracy (%)",
           title="MNIST LeNet-5-BN → LeNet-5-half, data-free")
    ax.legend(fontsize=7)
    save_figure(fig, path)


def report(result: dict, seeds: list[int]) -> str:
    t = result["teacher"]
    rows, anchor = result["methods"], result["methods"].get(ANCHOR)
    anchor_s = synthesis_seconds(anchor) if anchor else None
    lines = [
        "# Inversion-based data-free KD on MNIST (LeNet-5-BN → LeNet-5-half)",
        "",
        f"Machine: {result['machine']}, torch {result['torch']}, device {result['device']}. Produced by "
        "`python benchmarks/inversion.py`; raw rows in `benchmarks/results/inversion-mnist-*.json`.",
        "",
        (f"Teacher: LeNet-5 with BatchNorm trained here, {100 * t['test_accuracy']:.2f} % test accuracy "
         f"({t['seconds']:.0f} s). " if t else "")
        + "Student accuracy is the real test set at the **last** epoch (no selection on test), mean ± std "
        f"(population) over the seeds each row names (from {', '.join(map(str, seeds))}); the student never "
        "sees a real training image. Synthesis time (inner optimisation, meta-updates, pool sampling) and KD "
        f"time (student updates) are measured apart; speed-up = {ANCHOR}'s synthesis seconds / the row's.",
        "",
        "| method | student accuracy (%) | floor | inner steps per batch | images synthesised | synthesis (s) "
        "| speed-up | KD (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m, runs in rows.items():
        s = synthesis_seconds(runs)
        speed = f"{anchor_s / s:.1f}×" if anchor_s else "—"
        lines.append(f"| {m} ({len(runs)} seed{'s' if len(runs) > 1 else ''}) | "
                     f"{mean_std([r['final_accuracy'] for r in runs])} | {FLOOR.get(m, 'reported')} | "
                     f"{runs[0]['inner_steps']} | {runs[0]['protocol']['pool_images'] or '— (generator)'} | "
                     f"{s:.0f} | {speed} | {statistics.mean(r['kd_total_seconds'] for r in runs):.0f} |")
    if result["deepinversion_steps"]:
        lines += ["", "DeepInversion at other step counts (seed 0):", "",
                  "| inner steps | student accuracy (%) | synthesis (s) |", "|---|---|---|"]
        for r in sorted(result["deepinversion_steps"], key=lambda r: r["inner_steps"]):
            lines.append(f"| {r['inner_steps']} | {100 * r['final_accuracy']:.2f} | "
                         f"{r['synthesis_total_seconds']:.0f} |")
    lines += ["", "![accuracy vs synthesis time](inversion-mnist.png)", ""]
    lines += [f"![{m} samples](inversion-samples-{m}.png)" for m in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
