"""Song et al. (IJCV 2019): FSGN on the bicubic-upsampled LR face and the four component masks (§3.1).

The exemplar-based detail enhancement (§3.2) is applied on top of this base image by
:mod:`facerestore.restore.detail_enhancement`.
"""
from __future__ import annotations

from collections.abc import Mapping

import torch

from facerestore.methods.base import Method, register_method
from facerestore.models import build_model


@register_method
class FSGNMethod(Method):
    """FSGN base image (Table 5 row ``BLD+M`` by default; ``variant`` selects B, BL, BL+M)."""

    name = "fsgn"
    requires = frozenset({"lr_up", "masks"})

    def __init__(self, variant: str = "BLD+M", scale: float = 4, hr_size: int | None = None):
        super().__init__(hr_size=hr_size, scale=scale)
        self.net = build_model("fsgn", variant=variant)

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.net(sample["lr_up"], sample["masks"] if self.net.use_masks else None)
