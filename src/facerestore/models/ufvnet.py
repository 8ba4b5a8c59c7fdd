"""UFVNet (Peng et al., "A Unified Framework to Super-Resolve Face Images of Varied Low Resolutions", §III).

Test-time network (Fig. 3, Eq. 5–10): the LR face of any size is bicubic-upscaled to 128×128 (``U``); K anchor
encoders (K = 3, anchors at 1/8, 1/4, 1/2 of the HR size) encode it; a weight regressor (AlexNet, Fig. 2c)
gives softmax weights W; the encoded features, each multiplied by its weight, are concatenated (Eq. 9), passed
through a fusion FAU (F_FE) and a final decoder (F_dec) to the SR image (Eq. 10).

Every anchor SR generator is SPARNet-Light-Attn3D (§III-A, Fig. 2a): encoder = first conv + 3 down FAUs,
latent = 1 FAU, decoder = 3 up FAUs + last conv (:mod:`facerestore.models.sparnet`). The training-time parts
(Fig. 1) are kept: :meth:`UFVNet.generator` returns anchor generator i (its encoder shared with the test-time
network, plus its own latent FAU and decoder) for the separate training stage (§III-D, Eq. 11);
``regressor`` alone is trained on the soft targets of :func:`anchor_weight_targets` (Eq. 4, 12);
:meth:`UFVNet.forward_train` returns the SR image with the regressor's logits and weights for the integrated
stage (Eq. 13). ``anchor_decoders=False`` builds the test-time network only (no latent FAUs / decoders).

Values in [-1, 1] in and out, as in SPARNet (the network it is built from); no final activation.

Choices where the paper is open (all documented here, section cited):

* Input (§III, Eq. 5–8): ``forward(lr)`` accepts the LR face at its own size (8×8 … 64×64 and more) and
  applies ``U`` itself with MATLAB-compatible bicubic (a = −0.5, antialiased when shrinking;
  :func:`facerestore.degrade.imresize_torch`), clamped to [-1, 1]: the same kernel as the ``lr_up`` that the
  degradation pipeline makes for training, so the network sees one upscaling at training and test time. An
  input that is already 128×128 is used as is; ``forward_train(..., upscaled=True)`` takes training patches
  of ``lr_up`` of any size.
* Weight regressor (§III-B): torchvision's AlexNet layout (``features``, ``classifier``, ImageNet 1000-way
  output, so ImageNet weights can initialise it), its first max-pool changed from 3×3/2 to 5×5/1 so that a
  128×128 input reaches the 6×6 map AlexNet's classifier expects at 224×224 (conv1 31×31 → pool 27×27 →
  13×13 → 6×6), then the added fully connected layer 1000 → K ("a fully-connected layer of three neurons
  at the end"), softmax over the anchors. It sees the same [-1, 1] input as the encoders.
* Fusion (§III-C): F_FE is one FAU (hourglass depth 2, Attn3D) mapping the K·128 concatenated channels to
  128 — "structurally the same" as the generator's latent FAU, with a 3×3 shortcut conv for the channel
  change; F_dec is the generator decoder (3 up FAUs + conv). In the code both live in ``decoder``
  (``decoder.body.0`` is F_FE).
* Input rate r for Eq. 4 (§III-D): ``h / H`` of the LR face (geometric mean of both axes for a non-square
  face), H = 128.
* Ablations (§IV-C, Tab. IV): ``weighting="none"`` is UFVNet-NW (no regressor, every weight fixed to 1);
  ``weighting="formula"`` is UFVNet-FM (weights computed by Eq. 4 from the input rate, no regressor);
  ``num_anchors`` 1, 2, 4 are OneSRG, TwoSRG, FourSRG with anchors ``ANCHOR_SETS[K]`` (the paper does not
  list them: 1/4 alone; 1/8 and 1/2; 1/16 … 1/2 by octaves). OneSRG needs ``weighting="none"``.
* ``space_to_depth`` (not in the paper; CPU recipes and the bundled default): every encoder and decoder
  replaces its full-size level by a pixel-unshuffle / pixel-shuffle ×2 (:class:`SPARNetEncoder`), so no
  layer runs at 128×128; the 16×16 latent, the anchors, the regressor and Eq. 4–13 are unchanged.
* Eq. 4 for K anchors: ``w_i = (1 − d_i / Σd) / (K − 1)``, which is the paper's factor 1/2 at K = 3 and
  keeps Σw = 1 for every K.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from facerestore.degrade import imresize_torch
from facerestore.errors import ConfigError
from facerestore.models.registry import register_model
from facerestore.models.sparnet import SPARNet, SPARNetDecoder, SPARNetEncoder, scaled

HR_SIZE = 128
ATTENTION = "spar3d"  # SPARNet-Light-Attn3D
ANCHOR_SETS: dict[int, tuple[float, ...]] = {
    1: (1 / 4,),
    2: (1 / 8, 1 / 2),
    3: (1 / 8, 1 / 4, 1 / 2),
    4: (1 / 16, 1 / 8, 1 / 4, 1 / 2),
}
WEIGHTINGS = ("regressor", "none", "formula")


def anchor_weight_targets(rate: torch.Tensor | float, anchors: tuple[float, ...] = ANCHOR_SETS[3]) -> torch.Tensor:
    """Soft anchor weights of Eq. 4 for down-sampling rate(s) ``rate`` (scalar or N) → N×K, rows sum to 1.

    ``d_i = |r − a_i|``, ``w_i = (1 − d_i / Σ_j d_j) / (K − 1)`` (= ½(1 − d_i/Σd) for K = 3); K = 1 gives 1.
    """
    rate = torch.as_tensor(rate, dtype=torch.float32).reshape(-1, 1)
    if len(anchors) == 1:
        return torch.ones_like(rate)
    distances = (rate - torch.tensor(anchors, dtype=rate.dtype, device=rate.device)).abs()
    return (1 - distances / distances.sum(dim=1, keepdim=True)) / (len(anchors) - 1)


def input_rate(lr: torch.Tensor, hr_size: int = HR_SIZE) -> float:
    """Down-sampling rate r of an LR face N×C×h×w relative to the HR size (geometric mean of both axes)."""
    return math.sqrt(lr.shape[-2] * lr.shape[-1]) / hr_size


def upscale(lr: torch.Tensor, size: int = HR_SIZE) -> torch.Tensor:
    """``U`` of Eq. 5–8: MATLAB bicubic resize to size×size in [-1, 1]; a size×size input is returned unchanged."""
    if lr.shape[-2:] == (size, size):
        return lr
    return imresize_torch(lr, size=(size, size)).clamp_(-1, 1)


class WeightRegressor(nn.Module):
    """AlexNet adapted to 128×128 (§III-B, Fig. 2c): features → 6×6 → classifier (1000) → ``fc`` (K logits).

    ``width`` scales the conv channels and the two hidden fully connected layers (1.0: AlexNet's layout).
    """

    def __init__(self, num_anchors: int, width: float = 1.0):
        super().__init__()
        c1, c2, c3, c4, hidden = (scaled(c, width) for c in (64, 192, 384, 256, 4096))
        self.features = nn.Sequential(
            nn.Conv2d(3, c1, 11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(5, stride=1),  # AlexNet: 3×3 stride 2 (for 224×224)
            nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(c4, c4, 3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(6)
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Linear(c4 * 6 * 6, hidden), nn.ReLU(inplace=True),
            nn.Dropout(0.5), nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, 1000),
        )
        self.fc = nn.Linear(1000, num_anchors)
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Anchor logits N×K (softmax of them is W of Eq. 5)."""
        return self.fc(self.classifier(torch.flatten(self.avgpool(self.features(x)), 1)))


class UFVNet(nn.Module):
    """UFVNet (§III, Eq. 5–10); see the module docstring for the structure and the documented choices."""

    def __init__(self, num_anchors: int = 3, weighting: str = "regressor", anchor_decoders: bool = True,
                 width: float = 1.0, residual: bool = False, space_to_depth: bool = False):
        super().__init__()
        if num_anchors not in ANCHOR_SETS:
            raise ConfigError(f"ufvnet num_anchors must be one of {sorted(ANCHOR_SETS)}, got {num_anchors!r}")
        if weighting not in WEIGHTINGS:
            raise ConfigError(f"ufvnet weighting must be one of {WEIGHTINGS}, got {weighting!r}")
        if num_anchors == 1 and weighting != "none":
            raise ConfigError("ufvnet with num_anchors=1 (OneSRG) has nothing to weight: use weighting='none'")
        self.anchors = ANCHOR_SETS[num_anchors]
        self.weighting = weighting
        self.encoders = nn.ModuleList(SPARNetEncoder(ATTENTION, width, space_to_depth) for _ in self.anchors)
        self.anchor_decoders = (
            nn.ModuleList(SPARNetDecoder(body_blocks=1, attention=ATTENTION, width=width,
                                         space_to_depth=space_to_depth) for _ in self.anchors)
            if anchor_decoders else None
        )
        self.regressor = WeightRegressor(num_anchors, width) if weighting == "regressor" else None
        self.decoder = SPARNetDecoder(
            body_blocks=1, attention=ATTENTION, in_channels=num_anchors * self.encoders[0].out_channels, width=width,
            space_to_depth=space_to_depth,
        )
        self.residual = residual
        if residual:
            for decoder in [self.decoder, *(self.anchor_decoders or ())]:
                decoder.zero_tail_()

    def generator(self, index: int) -> SPARNet:
        """Anchor SR generator ``index`` (§III-A): a stand-alone SPARNet-Light-Attn3D (its encoder, latent FAU
        and decoder) sharing this model's parameters, for the separate training stage (Eq. 11, 128×128 bicubic
        input in [-1, 1])."""
        if self.anchor_decoders is None:
            raise ConfigError("this UFVNet was built with anchor_decoders=False: it has no anchor generators")
        return SPARNet.from_parts(self.encoders[index], self.anchor_decoders[index], self.residual)

    def anchor_weights(
        self, lr_up: torch.Tensor, rate: torch.Tensor | float
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Weights W (N×K) of Eq. 5 and the regressor logits (``None`` without regressor)."""
        if self.regressor is not None:
            logits = self.regressor(lr_up)
            return torch.softmax(logits, dim=1), logits
        if self.weighting == "formula":
            weights = anchor_weight_targets(rate, self.anchors).to(lr_up)
            return weights.expand(lr_up.shape[0], -1), None
        return lr_up.new_ones(lr_up.shape[0], len(self.anchors)), None

    def forward_train(
        self, lr: torch.Tensor, rate: torch.Tensor | float | None = None, upscaled: bool = False
    ) -> dict[str, torch.Tensor | None]:
        """``{"sr", "weights", "weight_logits"}`` for the integrated stage (Eq. 13); ``lr`` N×3×h×w in [-1, 1].

        ``upscaled``: ``lr`` is already ``U``'s output (``lr_up``, or a training patch of it), used as is.
        ``rate`` (Eq. 4's r, scalar or N) defaults to :func:`input_rate` of ``lr``; only UFVNet-FM uses it, so
        it must be given there when ``lr`` is already upscaled.
        """
        lr_up = lr if upscaled else upscale(lr)
        weights, logits = self.anchor_weights(lr_up, input_rate(lr) if rate is None else rate)
        features = torch.cat([
            encoder(lr_up) * weights[:, k, None, None, None] for k, encoder in enumerate(self.encoders)
        ], dim=1)
        sr = self.decoder(features)
        return {"sr": sr + lr_up if self.residual else sr, "weights": weights, "weight_logits": logits}

    def forward(self, lr: torch.Tensor, rate: torch.Tensor | float | None = None) -> torch.Tensor:
        """SR face N×3×128×128 in [-1, 1] from the LR face N×3×h×w in [-1, 1] (any h, w)."""
        return self.forward_train(lr, rate)["sr"]


@register_model("ufvnet")
def ufvnet(num_anchors: int = 3, weighting: str = "regressor", anchor_decoders: bool = True,
           width: float = 1.0, residual: bool = False, space_to_depth: bool = False) -> UFVNet:
    """UFVNet (§III) and its Tab. IV ablations (``weighting`` "none" = NW, "formula" = FM; ``num_anchors``).

    CPU options, not in the paper: ``width`` < 1 scales every channel count; ``residual`` adds the 128×128
    bicubic input to the output (tails initialised to zero, so training starts from bicubic);
    ``space_to_depth`` runs no layer at 128×128 (module docstring)."""
    return UFVNet(num_anchors=num_anchors, weighting=weighting, anchor_decoders=anchor_decoders, width=width,
                  residual=residual, space_to_depth=space_to_depth)
