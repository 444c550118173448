"""Shared fixtures. Real data comes from $GRAPHDISTILL_DATA (CI: ../shared/data), never the network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = Path(os.environ.get("GRAPHDISTILL_DATA", SHARED))
    if not (root / "planetoid" / "Cora" / "raw" / "ind.cora.x").is_file():
        pytest.skip(f"real datasets not found under {root}; set GRAPHDISTILL_DATA")
    return root


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own empty user cache, so nothing leaks between tests or to ~/.cache."""
    monkeypatch.setenv("GRAPHDISTILL_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def cora(data_root):
    from graphdistill.graph import load_dataset

    return load_dataset("cora", data_root)

