"""GFRNet (Li et al., ECCV 2018, "Learning Warped Guidance for Blind Face Restoration"), §3.1 and §3.3.

Inputs are N×3×H×W in [-1, 1] with H and W multiples of 256 (the paper's 256×256; eight stride-2
layers reach 1×1): the degraded observation I^d (bicubic-upsampled to the guide's size, §3) and the
high-quality guide I^g of the same identity.

* **WarpNet** (§3.1, Eq. 1; layout ``gfrnet_warpnet.json``, **122,978,818** parameters): input
  concat(I^d, I^g); encoder of 8 conv 4×4/2 layers 64-128-256-512-1024-1024-1024-1024, decoder of 8
  deconv 4×4/2 layers 1024-1024-1024-512-256-128-64-2, Tanh, no skips (pix2pix layers, see
  :mod:`facerestore.models.pix2pix`). The paper writes "convolution-BatchNorm-ReLU"; the released
  model (whose layout we load) uses LeakyReLU(0.2) in the encoder and has no BatchNorm on the innermost
  encoder layer, and so do we. Its output Φ is an *absolute* sampling grid in [-1, 1]
  (channel 0 = x, channel 1 = y), not a displacement.
* **Warping** (Eq. 2): bilinear ``grid_sample(..., align_corners=True)``; neighbours outside the guide
  contribute 0, exactly as the 4-neighbour sum of Eq. 2.
* **RecNet** (§3.1, Eq. 3): a U-Net with WarpNet's encoder/decoder structure, layer i concatenated
  to layer L−i (skip first, as in pix2pix), input concat(I^d, I^w), 3 channels out, Tanh.
* Ablations (§4.5): ``use_warpnet=False`` is Ours(−W) (RecNet on concat(I^d, I^g));
  ``use_guide=False`` is Ours(−WG) (RecNet on I^d alone); ``channels=128`` doubles every width
  (Ours(−W2), Ours(−WG2)).

Helpers for the objective (§3.3): :func:`normalize_points` and :func:`grid_at_points` evaluate Φ at the
ground-truth landmarks for the landmark loss (Eq. 9, coordinates in [-1, 1]); :func:`landmark_boxes`
and :func:`crop_boxes` give the local discriminator its input (see :func:`crop_boxes` for the choice).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from facerestore.errors import ConfigError, WeightsError
from facerestore.models.pix2pix import decoder_blocks, encoder_blocks, init_pix2pix_weights
from facerestore.models.registry import register_model

ENCODER_MULTIPLIERS = (1, 2, 4, 8, 16, 16, 16, 16)
LOCAL_CROP_SIZE = 128


def _encoder_widths(channels: int) -> list[int]:
    return [channels * m for m in ENCODER_MULTIPLIERS]


def _decoder_widths(channels: int, out_channels: int) -> list[int]:
    return [channels * m for m in reversed(ENCODER_MULTIPLIERS[:-1])] + [out_channels]


def warp(guide: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Warped guidance I^w (Eq. 2): bilinear sampling of ``guide`` (N×C×H×W) at the absolute positions
    ``grid`` (N×H'×W'×2, x then y, in [-1, 1], corners at pixel centres)."""
    return F.grid_sample(guide, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def normalize_points(points: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pixel coordinates (…×2, x then y, pixel centres at integers) → [-1, 1] as ``align_corners=True``."""
    scale = points.new_tensor([2.0 / (width - 1), 2.0 / (height - 1)])
    return points * scale - 1.0


def grid_at_points(grid: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Φ(x, y) of Eq. 9: the grid N×H×W×2 bilinearly interpolated at ``points`` N×K×2 (normalised
    [-1, 1] coordinates of the ground-truth landmarks) → N×K×2, to compare with the guide's
    normalised landmarks."""
    sampled = F.grid_sample(grid.permute(0, 3, 1, 2), points.unsqueeze(1), mode="bilinear", align_corners=True)
    return sampled.squeeze(2).transpose(1, 2)


def landmark_boxes(landmarks: torch.Tensor) -> torch.Tensor:
    """Minimal box enclosing all landmarks (§3.3, local adversarial loss): N×K×2 pixels → N×4
    (x0, y0, x1, y1)."""
    return torch.cat((landmarks.amin(dim=1), landmarks.amax(dim=1)), dim=1)


def crop_boxes(images: torch.Tensor, boxes: torch.Tensor, size: int = LOCAL_CROP_SIZE) -> torch.Tensor:
    """Resample each box of ``boxes`` (N×4 pixel x0, y0, x1, y1) from ``images`` (N×C×H×W) to size×size.

    §3.3 defines the local discriminator "only on the minimal bounding box enclosing all facial
    landmarks" without a size. Our choice: the box is resampled bilinearly (differentiable in the
    image) to a fixed 128×128 (the box of a 256×256 face is typically 130–180 pixels wide), so one
    PatchGAN with 14×14 outputs judges every face; the box's aspect ratio is not preserved.
    """
    n, _, height, width = images.shape
    t = torch.linspace(0.0, 1.0, size, dtype=images.dtype, device=images.device)
    xs = boxes[:, 0:1] + t * (boxes[:, 2:3] - boxes[:, 0:1])
    ys = boxes[:, 1:2] + t * (boxes[:, 3:4] - boxes[:, 1:2])
    grid = torch.stack(
        (xs[:, None, :].expand(n, size, size), ys[:, :, None].expand(n, size, size)), dim=-1
    )
    return warp(images, normalize_points(grid, height, width))


class WarpNet(nn.Module):
    """WarpNet F_w (§3.1, Eq. 1): concat(I^d, I^g) → absolute sampling grid Φ, N×H×W×2 in [-1, 1].

    122,978,818 parameters at ``channels=64`` (the released ``GFRNet_Warpnet``)."""

    def __init__(self, channels: int = 64):
        super().__init__()
        self.encoder = encoder_blocks(6, _encoder_widths(channels))
        self.decoder = decoder_blocks(channels * ENCODER_MULTIPLIERS[-1], _decoder_widths(channels, 2), [0] * 8)
        init_pix2pix_weights(self)

    def forward(self, degraded: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
        h = torch.cat((degraded, guide), dim=1)
        for block in self.encoder:
            h = block(h)
        for block in self.decoder:
            h = block(h)
        return torch.tanh(h).permute(0, 2, 3, 1)


class RecNet(nn.Module):
    """RecNet F_r (§3.1, Eq. 3): U-Net with WarpNet's layers and skips i → L−i; image out in [-1, 1]."""

    def __init__(self, in_channels: int = 6, channels: int = 64):
        super().__init__()
        widths = _encoder_widths(channels)
        skips = [0] + widths[-2::-1]
        self.encoder = encoder_blocks(in_channels, widths)
        self.decoder = decoder_blocks(widths[-1], _decoder_widths(channels, 3), skips)
        init_pix2pix_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = []
        for block in self.encoder:
            x = block(x)
            features.append(x)
        x = self.decoder[0](x)
        for j in range(1, len(self.decoder)):
            x = self.decoder[j](torch.cat((features[-1 - j], x), dim=1))
        return torch.tanh(x)


class GFRNetOutput(NamedTuple):
    """``restored`` Î (N×3×H×W, [-1, 1]); ``warped`` I^w and ``grid`` Φ (None without WarpNet)."""

    restored: torch.Tensor
    warped: torch.Tensor | None
    grid: torch.Tensor | None


class GFRNet(nn.Module):
    """GFRNet F(I^d, I^g) = F_r(I^d, warp(I^g, F_w(I^d, I^g))) (§3.1, Eq. 1–3) and its ablations (§4.5)."""

    def __init__(self, channels: int = 64, use_warpnet: bool = True, use_guide: bool = True):
        super().__init__()
        if use_warpnet and not use_guide:
            raise ConfigError("gfrnet: use_warpnet=True needs use_guide=True (WarpNet warps the guide)")
        self.use_guide = use_guide
        self.warpnet = WarpNet(channels) if use_warpnet else None
        self.recnet = RecNet(6 if use_guide else 3, channels)

    def forward(self, degraded: torch.Tensor, guide: torch.Tensor | None = None) -> GFRNetOutput:
        if not self.use_guide:
            return GFRNetOutput(self.recnet(degraded), None, None)
        if self.warpnet is None:
            return GFRNetOutput(self.recnet(torch.cat((degraded, guide), dim=1)), None, None)
        grid = self.warpnet(degraded, guide)
        warped = warp(guide, grid)
        return GFRNetOutput(self.recnet(torch.cat((degraded, warped), dim=1)), warped, grid)


def _official_module_names(layers: int = len(ENCODER_MULTIPLIERS)) -> dict[str, str]:
    """Released ``GFRNet_Warpnet`` module paths → ours. ``warpNet.0`` is the encoder Sequential (conv at 0
    and 3i−1, BatchNorm at 3i, LeakyReLU between), ``warpNet.1`` the decoder (ReLU at 3j, deconv at
    3j+1, BatchNorm at 3j+2, Tanh last)."""
    names = {"warpNet.0.0": "encoder.0.conv"}
    for i in range(1, layers):
        names[f"warpNet.0.{3 * i - 1}"] = f"encoder.{i}.conv"
        if i < layers - 1:
            names[f"warpNet.0.{3 * i}"] = f"encoder.{i}.norm"
    for j in range(layers):
        names[f"warpNet.1.{3 * j + 1}"] = f"decoder.{j}.conv"
        if j < layers - 1:
            names[f"warpNet.1.{3 * j + 2}"] = f"decoder.{j}.norm"
    return names


def convert_official(state_dict: dict[str, torch.Tensor], prefix: str = "") -> dict[str, torch.Tensor]:
    """Rename the released ``GFRNet_Warpnet`` state dict (``warpNet.{0,1}.{index}.{param}``) to
    :class:`WarpNet` names (``encoder.{i}.conv``/``.norm``, ``decoder.{j}.conv``/``.norm``).

    ``prefix="warpnet."`` targets :class:`GFRNet` (load with ``strict=False``: RecNet has no official
    weights). Raises :class:`WeightsError` on a name that is not in the released layout.
    """
    modules = _official_module_names()
    converted = {}
    for key, tensor in state_dict.items():
        module, _, param = key.rpartition(".")
        if module not in modules:
            raise WeightsError(f"unexpected tensor {key!r} in a GFRNet WarpNet checkpoint")
        converted[f"{prefix}{modules[module]}.{param}"] = tensor
    return converted


@register_model("gfrnet")
def build_gfrnet(channels: int = 64, use_warpnet: bool = True, use_guide: bool = True) -> GFRNet:
    """Whole GFRNet (WarpNet + RecNet, §3.1); ``use_warpnet``/``use_guide`` give Ours(−W)/Ours(−WG)."""
    return GFRNet(channels=channels, use_warpnet=use_warpnet, use_guide=use_guide)


@register_model("gfrnet_warpnet")
def build_gfrnet_warpnet(channels: int = 64) -> WarpNet:
    """GFRNet's WarpNet alone (§3.1, Eq. 1), 122,978,818 parameters: the released checkpoint."""
    return WarpNet(channels=channels)
