"""Baselines of the papers' comparison tables: bicubic, SRCNN, VDSR, SRResNet.

All take and return images in [0, 1]. SRCNN and VDSR work on the bicubic-upsampled input
(``lr_up``), as in their papers; SRResNet and bicubic take the LR image and upsample by ``scale``.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from facerestore.degrade.resize import imresize_torch
from facerestore.models.registry import register_model


class Bicubic(nn.Module):
    """MATLAB-compatible bicubic upsampling by ``scale`` (the tables' "Bicubic" row); no parameters."""

    def __init__(self, scale: float = 4):
        super().__init__()
        self.scale = scale

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        return imresize_torch(lr, scale=self.scale).clamp(0, 1)


class SRCNN(nn.Module):
    """SRCNN 9-5-5 with 64/32 filters (Dong et al., TPAMI 2016) on ``lr_up``: 69,251 parameters.

    Choice: 'same' padding so the output keeps the input size (the paper trains on valid crops).
    """

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 64, 9, padding=4),
            nn.ReLU(inplace=True),
            nn.Conv2d(64, 32, 5, padding=2),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 3, 5, padding=2),
        )

    def forward(self, lr_up: torch.Tensor) -> torch.Tensor:
        return self.body(lr_up)


class VDSR(nn.Module):
    """VDSR (Kim et al., CVPR 2016): 20 3×3 convolutions of 64 channels, residual on ``lr_up``; 668,227 parameters.

    Weights initialised as in the paper's training setup (He et al.'s method: normal, std sqrt(2 / fan_in)), biases
    zero: PyTorch's default initialisation shrinks the signal through the 19 ReLU layers and the residual
    branch then barely trains.
    """

    def __init__(self, depth: int = 20, channels: int = 64):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(channels, 3, 3, padding=1))
        self.body = nn.Sequential(*layers)
        for layer in self.body:
            if isinstance(layer, nn.Conv2d):
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)

    def forward(self, lr_up: torch.Tensor) -> torch.Tensor:
        return lr_up + self.body(lr_up)


class _SRResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
            nn.PReLU(),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SRResNet(nn.Module):
    """SRResNet (Ledig et al., CVPR 2017): 9×9 head, 16 residual blocks (conv-BN-PReLU-conv-BN), a long skip,
    log2(scale) upsampling steps (conv 64→256, PixelShuffle(2), PReLU) and a 9×9 tail."""

    def __init__(self, scale: int = 4, num_blocks: int = 16, channels: int = 64):
        super().__init__()
        steps = int(round(math.log2(scale)))
        if 2**steps != scale:
            raise ValueError(f"SRResNet upsamples by powers of two, got scale {scale}")
        self.head = nn.Sequential(nn.Conv2d(3, channels, 9, padding=4), nn.PReLU())
        self.body = nn.Sequential(*(_SRResidualBlock(channels) for _ in range(num_blocks)))
        self.body_tail = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels))
        upsample: list[nn.Module] = []
        for _ in range(steps):
            upsample += [nn.Conv2d(channels, channels * 4, 3, padding=1), nn.PixelShuffle(2), nn.PReLU()]
        self.upsample = nn.Sequential(*upsample)
        self.tail = nn.Conv2d(channels, 3, 9, padding=4)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        head = self.head(lr)
        return self.tail(self.upsample(head + self.body_tail(self.body(head))))


@register_model("bicubic")
def build_bicubic(scale: float = 4) -> Bicubic:
    return Bicubic(scale)


@register_model("srcnn")
def build_srcnn() -> SRCNN:
    return SRCNN()


@register_model("vdsr")
def build_vdsr(depth: int = 20, channels: int = 64) -> VDSR:
    return VDSR(depth, channels)


@register_model("srresnet")
def build_srresnet(scale: int = 4, num_blocks: int = 16, channels: int = 64) -> SRResNet:
    return SRResNet(scale, num_blocks, channels)
