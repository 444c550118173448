"""Design rule: dependencies flow one way — modalities import the core, never the reverse."""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "graphdistill" / "core"
MODALITIES = ("graphdistill.graph", "graphdistill.text", "graphdistill.cli", "recsys", "vision")


def imported_modules(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_core_never_imports_a_modality():
    offenders = {
        f"{path.name}: {module}"
        for path in CORE.glob("*.py")
        for module in imported_modules(path)
        if module.startswith(MODALITIES)
    }
    assert not offenders
    assert len(list(CORE.glob("*.py"))) >= 10  # the scan really looked at the core


def test_no_pyplot_and_no_torchvision_anywhere():
    root = CORE.parents[1]
    for package in ("graphdistill", "recsys", "vision"):
        for path in (root / package).rglob("*.py"):
            modules = set(imported_modules(path))
            assert "matplotlib.pyplot" not in modules, path
            assert not any(m.startswith(("torchvision", "wandb")) for m in modules), path


def test_recsys_uses_the_core_not_the_graph_modality():
    root = CORE.parents[1] / "recsys"
    offenders = {f"{p.name}: {m}" for p in root.glob("*.py") for m in imported_modules(p)
                 if m.startswith(("graphdistill.graph", "graphdistill.cli", "vision"))}
    assert not offenders


def test_vision_uses_the_core_not_other_modalities():
    root = CORE.parents[1] / "vision"
    offenders = {f"{p.name}: {m}" for p in root.rglob("*.py") for m in imported_modules(p)
                 if m.startswith(("graphdistill.graph", "graphdistill.text", "graphdistill.cli", "recsys"))}
    assert not offenders
    assert len(list(root.rglob("*.py"))) >= 15
