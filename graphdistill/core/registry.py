"""Decorator registries, so that adding a method, dataset or model touches one file only.

Example::

    METHODS = Registry("condensation method")

    @METHODS.register("random")
    class RandomCoreset: ...

    METHODS.get("random")          # -> RandomCoreset
    METHODS.get("randm")           # UserError: unknown condensation method 'randm'; ...
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from graphdistill.core.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name → object mapping filled by a decorator; lookups are case-insensitive."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        key = name.lower()

        def decorator(obj: T) -> T:
            if key in self._entries and self._entries[key] is not obj:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[key] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        key = name.lower()
        if key not in self._entries:
            close = difflib.get_close_matches(key, self._entries, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UserError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}.{hint}"
            )
        return self._entries[key]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
