"""Building blocks shared by several networks (ParsingNet, FishFSRNet)."""
from __future__ import annotations

import torch
from torch import nn


class ResBlock(nn.Module):
    """EDSR-style residual block (paper ref. [63]): ``x + res_scale * conv(relu(conv(x)))``, 3×3, no BatchNorm."""

    def __init__(self, channels: int = 64, res_scale: float = 1.0):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.add(x, self.conv2(self.relu(self.conv1(x))), alpha=self.res_scale)
