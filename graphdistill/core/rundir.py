"""Run folders shared by every modality: identity checks, safe JSON reading, peak memory."""

from __future__ import annotations

from pathlib import Path

import torch

from graphdistill.core.errors import UserError
from graphdistill.core.io import leftover_partials, read_json


def read_run_json(path: Path) -> dict:
    try:
        value = read_json(path)
    except (OSError, ValueError) as err:
        raise UserError(f"{path} is unreadable ({err}); delete the run folder and run again") from err
    if not isinstance(value, dict):
        raise UserError(f"{path} is not a graphdistill run file; delete the run folder and run again")
    return value


def prepare_folder(out: Path, identity: dict) -> None:
    """Refuse a folder that holds anything but this same run; create it otherwise."""
    if out.exists() and not out.is_dir():
        raise UserError(f"output path {out} is a file, not a folder; choose another --out")
    config = out / "config.json"
    if config.is_file():
        previous = read_run_json(config).get("identity")
        if previous != identity:
            if isinstance(previous, dict) and "config" in identity and "config" not in previous:
                raise UserError(f"output folder {out} was made by an older graphdistill that did not record the "
                                "method's resolved settings, so it cannot be checked against this run; "
                                "choose another --out or delete that folder")
            changed = sorted(k for k in identity if previous is None or previous.get(k) != identity[k])
            raise UserError(f"output folder {out} holds a different run (differs in {', '.join(changed)}); "
                            "choose another --out or delete that folder")
    elif out.exists() and any(out.iterdir()):
        raise UserError(f"output folder {out} is not empty and is not a graphdistill run; "
                        "choose another --out or empty it")
    out.mkdir(parents=True, exist_ok=True)
    for partial in leftover_partials(out):  # a write cut short by a kill; its target is intact
        partial.unlink()


def peak_memory_mib() -> dict:
    """Peak resident memory of this process and, on CUDA, peak allocated GPU memory (MiB)."""
    peaks = {}
    try:
        import resource

        # ru_maxrss is KiB on Linux (bytes on macOS, where this slightly overstates).
        peaks["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except ImportError:  # not on POSIX
        pass
    if torch.cuda.is_available():
        peaks["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return peaks
