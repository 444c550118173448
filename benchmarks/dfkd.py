"""Data-free KD on MNIST, LeNet-5 → LeNet-5-half: teacher, real-data KD ceiling, DAFL / RDSKD / DFAD /
ZSKT over seeds, and the generator-lr × temperature sensitivity sweep of DAFL and RDSKD.

    python benchmarks/dfkd.py [--seeds 0,1,2] [--methods dafl,rdskd,dfad,zskt] [--sweep]
        [--sweep-lr 0.02,0.2,1.0] [--sweep-temperature 1,10] [--device cpu] [--tag cpu]

Every cell is a run folder under ``benchmarks/runs/dfkd/`` (resumable: an interrupted script run
again skips finished cells and resumes the interrupted one from its checkpoint). The student never
sees a real training image; its accuracy on the real test set is reported at the last epoch.
Writes ``benchmarks/results/dfkd-mnist-<tag>.json``, ``benchmarks/DFKD.md``,
``benchmarks/dfkd-mnist.png`` (accuracy against synthesis seconds) and a grid of samples per method.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import time
from pathlib import Path

import torch

from graphdistill.core.io import carried_rows, read_json, write_json, write_text
from graphdistill.core.plots import new_figure, save_figure
from vision.dfkd.methods import DFKD_METHODS
from vision.run import dfkd_run, kd_real_run, train_teacher
from vision.train import TrainConfig

HERE = Path(__file__).parent
PAPER = {"dafl": "98.20 (DAFL Table 1)", "dfad": "98.3 (DFAD Fig.)", "rdskd": "97.6 (seed article)",
         "zskt": "— (no MNIST number)", "kd-real": "98.91 (DAFL) / 98.8 (DFAD)"}
FLOOR = {"dafl": 97.5, "dfad": 97.5, "rdskd": 97.5, "kd-real": 98.8}


def mean_std(values: list[float]) -> str:
    values = [100 * v for v in values]
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.pstdev(values):.2f}"


def teacher_file(args, arch: str = "lenet5") -> Path:
    """The MNIST teacher of the benchmark (trained once, then reused from ``args.out``)."""
    path = args.out / f"teacher-{arch}-mnist.pt"
    if not path.is_file():
        print(f"training the {arch} teacher", flush=True)
        result = train_teacher("mnist", arch, path, seed=0, device=args.device)
        write_json(args.out / "teacher.json", {k: v for k, v in result.items() if k != "path"})
    return path


def kd_real(args, teacher: Path, seed: int) -> dict:
    path = args.out / f"kd-real-e{args.kd_epochs}-{seed}.json"
    if not path.is_file():
        print(f"KD with real data, seed {seed}", flush=True)
        result = kd_real_run(teacher, "lenet5-half", "mnist", seed=seed, device=args.device,
                             config=TrainConfig(epochs=args.kd_epochs))
        write_json(path, {**result, "epochs": args.kd_epochs})
    return read_json(path)


def finished(args, name: str, hyper: dict) -> dict:
    metrics = read_json(args.out / name / "metrics.json")
    metrics["hyper"] = hyper
    return metrics


def dfkd_cell(args, teacher: Path, method: str, seed: int, hyper: dict, name: str) -> dict:
    out = args.out / name
    if not (out / "metrics.json").is_file():
        print(f"{name}: {method} seed {seed} {hyper}", flush=True)
        dfkd_run(teacher, "lenet5-half", method, "mnist", seed=seed, out=out, hyper=hyper, device=args.device,
                 progress=args.verbose)
    metrics = read_json(out / "metrics.json")
    metrics["hyper"] = hyper
    return metrics


SWEEP_EPOCHS = {"dafl": {"epochs": 3}, "rdskd": {"epochs": 6, "warmup_epochs": 3}}


def sweep_hyper(method: str, lr: float, temperature: float) -> dict:
    """A shortened run (see SWEEP_EPOCHS) at one generator learning rate and KD temperature."""
    return {"generator_lr": lr, "temperature": temperature, **SWEEP_EPOCHS.get(method, {"epochs": 5})}


def parse_cell_arguments(parser: argparse.ArgumentParser):
    """Arguments every data-free KD benchmark shares; returns (args, parts, seeds, methods), methods checked."""
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads per process (e.g. 1 to run two cell lists side by side)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    methods = [m for m in args.methods.split(",") if m]
    for m in methods:
        DFKD_METHODS.get(m)
    args.out.mkdir(parents=True, exist_ok=True)
    return args, set(args.parts.split(",")), [int(s) for s in args.seeds.split(",")], methods


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--methods", default="dafl,rdskd,dfad,zskt")
    parser.add_argument("--sweep", action="store_true", help="also run the sensitivity sweep (seed 0)")
    parser.add_argument("--sweep-methods", default="dafl,rdskd")
    parser.add_argument("--sweep-lr", default="0.001,0.02,0.2", help="generator learning rates")
    parser.add_argument("--sweep-temperature", default="1,10")
    parser.add_argument("--kd-epochs", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tag", default="cpu")
    parser.add_argument("--out", type=Path, default=HERE / "runs" / "dfkd")
    parser.add_argument("--parts", default="real,methods,sweep,report",
                        help="what to do: real (KD with real data), methods, sweep, report")
    args, parts, seeds, methods = parse_cell_arguments(parser)
    started = time.perf_counter()

    teacher = teacher_file(args)
    teacher_info = read_json(args.out / "teacher.json")
    if "real" in parts:
        for s in seeds:
            kd_real(args, teacher, s)
    if "methods" in parts:
        for m in methods:
            for s in seeds:
                dfkd_cell(args, teacher, m, s, {}, f"{m}-{s}")
    sweep_cells = {m: [(sweep_hyper(m, float(lr), float(t)), f"sweep-{m}-lr{lr}-T{t}")
                       for lr in args.sweep_lr.split(",") for t in args.sweep_temperature.split(",")]
                   for m in args.sweep_methods.split(",")} if args.sweep else {}
    if "sweep" in parts:
        for m, cells in sweep_cells.items():
            for hyper, name in cells:
                dfkd_cell(args, teacher, m, 0, hyper, name)
    if "report" not in parts:
        return

    # The report gathers every finished cell (a method may have fewer seeds than asked).
    real = [read_json(p) for s in seeds if (p := args.out / f"kd-real-e{args.kd_epochs}-{s}.json").is_file()]
    real += carried_kd_real(args, seeds, {r["seed"] for r in real})
    rows = {m: [finished(args, f"{m}-{s}", {}) for s in seeds if (args.out / f"{m}-{s}" / "metrics.json").is_file()]
            for m in methods}
    rows = {m: r for m, r in rows.items() if r}
    sweep = {m: [finished(args, name, hyper) for hyper, name in cells if (args.out / name / "metrics.json").is_file()]
             for m, cells in sweep_cells.items()}
    result = {"machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
              "torch": torch.__version__, "device": args.device, "teacher": teacher_info,
              "kd_real": real, "methods": rows, "sweep": sweep, "out": str(args.out),
              "wall_seconds": time.perf_counter() - started}
    write_json(HERE / "results" / f"dfkd-mnist-{args.tag}.json", result)
    for m, runs in rows.items():
        shutil.copyfile(args.out / f"{m}-{runs[0]['seed']}" / "samples.png", HERE / f"dfkd-samples-{m}.png")
    plot(rows, HERE / "dfkd-mnist.png")
    write_text(HERE / "DFKD.md", report(result, seeds))
    print(report(result, seeds))


def carried_kd_real(args, seeds: list[int], present: set[int]) -> list[dict]:
    """Real-data KD rows of an earlier report (same tag, epochs and seeds) whose files are not here.

    KD with real data does not depend on any data-free setting, so a report written on another
    machine (run folders are not in the repository) keeps them; each carried row says so."""
    path = HERE / "results" / f"dfkd-mnist-{args.tag}.json"
    if not path.is_file():
        return []
    same_setting = [r for r in read_json(path)["kd_real"] if r["seed"] in seeds and r.get("epochs") == args.kd_epochs]
    return carried_rows(same_setting, present, "seed", path.name)


def plot(rows: dict[str, list[dict]], path: Path) -> None:
    fig, ax = new_figure(5.5, 3.8)
    for method, runs in rows.items():
        xs = [r["synthesis_total_seconds"] for r in runs]
        ys = [100 * r["final_accuracy"] for r in runs]
        ax.scatter(xs, ys, label=method)
    ax.set(xlabel="synthesis seconds (CPU)", ylabel="student test accuracy (%)",
           title="MNIST LeNet-5 → LeNet-5-half, data-free")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def report(result: dict, seeds: list[int]) -> str:
    t = result["teacher"]
    lines = [
        "# Data-free knowledge distillation on MNIST (LeNet-5 → LeNet-5-half)",
        "",
        f"Machine: {result['machine']}, torch {result['torch']}, device {result['device']}. "
        f"Produced by `python benchmarks/dfkd.py --sweep`; raw rows in `benchmarks/results/dfkd-mnist-*.json`.",
        "",
        f"Teacher: LeNet-5 trained here, {100 * t['test_accuracy']:.2f} % test accuracy ({t['seconds']:.0f} s). "
        "Student accuracy is the real test set at the **last** epoch (no selection on test), mean ± std "
        f"(population) over the seeds each row names (from {', '.join(map(str, seeds))}); "
        "the student never sees a real training image. "
        "Synthesis time (generator updates and sampling) and KD time (student updates) are measured apart.",
        "",
        "| method | student accuracy (%) | floor | published | synthesis (s) | KD (s) | generator / schedule |",
        "|---|---|---|---|---|---|---|",
    ]
    real = result["kd_real"]
    carried = " from the previous report" if any("carried_from" in r for r in real) else ""
    lines.append(f"| KD with real data ({len(real)} seeds{carried}) | "
                 f"{mean_std([r['final_accuracy'] for r in real])} | "
                 f"{FLOOR['kd-real']} | "
                 f"{PAPER['kd-real']} | — | {statistics.mean(r['seconds'] for r in real):.0f} | "
                 f"real training set, Hinton KD T = 4, {real[0]['epochs']} epochs (Adam 1e-3, cosine) |")
    for m, runs in result["methods"].items():
        cfg = read_json(Path(result.get("out", HERE / "runs" / "dfkd")) / f"{m}-{runs[0]['seed']}" / "config.json")
        spec = cfg["method"]
        precision = spec.get("generator_precision", "float32")
        setting = (f"ngf {spec['ngf']}{'' if precision == 'float32' else f' ({precision})'}, "
                   f"batch {spec['batch_size']}, {spec['epochs']} × {spec['iterations']} "
                   f"iterations, {spec['kd_steps']} KD steps each, lr_G {spec['generator_lr']:g}"
                   f"{' (cosine)' if spec.get('generator_schedule') == 'cosine' else ''}, "
                   f"T {spec['temperature']:g}")
        lines.append(f"| {m} ({len(runs)} seed{'s' if len(runs) > 1 else ''}) | "
                     f"{mean_std([r['final_accuracy'] for r in runs])} | {FLOOR.get(m, '—')} | {PAPER[m]} | "
                     f"{statistics.mean(r['synthesis_total_seconds'] for r in runs):.0f} | "
                     f"{statistics.mean(r['kd_total_seconds'] for r in runs):.0f} | {setting} |")
    if result["sweep"]:
        lines += ["", "## Sensitivity: generator learning rate × KD temperature (seed 0, shortened runs: "
                  + ", ".join(f"{m} {v}" for m, v in SWEEP_EPOCHS.items()) + ")", "",
                  "| method | " + " | ".join(f"lr_G {r['hyper']['generator_lr']:g}, T {r['hyper']['temperature']:g}"
                                             for r in next(iter(result["sweep"].values()))) + " | spread (max − min) |",
                  "|---|" + "---|" * (len(next(iter(result["sweep"].values()))) + 1)]
        for m, runs in result["sweep"].items():
            accs = [100 * r["final_accuracy"] for r in runs]
            lines.append(f"| {m} | " + " | ".join(f"{a:.2f}" for a in accs) + f" | {max(accs) - min(accs):.2f} |")
    lines += ["", "![accuracy vs synthesis time](dfkd-mnist.png)", ""]
    lines += [f"![{m} samples](dfkd-samples-{m}.png)" for m in result["methods"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
