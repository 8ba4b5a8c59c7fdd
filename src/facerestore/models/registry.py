"""Model registry (:class:`facerestore.registry.Registry`) filled by the :func:`register_model` decorator.

Every network file under ``facerestore/models/`` decorates its public constructor(s); the
package ``__init__`` imports those files explicitly (no import-by-filename magic).
"""
from __future__ import annotations

from typing import Callable

from torch import nn

from facerestore.registry import Registry

MODELS: Registry[Callable[..., nn.Module]] = Registry("model")


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Register ``builder`` under ``name``; a name registered twice is a programming error."""
    return MODELS.register(name)


def build_model(name: str, **options) -> nn.Module:
    """Build the network registered as ``name`` with keyword ``options`` (bound to its signature first)."""
    return MODELS.build(name, **options)


def list_models() -> list[str]:
    return MODELS.names()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
