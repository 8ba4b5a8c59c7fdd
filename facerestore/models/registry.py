"""Model registry: a plain dict filled by the :func:`register_model` decorator.

Every network file under ``facerestore/models/`` decorates its public constructor(s); the
package ``__init__`` imports those files explicitly (no import-by-filename magic).
"""
from __future__ import annotations

from typing import Callable

from torch import nn

from facerestore.errors import ConfigError

MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register ``builder`` under ``name``; a name registered twice is a programming error."""

    def decorator(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in MODELS:
            raise ValueError(f"model name {name!r} is registered twice")
        MODELS[name] = builder
        return builder

    return decorator


def build_model(name: str, **options) -> nn.Module:
    """Build the network registered as ``name`` with keyword ``options``."""
    try:
        builder = MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; available: {', '.join(list_models())}") from None
    return builder(**options)


def list_models() -> list[str]:
    return sorted(MODELS)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
