"""Distill-CF against random and head users on MovieLens-100K, over budgets and seeds.

    python benchmarks/recsys.py [--dataset ml-100k] [--users 10,25,50,100,200,400]
        [--methods distill-cf,random,head] [--seeds 0,1,2] [--device cpu] [--tag cpu]

Each cell is one ``graphdistill condense <dataset> --method M --users N --seed S`` process (its
peak memory is its own); ∞-AE and EASE are fitted on the synthetic users (λ on validation
HR@100) and tested on the real users' held-out items. Writes
``benchmarks/results/recsys-<dataset>-<tag>.json``, ``benchmarks/RECSYS.md`` and
``benchmarks/recsys-<dataset>.png`` (test nDCG@10 of ∞-AE against the number of users).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from graphdistill.core.io import write_json, write_text
from graphdistill.core.plots import plot_accuracy_vs_budget

LEARNERS = ("infinite-ae", "ease")
COLUMNS = ("nDCG@10", "HR@10", "nDCG@100", "HR@100")


def run_cell(dataset: str, method: str, users: int, seed: int, args) -> dict:
    out = args.out / f"{dataset}-{method}-{users}-{seed}"
    command = [sys.executable, "-m", "graphdistill.cli", "condense", dataset, "--method", method,
               "--users", str(users), "--seed", str(seed), "--device", args.device, "--out", str(out)]
    print("$", " ".join(command[2:]), flush=True)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    metrics = json.loads((out / "metrics.json").read_text())
    metrics.setdefault("wall_seconds", time.perf_counter() - started)
    return metrics


def mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.pstdev(values):.2f}"


def table(rows: list[dict]) -> str:
    full = rows[0]["full"]
    head = "| method | users | learner | " + " | ".join(COLUMNS) + " | % of full nDCG@10 | condense (s) | seeds |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 6)]
    for learner in LEARNERS:
        lines.append(f"| all real users | {rows[0]['n_users_total']} | {learner} | "
                     + " | ".join(f"{full[learner]['test'][c]:.2f}" for c in COLUMNS) + " | 100 | — | — |")
    cells = sorted({(r["method"], r["n_users"]) for r in rows}, key=lambda k: (k[1], k[0]))
    for method, users in cells:
        group = [r for r in rows if r["method"] == method and r["n_users"] == users]
        for learner in LEARNERS:
            values = {c: [r["learners"][learner]["test"][c] for r in group] for c in COLUMNS}
            ratio = [100 * r["relative"][learner] for r in group]
            seconds = [r["condense_seconds"] for r in group]
            lines.append(f"| {method} | {users} | {learner} | " + " | ".join(mean_std(values[c]) for c in COLUMNS)
                         + f" | {mean_std(ratio)} | {statistics.mean(seconds):.1f} | {len(group)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--users", default="10,25,50,100,200,400")
    parser.add_argument("--methods", default="distill-cf,random,head")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tag", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/runs/recsys"))
    args = parser.parse_args()
    path = Path("benchmarks/results") / f"recsys-{args.dataset}-{args.tag}.json"
    keyed = {}
    if path.is_file():  # cells of an earlier invocation
        keyed = {(r["method"], r["n_users"], r["seed"]): r for r in json.loads(path.read_text())["rows"]}
    for users in (int(u) for u in args.users.split(",")):
        for method in args.methods.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                row = run_cell(args.dataset, method, users, seed, args)
                row["n_users_total"] = round(row["n_users"] / row["user_fraction"])
                keyed[(method, users, seed)] = row
                rows = sorted(keyed.values(), key=lambda r: (r["n_users"], r["method"], r["seed"]))
                save(rows, args, path)
    print(table(rows))


def save(rows: list[dict], args, path: Path) -> None:
    machine = {"cpu_threads": torch.get_num_threads(), "platform": platform.platform(), "torch": torch.__version__,
               "device": args.device}
    write_json(path, {"machine": machine, "rows": rows})
    write_text(Path("benchmarks") / "RECSYS.md",
               f"# Recommender distillation on {args.dataset}\n\nTest metrics (×100) of ∞-AE and EASE trained on "
               "the synthetic users (λ chosen on validation HR@100), mean ± std over seeds; produced by "
               f"`python benchmarks/recsys.py` on {machine['platform']}, {machine['cpu_threads']} CPU threads.\n\n"
               + table(rows) + "\n")
    points = {}
    for r in rows:
        points.setdefault((r["method"], r["n_users"]), []).append(r["learners"]["infinite-ae"]["test"]["nDCG@10"])
    plot_rows = [{"method": m, "budget": u, "test_mean": statistics.mean(v), "test_std": statistics.pstdev(v)}
                 for (m, u), v in points.items()]
    plot_accuracy_vs_budget(plot_rows, Path("benchmarks") / f"recsys-{args.dataset}.png",
                            title=f"{args.dataset}: ∞-AE trained on synthetic users",
                            reference=rows[0]["full"]["infinite-ae"]["test"]["nDCG@10"], xlabel="users",
                            ylabel="test nDCG@10", scale=1.0, reference_label="all real users")


if __name__ == "__main__":
    main()
