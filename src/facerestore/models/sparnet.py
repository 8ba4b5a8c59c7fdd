"""SPARNet and SPARNet-Light-Attn3D (Chen et al., "Learning Spatial Attention for Face Super-Resolution",
TIP 2020, §III; official code chaofengc/Face-SPARNet ``models/sparnet.py`` and ``models/blocks.py``).

Input: the LR face bicubic-upsampled to 128×128, N×3×128×128 in [-1, 1]; output N×3×128×128 in [-1, 1]
(no final activation), as in the official code. Structure (§III-A, Fig. 2):

* encoder = reflection-padded 3×3 conv 3→32, then 3 downsampling FAUs 32→64→128→128 whose attention
  hourglasses have depth 4, 3, 2;
* decoder = ``body_blocks`` FAUs at 128 channels (hourglass depth 2; 10 for SPARNet, 1 for Light-Attn3D),
  3 upsampling FAUs 128→128→64→32 (depth 3, 4, 5) and a 3×3 conv 32→3.

The encoder/decoder split is the one UFVNet (§III-A) builds its anchor generators from.
Face Attention Unit (FAU, §III-B Eq. 3–5): pre-activation BN + LeakyReLU(0.2); conv3-BN-LReLU; conv3-BN
(stride 2 on the second conv when going down, nearest ×2 before the first when going up); the result is
multiplied by the attention map of an hourglass run on it and added to the shortcut (identity, or a 3×3
conv with bias when channels or scale change). Attention channels: 1 (``spar``, SPARNet) or the FAU's
output channels (``spar3d``, "Attn3D"). Every 3×3 conv uses reflection padding, as the official
``ConvLayer`` does.

Parameter counts (official layouts ``sparnet.json``, ``sparnet_light_attn3d.json``): SPARNet
10,518,867; SPARNet-Light-Attn3D 5,242,211.

Choice: the hourglass upsamples nearest to the size of its skip branch in one step; the official code
upsamples ×2 and resizes again only on a mismatch, which gives the same result whenever the size is a
multiple of 32 (128×128 in every released setting). Input sizes: multiples of 32 from 64 (the depth-5
hourglass needs at least 2×2 at its bottom).
"""
from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn

from facerestore.errors import WeightsError
from facerestore.models._rename import PrefixRules, rename_prefix
from facerestore.models.registry import register_model

NEGATIVE_SLOPE = 0.2
ATTENTIONS = ("spar", "spar3d")
DOWN_DEPTHS = (4, 3, 2)  # hourglass depth of the encoder FAUs (official: log2(64 / 4) = 4, then −1 per step)
BODY_DEPTH = 2
UP_DEPTHS = (3, 4, 5)
DOWN_CHANNELS = (32, 64, 128, 128)
UP_CHANNELS = (128, 128, 64, 32)
HOURGLASS_CHANNELS = 64


def scaled(channels: int, width: float) -> int:
    """``channels`` × ``width`` rounded, at least 1 (the ``width`` option of the reduced quick-recipe nets)."""
    return max(1, round(channels * width))


def conv3x3(c_in: int, c_out: int, stride: int = 1, bias: bool = True) -> nn.Conv2d:
    """Reflection-padded 3×3 convolution (official ``ConvLayer``)."""
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, padding_mode="reflect", bias=bias)


class ConvNormAct(nn.Module):
    """3×3 conv (no bias) + BatchNorm + LeakyReLU(0.2); ``stride=2`` for the hourglass down branch."""

    bn_folds = (("conv", "norm"),)  # see facerestore.models.inference.fold_batchnorm

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv = conv3x3(c_in, c_out, stride, bias=False)
        self.norm = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.norm(self.conv(x)), NEGATIVE_SLOPE, inplace=True)


