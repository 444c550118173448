"""Hyper-parameter tuning on validation accuracy, one run folder per candidate.

A *grid* maps hyper-parameter names to the values to try, e.g. ``{"smoothness": [0.02, 0.1]}``.
Every combination is condensed and evaluated with the run's own protocol in
``<out>/candidates/<name=value,...>/`` (a normal, resumable run folder). The candidate with the best
mean *validation* accuracy of its evaluation runs is kept (the first one listed wins ties): its
graph, plots and metrics are copied into ``<out>``, and ``metrics.json["tuning"]`` lists every
candidate. Test accuracy plays no part in the choice.

A method's preset may name a grid for a dataset (``"tuning"`` in ``presets/gcond.json``); it applies
to every run of that method on that dataset whose hyper-parameters do not fix one of its names.
"""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path
from typing import Any

from graphdistill.core.errors import UserError
from graphdistill.core.io import json_literal, save_with
from graphdistill.graph.condense import read_preset

# Files of a finished run folder that describe its graph; metrics.json is written last.
RESULT_FILES = ("synthetic.pt", "report.md", "curves.png", "graph.png", "condensation.png")


def preset_grid(method: str, dataset: str) -> dict[str, list]:
    """The tuning grid the presets give ``method`` on ``dataset`` (empty when none)."""
    return dict(read_preset("gcond.json").get("tuning", {}).get(method, {}).get(dataset, {}))


def parse_grid(pairs: list[str]) -> dict[str, list]:
    """``["smoothness=0.02,0.1"]`` → ``{"smoothness": [0.02, 0.1]}`` (values as JSON literals)."""
    grid: dict[str, list] = {}
    for pair in pairs:
        name, sep, values = pair.partition("=")
        if not sep or not name or not values:
            raise UserError(f"--tune expects NAME=V1,V2,..., got {pair!r}")
        grid[name] = [json_literal(v) for v in values.split(",")]
    return check_grid(grid)


def check_grid(grid: dict[str, Any]) -> dict[str, list]:
    """Refuse empty value lists and repeated values before any work starts."""
    for name, values in grid.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise UserError(f"tuning grid for {name!r} needs a non-empty list of values, got {values!r}")
        if len({json.dumps(v) for v in values}) != len(values):
            raise UserError(f"tuning grid for {name!r} repeats a value: {list(values)}")
    return {name: list(values) for name, values in grid.items()}


def candidates(grid: dict[str, list]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in the order the grid lists them."""
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(grid[n] for n in names))]


def candidate_folder(out: Path, combination: dict[str, Any]) -> Path:
    return out / "candidates" / ",".join(f"{k}={json.dumps(v)}" for k, v in combination.items())


def best_by_validation(scored: list[dict]) -> dict:
    """The entry of ``scored`` (dicts with ``val_mean``) with the highest validation mean; the
    earliest wins ties, so the choice never depends on test accuracy or on run order."""
    if not scored:
        raise UserError("nothing to choose from: the tuning grid is empty")
    best = scored[0]
    for entry in scored[1:]:
        if entry["val_mean"] > best["val_mean"]:
            best = entry
    return best


def adopt_candidate(out: Path, chosen: Path) -> None:
    """Copy the chosen candidate's result files into ``out`` (each atomically)."""
    for name in RESULT_FILES:
        source = chosen / name
        if source.is_file():
            with source.open("rb") as handle:
                save_with(out / name, lambda target, handle=handle: shutil.copyfileobj(handle, target))

