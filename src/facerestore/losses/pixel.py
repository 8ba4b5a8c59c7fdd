"""Pixel losses: mean absolute (L1, FishFSRNet §IV-B, UFVNet Eq. 11) and mean squared error (L2, Song et al. §3.1)."""
from __future__ import annotations

from typing import Callable

import torch

from facerestore.errors import ConfigError


def _check(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")


def l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over every element of ``|pred - target|``."""
    _check(pred, target)
    return (pred - target).abs().mean()


def l2_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over every element of ``(pred - target)²``."""
    _check(pred, target)
    return (pred - target).pow(2).mean()


PIXEL_LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {"l1": l1_loss, "l2": l2_loss}


def pixel_loss(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The pixel loss called ``name`` ("l1" or "l2"); :class:`ConfigError` otherwise."""
    try:
        return PIXEL_LOSSES[name]
    except KeyError:
        raise ConfigError(f"unknown pixel loss {name!r}; choose one of {sorted(PIXEL_LOSSES)}") from None
