"""Discriminators of the adversarial objectives: pix2pix's PatchGAN (GFRNet §3.3; Yun & Park as an option) and
Yun & Park's seven-convolution discriminator with one score per image (Yun & Park §3.3, their default).

**PatchGAN** (pix2pix, Isola et al. 2017 §3.2.2; ``n_layers=3``, the 70×70 receptive field): conv 4×4/2
in→64 + LeakyReLU(0.2); conv 4×4/2 64→128 and 128→256, each + BatchNorm + LeakyReLU; conv 4×4/1 256→512 +
BatchNorm + LeakyReLU; conv 4×4/1 512→1. Five convolutions; the output is a map of scores (30×30 for a
256×256 input).

* GFRNet's global and local D ("the same architecture with pix2pix"; their inputs:
  :mod:`facerestore.methods.gfrnet`): 2,772,673 parameters at ``in_channels=9``; their specs name no ``arch``,
  so they stay PatchGANs.
* Yun & Park with ``d_arch: patchgan`` (not the paper's form, see below): D_g (``in_channels=6``) 2,769,601,
  D_l (``in_channels=3``) 2,766,529 parameters.

**Yun & Park discriminator** (``yun_park_discriminator``). What §3.3 says: D_g and D_l "have similar network
structures that comprise of seven convolutional layers"; a "one-dimensional output after the last layer"
tells real from fake; the sigmoid is removed (LSGAN, Eq. 1–2). D_g reads concat(I_LRf, HR)
(``in_channels=6``), D_l the face-mask-multiplied HR (``in_channels=3``), both 256×256 (§4.1). The paper gives
no figure or table of the discriminator; **our choices** where it is silent (the generator is pix2pix's
U-Net, §3.1–3.2, so the discriminator follows pix2pix's / DCGAN's conventions):

* convs 1–6: 4×4, stride 2, padding 1 (256 → 4 pixels), widths ``channels``·(1, 2, 4, 8, 8, 8) =
  64-128-256-512-512-512 (pix2pix's doubling, capped at 8×);
* BatchNorm after convs 2–6 (not after the first, as pix2pix / DCGAN), LeakyReLU(0.2) after convs 1–6;
* conv 7: 4×4, stride 1, no padding, 512→1 on the 4×4 map: one score per image, returned as N×1;
* a bias on every conv (as the PatchGAN), pix2pix's N(0, 0.02) initialisation, no sigmoid.

Parameters at ``channels=64``: D_g **11,161,281**, D_l **11,158,209**, about 4× the PatchGAN's 2.77 M
(its convs 5 and 6 are two more 4×4 512→512 layers, 4.2 M each); its compute at 256×256 is lower, 2.05 vs
3.20 GMAC per image (the PatchGAN's 256→512 conv runs at 31×31, these deep layers at 8×8 and 4×4). At
``channels=16`` (the quick recipe's width): 701,361 / 700,593 against the PatchGAN's 176,305 / 175,537. The
paper publishes no discriminator parameter count to check against.
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


def _widths(channels: int, count: int) -> list[int]:
    """pix2pix's widths: ``channels`` doubled per layer, capped at 8×."""
    return [channels * min(2**i, 8) for i in range(count)]


class PatchGAN(nn.Module):
    """pix2pix PatchGAN: N×in_channels×H×W → N×1×(H/8−2)×(W/8−2) scores (``n_layers=3``)."""

    def __init__(self, in_channels: int = 3, channels: int = 64, n_layers: int = 3):
        super().__init__()
        widths = _widths(channels, n_layers + 1)
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


class YunParkDiscriminator(nn.Module):
    """Yun & Park §3.3 (module docstring): seven convolutions, N×in_channels×256×256 → N×1 scores."""

    DOWNSAMPLINGS = 6  # convs 1–6, stride 2: 256 → 4, then conv 7 (4×4, no padding) → 1×1
    IMAGE_SIZE = 4 * 2**DOWNSAMPLINGS

    def __init__(self, in_channels: int = 3, channels: int = 64):
        super().__init__()
        widths = _widths(channels, self.DOWNSAMPLINGS)
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, widths[0], 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for i in range(1, self.DOWNSAMPLINGS):
            layers += _conv_norm_act(widths[i - 1], widths[i], stride=2)
        layers.append(nn.Conv2d(widths[-1], 1, 4, stride=1, padding=0))
        self.layers = nn.Sequential(*layers)
        init_pix2pix_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != (self.IMAGE_SIZE, self.IMAGE_SIZE):
            raise ValueError(f"the Yun & Park discriminator takes {self.IMAGE_SIZE}×{self.IMAGE_SIZE} inputs "
                             f"(§4.1), got {x.shape[-2]}×{x.shape[-1]}; use arch patchgan for other sizes")
        return self.layers(x).flatten(1)


@register_model("patchgan")
def build_patchgan(in_channels: int = 3, channels: int = 64, n_layers: int = 3) -> PatchGAN:
    """PatchGAN discriminator (pix2pix §3.2.2): GFRNet's global and local D, Yun & Park's with ``d_arch:
    patchgan`` (``in_channels`` 6 for D_g, 3 for D_l)."""
    return PatchGAN(in_channels=in_channels, channels=channels, n_layers=n_layers)


@register_model("yun_park_discriminator")
def build_yun_park_discriminator(in_channels: int = 3, channels: int = 64) -> YunParkDiscriminator:
    """Yun & Park §3.3 discriminator (seven convolutions, one score per image); ``in_channels`` 6 for D_g, 3 for
    D_l."""
    return YunParkDiscriminator(in_channels=in_channels, channels=channels)
