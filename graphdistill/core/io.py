"""Atomic file writes: a reader (or a killed process) never sees a half-written file.

Every writer goes to a temporary file in the destination folder, flushes and fsyncs it, then
``os.replace``-s it over the destination, which is atomic on POSIX and Windows file systems.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import IO, Any

import torch

TMP_SUFFIX = ".partial"


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_open(path, "w") as handle:
        handle.write(text)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def as_json_value(obj: Any) -> Any:
    """``obj`` as :func:`write_json` then :func:`read_json` would return it (tuples become lists),
    so that a value can be compared with one read back from a file."""
    return json.loads(json.dumps(obj, sort_keys=True, default=_json_default))


def json_literal(text: str) -> Any:
    """A command-line value: a JSON literal (number, true/false, null, list) if it parses, else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())


def save_torch(path: str | os.PathLike, obj: Any) -> None:
    """``torch.save`` atomically. Load with :func:`load_torch` (weights-only unpickling)."""
    with atomic_open(path, "wb") as handle:
        torch.save(obj, handle)


def carried_rows(rows: list[dict], present: set, key: str, source: str) -> list[dict]:
    """The rows of an earlier results file whose ``key`` is not in ``present``, each marked with
    ``carried_from=source``. Benchmark run folders stay out of the repository, so a report written on
    a new machine keeps the measured cells it cannot see instead of dropping them."""
    return [{**r, "carried_from": r.get("carried_from", source)} for r in rows if r[key] not in present]


def read_package_json(package: str, *parts: str) -> Any:
    """A JSON file shipped inside ``package`` (package data, e.g. per-dataset presets)."""
    return json.loads(resources.files(package).joinpath(*parts).read_text())


def write_rows_keeping_earlier(path: str | os.PathLike, rows: list[dict], key: str) -> list[dict]:
    """Write ``rows`` (a JSON list) to ``path`` together with the rows the file already held for keys
    not in ``rows`` (see :func:`carried_rows`), sorted by ``key``; returns what was written."""
    path = Path(path)
    if path.is_file():
        rows = rows + carried_rows(read_json(path), {r[key] for r in rows}, key, path.name)
        rows.sort(key=lambda r: r[key])
    write_json(path, rows)
    return rows


def load_torch(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Any:
    """Load a file written by :func:`save_torch` without executing arbitrary pickled code."""
    return torch.load(path, map_location=map_location, weights_only=True)


def save_with(path: str | os.PathLike, writer: Callable[[IO[bytes]], None]) -> None:
    """Atomically write whatever ``writer(handle)`` puts in a binary file (e.g. a figure)."""
    with atomic_open(path, "wb") as handle:
        writer(handle)


def leftover_partials(folder: str | os.PathLike) -> list[Path]:
    """Temporary files left by a writer that was killed between open and rename."""
    return sorted(Path(folder).rglob(f"*{TMP_SUFFIX}"))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")
