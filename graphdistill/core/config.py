"""Hyper-parameter dataclasses built from user input, checked once for every method."""

from __future__ import annotations

import dataclasses
from typing import Any

from graphdistill.core.errors import UserError


def build_config(config_cls: type, values: dict[str, Any], owner: str):
    """Instantiate a hyper-parameter dataclass, rejecting unknown names and wrongly typed values
    with a one-line :class:`UserError` (ranges are the dataclass's own ``__post_init__``)."""
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise UserError(f"unknown hyper-parameter(s) {unknown} for {owner}; known: {sorted(fields) or 'none'}")
    for name, value in values.items():
        default = fields[name].default
        if default is dataclasses.MISSING or default is None:
            continue
        expected = type(default)
        # bool is an int subclass: accept it only where a bool is expected; ints are fine floats.
        accepted = (int, float) if expected is float else (expected,)
        if not isinstance(value, accepted) or (isinstance(value, bool) and expected is not bool):
            raise UserError(f"hyper-parameter {name} of {owner} must be {expected.__name__}, got {value!r}")
    return config_cls(**values)


def require_at_least(config: Any, minimum: float, *names: str) -> None:
    """Raise a one-line :class:`UserError` for the first field of ``config`` below ``minimum``."""
    for name in names:
        value = getattr(config, name)
        if value < minimum:
            raise UserError(f"{name} must be ≥ {minimum}, got {value}")
