"""FishFSRNet (Wang et al.): ParsingNet predicts the parsing map from the LR face (§III-A), FishFSRNet
super-resolves the LR face with it (§III-B). Both in [0, 1]; HR 128×128, ×4/×8/×16. Training (§IV-B): stage
"parsing" (``fishfsrnet_parsing``: ParsingNet alone with Eq. 2, L1 to ``parsing_skin`` at LR size), then stage
"sr" (the ``pixel`` objective, L1, ``train: [net]``, ParsingNet frozen and predicting the parsing map)."""
from __future__ import annotations

from collections.abc import Mapping

import torch

from facerestore.losses import parsing_l1
from facerestore.methods.base import Method, bicubic_residual, register_method, zero_conv_
from facerestore.methods.objective import OBJECTIVES, Batch, Objective
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


@OBJECTIVES.register("fishfsrnet_parsing")
class FishParsingObjective(Objective):
    """FishFSRNet stage 1: ParsingNet(lr) vs ``parsing_skin`` with Eq. 2."""

    method_type = FishFSRNetMethod

    def __init__(self, method: Method):
        super().__init__(method, [method.parsing])
        self.keys = frozenset({"lr", "parsing_skin"})

    def forward(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss = parsing_l1(self.method.predict_parsing(batch["lr"]), batch["parsing_skin"])
        return loss, {"parsing_l1": loss.detach()}
