"""Yun & Park: joint ×8 SR and deblurring GAN generator, 32×32 → 256×256, values in [-1, 1] inside (§3)."""
from __future__ import annotations

from collections.abc import Mapping

import torch

from facerestore.degrade import imresize_torch
from facerestore.methods.base import Method, from_signed, register_method, to_signed
from facerestore.models import build_model
from facerestore.models.yun_park import PAPER_CHANNELS, YunParkOutput


@register_method
class YunParkMethod(Method):
    """The sharp-branch output of the generator is the restored face. Without the five-layer upscaler
    (Model 1 of Table 2) the generator reads the LR face bicubic-upsampled (MATLAB) to ``hr_size``.
    ``channels`` < 64: the same architecture thinner (CPU-sized recipes).

    ``residual=True`` is **not in the paper** (our addition for the CPU-sized quick recipe, see
    ``configs/yun_park_quick.yaml``): both generator outputs are added to the bicubic-upsampled LR face,
    so the network learns a correction of bicubic instead of the whole face."""

    name = "yun_park"
    requires = frozenset({"lr"})

    def __init__(self, hr_size: int = 256, upscaler: bool = True, noise: bool = False, noise_std: float = 0.1,
                 channels: int = PAPER_CHANNELS, residual: bool = False):
        super().__init__(hr_size=hr_size, scale=8)
        self.net = build_model("yun_park", upscaler=upscaler, noise=noise, noise_std=noise_std, channels=channels)
        self.residual = residual

    def generate(self, sample: Mapping[str, torch.Tensor]) -> YunParkOutput:
        """All three generator outputs (sharp, blurred, upscaled) in [-1, 1], for training."""
        lr = sample["lr"]
        needs_bicubic = self.net.upscaler is None or self.residual
        bicubic = to_signed(imresize_torch(lr, size=(self.hr_size, self.hr_size))) if needs_bicubic else None
        out = self.net(to_signed(lr) if self.net.upscaler is not None else bicubic)
        if self.residual:
            out = out._replace(sharp=bicubic + out.sharp, blurred=bicubic + out.blurred)
        return out

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return from_signed(self.generate(sample).sharp)
