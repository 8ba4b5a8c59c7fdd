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
_CHECKS = {
    "bool": lambda v: isinstance(v, bool),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "None": lambda v: v is None,
}


def accepts(annotation, value) -> bool:
    """Whether ``value`` fits a parameter's ``annotation`` (a string under ``from __future__ import annotations``):
    ``bool``, ``int``, ``float``, ``str`` and ``None`` and their unions are checked (an ``int`` is a valid
    ``float``, a ``bool`` is neither); other annotations (paths, tuples, objects) accept any value."""
    if annotation is inspect.Parameter.empty or not isinstance(annotation, str):
        return True
    checks = [_CHECKS.get(part.strip()) for part in annotation.split("|")]
    if any(check is None for check in checks):
        return True
    return any(check(value) for check in checks)


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
        take, or of a type its annotation refuses (:func:`accepts`), is a :class:`ConfigError`, while an error
        raised inside the constructor propagates as it is."""
        entry = self.get(name)
        signature = inspect.signature(entry)
        try:
            signature.bind(*args, **options)
        except TypeError as error:
            raise ConfigError(f"{self.kind} {name}: {error}") from None
        for key, value in options.items():
            parameter = signature.parameters.get(key)
            if parameter is not None and not accepts(parameter.annotation, value):
                raise ConfigError(f"{self.kind} {name}: option {key} must be {parameter.annotation}, got {value!r}")
        return entry(*args, **options)

    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
