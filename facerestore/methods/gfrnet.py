"""GFRNet (Li et al., ECCV 2018): the degraded face (bicubic-upsampled to 256×256, ``lr_up``) and a guide photo
of the same person (``guide``, aligned the same way); WarpNet warps the guide, RecNet restores (§3.1)."""
from __future__ import annotations

from collections.abc import Mapping

import torch

from facerestore.methods.base import Method, from_signed, register_method, to_signed
from facerestore.models import build_model
from facerestore.models.gfrnet import GFRNetOutput


@register_method
class GFRNetMethod(Method):
    """``channels`` (64 in the paper) < 64: the same WarpNet and RecNet thinner (CPU-sized recipes).

    ``residual=True`` is **not in the paper** (our addition for the CPU-sized quick recipe, see
    ``configs/gfrnet_quick.yaml``): RecNet's output is added to the degraded input I^d, so the network
    learns a correction of the bicubic-upsampled face instead of the whole face."""

    name = "gfrnet"
    requires = frozenset({"lr_up", "guide"})

    def __init__(self, hr_size: int = 256, use_warpnet: bool = True, use_guide: bool = True, channels: int = 64,
                 residual: bool = False):
        super().__init__(hr_size=hr_size, scale=None)
        self.net = build_model("gfrnet", channels=channels, use_warpnet=use_warpnet, use_guide=use_guide)
        self.residual = residual

    def generate(self, sample: Mapping[str, torch.Tensor], guide: torch.Tensor | None = None) -> GFRNetOutput:
        """Restored face, warped guide and grid in the network's [-1, 1] range, for training; ``guide`` ([0, 1])
        replaces the sample's."""
        degraded = to_signed(sample["lr_up"])
        guide = sample["guide"] if guide is None else guide
        out = self.net(degraded, to_signed(guide) if self.net.use_guide else None)
        return out._replace(restored=degraded + out.restored) if self.residual else out

    def warped_guide(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor | None:
        """The guide after WarpNet's bilinear warp (Eq. 2), in [0, 1], for inspection."""
        output = self.generate(sample)
        return None if output.warped is None else from_signed(output.warped)

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return from_signed(self.generate(sample).restored)
