"""Saving and loading classifiers: ``{"spec": ..., "state_dict": ...}`` files, read with
``weights_only=True`` (no arbitrary unpickling), checked against the architecture before use.

Example::

    save_model("teacher.pt", teacher)
    teacher = load_model("teacher.pt")                       # rebuilt from its spec
    student = load_model("weights.pt", arch="lenet5-half")   # a bare state dict, architecture given
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from graphdistill.core.errors import UserError
from graphdistill.core.io import save_torch
from vision.models import build_model


def save_model(path: str | os.PathLike, model: nn.Module, **extra) -> None:
    """Write the model's spec and weights (plus any ``extra`` JSON-like fields) atomically."""
    spec = getattr(model, "spec", None)
    if spec is None:
        raise UserError("only models built with vision.models.build_model carry the spec needed to save them")
    save_torch(path, {"spec": dict(spec), "state_dict": model.state_dict(), **extra})


def load_model(path: str | os.PathLike, arch: str | None = None, in_channels: int | None = None,
               num_classes: int | None = None) -> nn.Module:
    """Rebuild a model from a file written by :func:`save_model`, or from a bare state dict when
    ``arch`` (and ``in_channels``/``num_classes`` if they differ from 1/10) are given."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"model file {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise UserError(f"{path} is not a weights-only torch file ({type(err).__name__}: {str(err)[:200]}); "
                        "save the model's state_dict, not the pickled module") from err
    if not isinstance(payload, dict):
        raise UserError(f"{path} holds a {type(payload).__name__}, not a state dict")
    if "state_dict" in payload and "spec" in payload:
        spec, state = dict(payload["spec"]), payload["state_dict"]
        if arch is not None and arch.lower() != spec["name"]:
            raise UserError(f"{path} holds a {spec['name']}, not a {arch}")
    else:
        if arch is None:
            raise UserError(f"{path} is a bare state dict; say which architecture it belongs to (arch=...)")
        spec = {"name": arch.lower(), "in_channels": in_channels or 1, "num_classes": num_classes or 10}
        state = payload
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"{path} is not a state dict (its values are not all tensors)")
    name = spec.pop("name")
    model = build_model(name, **spec)
    missing, unexpected = _diff_keys(model, state)
    if missing or unexpected:
        raise UserError(f"{path} is not a state dict of {name}: missing {missing[:4]}, unexpected {unexpected[:4]}")
    shapes = [k for k, v in model.state_dict().items() if v.shape != state[k].shape]
    if shapes:
        k = shapes[0]
        raise UserError(f"{path} does not fit {name} (in_channels={model.spec['in_channels']}, "
                        f"num_classes={model.spec['num_classes']}): {k} is {tuple(state[k].shape)} in the file, "
                        f"{tuple(model.state_dict()[k].shape)} in the model")
    model.load_state_dict(state)
    return model


def _diff_keys(model: nn.Module, state: dict) -> tuple[list[str], list[str]]:
    expected = set(model.state_dict())
    return sorted(expected - set(state)), sorted(set(state) - expected)
