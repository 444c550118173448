"""Inversion-based data-free KD on MNIST, LeNet-5-BN → LeNet-5-half: DeepInversion (several step
counts), CMI, DFQ and FastDFKD-{2,5,10}, accuracy against synthesis time, side by side.

    python benchmarks/inversion.py [--seeds 0,1,2] [--methods deepinversion,cmi,dfq,fastdfkd-2,...]
        [--di-steps 50,100] [--threads 1] [--parts methods,steps,timing,report] [--tag cpu]

Every cell is a run folder under ``benchmarks/runs/inversion/`` (resumable: an interrupted script run
again skips finished cells and resumes the interrupted one from its checkpoint). The teacher is a
LeNet-5 with BatchNorm trained here (``graphdistill teacher mnist --arch lenet5-bn``); the student
never sees a real training image and is reported on the real test set at its last epoch.
The ``timing`` part measures every method's synthesis seconds per batch side by side in one process
(run it alone on a quiet machine: the cells may have run two at a time, which inflates their own
seconds unevenly). Writes ``benchmarks/results/inversion-mnist-<tag>.json``, ``benchmarks/INVERSION.md``,
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
from vision.dfkd.methods import DFKD_METHODS

HERE = Path(__file__).parent
METHODS = "deepinversion,cmi,dfq,fastdfkd-2,fastdfkd-5,fastdfkd-10"
FLOOR = {"deepinversion": "≥ 97.0", "cmi": "≥ 97.0", "fastdfkd-5": "within 1 point of deepinversion"}
ANCHOR = "deepinversion"  # the speed-ups are synthesis time relative to this row (as FastDFKD Table 1)


def cell(args, teacher: Path, method: str, seed: int, hyper: dict, name: str) -> dict:
    metrics = dfkd_cell(args, teacher, method, seed, hyper, name)
    metrics["name"], metrics["inner_steps"] = name, metrics["protocol"]["inner_steps"]
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--methods", default=METHODS)
    parser.add_argument("--di-steps", default="50,100",
                        help="extra DeepInversion step counts (seed 0) for the accuracy-vs-time curve")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tag", default="cpu")
    parser.add_argument("--out", type=Path, default=HERE / "runs" / "inversion")
    parser.add_argument("--parts", default="methods,steps,timing,report",
                        help="what to do: methods, steps, timing, report")
    parser.add_argument("--timing-batches", type=int, default=3, help="timed synthesize() calls per method")
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
    timing_path = HERE / "results" / f"inversion-timing-{args.tag}.json"
    if "timing" in parts:
        inversion = [m for m in methods if hasattr(DFKD_METHODS.get(m), "steps")]  # DFQ also samples its generator
        variants = [(m, {}) for m in inversion] + [("deepinversion", {"steps": k}) for k in di_steps]
        write_json(timing_path, time_synthesis(teacher, variants, args.timing_batches, args.device))
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
              "methods": rows, "deepinversion_steps": steps, "wall_seconds": time.perf_counter() - started,
              "timing": read_json(timing_path) if timing_path.is_file() else None}
    write_json(HERE / "results" / f"inversion-mnist-{args.tag}.json", result)
    for m, runs in rows.items():
        shutil.copyfile(args.out / runs[0]["name"] / "samples.png", HERE / f"inversion-samples-{m}.png")
    plot(rows, steps, HERE / "inversion-mnist.png")
    text = report(result, seeds)
    write_text(HERE / "INVERSION.md", text)
    print(text)


def time_synthesis(teacher_path: Path, variants: list[tuple[str, dict]], batches: int, device: str) -> dict:
    """Seconds per synthesize() call of each (method, overrides), one after the other in this process,
    after one untimed call, with the adversarial term on (past warm-up)."""
    from vision.data import load_images
    from vision.models import build_model
    from vision.run import load_teacher

    test = load_images("mnist", "test", size=32)
    dev = torch.device(device)
    teacher = load_teacher(teacher_path, test, dev)
    rows = []
    for method, hyper in variants:
        spec = DFKD_METHODS.get(method).with_overrides(hyper)
        torch.manual_seed(0)
        synth = spec.build_synthesizer(teacher, build_model("lenet5-half", 1, 10).to(dev), test, dev)
        synth.start_epoch(spec.warmup_epochs)
        synth.synthesize()
        seconds = [synth.synthesize().seconds for _ in range(batches)]
        rows.append({"method": method, "hyper": hyper, "inner_steps": spec.steps,
                     "seconds_per_call": statistics.mean(seconds), "calls": batches,
                     "calls_per_run": spec.epochs * spec.iterations})
        print(f"timing {method} {hyper}: {rows[-1]['seconds_per_call']:.2f} s per synthesize()", flush=True)
    return {"threads": torch.get_num_threads(), "device": device, "rows": rows}


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
    ax.set(xlabel="synthesis seconds per run (runs shared the 2-core CPU; log scale)",
           ylabel="student test accuracy (%)", title="MNIST LeNet-5-BN → LeNet-5-half, data-free")
    ax.legend(fontsize=7)
    save_figure(fig, path)


def quiet_seconds(result: dict, method: str, steps: int | None = None) -> float | None:
    """Seconds per synthesize() of ``method`` (at ``steps`` inner steps) from the timing part, if run."""
    timing = result.get("timing") or {"rows": []}
    for row in timing["rows"]:
        if row["method"] == method and (steps is None or row["inner_steps"] == steps) \
                and (steps is not None or not row["hyper"]):
            return row["seconds_per_call"]
    return None


def report(result: dict, seeds: list[int]) -> str:
    t = result["teacher"]
    rows = result["methods"]
    anchor_quiet = quiet_seconds(result, ANCHOR)
    lines = [
        "# Inversion-based data-free KD on MNIST (LeNet-5-BN → LeNet-5-half)",
        "",
        f"Machine: {result['machine']}, torch {result['torch']}, device {result['device']}. Produced by "
        "`python benchmarks/inversion.py`; raw rows in `benchmarks/results/inversion-mnist-*.json` and "
        "`inversion-timing-*.json`.",
        "",
        (f"Teacher: LeNet-5 with BatchNorm trained here, {100 * t['test_accuracy']:.2f} % test accuracy "
         f"({t['seconds']:.0f} s). " if t else "")
        + "Student accuracy is the real test set at the **last** epoch (no selection on test), mean ± std "
        f"(population) over the seeds each row names (from {', '.join(map(str, seeds))}); the student never "
        "sees a real training image. Synthesis time (inner optimisation, meta-updates, pool sampling) and KD "
        "time (student updates) are measured apart. *Run* seconds are the cells' own, which ran two to "
        "five at a time on the two cores (one thread each); *quiet* seconds per batch come from the timing "
        "part (every method one after "
        f"the other in one process, nothing else running) and give the speed-up: {ANCHOR}'s quiet seconds "
        "per batch / the row's (every inversion row synthesises the same number of batches).",
        "",
        "| method | student accuracy (%) | floor | inner steps per batch | images | synthesis per batch, quiet (s) "
        "| speed-up | synthesis per run (s) | KD per run (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m, runs in rows.items():
        quiet = quiet_seconds(result, m)
        speed = f"{anchor_quiet / quiet:.1f}×" if quiet and anchor_quiet else "—"
        lines.append(f"| {m} ({len(runs)} seed{'s' if len(runs) > 1 else ''}) | "
                     f"{mean_std([r['final_accuracy'] for r in runs])} | {FLOOR.get(m, 'reported')} | "
                     f"{runs[0]['inner_steps']} | {runs[0]['protocol']['pool_images'] or '(generator)'} | "
                     f"{f'{quiet:.2f}' if quiet else '—'} | {speed} | {synthesis_seconds(runs):.0f} | "
                     f"{statistics.mean(r['kd_total_seconds'] for r in runs):.0f} |")
    runs_by_steps = {r["inner_steps"]: r for r in result["deepinversion_steps"]}
    timed_steps = {row["inner_steps"] for row in (result.get("timing") or {"rows": []})["rows"]
                   if row["method"] == ANCHOR and row["hyper"]}
    if runs_by_steps or timed_steps:
        lines += ["", "DeepInversion at other step counts (seed 0; accuracy only where the cell was run):", "",
                  "| inner steps | student accuracy (%) | synthesis per batch, quiet (s) | synthesis per run (s) |",
                  "|---|---|---|---|"]
        for k in sorted(set(runs_by_steps) | timed_steps):
            r, quiet = runs_by_steps.get(k), quiet_seconds(result, ANCHOR, k)
            accuracy = f"{100 * r['final_accuracy']:.2f}" if r else "not run"
            per_run = f"{r['synthesis_total_seconds']:.0f}" if r else "—"
            lines.append(f"| {k} | {accuracy} | {f'{quiet:.2f}' if quiet else '—'} | {per_run} |")
    lines += ["", "![accuracy vs synthesis time](inversion-mnist.png)", ""]
    lines += [f"![{m} samples](inversion-samples-{m}.png)" for m in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