class AttentionHourglass(nn.Module):
    """Spatial attention branch of the FAU (§III-B, Eq. 4): an hourglass of ``depth`` levels at 64 channels.

    Level k keeps a skip conv and a stride-2 conv; the innermost level adds one more conv; coming back,
    each level upsamples (nearest) the deeper result, applies a conv and adds its skip. A final 3×3 conv
    to ``c_attention`` channels + sigmoid gives the attention map in (0, 1).
    """

    def __init__(self, depth: int, c_in: int, c_attention: int, c_mid: int = HOURGLASS_CHANNELS):
        super().__init__()
        self.skip = nn.ModuleList(ConvNormAct(c_in if k == 0 else c_mid, c_mid) for k in range(depth))
        self.down = nn.ModuleList(ConvNormAct(c_in if k == 0 else c_mid, c_mid, stride=2) for k in range(depth))
        self.bottom = ConvNormAct(c_mid, c_mid)
        self.up = nn.ModuleList(ConvNormAct(c_mid, c_mid) for _ in range(depth))
        self.out = conv3x3(c_mid, c_attention)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for skip, down in zip(self.skip, self.down):
            skips.append(skip(x))
            x = down(x)
        x = self.bottom(x)
        for up, skip in zip(reversed(self.up), reversed(skips)):
            x = skip + up(F.interpolate(x, size=skip.shape[-2:], mode="nearest"))
        return torch.sigmoid(self.out(x))


