"""pix2pix building blocks (Isola et al., CVPR 2017, §3.2.1 and appendix §6) shared by GFRNet and Yun & Park.

Both papers build their encoder-decoders from the pix2pix U-Net layers:

* encoder layer ("down"): [LeakyReLU(0.2)] → Conv 4×4, stride 2, padding 1 → [BatchNorm];
  the first layer has no activation and no BatchNorm; the innermost has BatchNorm or not (an option);
* decoder layer ("up"): ReLU → ConvTranspose 4×4, stride 2, padding 1 → [BatchNorm];
  the last layer has no BatchNorm (the caller applies Tanh).

Every convolution has a bias (GFRNet's released WarpNet and Yun & Park's parameter count both include
them). An optional additive ``noise`` tensor is applied after the convolution and its BatchNorm (Yun &
Park's "w/ N" variant, §4.5), so that BatchNorm folds exactly into the convolution for inference.
Activations are not in place: encoder outputs are re-used as skip connections.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class Pix2PixLayer(nn.Module):
    """[activation] → Conv 4×4/2/1 (halves H, W) or ConvTranspose 4×4/2/1 (doubles them) → [BatchNorm]
    (+ noise)."""

    bn_folds = (("conv", "norm"),)  # for facerestore.models.inference.fold_batchnorm

    def __init__(self, in_channels: int, out_channels: int, act: nn.Module, transposed: bool, norm: bool):
        super().__init__()
        self.act = act
        conv = nn.ConvTranspose2d if transposed else nn.Conv2d
        self.conv = conv(in_channels, out_channels, 4, stride=2, padding=1)
        self.norm = nn.BatchNorm2d(out_channels) if norm else nn.Identity()

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        y = self.norm(self.conv(self.act(x)))
        return y if noise is None else y + noise


def encoder_blocks(in_channels: int, widths: Sequence[int], innermost_norm: bool = False) -> nn.ModuleList:
    """Encoder layers with output ``widths``; no activation/BatchNorm on the first layer, BatchNorm on the
    innermost (last) layer only with ``innermost_norm`` (PyTorch pix2pix: without; TensorFlow pix2pix: with)."""
    last = len(widths) - 1
    return nn.ModuleList(
        Pix2PixLayer(
            in_channels if i == 0 else widths[i - 1],
            width,
            act=nn.LeakyReLU(0.2) if i > 0 else nn.Identity(),
            transposed=False,
            norm=0 < i and (i < last or innermost_norm),
        )
        for i, width in enumerate(widths)
    )


def decoder_blocks(in_channels: int, widths: Sequence[int], skip_widths: Sequence[int]) -> nn.ModuleList:
    """Decoder layers with output ``widths``; layer ``j`` also receives ``skip_widths[j]`` concatenated
    channels (0: no skip). No BatchNorm on the last layer."""
    last = len(widths) - 1
    return nn.ModuleList(
        Pix2PixLayer(
            (in_channels if j == 0 else widths[j - 1]) + skip, width, act=nn.ReLU(), transposed=True, norm=j < last
        )
        for j, (width, skip) in enumerate(zip(widths, skip_widths, strict=True))
    )


def init_pix2pix_weights(module: nn.Module) -> None:
    """pix2pix / DCGAN initialisation (pix2pix appendix §6): conv weights ~ N(0, 0.02), BatchNorm scales ~ N(1, 0.02),
    biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
