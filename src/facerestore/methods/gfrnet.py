"""GFRNet (Li et al., ECCV 2018): the degraded face (bicubic-upsampled to 256×256, ``lr_up``) and a guide photo
of the same person (``guide``, aligned the same way); WarpNet warps the guide, RecNet restores (§3.1); its two
objectives (losses in the networks' [-1, 1] range):

* ``gfrnet_flow`` (GFRNet §4.2): WarpNet alone on ``L_flow = 10·ℓ_lm + 1·ℓ_TV`` (Eq. 9–11), the pre-training.
* ``gfrnet`` (GFRNet §3.3, Eq. 12): ``L = L_r + L_a + L_flow`` with λ_r,0 = 100 (ℓ2), λ_r,l = 0.001
  (Eq. 5 on VGG-Face conv-4 features, :class:`RecognitionLoss`: on when the stage option
  ``vgg_face_weights`` or ``$FACERESTORE_VGG_FACE_WEIGHTS`` names a file in the layout of
  :mod:`facerestore.models.vgg_face`; no such file ships with facerestore, so by default the term is off and
  ``off_terms`` / the log say so), λ_a,g = 1, λ_a,l = 0.5 (vanilla GAN, labels 0/0.9; global D on
  concat(I^d, I^g, Î) — concat(I^d, Î) without a guide; local D with "the same settings" on the landmark
  boxes, see :meth:`GFRNetObjective.local_pair`), λ_lm = 10, λ_TV = 1 (skipped without WarpNet).
  ``random_guide`` is Ours(R): each face gets the guide (and guide landmarks) of the next face of the
  batch, another person in the synthetic data (evaluate it with ``--data synthetic-gfrnet-x8:random-guide``,
  :mod:`facerestore.evaluate.benchmark`).
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from facerestore.errors import ConfigError
from facerestore.losses import l2_loss, landmark_loss, smoothed_vanilla_gan, tv_loss
from facerestore.methods.adversarial import AdversarialObjective, Discriminators, sum_terms
from facerestore.methods.base import Method, from_signed, register_method, to_signed
from facerestore.methods.objective import OBJECTIVES, Batch, Objective, trained_modules
from facerestore.models import build_model
from facerestore.models.gfrnet import GFRNetOutput, crop_boxes, landmark_boxes
from facerestore.models.vgg_face import VGGFace, layer_names, load_vgg_face

VGG_FACE_ENV = "FACERESTORE_VGG_FACE_WEIGHTS"
NO_VGG_FACE = (f"no VGG-Face weights: set the stage option vgg_face_weights or ${VGG_FACE_ENV} to a file with "
               "conv1_1.weight … conv5_3.bias (layout: facerestore.models.vgg_face)")
RECOGNITION_LAYER = "relu4_3"


@register_method
class GFRNetMethod(Method):
    """``channels`` (64 in the paper) < 64: the same WarpNet and RecNet thinner (CPU-sized recipes).

    ``residual=True`` is **not in the paper** (our addition for the CPU-sized quick recipe, see
    ``configs/gfrnet/gfrnet_quick.yaml``): RecNet's output is added to the degraded input I^d, so the network
    learns a correction of the bicubic-upsampled face instead of the whole face."""

    name = "gfrnet"
    requires = frozenset({"lr_up", "guide"})
    native_lr_range = (32, 256)  # s ∈ [1, 8] at 256 (GFRNet §4.1)
    returns_warped_guide = True

    def __init__(self, hr_size: int = 256, use_warpnet: bool = True, use_guide: bool = True, channels: int = 64,
                 residual: bool = False):
        super().__init__(hr_size=hr_size, scale=None)
        self.net = build_model("gfrnet", channels=channels, use_warpnet=use_warpnet, use_guide=use_guide)
        self.residual = residual

    def generate(self, sample: Mapping[str, torch.Tensor], guide: torch.Tensor | None = None) -> GFRNetOutput:
        """Restored face, warped guide and grid in the network's [-1, 1] range, for training; ``guide`` ([0, 1])
        replaces the sample's."""
        degraded = to_signed(sample["lr_up"])
        guide = sample["guide"] if guide is None else guide
        out = self.net(degraded, to_signed(guide) if self.net.use_guide else None)
        return out._replace(restored=degraded + out.restored) if self.residual else out

    def warped_guide(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor | None:
        """The guide after WarpNet's bilinear warp (Eq. 2), in [0, 1], for inspection."""
        output = self.generate(sample)
        return None if output.warped is None else from_signed(output.warped)

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return from_signed(self.generate(sample).restored)


def _guides(batch: Batch, random_guide: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch's guides and guide landmarks; with ``random_guide`` those of the next face (Ours(R))."""
    guide, points = batch["guide"], batch["guide_landmarks"]
    if not random_guide:
        return guide, points
    if guide.shape[0] < 2:
        raise ConfigError("random_guide (Ours(R)) needs batches of at least 2 faces")
    return guide.roll(1, dims=0), points.roll(1, dims=0)


def _checked_layer(layer: str) -> str:
    if layer not in layer_names():
        raise ConfigError(f"gfrnet: recognition_layer {layer!r} is not a VGG-Face layer; choose from {layer_names()}")
    return layer


class RecognitionLoss(nn.Module):
    """Eq. 5: ``‖ψ_l(Î) − ψ_l(I)‖² / (C_l H_l W_l)`` on VGG-Face layer ``layer``, averaged over the batch;
    images in [0, 1] RGB (VGG-Face's BGR mean subtraction happens inside :meth:`VGGFace.features`), the
    target's features without gradients.

    §3.3 names the layer "Conv-4". Our choice: ``relu4_3``, the output of the fourth block's last convolution
    after its ReLU, as the perceptual loss of [23] (Johnson et al.) takes ReLU activations; ``layer`` picks
    another (``conv4_3`` is the same convolution before its ReLU)."""

    def __init__(self, vgg: VGGFace, layer: str = RECOGNITION_LAYER):
        super().__init__()
        self.vgg, self.layer = vgg, _checked_layer(layer)

    def forward(self, restored: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        predicted = self.vgg.features(restored, [self.layer])[self.layer]
        with torch.no_grad():
            wanted = self.vgg.features(target, [self.layer])[self.layer]
        return (predicted - wanted).pow(2).mean()


def recognition_or_none(weights: str | os.PathLike | None, layer: str = RECOGNITION_LAYER) -> RecognitionLoss | None:
    """Eq. 5 on the VGG-Face weights of ``weights`` (else ``$FACERESTORE_VGG_FACE_WEIGHTS``); None when neither
    is set. A path that does not exist raises :class:`WeightsError` naming it (a typo must not drop a term)."""
    path, layer = weights or os.environ.get(VGG_FACE_ENV), _checked_layer(layer)
    return RecognitionLoss(load_vgg_face(path), layer) if path else None


@OBJECTIVES.register("gfrnet_flow")
class GFRNetFlowObjective(Objective):
    """GFRNet WarpNet pre-training (§4.2): ``landmark_weight·ℓ_lm + tv_weight·ℓ_TV`` on WarpNet alone."""

    method_type = GFRNetMethod

    def __init__(self, method: Method, landmark_weight: float = 10.0, tv_weight: float = 1.0,
                 random_guide: bool = False):
        if method.net.warpnet is None:
            raise ConfigError("gfrnet_flow trains WarpNet, but this GFRNet has none (use_warpnet=False)")
        super().__init__(method, [method.net.warpnet])
        self.keys = frozenset({"lr_up", "guide", "landmarks", "guide_landmarks"})
        self.landmark_weight, self.tv_weight, self.random_guide = landmark_weight, tv_weight, random_guide

    def forward(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        guide, guide_points = _guides(batch, self.random_guide)
        grid = self.method.net.warpnet(to_signed(batch["lr_up"]), to_signed(guide))
        l_lm, l_tv = landmark_loss(grid, batch["landmarks"], guide_points), tv_loss(grid)
        loss = self.landmark_weight * l_lm + self.tv_weight * l_tv
        return loss, {"l_lm": l_lm.detach(), "l_tv": l_tv.detach()}


@OBJECTIVES.register("gfrnet")
class GFRNetObjective(AdversarialObjective):
    """GFRNet end-to-end (§3.3, Eq. 12; see the module docstring). ``adversarial`` lists the discriminators
    (global, local); ``train`` the sub-networks updated (default: the whole GFRNet). ``vgg_face_weights``
    (else ``$FACERESTORE_VGG_FACE_WEIGHTS``) turns on the Eq. 5 term on ``recognition_layer``.

    Both discriminators read their condition and the image (§3.3: the local one "adopts the same settings
    with the global one"): ``in_channels`` 9 with a guide, 6 for Ours(−WG)."""

    method_type = GFRNetMethod

    def __init__(self, method: Method, discriminators: Discriminators | None = None,
                 adversarial: Sequence[str] = ("global", "local"), l2_weight: float = 100.0,
                 recognition_weight: float = 0.001, global_weight: float = 1.0, local_weight: float = 0.5,
                 landmark_weight: float = 10.0, tv_weight: float = 1.0, d_channels: int = 64,
                 random_guide: bool = False, train: Sequence[str] | None = None,
                 vgg_face_weights: str | None = None, recognition_layer: str = RECOGNITION_LAYER):
        unknown = set(adversarial) - {"global", "local"}
        if unknown:
            raise ConfigError(f"gfrnet: adversarial lists global and/or local, got {sorted(unknown)}")
        condition = 6 if method.net.use_guide else 3
        specs = {name: {"in_channels": condition + 3, "channels": d_channels} for name in adversarial}
        super().__init__(method, trained_modules(method, train), discriminators, specs, smoothed_vanilla_gan())
        self.keys = frozenset({"lr_up", "guide", "hr", "landmarks", "guide_landmarks"})
        self.l2_weight, self.recognition_weight = l2_weight, recognition_weight
        self.weights = {"global": global_weight, "local": local_weight}
        self.landmark_weight, self.tv_weight, self.random_guide = landmark_weight, tv_weight, random_guide
        self.recognition = recognition_or_none(vgg_face_weights, recognition_layer) if recognition_weight else None
        if recognition_weight and self.recognition is None:
            self.off_terms[f"face-recognition perceptual term (Eq. 5, weight {recognition_weight:g})"] = NO_VGG_FACE

    def local_pair(self, batch: Batch, condition: Sequence[torch.Tensor], guide_points: torch.Tensor,
                   restored: torch.Tensor, hr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The local D's (fake, real) inputs: the global D's concat(I^d, I^g, ·) restricted to the landmark box
        (§3.3, "the same settings with the global one ... only on the minimal bounding box enclosing all facial
        landmarks"). I^d, Î and I are cropped at the target's box; the guide at *its own* landmarks' box (our
        choice: the target's box would cut an unaligned region of a differently posed guide; the warped guide
        I^w, aligned to the target, is not used because the global D does not read it either, it is a WarpNet
        output that would pass D's gradients into WarpNet through the condition, and Ours(−W) has none). Each
        box is resampled to 128×128 by :func:`crop_boxes`."""
        boxes = landmark_boxes(batch["landmarks"])
        crops = [crop_boxes(condition[0], boxes)]
        if len(condition) > 1:
            crops.append(crop_boxes(condition[1], landmark_boxes(guide_points)))
        return (torch.cat((*crops, crop_boxes(restored, boxes)), 1), torch.cat((*crops, crop_boxes(hr, boxes)), 1))

    def forward(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor | None]:
        guide, guide_points = _guides(batch, self.random_guide)
        degraded, hr = to_signed(batch["lr_up"]), to_signed(batch["hr"])
        inputs = (degraded, to_signed(guide)) if self.method.net.use_guide else (degraded,)
        out = self.method.generate(batch, guide)
        l2 = l2_loss(out.restored, hr)
        loss = self.l2_weight * l2
        logs = {"l2": l2.detach()}
        if self.recognition is not None:
            l_rec = self.recognition(from_signed(out.restored), batch["hr"])
            loss = loss + self.recognition_weight * l_rec
            logs["l_rec"] = l_rec.detach()
        if out.grid is not None and (self.landmark_weight or self.tv_weight):
            l_lm, l_tv = landmark_loss(out.grid, batch["landmarks"], guide_points), tv_loss(out.grid)
            loss = loss + self.landmark_weight * l_lm + self.tv_weight * l_tv
            logs["l_lm"], logs["l_tv"] = l_lm.detach(), l_tv.detach()
        d_terms = []
        for name in self.used:
            if name == "global":
                fake, real = torch.cat((*inputs, out.restored), 1), torch.cat((*inputs, hr), 1)
            else:
                fake, real = self.local_pair(batch, inputs, guide_points, out.restored, hr)
            g_term, d_term = self.adversarial(name, fake, real)
            loss = loss + self.weights[name] * g_term
            logs[f"g_{name}"], logs[f"d_{name}"] = g_term.detach(), d_term.detach()
            d_terms.append(d_term)
        return loss, logs, sum_terms(d_terms)