class FaceAttentionUnit(nn.Module):
    """FAU (§III-B, Eq. 3): ``shortcut(x) + B1(x) ⊙ B2(B1(x))``; ``scale`` is ``"none"``, ``"down"`` or ``"up"``."""

    bn_folds = (("conv1", "norm1"), ("conv2", "norm2"))  # the pre-activation BN is not foldable

    def __init__(self, c_in: int, c_out: int, scale: str, hourglass_depth: int, attention: str,
                 hourglass_channels: int = HOURGLASS_CHANNELS):
        super().__init__()
        if scale not in ("none", "down", "up"):
            raise ValueError(f"FAU scale must be 'none', 'down' or 'up', got {scale!r}")
        if attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}, got {attention!r}")
        stride = 2 if scale == "down" else 1
        self.upsample = scale == "up"
        self.shortcut = conv3x3(c_in, c_out, stride) if scale != "none" or c_in != c_out else None
        self.pre_norm = nn.BatchNorm2d(c_in)
        self.conv1 = conv3x3(c_in, c_out, bias=False)
        self.norm1 = nn.BatchNorm2d(c_out)
        self.conv2 = conv3x3(c_out, c_out, stride, bias=False)
        self.norm2 = nn.BatchNorm2d(c_out)
        self.attention = AttentionHourglass(hourglass_depth, c_out, c_out if attention == "spar3d" else 1,
                                            hourglass_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.leaky_relu(self.pre_norm(x), NEGATIVE_SLOPE, inplace=True)
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")
        identity = x if self.shortcut is None else self.shortcut(x)
        h = F.leaky_relu(self.norm1(self.conv1(h)), NEGATIVE_SLOPE, inplace=True)
        h = self.norm2(self.conv2(h))
        return torch.addcmul(identity, h, self.attention(h))


class SPARNetEncoder(nn.Module):
    """First conv + 3 downsampling FAUs: N×3×H×W → N×``out_channels``×H/8×W/8 (UFVNet's "anchor encoder").

    ``width`` scales every channel count (FAUs and hourglasses); 1.0 is the paper's network.
    ``space_to_depth`` (not in the paper; CPU recipes): the outermost level (head conv and first down FAU at
    H×W) becomes a pixel-unshuffle ×2 and the head conv at H/2 (12 → 64·width channels), then the other two
    down FAUs: the same H/8 output, without any layer at full size.
    """

    def __init__(self, attention: str, width: float = 1.0, space_to_depth: bool = False):
        super().__init__()
        channels = [scaled(c, width) for c in DOWN_CHANNELS]
        depths = DOWN_DEPTHS
        self.space_to_depth = space_to_depth
        if space_to_depth:
            channels, depths = channels[1:], depths[1:]
        self.out_channels = channels[-1]
        self.head = conv3x3(3 * 4 if space_to_depth else 3, channels[0])
        self.down = nn.Sequential(*(
            FaceAttentionUnit(c_in, c_out, "down", depth, attention, scaled(HOURGLASS_CHANNELS, width))
            for c_in, c_out, depth in zip(channels, channels[1:], depths)
        ))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.space_to_depth:
            x = F.pixel_unshuffle(x, 2)
        return self.down(self.head(x))


class SPARNetDecoder(nn.Module):
    """``body_blocks`` FAUs at H/8 (the first one maps ``in_channels`` → 128·width), 3 upsampling FAUs, conv → 3.

    ``space_to_depth`` mirrors the encoder's: two upsampling FAUs to H/2, the last conv to 12 channels and a
    pixel-shuffle ×2 to H×W.
    """

    def __init__(self, body_blocks: int, attention: str, in_channels: int | None = None, width: float = 1.0,
                 space_to_depth: bool = False):
        super().__init__()
        channels = [scaled(c, width) for c in UP_CHANNELS]
        depths = UP_DEPTHS
        self.space_to_depth = space_to_depth
        if space_to_depth:
            channels, depths = channels[:-1], depths[:-1]
        hourglass = scaled(HOURGLASS_CHANNELS, width)
        in_channels = channels[0] if in_channels is None else in_channels
        self.body = nn.Sequential(*(
            FaceAttentionUnit(in_channels if i == 0 else channels[0], channels[0], "none", BODY_DEPTH, attention,
                              hourglass)
            for i in range(body_blocks)
        ))
        self.up = nn.Sequential(*(
            FaceAttentionUnit(c_in, c_out, "up", depth, attention, hourglass)
            for c_in, c_out, depth in zip(channels, channels[1:], depths)
        ))
        self.tail = conv3x3(channels[-1], 3 * 4 if space_to_depth else 3)

    def zero_tail_(self) -> None:
        """Zero the last conv, so that a residual network starts as the identity of its input."""
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        out = self.tail(self.up(self.body(features)))
        return F.pixel_shuffle(out, 2) if self.space_to_depth else out


class SPARNet(nn.Module):
    """SPARNet (§III): ``decoder(encoder(x))`` on the bicubic-upsampled LR face in [-1, 1] (N×3×128×128).

    ``residual`` (not in the paper; CPU quick recipes): ``x + decoder(encoder(x))`` with the last conv
    initialised to zero, so training starts from the bicubic image.
    """

    def __init__(self, body_blocks: int = 10, attention: str = "spar", width: float = 1.0, residual: bool = False):
        super().__init__()
        self.encoder = SPARNetEncoder(attention, width)
        self.decoder = SPARNetDecoder(body_blocks, attention, width=width)
        self.residual = residual
        if residual:
            self.decoder.zero_tail_()

    @classmethod
    def from_parts(cls, encoder: SPARNetEncoder, decoder: SPARNetDecoder, residual: bool = False) -> "SPARNet":
        """A SPARNet sharing the given encoder and decoder modules (UFVNet's anchor generators)."""
        net = nn.Module.__new__(cls)
        nn.Module.__init__(net)
        net.encoder, net.decoder, net.residual = encoder, decoder, residual
        return net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.decoder(self.encoder(x))
        return x + out if self.residual else out


@register_model("sparnet")
def sparnet(width: float = 1.0, residual: bool = False) -> SPARNet:
    """SPARNet (res_depth 10, 1-channel spatial attention): 10,518,867 parameters at ``width`` 1."""
    return SPARNet(body_blocks=10, attention="spar", width=width, residual=residual)


@register_model("sparnet_light_attn3d")
def sparnet_light_attn3d(width: float = 1.0, residual: bool = False) -> SPARNet:
    """SPARNet-Light-Attn3D (1 body FAU, full-channel attention), UFVNet's anchor generator: 5,242,211 parameters
    at ``width`` 1."""
    return SPARNet(body_blocks=1, attention="spar3d", width=width, residual=residual)


# ---- official checkpoint names → ours --------------------------------------------------------------------
VARIANT_BODY_BLOCKS = {"sparnet": 10, "light": 1}

_FAU_RULES: PrefixRules = (
    (re.compile(r"shortcut_func\.conv2d\."), "shortcut."),
    (re.compile(r"preact_func\.0\.norm\."), "pre_norm."),
    (re.compile(r"conv([12])\.conv2d\."), r"conv\1."),
    (re.compile(r"conv([12])\.norm\.norm\."), r"norm\1."),
    (re.compile(r"att_func\.out_block\.0\.conv2d\."), "attention.out."),
    (re.compile(r"att_func\.b2_plus_1\.conv2d\."), "attention.bottom.conv."),
    (re.compile(r"att_func\.b2_plus_1\.norm\.norm\."), "attention.bottom.norm."),
)
_HEAD_TAIL_RULES: PrefixRules = (
    (re.compile(r"encoder\.0\.conv2d\."), "encoder.head."),
    (re.compile(r"out_conv\.conv2d\."), "decoder.tail."),
)
_HOURGLASS_LEVEL = re.compile(r"att_func\.b([123])_(\d+)\.(conv2d|norm\.norm)\.(.+)")
_HOURGLASS_BRANCH = {"1": "skip", "2": "down", "3": "up"}
_FAU = re.compile(r"(encoder|res_layers|decoder)\.(\d+)\.(.+)")
_FAU_PREFIXES = {  # official (part, index) → our prefix and hourglass depth
    **{("encoder", i + 1): (f"encoder.down.{i}.", depth) for i, depth in enumerate(DOWN_DEPTHS)},
    **{("decoder", i): (f"decoder.up.{i}.", depth) for i, depth in enumerate(UP_DEPTHS)},
}


def _convert_fau_key(rest: str, depth: int) -> str | None:
    """Official FAU-relative name → ours; hourglass level L (outermost = depth) becomes index depth − L."""
    level = _HOURGLASS_LEVEL.fullmatch(rest)
    if level is None:
        return rename_prefix(rest, _FAU_RULES)
    branch, number, layer, tensor = level.groups()
    layer = "conv" if layer == "conv2d" else "norm"
    return f"attention.{_HOURGLASS_BRANCH[branch]}.{depth - int(number)}.{layer}.{tensor}"


def _convert_key(name: str) -> str | None:
    fau = _FAU.fullmatch(name)
    if fau is None or name.startswith("encoder.0."):
        return rename_prefix(name, _HEAD_TAIL_RULES)
    part, index, rest = fau.group(1), int(fau.group(2)), fau.group(3)
    if part == "res_layers":
        prefix, depth = f"decoder.body.{index}.", BODY_DEPTH
    elif (part, index) in _FAU_PREFIXES:
        prefix, depth = _FAU_PREFIXES[part, index]
    else:
        return None
    converted = _convert_fau_key(rest, depth)
    return None if converted is None else prefix + converted


def convert_official(state_dict: dict[str, torch.Tensor], variant: str = "sparnet") -> dict[str, torch.Tensor]:
    """Map an official Face-SPARNet ``state_dict`` (``variant`` "sparnet" or "light") to our names.

    Raises :class:`WeightsError` for a tensor name the official code does not produce, or when the number of
    body FAUs (``res_layers``) does not match the variant.
    """
    if variant not in VARIANT_BODY_BLOCKS:
        raise WeightsError(f"unknown SPARNet variant {variant!r}; expected one of {sorted(VARIANT_BODY_BLOCKS)}")
    converted = {}
    for name, tensor in state_dict.items():
        ours = _convert_key(name)
        if ours is None:
            raise WeightsError(f"tensor {name!r} is not part of the official SPARNet layout")
        converted[ours] = tensor
    body = {int(name.split(".")[1]) for name in state_dict if name.startswith("res_layers.")}
    if len(body) != VARIANT_BODY_BLOCKS[variant]:
        raise WeightsError(
            f"checkpoint has {len(body)} body FAUs (res_layers) but variant {variant!r} has "
            f"{VARIANT_BODY_BLOCKS[variant]}; pass the matching variant ('sparnet' or 'light')"
        )
    return converted
