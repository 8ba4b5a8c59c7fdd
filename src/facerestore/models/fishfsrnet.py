"""FishFSRNet (Wang et al., parsing map guided multi-scale attention network, §III-B to §III-D, Eq. 3–23).

The LR face (N×3×h×w in [0, 1]) and its parsing map ``parsing_skin`` (N×3×h×w, from
:class:`facerestore.models.parsingnet.ParsingNet`) are super-resolved to N×3×(s·h)×(s·w); no global skip.
With ``n = log2(scale)`` the network is: feature extraction (3×3 conv); fish head = n × [Up, fish block]
keeping every Up output (Eq. 4–8); fish body = n × [MSRB(head features), Down, fish block] keeping every
Down output (Eq. 9–15); fish tail = n × [MSRB(body features), Up, fish block] (Eq. 16–19); reconstruction
3×3 conv (Eq. 20). A fish block is two PAFBs; every PAFB sees the parsing map nearest-resized to its scale.

Choices where the paper is silent (taken from the official x8 code ``fsr/fishfsrnet.py``, whose structure
the released checkpoints fix):

* Up = 3×3 conv 64→256 + PixelShuffle(2); Down = space-to-depth ×2 (``pixel_unshuffle`` channel order)
  + 3×3 conv 256→64; no activations.
* MSRB resizing (§III-C "nearest interpolation or a convolution layer"): nearest ×2^k up; down by 2^k with
  k stride-2 3×3 convs separated by ReLU. Refine block: ``now + P(now − earlier)`` with P two residual
  blocks (Eq. 22–23). Channel attention: CBAM-style gate, shared MLP 64→16→64 on average-, max- and
  variance-pooled vectors.
* A 3×3 conv ("bridge") between the first MSRB of the fish tail and its Up, present in the official x8;
  kept at every scale in the paper configuration.

Parameter counts: x8 paper 8,398,915; x8 ``compat="official"`` 8,423,683 (the released layout, with the
three unused 1×1 ``conv_tail`` convs); x4 ``compat="official"`` 4,948,419 (``fsr/fishfsrnet_x4.py`` with its
``n_featse`` typo fixed). ``compat="official"`` reproduces the released forward passes: at x8 the last fish
block applies its first PAFB twice and never the second; at x4 the MSRB attention is the official
multi-kernel channel attention and there is no bridge conv. x16 has no working official code (it fails in
forward) and follows the paper only.

Table III ablations are constructor flags: ``msrb`` (off: the resized earlier features are concatenated
with the current one and fused by a 1×1 conv, "concatenation" of Model 1), ``spatial_attention`` and
``channel_attention`` (the PAFB attention branch's SA/CA gates), ``parsing_branch`` (the PAFB parsing map
branch). With both gates the attention branch concatenates them and fuses with a 1×1 conv; with one gate
its output is used directly; with none the branch is the plain conv-ReLU-conv of a residual block. Without
the parsing branch the final 1×1 fusion is dropped too (§IV-C, Model 3), and symmetrically without the
attention branch gates and parsing branch the PAFB is a residual block (Model 1).
"""
from __future__ import annotations

import math
import re

import torch
import torch.nn.functional as F
from torch import nn

from facerestore.errors import ConfigError, WeightsError
from facerestore.models._blocks import ResBlock
from facerestore.models._rename import PrefixRules, rename_prefix
from facerestore.models.registry import register_model

COMPAT_MODES = ("paper", "official")


def _conv3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)


class ChannelGate(nn.Module):
    """Channel attention (§III-C/D): ``x · σ(Σ_pool MLP(pool(x)))`` over average, max and variance pooling."""

    def __init__(self, channels: int = 64, reduction: int = 4):
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        var, mean = torch.var_mean(x, dim=(2, 3), correction=0)
        pooled = torch.stack((mean, x.amax(dim=(2, 3)), var))
        weights = self.fc2(F.relu(self.fc1(pooled), inplace=True)).sum(0).sigmoid_()
        return x * weights[:, :, None, None]


