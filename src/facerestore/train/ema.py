"""Exponential moving average of a model's weights (``params_ema``, as BasicSR keeps it):
``ema ← decay · ema + (1 − decay) · θ`` after every optimizer step; integer buffers are copied."""
from __future__ import annotations

import torch
from torch import nn


class EMA:
    """Shadow copy of ``model.state_dict()`` updated by :meth:`update`."""

    def __init__(self, model: nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: nn.Module, restart: bool = False) -> None:
        """One EMA step; ``restart`` copies the weights instead (the warm-up before the recipe's ``ema_start``)."""
        for key, value in model.state_dict().items():
            if value.dtype.is_floating_point and not restart:
                self.shadow[key].lerp_(value, 1.0 - self.decay)
            else:
                self.shadow[key].copy_(value)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.shadow

    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        for key, value in tensors.items():
            self.shadow[key].copy_(value)
