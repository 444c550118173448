"""Intermediate features through forward hooks, so that no model needs surgery.

:class:`FeatureHooks` registers one forward hook per named module on entry and removes them all
on exit (also when the body raises); inside the block, ``features[name]`` is that module's latest
output. Module names are those of ``model.named_modules()`` (``"features.relu3"``, ``"layer2"``).

Example::

    with FeatureHooks(teacher, ["features.relu3"]) as features:
        logits = teacher(x)
        penultimate = features["features.relu3"]      # (B, 120) for LeNet-5
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from graphdistill.core.errors import UserError


class FeatureHooks:
    """Context manager capturing the outputs of named submodules of ``model``."""

    def __init__(self, model: nn.Module, names: Iterable[str]) -> None:
        self.model = model
        self.names = list(names)
        modules = dict(model.named_modules())
        missing = [n for n in self.names if n not in modules]
        if missing:
            known = ", ".join(n for n in modules if n) or "none"
            raise UserError(f"{type(model).__name__} has no module(s) {missing}; known: {known}")
        self._modules = [modules[n] for n in self.names]
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self.outputs: dict[str, torch.Tensor] = {}

    def __enter__(self) -> FeatureHooks:
        for name, module in zip(self.names, self._modules, strict=True):
            self._handles.append(module.register_forward_hook(self._keeper(name)))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self.outputs:
            raise KeyError(f"no output captured for {name!r}; run the model inside the `with` block first")
        return self.outputs[name]

    def __len__(self) -> int:
        return len(self._handles)

    def _keeper(self, name: str):
        def hook(_module: nn.Module, _inputs, output) -> None:
            self.outputs[name] = output
        return hook
