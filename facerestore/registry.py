"""One registry for every named, buildable thing: networks, methods, objectives, data sources, converters and
degradation presets. A registry is a read-only mapping filled by its :meth:`Registry.register` decorator in
the files that define the entries (their package ``__init__`` imports those files explicitly).
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

from facerestore.errors import ConfigError

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """Entries of one ``kind`` ("model", "method", ...) by name."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering its target under ``name``; a name registered twice is a programming error."""

        def decorator(entry: T) -> T:
            self.add(name, entry)
            return entry

        return decorator

    def add(self, name: str, entry: T) -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry

    def get(self, name: str) -> T:  # type: ignore[override]
        """The entry ``name``; an unknown name is a :class:`ConfigError` listing the valid ones."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise ConfigError(f"unknown {self.kind} {name!r}; available: {', '.join(self.names())}") from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def build(self, name: str, /, *args, **options):
        """Call entry ``name`` with ``options``, which are bound to its signature first: an option it does not
        take is a :class:`ConfigError`, while an error raised inside the constructor propagates as it is."""
        entry = self.get(name)
        try:
            inspect.signature(entry).bind(*args, **options)
        except TypeError as error:
            raise ConfigError(f"{self.kind} {name}: {error}") from None
        return entry(*args, **options)

    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
