"""Song et al. — Facial Structure Generation Network (FSGN), §3.1 and Table 1.

Input: the LR face bicubic-upsampled to the output size (3 channels, [0, 1]) concatenated with the
four facial-component masks (brows, eyes, nose, mouth; §3.1), i.e. 7 channels. Output: the base image
in [0, 1] at the same size (no pooling, all feature maps keep the input size), any height and width
(the paper's faces are 320 × 240, §4).

Structure (Table 1): ``conv1`` 3×3, 64 → five groups ``conv2x`` … ``conv6x`` of five residual blocks
each, whose two 3×3 convolutions use dilation 5, 4, 3, 2, 1 (padding equal to the dilation) →
``conv7`` 3×3, 64 → ``conv8`` 3×3 to RGB: 25 residual blocks, 53 convolutions, 64 channels.

Choices where the paper is vague (written down as the brief asks):
- Residual block: conv–ReLU–conv plus the identity, then ReLU (He et al. [15] without batch
  normalisation, which the paper never mentions).
- "A long-range skip connection from the first convolution layer to the last" (§3.1.1): the
  output of ``conv1`` is added to the output of ``conv7``, the input of the last convolution.
- §4.1 "baseline": like VDSR the network output is added to the input image, so FSGN predicts a
  residual on the bicubic-upsampled input.
- Table 5 ablations: ``B`` = no local skips, no masks, no dilation (all 53 convolutions and both
  long skips kept); ``BL`` adds local skips; ``BL+M`` adds the mask input; ``BLD+M`` adds dilation
  (the full FSGN, default).
"""
from __future__ import annotations

import torch
from torch import nn

from facerestore.models.registry import register_model

GROUP_DILATIONS = (5, 4, 3, 2, 1)
BLOCKS_PER_GROUP = 5
NUM_MASKS = 4
VARIANTS = {
    "B": dict(local_skips=False, use_masks=False, dilated=False),
    "BL": dict(local_skips=True, use_masks=False, dilated=False),
    "BL+M": dict(local_skips=True, use_masks=True, dilated=False),
    "BLD+M": dict(local_skips=True, use_masks=True, dilated=True),
}


def _conv3x3(in_channels: int, out_channels: int, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, padding=dilation, dilation=dilation)


class DilatedResidualBlock(nn.Module):
    """conv–ReLU–conv (+ identity when ``local_skip``) → ReLU, both convolutions with ``dilation``."""

    def __init__(self, channels: int, dilation: int, local_skip: bool):
        super().__init__()
        self.conv_a = _conv3x3(channels, channels, dilation)
        self.conv_b = _conv3x3(channels, channels, dilation)
        self.relu = nn.ReLU(inplace=True)
        self.local_skip = local_skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv_b(self.relu(self.conv_a(x)))
        if self.local_skip:
            y = y + x
        return self.relu(y)


class FSGN(nn.Module):
    """FSGN (Song et al. §3.1, Table 1): 1,889,155 parameters with masks (1,886,851 without: ``conv1`` takes 3
    channels instead of 7, 4 × 64 × 9 = 2,304 weights fewer), at 64 channels."""

    def __init__(self, channels: int = 64, local_skips: bool = True, use_masks: bool = True, dilated: bool = True):
        super().__init__()
        self.use_masks = use_masks
        in_channels = 3 + (NUM_MASKS if use_masks else 0)
        self.conv1 = _conv3x3(in_channels, channels)
        self.body = nn.Sequential(
            *(
                DilatedResidualBlock(channels, dilation if dilated else 1, local_skips)
                for dilation in GROUP_DILATIONS
                for _ in range(BLOCKS_PER_GROUP)
            )
        )
        self.conv7 = _conv3x3(channels, channels)
        self.conv8 = _conv3x3(channels, 3)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, lr_up: torch.Tensor, masks: torch.Tensor | None = None) -> torch.Tensor:
        """``lr_up`` N×3×H×W and ``masks`` N×4×H×W in [0, 1] → base image N×3×H×W (H ≠ W allowed)."""
        if self.use_masks:
            if masks is None:
                raise ValueError("this FSGN variant takes the four facial-component masks (Song et al. §3.1)")
            x = torch.cat([lr_up, masks], dim=1)
        else:
            x = lr_up
        head = self.relu(self.conv1(x))
        features = self.relu(self.conv7(self.body(head)) + head)
        return lr_up + self.conv8(features)


@register_model("fsgn")
def build_fsgn(variant: str = "BLD+M", channels: int = 64) -> FSGN:
    """FSGN in one of the Table 5 configurations ``B``, ``BL``, ``BL+M``, ``BLD+M`` (default)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown FSGN variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    return FSGN(channels=channels, **VARIANTS[variant])
