"""PatchGAN discriminator (pix2pix, Isola et al. 2017 §3.2.2) shared by Yun & Park §3.3 and GFRNet §3.3.

Layers (``n_layers=3``, the 70×70 receptive field): conv 4×4/2 in→64 + LeakyReLU(0.2);
conv 4×4/2 64→128 and 128→256, each + BatchNorm + LeakyReLU; conv 4×4/1 256→512 + BatchNorm +
LeakyReLU; conv 4×4/1 512→1. Every conv has a bias; no sigmoid: the output is a map of logits /
least-squares scores (30×30 for a 256×256 input), so the loss chooses LSGAN (Yun & Park) or
BCE-with-logits with 0/0.9 labels (GFRNet).

Uses in the papers:

* Yun & Park global D_g on concat(I_{LR_f}, HR) (``in_channels=6``): **2,769,601** parameters; local
  D_l on the face-mask-multiplied HR (``in_channels=3``): **2,766,529**. (§3.3 says "seven
  convolutional layers"; the published counts are those of this five-convolution PatchGAN.)
* GFRNet global D on concat(I^d, I^g, result) (``in_channels=9``, "the same architecture with
  pix2pix"); local D on the landmark box crop (``in_channels=3``, see
  :func:`facerestore.models.gfrnet.crop_boxes`).
"""
from __future__ import annotations

import torch
from torch import nn

from facerestore.models.pix2pix import init_pix2pix_weights
from facerestore.models.registry import register_model


def _conv_norm_act(in_channels: int, out_channels: int, stride: int) -> list[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, 4, stride=stride, padding=1),
        nn.BatchNorm2d(out_channels),
        nn.LeakyReLU(0.2, inplace=True),
    ]


class PatchGAN(nn.Module):
    """pix2pix PatchGAN: N×in_channels×H×W → N×1×(H/8−2)×(W/8−2) scores (``n_layers=3``)."""

    def __init__(self, in_channels: int = 3, channels: int = 64, n_layers: int = 3):
        super().__init__()
        widths = [channels * min(2**i, 8) for i in range(n_layers + 1)]
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, widths[0], 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for i in range(1, n_layers + 1):
            layers += _conv_norm_act(widths[i - 1], widths[i], stride=2 if i < n_layers else 1)
        layers.append(nn.Conv2d(widths[-1], 1, 4, stride=1, padding=1))
        self.layers = nn.Sequential(*layers)
        init_pix2pix_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


@register_model("patchgan")
def build_patchgan(in_channels: int = 3, channels: int = 64, n_layers: int = 3) -> PatchGAN:
    """PatchGAN discriminator (pix2pix §3.2.2); ``in_channels`` 6/3 for Yun & Park D_g/D_l, 9/3 for GFRNet."""
    return PatchGAN(in_channels=in_channels, channels=channels, n_layers=n_layers)
