"""Yun & Park, "Joint Face Super-Resolution and Deblurring Using a Generative Adversarial Network", §3.2.

Generator G: N×3×32×32 blurred LR face in [-1, 1] → 256×256 sharp and blurred HR faces in [-1, 1].

* **Five-layer CNN** (upscaler, §3.2): conv 9×9 3→64 + LeakyReLU(0.2), 3 × [conv 3×3 64→256,
  PixelShuffle(2), LeakyReLU(0.2)], conv 3×3 64→3; no biases, no output activation (459,648
  parameters). Its output I_{LR_f} is also the condition of the global discriminator (Eq. 1).
* **Encoder**: the pix2pix U-Net-256 encoder, 8 conv 4×4/2 layers 64-128-256-512-512-512-512-512
  (:mod:`facerestore.models.pix2pix`, every conv with a bias). BatchNorm follows every layer but the
  first, the innermost (1×1) included as in the TensorFlow pix2pix: the published total needs those 1,024
  parameters. Consequence: training needs batches of ≥ 2 (the paper uses 64).
* **Blurred-HR (upper) decoder**: starts from the fourth (16×16) encoder feature — "the upper and lower
  decoders share the first four encoder features" — 4 deconv layers 256-128-64-3 with the three skips
  from encoder layers 3, 2, 1, then Tanh → Î_HRB.
* **Sharp (lower) decoder**: the full U-Net-256 decoder with all seven skips, Tanh → Î_HR. "The end of the
  lower decoder takes the last feature map I_f of the upper decoder": our choice is to *add* the upper
  decoder's 128×128 feature (output of its third layer) to the lower decoder's 128×128 feature before
  the last deconv (which adds no parameter, as the total count requires).

Total **58,295,494** parameters (57,835,846 without the upscaler: ``upscaler=False`` is Model 1 of
Table 2, whose input is the bicubic-upsampled 256×256 face). No dropout (not in the paper).

**Width** (ours, for CPU-sized recipes): ``channels`` (64 in the paper) is the upscaler width and the
first encoder width; the encoder widths are ``channels × (1, 2, 4, 8, 8, 8, 8, 8)`` and the decoders
mirror them, so ``channels=64`` is the paper's network and smaller values are the same architecture
thinner.

**"w/ N" variant** (§4.5, "Gaussian random noise after every convolution layer"): ``noise=True`` adds
N×1×h×w Gaussian noise (std ``noise_std``, a choice: the paper gives none; broadcast over channels as in
StyleGAN [14], which the paper cites) after every feature-producing convolution (after its BatchNorm,
before the next activation) — the 4 upscaler layers (after PixelShuffle), the 8 encoder, 3 upper- and 7
lower-decoder layers; the three convolutions that produce images get none. The noise is an input:
``sample_noise(lr)`` draws it and ``forward(lr, noise)`` uses it, so the forward is RNG-free and
``torch.export``-able; only when ``noise=True`` and no noise is passed does the forward draw it itself.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import torch
from torch import nn

from facerestore.errors import ConfigError
from facerestore.models.pix2pix import decoder_blocks, encoder_blocks, init_pix2pix_weights
from facerestore.models.registry import register_model

UPSCALE_STEPS = 3
PAPER_CHANNELS = 64
ENCODER_MULTIPLIERS = (1, 2, 4, 8, 8, 8, 8, 8)  # × channels: 64-128-256-512-512-512-512-512 in the paper
SHARED_LEVELS = 4  # the upper decoder branches from the 4th encoder feature (16×16)


def _add_noise(y: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    return y if noise is None else y + noise


class Upscaler(nn.Module):
    """Five-layer CNN of §3.2: ×8 sub-pixel upscaling to the "feature image" I_{LR_f}; 459,648 parameters
    at the paper's ``channels=64``."""

    def __init__(self, channels: int = PAPER_CHANNELS):
        super().__init__()
        c = channels
        self.head = nn.Conv2d(3, c, 9, padding=4, bias=False)
        self.steps = nn.ModuleList(nn.Conv2d(c, 4 * c, 3, padding=1, bias=False) for _ in range(UPSCALE_STEPS))
        self.shuffle = nn.PixelShuffle(2)
        self.tail = nn.Conv2d(c, 3, 3, padding=1, bias=False)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor, noises: Iterator[torch.Tensor | None] | None = None) -> torch.Tensor:
        noises = itertools.repeat(None) if noises is None else noises
        h = self.act(_add_noise(self.head(x), next(noises)))
        for conv in self.steps:
            h = self.act(_add_noise(self.shuffle(conv(h)), next(noises)))
        return self.tail(h)


