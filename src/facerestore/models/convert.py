"""Official checkpoint → our safetensors: the converter table and the checked conversion.

A converter names the module whose ``convert_official(state_dict, **convert_options)`` renames the
released tensors, and the registry model (with options) they must load into with ``strict=True``.
Official files are read with ``torch.load(weights_only=True)`` (no pickled code runs); the result is
written atomically to a ``.safetensors`` file whose metadata records the model name and options.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Callable

import torch

from facerestore.errors import FaceRestoreError, WeightsError
from facerestore.models import fishfsrnet, gfrnet, parsingnet, sparnet
from facerestore.models.registry import build_model
from facerestore.models.weights import load_torch_state_dict, preview_keys, save_weights_file
from facerestore.registry import Registry



@dataclass(frozen=True)
class Converter:
    """``module.convert_official(sd, **convert_options)`` gives the tensors of ``build_model(model, **model_options)``.

    ``detect`` (optional) reads options that depend on the checkpoint (e.g. the scale) from its tensors;
    they go to both the converter and the builder, and an explicit option given by the caller wins.
    """

    module: ModuleType
    model: str
    model_options: dict = field(default_factory=dict)
    convert_options: dict = field(default_factory=dict)
    detect: Callable[[dict[str, torch.Tensor]], dict] | None = None


CONVERTERS: Registry[Converter] = Registry("converter")
CONVERTERS.add("fishfsrnet-official", Converter(fishfsrnet, "fishfsrnet", {"compat": "official"},
                                                detect=lambda sd: {"scale": fishfsrnet.official_scale(sd)}))
CONVERTERS.add("parsingnet-official", Converter(parsingnet, "parsingnet"))
CONVERTERS.add("sparnet-official", Converter(sparnet, "sparnet", convert_options={"variant": "sparnet"}))
CONVERTERS.add("sparnet-light-official", Converter(sparnet, "sparnet_light_attn3d", convert_options={"variant": "light"}))
CONVERTERS.add("gfrnet-warpnet-official", Converter(gfrnet, "gfrnet_warpnet"))


@dataclass(frozen=True)
class Conversion:
    """A verified conversion: the registry ``model`` and ``options`` that load ``state_dict`` strictly."""

    model: str
    options: dict
    state_dict: dict[str, torch.Tensor]


def convert_state_dict(name: str, state_dict: dict[str, torch.Tensor], path: str | os.PathLike | None = None,
                       **options) -> Conversion:
    """Convert with converter ``name`` and verify by a strict load into the built model.

    ``options`` override the table's and the detected ones (e.g. ``scale=4``). Raises :class:`WeightsError`
    (naming ``path``) listing missing, unexpected and mis-shaped tensors.
    """
    if name not in CONVERTERS:
        raise WeightsError(f"unknown converter {name!r}; available: {', '.join(CONVERTERS.names())}", path)
    converter = CONVERTERS[name]
    try:
        detected = converter.detect(state_dict) if converter.detect and not options else {}
        specific = {**detected, **options}
        converted = converter.module.convert_official(state_dict, **converter.convert_options, **specific)
        model_options = {**converter.model_options, **specific}
        model = build_model(converter.model, **model_options)
    except FaceRestoreError as error:
        raise WeightsError(error.reason, path) from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(converted))
    unexpected = sorted(set(converted) - set(expected))
    misshaped = sorted(f"{k} {tuple(converted[k].shape)}≠{tuple(expected[k].shape)}"
                       for k in set(converted) & set(expected) if converted[k].shape != expected[k].shape)
    if missing or unexpected or misshaped:
        problems = [f"{label}: {preview_keys(keys)}" for label, keys in
                    (("missing", missing), ("unexpected", unexpected), ("wrong shape", misshaped)) if keys]
        raise WeightsError(f"does not match {converter.model} {model_options}: " + "; ".join(problems), path)
    model.load_state_dict(converted, strict=True)
    return Conversion(converter.model, model_options, converted)


def save_safetensors(conversion: Conversion, path: str | os.PathLike, overwrite: bool = False,
                     source: str = "") -> None:
    """Write the tensors atomically, with the model name, options and source in the file's metadata."""
    metadata = {"model": conversion.model, "options": json.dumps(conversion.options), "source": source}
    save_weights_file(conversion.state_dict, path, metadata=metadata, overwrite=overwrite)


def convert_checkpoint(name: str, source: str | os.PathLike, destination: str | os.PathLike,
                       overwrite: bool = False, **options) -> Conversion:
    """Load ``source`` (official checkpoint), convert with ``name``, verify, write ``destination`` (safetensors)."""
    if Path(destination).exists() and not overwrite:
        raise WeightsError("exists; pass overwrite=True to replace it", destination)
    conversion = convert_state_dict(name, load_torch_state_dict(source), path=source, **options)
    save_safetensors(conversion, destination, overwrite=overwrite, source=name)
    return conversion
