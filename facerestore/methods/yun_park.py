"""Yun & Park: joint ×8 SR and deblurring GAN generator, 32×32 → 256×256, values in [-1, 1] inside (§3)."""
from __future__ import annotations

from collections.abc import Mapping

import torch

from facerestore.methods.base import Method, from_signed, register_method, to_signed
from facerestore.models import build_model


@register_method
class YunParkMethod(Method):
    """The sharp-branch output of the generator is the restored face."""

    name = "yun_park"
    requires = frozenset({"lr"})

    def __init__(self, hr_size: int = 256, upscaler: bool = True, noise: bool = False):
        super().__init__(hr_size=hr_size, scale=8)
        self.net = build_model("yun_park", upscaler=upscaler, noise=noise)

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return from_signed(self.net(to_signed(sample["lr"])).sharp)
