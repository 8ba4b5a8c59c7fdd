"""A *method* binds a paper's networks to the sample keys they read (see ``facerestore.data`` for the
vocabulary) and to the value range they work in, so that one evaluator and one restorer serve every paper.

``restore(sample)`` takes a batched sample (dict of tensors in [0, 1]) holding at least ``requires`` and returns
the restored faces N×3×H×W in [0, 1]. ``hr_size`` is the output size the method is trained for (``None``: any)
and ``scale`` the LR → HR factor it expects (``None``: any input resolution).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar

import torch
from torch import nn

from facerestore.degrade import imresize_torch
from facerestore.errors import ConfigError, WeightsError
from facerestore.models.weights import load_weights_file


def to_signed(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] → [-1, 1], the range of the SPARNet/UFVNet/GFRNet/Yun & Park networks."""
    return x * 2 - 1


def from_signed(y: torch.Tensor) -> torch.Tensor:
    return (y + 1) / 2


def bicubic_residual(net_output: torch.Tensor, lr: torch.Tensor, scale: float) -> torch.Tensor:
    """``net_output`` + the MATLAB-bicubic ×``scale`` upsampling of ``lr``: the ``residual`` option of methods
    whose paper has no global skip (CPU quick recipes only; the last conv starts at zero, :func:`zero_conv_`)."""
    return net_output + imresize_torch(lr, scale=scale)


def zero_conv_(conv: nn.Conv2d) -> None:
    """Zero a convolution's weights and bias, so that a residual method starts as its bicubic input."""
    nn.init.zeros_(conv.weight)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


class Method(nn.Module):
    """Base class: subclasses set ``name`` and ``requires`` and implement :meth:`restore`."""

    name: ClassVar[str]
    requires: ClassVar[frozenset[str]]

    def __init__(self, hr_size: int | None = None, scale: float | None = None):
        super().__init__()
        self.hr_size = hr_size
        self.scale = scale

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        missing = self.requires - set(sample)
        if missing:
            raise ConfigError(f"method {self.name} needs sample keys {sorted(missing)} (has {sorted(sample)})")
        return self.restore(sample).clamp(0, 1)

    def load_weights(self, path: str | os.PathLike, strict: bool = True) -> "Method":
        """Load a state dict of this method (as written by training) from ``path``."""
        tensors = load_weights_file(path)
        result = self.load_state_dict(tensors, strict=False)
        if strict and (result.missing_keys or result.unexpected_keys):
            raise WeightsError(
                f"does not match method {self.name}: missing {result.missing_keys[:5]}, "
                f"unexpected {result.unexpected_keys[:5]}", path)
        return self


METHODS: dict[str, type[Method]] = {}


def register_method(cls: type[Method]) -> type[Method]:
    if cls.name in METHODS:
        raise ValueError(f"method {cls.name!r} is registered twice")
    METHODS[cls.name] = cls
    return cls


def build_method(name: str, weights: str | os.PathLike | None = None, **options) -> Method:
    """Method ``name`` built with ``options``; its weights loaded from ``weights`` when given."""
    try:
        cls = METHODS[name]
    except KeyError:
        raise ConfigError(f"unknown method {name!r}; available: {', '.join(sorted(METHODS))}") from None
    try:
        method = cls(**options)
    except TypeError as error:
        raise ConfigError(f"method {name}: {error}") from None
    return method.load_weights(weights) if weights is not None else method


def list_methods() -> list[str]:
    return sorted(METHODS)
