"""Where restoration weights come from: an explicit file, or ``<method>.safetensors`` in one fixed, absolute
cache folder (``$FACERESTORE_HOME``, default ``~/.cache/facerestore``). Nothing is ever downloaded: put the
converted or trained file there yourself (``facerestore convert ... -o "$FACERESTORE_HOME/<method>.safetensors"``).

A method with learned parameters and no weights file is refused with :class:`WeightsError` naming the path
that was looked for; ``allow_untrained=True`` (tests, timing) accepts it with a :class:`UntrainedWarning`,
so restoring with random weights never happens silently.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

from facerestore.errors import WeightsError

HOME_ENV = "FACERESTORE_HOME"
DEFAULT_HOME = "~/.cache/facerestore"
WEIGHTLESS_METHODS = frozenset({"bicubic"})  # methods without learned parameters


class UntrainedWarning(UserWarning):
    """A method runs with its random initial weights (``allow_untrained=True``)."""


def cache_dir() -> Path:
    """The weights cache folder: ``$FACERESTORE_HOME`` or ``~/.cache/facerestore``, ``~`` expanded and made
    absolute (a relative value is taken from the current folder once, here), so it never depends on where a
    later call runs."""
    return Path(os.path.abspath(os.path.expanduser(os.environ.get(HOME_ENV) or DEFAULT_HOME)))


def cached_weights_path(method: str) -> Path:
    """The file the cache holds for ``method``: ``cache_dir() / f"{method}.safetensors"`` (may not exist)."""
    return cache_dir() / f"{method}.safetensors"


def resolve_weights(method: str, weights: str | os.PathLike | None = None, *,
                    allow_untrained: bool = False) -> Path | None:
    """The weights file to load for ``method``, or None when it runs without one.

    ``weights`` given: that file (WeightsError when it does not exist). Otherwise None for a method without
    learned parameters (bicubic); the cached file when present; else None with an :class:`UntrainedWarning` when
    ``allow_untrained``, and a WeightsError naming the expected cache path in every other case.
    """
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise WeightsError("no such weights file", path)
        return path
    if method in WEIGHTLESS_METHODS:
        return None
    cached = cached_weights_path(method)
    if cached.is_file():
        return cached
    if allow_untrained:
        warnings.warn(f"method {method} has no weights file ({cached} is missing): running with random, "
                      "untrained weights", UntrainedWarning, stacklevel=2)
        return None
    raise WeightsError(f"no weights for method {method}: pass --weights FILE or put the file here "
                       f"(set {HOME_ENV} to use another folder); nothing is downloaded", cached)
