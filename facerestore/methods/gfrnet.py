"""GFRNet (Li et al., ECCV 2018): the degraded face (bicubic-upsampled to 256×256, ``lr_up``) and a guide photo
of the same person (``guide``, aligned the same way); WarpNet warps the guide, RecNet restores (§3.1)."""
from __future__ import annotations

from collections.abc import Mapping

import torch

from facerestore.methods.base import Method, from_signed, register_method, to_signed
from facerestore.models import build_model


@register_method
class GFRNetMethod(Method):
    name = "gfrnet"
    requires = frozenset({"lr_up", "guide"})

    def __init__(self, hr_size: int = 256, use_warpnet: bool = True, use_guide: bool = True):
        super().__init__(hr_size=hr_size, scale=None)
        self.net = build_model("gfrnet", use_warpnet=use_warpnet, use_guide=use_guide)

    def warped_guide(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor | None:
        """The guide after WarpNet's bilinear warp (Eq. 2), in [0, 1], for inspection."""
        output = self.net(to_signed(sample["lr_up"]), to_signed(sample["guide"]))
        return None if output.warped is None else from_signed(output.warped)

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return from_signed(self.net(to_signed(sample["lr_up"]), to_signed(sample["guide"])).restored)