class SpatialGate(nn.Module):
    """Per-pixel, per-channel attention (§III-D): ``x · σ(conv1×1(relu(conv1×1(x))))`` through 2C channels."""

    def __init__(self, channels: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 2 * channels, 1)
        self.conv2 = nn.Conv2d(2 * channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv2(F.relu(self.conv1(x), inplace=True)).sigmoid_()


class MultiKernelChannelAttention(nn.Module):
    """The official x4 MSRB attention (``common.CA``): 1×1 conv, ReLU, four quarter-channel convs with
    kernels 1/3/5/7, channel gate, plus the input. Used only with ``compat="official"`` at x4."""

    def __init__(self, channels: int = 64):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1)
        quarter = channels // 4
        self.branches = nn.ModuleList(nn.Conv2d(quarter, quarter, k, padding=k // 2) for k in (1, 3, 5, 7))
        self.gate = ChannelGate(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = F.relu(self.conv(x), inplace=True).chunk(len(self.branches), dim=1)
        res = torch.cat([branch(part) for branch, part in zip(self.branches, parts)], dim=1)
        return x + self.gate(res)


class PAFB(nn.Module):
    """Parsing map attention fusion block (§III-D, Fig. 5): ``x + fuse(cat(F_P, F_A))``.

    Attention branch F_A: conv3-ReLU-conv3, then spatial and channel gates in parallel, concatenated and
    fused by a 1×1 conv. Parsing map branch F_P: ReLU(conv3(x)) and ReLU(conv3(p)) concatenated, 3×3 conv.
    """

    def __init__(self, channels: int = 64, spatial_attention: bool = True, channel_attention: bool = True,
                 parsing_branch: bool = True):
        super().__init__()
        self.conv1 = _conv3(channels, channels)
        self.conv2 = _conv3(channels, channels)
        self.spatial_gate = SpatialGate(channels) if spatial_attention else None
        self.channel_gate = ChannelGate(channels) if channel_attention else None
        both = spatial_attention and channel_attention
        self.attention_fuse = nn.Conv2d(2 * channels, channels, 1) if both else None
        self.feature_conv = _conv3(channels, channels) if parsing_branch else None
        self.parsing_conv = _conv3(3, channels) if parsing_branch else None
        self.parsing_fuse = _conv3(2 * channels, channels) if parsing_branch else None
        self.fuse = nn.Conv2d(2 * channels, channels, 1) if parsing_branch else None

    def forward(self, x: torch.Tensor, parsing: torch.Tensor | None) -> torch.Tensor:
        res = self.conv2(F.relu(self.conv1(x), inplace=True))
        if self.attention_fuse is not None:
            res = self.attention_fuse(torch.cat((self.spatial_gate(res), self.channel_gate(res)), 1))
        elif self.spatial_gate is not None:
            res = self.spatial_gate(res)
        elif self.channel_gate is not None:
            res = self.channel_gate(res)
        if self.fuse is not None:
            prior = torch.cat((F.relu(self.feature_conv(x), inplace=True),
                               F.relu(self.parsing_conv(parsing), inplace=True)), 1)
            res = self.fuse(torch.cat((self.parsing_fuse(prior), res), 1))
        return res.add_(x)  # res is always a fresh tensor here


class FishBlock(nn.Module):
    """Two cascaded PAFBs (``f_PAFBs``). ``repeat_first`` reproduces the official x8 last block, which calls
    its first PAFB twice (the second one stays in the checkpoint, unused)."""

    def __init__(self, repeat_first: bool = False, **pafb_options):
        super().__init__()
        self.first = PAFB(**pafb_options)
        self.second = PAFB(**pafb_options)
        self.repeat_first = repeat_first

    def forward(self, x: torch.Tensor, parsing: torch.Tensor | None) -> torch.Tensor:
        x = self.first(x, parsing)
        return self.first(x, parsing) if self.repeat_first else self.second(x, parsing)


class Upsampler(nn.Module):
    """f_Up (Eq. 5): 3×3 conv C→4C then PixelShuffle(2)."""

    def __init__(self, channels: int = 64):
        super().__init__()
        self.conv = _conv3(channels, 4 * channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.conv(x), 2)


class Downsampler(nn.Module):
    """f_Down (Eq. 10): inverse PixelShuffle ×2 (``pixel_unshuffle`` channel order) then 3×3 conv 4C→C."""

    def __init__(self, channels: int = 64):
        super().__init__()
        self.conv = _conv3(4 * channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pixel_unshuffle(x, 2))


def _resizer(steps: int, channels: int) -> nn.Module:
    """Bring a feature ``steps`` octaves finer (>0: nearest up) or coarser (<0: stride-2 convs) to the current one."""
    if steps == 0:
        return nn.Identity()
    if steps > 0:
        return nn.Upsample(scale_factor=2 ** steps, mode="nearest")
    layers: list[nn.Module] = []
    for i in range(-steps):
        layers += [nn.ReLU(inplace=True)] if i else []
        layers.append(_conv3(channels, channels, stride=2))
    return nn.Sequential(*layers)


class Refine(nn.Module):
    """Refine block (Eq. 22–23): ``now + P(now − earlier)``, P = two residual blocks conv-ReLU-conv."""

    def __init__(self, channels: int = 64):
        super().__init__()
        self.blocks = nn.Sequential(ResBlock(channels), ResBlock(channels))

    def forward(self, earlier: torch.Tensor, now: torch.Tensor) -> torch.Tensor:
        return self.blocks(now - earlier).add_(now)


class MSRB(nn.Module):
    """Multi-scale refine block (§III-C, Fig. 4): one Refine per resized earlier feature, concatenated,
    1×1 conv k·C→C, channel attention, plus the current feature.

    ``steps[j]``: octaves from earlier feature ``j`` to the current one (see :func:`_resizer`).
    """

    def __init__(self, steps: list[int], channels: int = 64, official_x4_attention: bool = False):
        super().__init__()
        self.resize = nn.ModuleList(_resizer(s, channels) for s in steps)
        self.refine = nn.ModuleList(Refine(channels) for _ in steps)
        self.fuse = nn.Conv2d(len(steps) * channels, channels, 1)
        self.attention = MultiKernelChannelAttention(channels) if official_x4_attention else ChannelGate(channels)

    def forward(self, earlier: list[torch.Tensor], now: torch.Tensor) -> torch.Tensor:
        refined = [refine(resize(f), now) for resize, refine, f in zip(self.resize, self.refine, earlier)]
        return self.attention(self.fuse(torch.cat(refined, 1))).add_(now)


class ConcatFusion(nn.Module):
    """Table III "w/o MSRB" (Model 1): the resized earlier features and the current one, concatenated and
    fused by a 1×1 conv."""

    def __init__(self, steps: list[int], channels: int = 64):
        super().__init__()
        self.resize = nn.ModuleList(_resizer(s, channels) for s in steps)
        self.fuse = nn.Conv2d((len(steps) + 1) * channels, channels, 1)

    def forward(self, earlier: list[torch.Tensor], now: torch.Tensor) -> torch.Tensor:
        return self.fuse(torch.cat([now] + [resize(f) for resize, f in zip(self.resize, earlier)], 1))


class FishStage(nn.Module):
    """One resolution step: optional fusion with earlier features (MSRB), optional bridge conv, Up or Down,
    fish block. Returns the fish block output and the resampled feature (kept for later MSRBs)."""

    def __init__(self, resample: nn.Module, fish: FishBlock, fusion: nn.Module | None = None,
                 bridge: nn.Module | None = None):
        super().__init__()
        self.fusion = fusion
        self.bridge = bridge
        self.resample = resample
        self.fish = fish

    def forward(self, x: torch.Tensor, earlier: list[torch.Tensor], parsing: torch.Tensor | None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.fusion is not None:
            x = self.fusion(earlier, x)
        if self.bridge is not None:
            x = self.bridge(x)
        kept = self.resample(x)
        return self.fish(kept, parsing), kept


def msrb_steps(n: int) -> list[list[int]]:
    """Octave steps of every MSRB (fish body then fish tail) for ``n = log2(scale)`` (LR = level 0).

    Body MSRB ``m`` works at level ``n − m`` on the head's Up outputs (levels 1…n); tail MSRB ``m`` works at
    level ``m`` on the body's Down outputs, coarsest first (levels 0…n−1), as in the official call order.
    """
    body = [[(n - m) - level for level in range(1, n + 1)] for m in range(n)]
    tail = [[m - level for level in range(n)] for m in range(n)]
    return body + tail


class FishFSRNet(nn.Module):
    """FishFSRNet (§III-B). ``forward(lr, parsing)``: LR N×3×h×w and parsing map N×3×h×w (LR size), both in
    [0, 1] → N×3×(scale·h)×(scale·w). ``parsing`` may be ``None`` only when ``parsing_branch=False``.
    See the module docstring for the structure, the parameter counts and ``compat``."""

    def __init__(self, scale: int = 8, compat: str = "paper", channels: int = 64, msrb: bool = True,
                 spatial_attention: bool = True, channel_attention: bool = True, parsing_branch: bool = True):
        super().__init__()
        if scale not in (4, 8, 16):
            raise ConfigError(f"fishfsrnet: scale must be 4, 8 or 16, got {scale!r}")
        if compat not in COMPAT_MODES:
            raise ConfigError(f"fishfsrnet: compat must be one of {COMPAT_MODES}, got {compat!r}")
        official = compat == "official"
        ablated = not (msrb and spatial_attention and channel_attention and parsing_branch)
        if official and (scale == 16 or ablated):
            raise ConfigError("fishfsrnet: compat='official' exists only for scale 4 or 8 with every part enabled")
        n = int(math.log2(scale))
        self.scale = scale
        self.parsing_branch = parsing_branch
        pafb = dict(channels=channels, spatial_attention=spatial_attention, channel_attention=channel_attention,
                    parsing_branch=parsing_branch)
        steps = msrb_steps(n)
        x4_official = official and scale == 4
        x8_official = official and scale == 8

        def fusion(s: list[int]) -> nn.Module:
            return MSRB(s, channels, official_x4_attention=x4_official) if msrb else ConcatFusion(s, channels)

        self.head = _conv3(3, channels)
        self.fish_head = nn.ModuleList(FishStage(Upsampler(channels), FishBlock(**pafb)) for _ in range(n))
        self.fish_body = nn.ModuleList(
            FishStage(Downsampler(channels), FishBlock(**pafb), fusion(steps[m])) for m in range(n))
        self.fish_tail = nn.ModuleList(
            FishStage(Upsampler(channels), FishBlock(repeat_first=x8_official and m == n - 1, **pafb),
                      fusion(steps[n + m]), _conv3(channels, channels) if m == 0 and not x4_official else None)
            for m in range(n))
        self.reconstruction = _conv3(channels, 3)
        # Constructed but never called by the official x8 code; kept so that its checkpoints load strictly.
        self.official_conv_tail = (nn.ModuleList(nn.Conv2d(2 * channels, channels, 1) for _ in range(n))
                                   if x8_official else None)

    def forward(self, lr: torch.Tensor, parsing: torch.Tensor | None = None) -> torch.Tensor:
        n = len(self.fish_head)
        if self.parsing_branch:
            if parsing is None:
                raise ValueError("FishFSRNet with the parsing branch needs the parsing map")
            maps = [parsing] + [F.interpolate(parsing, scale_factor=2 ** k, mode="nearest") for k in range(1, n + 1)]
        else:
            maps = [None] * (n + 1)
        x = self.head(lr)
        head_features: list[torch.Tensor] = []
        for k, stage in enumerate(self.fish_head, start=1):
            x, kept = stage(x, head_features, maps[k])
            head_features.append(kept)
        body_features: list[torch.Tensor] = []
        for m, stage in enumerate(self.fish_body):
            x, kept = stage(x, head_features, maps[n - 1 - m])
            body_features.insert(0, kept)
        for k, stage in enumerate(self.fish_tail, start=1):
            x, _ = stage(x, body_features, maps[k])
        return self.reconstruction(x)


@register_model("fishfsrnet")
def build_fishfsrnet(scale: int = 8, compat: str = "paper", msrb: bool = True, spatial_attention: bool = True,
                     channel_attention: bool = True, parsing_branch: bool = True, channels: int = 64) -> FishFSRNet:
    """FishFSRNet §III-B; x8 paper 8,398,915 parameters, official layouts 8,423,683 (x8) / 4,948,419 (x4)."""
    return FishFSRNet(scale=scale, compat=compat, msrb=msrb, spatial_attention=spatial_attention,
                      channel_attention=channel_attention, parsing_branch=parsing_branch, channels=channels)


def _rules(*pairs: tuple[str, str]) -> PrefixRules:
    return tuple((re.compile(pattern), replacement) for pattern, replacement in pairs)


# Inside a PAFB (official ``common.PCSR1``).
_PAFB_RULES = _rules(
    (r"body\.0\.", "conv1."), (r"body\.2\.", "conv2."),
    (r"attention_layer1\.spatial_layer1\.", "spatial_gate.conv1."),
    (r"attention_layer1\.spatial_layer3\.", "spatial_gate.conv2."),
    (r"attention_layer2\.mlp\.1\.", "channel_gate.fc1."), (r"attention_layer2\.mlp\.3\.", "channel_gate.fc2."),
    (r"conv\.", "attention_fuse."), (r"conv_feature\.0\.", "feature_conv."),
    (r"conv_parsing\.0\.", "parsing_conv."), (r"conv_fusion\.", "parsing_fuse."), (r"attention_fusion\.", "fuse."),
)
_MSRB_ATTENTION_RULES = {
    8: _rules((r"attention\.mlp\.1\.", "attention.fc1."), (r"attention\.mlp\.3\.", "attention.fc2.")),
    4: _rules((r"attention\.body\.0\.", "attention.conv."),
              *((rf"attention\.body\.2\.conv{k}\.", f"attention.branches.{i}.") for i, k in enumerate((1, 3, 5, 7))),
              (r"attention\.attention_layer2\.mlp\.1\.", "attention.gate.fc1."),
              (r"attention\.attention_layer2\.mlp\.3\.", "attention.gate.fc2.")),
}


def _msrb_rules(steps: list[int], scale: int) -> PrefixRules:
    """Inside an official ``Multi_scale_fusion_block``: ``refine{2,4,8}`` → ``refine.{0,1,2}``, ``down1`` /
    ``down2`` (÷2 / ÷4 resizers) → the ``resize`` entry of the earlier feature they apply to."""
    pairs = [(rf"refine{2 ** (j + 1)}\.conv\.(\d+)\.body\.{i}\.", rf"refine.{j}.blocks.\1.conv{c}.")
             for j in range(len(steps)) for i, c in ((0, 1), (2, 2))]
    pairs += [(r"down1\.", f"resize.{j}.0.") if s == -1 else (rf"down{-s}\.", f"resize.{j}.")
              for j, s in enumerate(steps) if s < 0]
    return _rules(*pairs, (r"conv\.", "fuse.")) + _MSRB_ATTENTION_RULES[scale]


def _official_prefixes(scale: int) -> list[tuple[str, str, PrefixRules]]:
    """(official module prefix, our prefix, rules for the rest of the name) for the x4 / x8 layouts."""
    n = int(math.log2(scale))
    up = "up{}.body.0." if scale == 4 else "up{}.0.0."
    down = "down{}.conv." if scale == 4 else "down{}.0.conv."
    first_down = 2 if scale == 4 else 1  # the x4 file names its body stages down2/down3
    steps = msrb_steps(n)
    entries: list[tuple[str, str, PrefixRules]] = [("head.0.", "head.", ()), ("tail.0.", "reconstruction.", ())]
    for i in range(n):
        for ours, official_stage, official_resample in (
                ("fish_head", f"up_stage{i + 1}", up.format(i + 1)),
                ("fish_body", f"down_stage{i + first_down}", down.format(i + first_down)),
                ("fish_tail", f"up2_stage{i + 1}", up.format(f"2{i + 1}"))):
            entries.append((official_resample, f"{ours}.{i}.resample.conv.", ()))
            entries.append((f"{official_stage}.0.", f"{ours}.{i}.fish.first.", _PAFB_RULES))
            entries.append((f"{official_stage}.1.", f"{ours}.{i}.fish.second.", _PAFB_RULES))
        entries.append((f"refine2.{i}.", f"fish_body.{i}.fusion.", _msrb_rules(steps[i], scale)))
        entries.append((f"refine2.{n + i}.", f"fish_tail.{i}.fusion.", _msrb_rules(steps[n + i], scale)))
        if scale == 8:
            entries.append((f"conv_tail{i + 1}.", f"official_conv_tail.{i}.", ()))
    if scale == 8:
        entries.append(("conv.", "fish_tail.0.bridge.", ()))
    return entries


def official_scale(state_dict: dict[str, torch.Tensor]) -> int:
    """Tell the official x8 layout (``up3.0.0.*``) from the x4 one (``up1.body.0.*``)."""
    if "up3.0.0.weight" in state_dict:
        return 8
    if "up1.body.0.weight" in state_dict:
        return 4
    raise WeightsError("not an official FishFSRNet x4/x8 state dict (neither up3.0.0.weight nor "
                       "up1.body.0.weight present); pass the scale explicitly")


def convert_official(state_dict: dict[str, torch.Tensor], scale: int | None = None) -> dict[str, torch.Tensor]:
    """Rename an official FishFSRNet x4/x8 state dict to ours (load into ``compat="official"`` at that scale).

    ``scale=None`` detects it with :func:`official_scale`. Unknown names are kept unchanged so that the
    strict load that follows reports them.
    """
    scale = official_scale(state_dict) if scale is None else scale
    if scale not in (4, 8):
        raise WeightsError(f"official FishFSRNet checkpoints exist for x4 and x8 only, not x{scale}")
    entries = _official_prefixes(scale)
    out: dict[str, torch.Tensor] = {}
    for name, tensor in state_dict.items():
        new = name
        for official, ours, rules in entries:
            if name.startswith(official):
                rest = name[len(official):]
                new = ours + (rename_prefix(rest, rules) or rest)
                break
        out[new] = tensor
    return out
