"""Where restoration weights come from: an explicit file; else ``<method>.safetensors`` in one fixed, absolute
cache folder (``$FACERESTORE_HOME``, default ``~/.cache/facerestore``), where a user puts converted or trained
files (``facerestore convert ... -o "$FACERESTORE_HOME/<method>.safetensors"``); else the weights bundled in
the package (``facerestore/weights/``, :data:`BUNDLED`). Nothing is ever downloaded.

A method with learned parameters and no weights file is refused with :class:`WeightsError` naming the path
that was looked for; ``allow_untrained=True`` (tests, timing) accepts it with a :class:`UntrainedWarning`,
so restoring with random weights never happens silently.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

from facerestore.errors import WeightsError
from facerestore.io.home import HOME_ENV, home_dir
from facerestore.methods.base import method_class

# The default: UFVNet (Peng et al.), one of the five papers' networks, trained here for any input size and a blind
# mix of degradations (configs/ufvnet/ufvnet_default_clean.yaml, then ufvnet_default_tune.yaml; docs/training.md,
# "The bundled UFVNet"). The EDSR-baseline yardstick ships at x2 / x4 / x8 (--method edsr, the weights of the
# photo's scale): a free-size network, it restores every face of a photo up to 256 px on the photo's own grid,
# where UFVNet's 128 px output keeps larger faces at bicubic (docs/restore.md, "EDSR for whole photos").
DEFAULT_METHOD = "ufvnet"
DEFAULT_SCALE = 2  # the background scale of a method without a fixed one (as GFPGAN's default upscale)
# method → {scale: file} (None: one file for every scale); without a scale the first entry is used.
BUNDLED: dict[str, dict[int | None, str]] = {
    "ufvnet": {None: "ufvnet_default.safetensors"},
    "edsr": {4: "edsr_x4_mostly_clean.safetensors", 2: "edsr_x2_mostly_clean.safetensors", 8: "edsr_x8_quick.safetensors"},
}
BUNDLED_DIR = Path(__file__).resolve().parent.parent / "weights"


class UntrainedWarning(UserWarning):
    """A method runs with its random initial weights (``allow_untrained=True``)."""


def cache_dir() -> Path:
    """The weights cache folder: :func:`facerestore.io.home.home_dir`."""
    return home_dir()


def cached_weights_path(method: str) -> Path:
    """The file the cache holds for ``method``: ``cache_dir() / f"{method}.safetensors"`` (may not exist)."""
    return cache_dir() / f"{method}.safetensors"


def bundled_weights_path(method: str, scale: float | None = None) -> Path | None:
    """The weights bundled in the package for ``method`` at ``scale`` (the smallest bundled scale at least
    ``scale``, else the largest; None: the first entry), or None when none ship."""
    files = {s: BUNDLED_DIR / name for s, name in BUNDLED.get(method, {}).items() if (BUNDLED_DIR / name).is_file()}
    if not files:
        return None
    if None in files or scale is None:
        return files.get(None) or next(iter(files.values()))
    scales = sorted(files)
    return files[next((s for s in scales if s >= scale - 1e-9), scales[-1])]


def resolve_weights(method: str | None, weights: str | os.PathLike | None = None, *, scale: float | None = None,
                    allow_untrained: bool = False) -> Path | None:
    """The weights file to load for ``method`` (None: :data:`DEFAULT_METHOD`), or None when it runs without one.

    ``weights`` given: that file (WeightsError when it is not a file). Otherwise None for a method without
    learned parameters (bicubic); the cached file when present; the bundled one for ``scale``
    (:func:`bundled_weights_path`) when one ships; else None with
    an :class:`UntrainedWarning` when ``allow_untrained``, and a WeightsError naming the expected cache path in
    every other case.
    """
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise WeightsError("no such weights file" if not path.exists() else "is not a file", path)
        return path
    method = method or DEFAULT_METHOD
    if not method_class(method).learned:
        return None
    cached = cached_weights_path(method)
    if cached.is_file():
        return cached
    bundled = bundled_weights_path(method, scale)
    if bundled is not None:
        return bundled
    if allow_untrained:
        warnings.warn(f"method {method} has no weights file ({cached} is missing): running with random, "
                      "untrained weights", UntrainedWarning, stacklevel=2)
        return None
    raise WeightsError(f"no weights for method {method}: pass weights=FILE or put the file here "
                       f"(set {HOME_ENV} to use another folder); nothing is downloaded", cached)
