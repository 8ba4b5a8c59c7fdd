"""UFVNet (Peng et al.): one model for LR faces of any resolution, HR 128×128, values in [-1, 1] inside."""
from __future__ import annotations

from collections.abc import Mapping

import torch

from facerestore.methods.base import Method, from_signed, register_method, to_signed
from facerestore.models import build_model


@register_method
class UFVNetMethod(Method):
    """``lr`` at its own size (8×8 … 64×64 and beyond); the network upsamples to 128×128 itself (§III)."""

    name = "ufvnet"
    requires = frozenset({"lr"})
    network = "ufvnet"

    def __init__(self, hr_size: int = 128, **options):
        super().__init__(hr_size=hr_size, scale=None)
        self.net = build_model("ufvnet", **options)

    @classmethod
    def inference_options(cls, options: Mapping) -> dict:
        """The anchor decoders serve the separate training stage only (§III-D): the test-time network drops them."""
        return {**options, "anchor_decoders": False}

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return from_signed(self.net(to_signed(sample["lr"])))