class YunParkOutput(NamedTuple):
    """``sharp`` Î_HR, ``blurred`` Î_HRB and ``upscaled`` I_{LR_f} (the input itself without upscaler),
    all N×3×256×256, the first two in [-1, 1]."""

    sharp: torch.Tensor
    blurred: torch.Tensor
    upscaled: torch.Tensor


class YunParkGenerator(nn.Module):
    """Generator G of §3.2 (Fig. 2); 58,295,494 parameters with the upscaler."""

    def __init__(self, upscaler: bool = True, noise: bool = False, noise_std: float = 0.1,
                 channels: int = PAPER_CHANNELS):
        super().__init__()
        if channels < 1:
            raise ConfigError(f"yun_park: channels must be >= 1, got {channels}")
        w = [channels * m for m in ENCODER_MULTIPLIERS]
        self.upscaler = Upscaler(channels) if upscaler else None
        self.encoder = encoder_blocks(3, w, innermost_norm=True)
        upper = w[SHARED_LEVELS - 2 :: -1]  # 256, 128, 64
        self.blur_decoder = decoder_blocks(w[SHARED_LEVELS - 1], [*upper, 3], [0, *upper])
        lower = w[-2::-1]  # 512, 512, 512, 512, 256, 128, 64
        self.decoder = decoder_blocks(w[-1], [*lower, 3], [0, *lower])
        self.noise = noise
        self.noise_std = noise_std
        init_pix2pix_weights(self)

    def noise_sizes(self, height: int, width: int) -> list[tuple[int, int]]:
        """(h, w) of every noise map, in forward order, for an input of ``height``×``width``."""
        sizes = []
        if self.upscaler is not None:
            sizes += [(height << k, width << k) for k in range(UPSCALE_STEPS + 1)]
            height, width = height << UPSCALE_STEPS, width << UPSCALE_STEPS
        encoder = [(height >> k, width >> k) for k in range(1, len(ENCODER_MULTIPLIERS) + 1)]
        return sizes + encoder + encoder[SHARED_LEVELS - 2 :: -1] + encoder[-2::-1]

    def sample_noise(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
        """Draw the "w/ N" noise maps (N×1×h×w, std ``noise_std``) for input ``x``."""
        n = x.shape[0]
        return tuple(
            torch.randn((n, 1, h, w), generator=generator, dtype=x.dtype, device=x.device) * self.noise_std
            for h, w in self.noise_sizes(x.shape[-2], x.shape[-1])
        )

    def forward(self, x: torch.Tensor, noise: Sequence[torch.Tensor] | None = None) -> YunParkOutput:
        """``x``: N×3×32×32 LR (N×3×256×256 bicubic-upsampled without upscaler), [-1, 1]."""
        if noise is not None and not self.noise:
            raise ConfigError("yun_park: noise maps were passed to a generator built with noise=False")
        if noise is None and self.noise:
            noise = self.sample_noise(x)
        noises = itertools.repeat(None) if noise is None else iter(noise)

        upscaled = x if self.upscaler is None else self.upscaler(x, noises)
        features = []
        h = upscaled
        for block in self.encoder:
            h = block(h, next(noises))
            features.append(h)

        b = self.blur_decoder[0](features[SHARED_LEVELS - 1], next(noises))
        for j in range(1, len(self.blur_decoder) - 1):
            b = self.blur_decoder[j](torch.cat((features[SHARED_LEVELS - 1 - j], b), dim=1), next(noises))
        blurred = torch.tanh(self.blur_decoder[-1](torch.cat((features[0], b), dim=1)))

        d = self.decoder[0](h, next(noises))
        for j in range(1, len(self.decoder) - 1):
            d = self.decoder[j](torch.cat((features[-1 - j], d), dim=1), next(noises))
        sharp = torch.tanh(self.decoder[-1](torch.cat((features[0], d + b), dim=1)))
        return YunParkOutput(sharp, blurred, upscaled)


@register_model("yun_park")
def build_yun_park(upscaler: bool = True, noise: bool = False, noise_std: float = 0.1,
                   channels: int = PAPER_CHANNELS) -> YunParkGenerator:
    """Yun & Park generator (§3.2); ``upscaler=False`` is Model 1, ``noise=True`` the "w/ N" variant (§4.5),
    ``channels`` < 64 a thinner network of the same architecture."""
    return YunParkGenerator(upscaler=upscaler, noise=noise, noise_std=noise_std, channels=channels)
