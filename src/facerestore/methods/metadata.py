"""Self-describing weight files: what a method's ``.safetensors`` file says about itself.

Every weights file the project writes (training ``final``/stage/``best``/checkpoint/EMA files, the bundled
weights) carries string metadata under ``facerestore.*`` keys: the method name, its build options (JSON), the
recipe name and the SHA-256 of the resolved recipe, the HR size and scale, the training degradation (JSON)
and the package version. :func:`read_weights_info` gives them back, so a file alone builds its method.
Files without them (official checkpoints, runs of older versions) give ``None``; their options are explicit.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from facerestore.version import __version__
from facerestore.errors import WeightsError
from facerestore.models.weights import read_metadata

FORMAT = "facerestore-method-weights/1"
_PREFIX = "facerestore."


@dataclass(frozen=True)
class WeightsInfo:
    """The metadata of a method's weights file (see the module docstring)."""

    method: str
    options: dict[str, Any] = field(default_factory=dict)
    recipe: str | None = None
    recipe_sha256: str | None = None
    hr_size: int | None = None
    scale: float | None = None
    degradation: dict[str, Any] | None = None
    version: str | None = None

    def to_metadata(self) -> dict[str, str]:
        """The safetensors metadata (str → str; JSON for the structured values)."""
        values = {"format": FORMAT, "method": self.method, "options": json.dumps(self.options, sort_keys=True),
                  "recipe": self.recipe or "", "recipe_sha256": self.recipe_sha256 or "",
                  "hr_size": json.dumps(self.hr_size), "scale": json.dumps(self.scale),
                  "degradation": json.dumps(self.degradation, sort_keys=True), "version": self.version or ""}
        return {_PREFIX + key: value for key, value in values.items()}


def recipe_sha256(config: Mapping) -> str:
    """SHA-256 of a resolved recipe (canonical JSON: sorted keys)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def info_for_recipe(config: Mapping, hr_size: int | None, scale: float | None) -> WeightsInfo:
    """The :class:`WeightsInfo` of weights trained by the resolved recipe ``config``."""
    train = config.get("data", {}).get("train") or {}
    parts = train.get("parts") if train.get("source") == "mix" else [train]
    presets = [{"source": part.get("source"), "preset": part.get("preset"),
                "options": dict(part.get("preset_options") or {})} for part in parts or []]
    degradation = ({k: v for k, v in presets[0].items() if k != "source"} if len(presets) == 1
                   else {"mix": presets})
    return WeightsInfo(method=config["method"]["name"], options=dict(config["method"].get("options") or {}),
                       recipe=config.get("name"), recipe_sha256=recipe_sha256(config), hr_size=hr_size,
                       scale=scale, degradation=degradation, version=__version__)


def read_weights_info(path: str | os.PathLike) -> WeightsInfo | None:
    """The :class:`WeightsInfo` stored in ``path``; ``None`` for a file without it. A file whose metadata is
    damaged is a :class:`WeightsError`."""
    metadata = read_metadata(path)
    if metadata.get(_PREFIX + "format") != FORMAT:
        return None
    values = {key[len(_PREFIX):]: value for key, value in metadata.items() if key.startswith(_PREFIX)}
    try:
        return WeightsInfo(method=values["method"], options=json.loads(values["options"]),
                           recipe=values.get("recipe") or None, recipe_sha256=values.get("recipe_sha256") or None,
                           hr_size=json.loads(values.get("hr_size", "null")), scale=json.loads(values.get("scale", "null")),
                           degradation=json.loads(values.get("degradation", "null")),
                           version=values.get("version") or None)
    except (KeyError, json.JSONDecodeError) as error:
        raise WeightsError(f"damaged facerestore metadata ({error.__class__.__name__}: {error})", path) from None
