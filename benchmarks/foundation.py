"""Reproduce the foundation's figures: whole-graph GCN (5 seeds) and the coreset baselines.

    python benchmarks/foundation.py [--datasets cora,citeseer] [--runs 5] [--out benchmarks/runs]

Prints one table per dataset and writes ``benchmarks/results/foundation-<dataset>.json`` (the
run folders stay under ``--out``; rerunning resumes or reuses them). Reference numbers (GCond,
ICLR 2022, 2-layer GCN evaluation): whole graph Cora 81.2 ± 0.2, CiteSeer 71.7 ± 0.1; Kipf &
Welling (ICLR 2017): Cora 81.5, CiteSeer 70.3.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

from graphdistill.cli import format_table
from graphdistill.core.io import write_json
from graphdistill.graph.run import WHOLE, RunSpec, condense_run, whole_graph_run

BUDGETS = {"cora": (35, 70, 140), "citeseer": (30, 60, 120)}
METHODS = ("random", "herding", "kcenter")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="cora,citeseer")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/runs"))
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    for dataset in args.datasets.split(","):
        start = time.perf_counter()
        rows = []
        for method in METHODS:
            for budget in BUDGETS[dataset]:
                spec = RunSpec(dataset=dataset, method=method, budget=budget, seed=args.seed, runs=args.runs)
                rows.append(condense_run(spec, out=args.out / f"{dataset}-{method}-{budget}-{args.seed}",
                                         device=args.device, progress=False))
        whole = RunSpec(dataset=dataset, method=WHOLE, seed=args.seed, runs=args.runs)
        rows.append(whole_graph_run(whole, out=args.out / f"{dataset}-{WHOLE}-{args.seed}",
                                    device=args.device, progress=False))
        print(f"\n## {dataset}\n\n{format_table(rows)}\n")
        write_json(Path("benchmarks/results") / f"foundation-{dataset}.json", {
            "rows": rows, "wall_seconds": time.perf_counter() - start,
            "machine": {"cpu_threads": torch.get_num_threads(), "platform": platform.platform(),
                        "torch": torch.__version__,
                        "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None},
        })


if __name__ == "__main__":
    main()
