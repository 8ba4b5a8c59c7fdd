"""FishFSRNet (Wang et al.): ParsingNet predicts the parsing map from the LR face (§III-A), FishFSRNet
super-resolves the LR face with it (§III-B). Both in [0, 1]; HR 128×128, ×4/×8/×16."""
from __future__ import annotations

from collections.abc import Mapping

import torch

from facerestore.methods.base import Method, bicubic_residual, register_method, zero_conv_
from facerestore.models import build_model


@register_method
class FishFSRNetMethod(Method):
    """ParsingNet + FishFSRNet. ``residual`` (not in the paper, which has no global skip; CPU quick recipes only)
    adds the MATLAB-bicubic upsampled LR face to the output, the reconstruction conv initialised to zero."""

    name = "fishfsrnet"
    requires = frozenset({"lr"})
    network = "fishfsrnet"

    def __init__(self, scale: int = 8, hr_size: int = 128, residual: bool = False, **options):
        super().__init__(hr_size=hr_size, scale=scale)
        self.parsing = build_model("parsingnet")
        self.net = build_model("fishfsrnet", scale=scale, **options)
        self.residual = residual
        if residual:
            zero_conv_(self.net.reconstruction)

    def predict_parsing(self, lr: torch.Tensor) -> torch.Tensor:
        return self.parsing(lr)

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        lr = sample["lr"]
        out = self.net(lr, self.predict_parsing(lr) if self.net.parsing_branch else None)
        return bicubic_residual(out, lr, self.scale) if self.residual else out
