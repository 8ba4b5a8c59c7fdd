"""EDSR-baseline (Lim et al., "Enhanced Deep Residual Networks for Single Image Super-Resolution", CVPRW 2017).

§3.1–3.2: residual blocks conv3-ReLU-conv3 without BatchNorm, optional residual scaling (EDSR-baseline: none,
i.e. 1.0), a conv after the body with a global skip over it, a pixel-shuffle upsampler and a 3×3 tail conv.
The paper's EDSR-baseline has 16 blocks of 64 channels (1.5 M parameters); our defaults, 8 blocks of 48
channels (522,243 parameters at ×4), are a CPU-sized yardstick.

Not in EDSR: the MATLAB-bicubic upsampling of the input is added to the output and the tail conv starts at
zero, so the untrained network is bicubic. Choice: images stay in [0, 1] without EDSR's MeanShift (subtracting
the DIV2K mean is a constant shift the head's bias can learn, and the bicubic skip already carries the mean).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from facerestore.degrade.resize import imresize_torch
from facerestore.models.registry import register_model


def _conv(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, padding=1)


class ResBlock(nn.Module):
    """§3.1, Fig. 2(c): conv-ReLU-conv, no BatchNorm, output scaled by ``res_scale`` before the skip."""

    def __init__(self, channels: int, res_scale: float = 1.0):
        super().__init__()
        self.body = nn.Sequential(_conv(channels, channels), nn.ReLU(inplace=True), _conv(channels, channels))
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) * self.res_scale


def upsampler(scale: int, channels: int) -> nn.Sequential:
    """§3.2, Fig. 3: log2(scale) × (conv C→4C, PixelShuffle(2)) for powers of two, conv C→9C + PixelShuffle(3)
    for ×3."""
    if scale == 3:
        return nn.Sequential(_conv(channels, 9 * channels), nn.PixelShuffle(3))
    if scale < 2 or 2 ** round(math.log2(scale)) != scale:
        raise ValueError(f"EDSR upsamples by 3 or a power of two, got scale {scale}")
    layers: list[nn.Module] = []
    for _ in range(round(math.log2(scale))):
        layers += [_conv(channels, 4 * channels), nn.PixelShuffle(2)]
    return nn.Sequential(*layers)


class EDSR(nn.Module):
    """EDSR-baseline on the LR face in [0, 1] → the ×``scale`` face, plus its MATLAB-bicubic upsampling."""

    def __init__(self, scale: int = 4, channels: int = 48, num_blocks: int = 8, res_scale: float = 1.0):
        super().__init__()
        self.scale = scale
        self.head = _conv(3, channels)
        self.body = nn.Sequential(*(ResBlock(channels, res_scale) for _ in range(num_blocks)),
                                  _conv(channels, channels))
        self.upsample = upsampler(scale, channels)
        self.tail = _conv(channels, 3)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        head = self.head(lr)
        features = self.upsample(head + self.body(head))
        return self.tail(features) + imresize_torch(lr, scale=self.scale)


@register_model("edsr")
def build_edsr(scale: int = 4, channels: int = 48, num_blocks: int = 8, res_scale: float = 1.0) -> EDSR:
    return EDSR(scale, channels, num_blocks, res_scale)
