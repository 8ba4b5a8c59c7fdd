"""ParsingNet: predicts the 3-channel skin parsing map from the LR face (FishFSRNet paper §III-A, Eq. 1, Fig. 3).

The prediction runs at LR size, takes and returns values in [0, 1] (no output activation, as in the
official ``parsing/parsingnet.py``; it is trained with the L1 loss of Eq. 2 against ``parsing_skin``).
"""
from __future__ import annotations

import re

import torch
from torch import nn

from facerestore.models._blocks import ResBlock
from facerestore.models._rename import PrefixRules, rename_prefix
from facerestore.models.registry import register_model


class ParsingNet(nn.Module):
    """3×3 conv 3→64, eight residual blocks (residual scale 0.2), 3×3 conv 64→3; 594,371 parameters.

    ``forward(lr)``: N×3×h×w in [0, 1] → N×3×h×w parsing map at the same (LR) size.
    """

    def __init__(self, channels: int = 64, n_blocks: int = 8, res_scale: float = 0.2):
        super().__init__()
        self.head = nn.Conv2d(3, channels, 3, padding=1)
        self.body = nn.Sequential(*(ResBlock(channels, res_scale) for _ in range(n_blocks)))
        self.tail = nn.Conv2d(channels, 3, 3, padding=1)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        return self.tail(self.body(self.head(lr)))


@register_model("parsingnet")
def build_parsingnet(res_scale: float = 0.2) -> ParsingNet:
    """ParsingNet of FishFSRNet §III-A (official parameter count 594,371)."""
    return ParsingNet(res_scale=res_scale)


# Official name prefix → ours (``parsing/parsingnet.py``: ``head.0``, ``body.i.body.{0,2}``, ``feature.0``).
_OFFICIAL_PREFIXES: PrefixRules = (
    (re.compile(r"head\.0\."), "head."),
    (re.compile(r"feature\.0\."), "tail."),
    (re.compile(r"body\.(\d+)\.body\.0\."), r"body.\1.conv1."),
    (re.compile(r"body\.(\d+)\.body\.2\."), r"body.\1.conv2."),
)


def convert_official(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename the official ParsingNet tensors to ours; unknown names are kept so the strict load reports them."""
    return {rename_prefix(name, _OFFICIAL_PREFIXES) or name: tensor for name, tensor in state_dict.items()}
