"""Adversarial and guided objectives: Yun & Park's joint SR + deblurring GAN and GFRNet.

The discriminators of a run live in one :class:`Discriminators` bank owned by the trainer: a stage's
objective asks for the ones it uses by name (created the first time, with the architecture options of that
stage), so they persist across stages and can join at a later stage (Yun & Park §4: G + global D first, then
the local D). An :class:`AdversarialObjective` returns ``(generator loss, logs, discriminator loss or None)``;
the trainer updates the generator with its optimizer, then the discriminators with theirs (``d_optimizer``),
both from the same forward pass: the generator's adversarial terms are computed with the discriminators
frozen (as they were before this iteration's update), the discriminators' terms on the detached outputs.

Losses are taken in the networks' [-1, 1] range (as for UFVNet); the VGG-19 term sees [0, 1] images.

* ``yun_park`` (Yun & Park §3.3–3.4): ``L = L_GAN + 100·L_pix + 10·L_vgg``; L_pix is Eq. 4's sum of three L1
  terms (masked HR, HR, blurred HR), L_vgg Eq. 5 (L1 of VGG-19 Pool1–5 features, local weights only, else
  off with a log line), L_GAN the LSGAN Eq. 1–3 with the global D_g on concat(I_{LR_f}, HR) and the local
  D_l on the face-mask-multiplied HR. ``adversarial`` lists the discriminators of the stage: [] (Model 2, or
  a pixel warm-up), [global] (Model 3 and the paper's first stage), [global, local] (full). Our choices: the
  condition I_{LR_f} (the upscaler's output) is detached in D_g's input, so the generator is judged on its
  HR output only; masking multiplies the [0, 1] image (background black).
* ``gfrnet_flow`` (GFRNet §4.2): WarpNet alone on ``L_flow = 10·ℓ_lm + 1·ℓ_TV`` (Eq. 9–11), the pre-training.
* ``gfrnet`` (GFRNet §3.3, Eq. 12): ``L = L_r + L_a + L_flow`` with λ_r,0 = 100 (ℓ2), λ_r,l = 0.001
  (face-recognition conv-4 perceptual term: no such network ships with facerestore, so the term is off and
  the log says so), λ_a,g = 1, λ_a,l = 0.5 (vanilla GAN, labels 0/0.9; global D on concat(I^d, I^g, Î)
  — concat(I^d, Î) without a guide — local D on the minimal box around the target's landmarks, resampled
  by :func:`facerestore.models.gfrnet.crop_boxes`), λ_lm = 10, λ_TV = 1 (skipped without WarpNet).
  ``random_guide`` is Ours(R): each face gets the guide (and guide landmarks) of the next face of the
  batch, another person in the synthetic data.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from facerestore.errors import ConfigError
from facerestore.losses import GANLoss, l1_loss, l2_loss, landmark_loss, lsgan, perceptual_or_none, \
    smoothed_vanilla_gan, tv_loss
from facerestore.methods.base import Method, from_signed, to_signed
from facerestore.models import build_model
from facerestore.models.gfrnet import crop_boxes, landmark_boxes
from facerestore.train.objectives import Batch, Objective, _attributes

log = logging.getLogger("facerestore.train")
YUN_VGG_LAYERS = ("pool1", "pool2", "pool3", "pool4", "pool5")  # Yun & Park Eq. 5


class Discriminators(nn.ModuleDict):
    """The run's discriminators by name (PatchGAN, :mod:`facerestore.models.discriminators`) and the options
    each was built with (``specs``, saved in checkpoints so that a resumed run rebuilds them)."""

    def __init__(self):
        super().__init__()
        self.specs: dict[str, dict] = {}

    def ensure(self, name: str, spec: Mapping) -> nn.Module:
        """Discriminator ``name``: the existing one, or a new ``patchgan(**spec)``; a different spec for an
        existing name is a :class:`ConfigError`."""
        spec = dict(spec)
        if name in self:
            if self.specs[name] != spec:
                raise ConfigError(f"discriminator {name!r} exists with {self.specs[name]}, a stage asks for {spec}")
            return self[name]
        self[name] = build_model("patchgan", **spec)
        self.specs[name] = spec
        return self[name]


class AdversarialObjective(Objective):
    """Base of the objectives with discriminators: ``used`` names the ones this stage trains."""

    def __init__(self, method: Method, trained: Sequence[nn.Module], discriminators: Discriminators | None,
                 specs: Mapping[str, Mapping], gan: GANLoss):
        super().__init__(method, trained)
        if specs and discriminators is None:
            raise ConfigError(f"objective {type(self).__name__} needs the trainer's discriminators")
        self.discriminators = discriminators if discriminators is not None else Discriminators()
        self.used = [name for name in specs]
        for name, spec in specs.items():
            self.discriminators.ensure(name, spec).requires_grad_(True)
        self.gan = gan

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return [p for name in self.used for p in self.discriminators[name].parameters()]

    def train(self, mode: bool = True) -> "AdversarialObjective":
        super().train(mode)
        for name in self.used:
            self.discriminators[name].train(mode)
        return self

    def adversarial(self, name: str, fake: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(generator term with D ``name`` frozen, discriminator term on ``real`` and detached ``fake``)."""
        d = self.discriminators[name]
        d.requires_grad_(False)
        g_term = self.gan.g_loss(d(fake))
        d.requires_grad_(True)
        return g_term, self.gan.d_loss(d(real), d(fake.detach()))


def _sum(terms: list[torch.Tensor]) -> torch.Tensor | None:
    return torch.stack(terms).sum() if terms else None


class YunParkObjective(AdversarialObjective):
    """Yun & Park §3.4 (see the module docstring). ``d_channels``: PatchGAN width (64 in the paper)."""

    def __init__(self, method: Method, discriminators: Discriminators | None = None,
                 adversarial: Sequence[str] = ("global", "local"), pixel_weight: float = 100.0,
                 vgg_weight: float = 10.0, d_channels: int = 64, vgg19_weights: str | None = None):
        unknown = set(adversarial) - {"global", "local"}
        if unknown:
            raise ConfigError(f"yun_park: adversarial lists global and/or local, got {sorted(unknown)}")
        specs = {name: {"in_channels": 6 if name == "global" else 3, "channels": d_channels}
                 for name in adversarial}
        super().__init__(method, [method.net], discriminators, specs, lsgan())
        self.keys = frozenset({"lr", "hr", "hr_blur", "face_mask"})
        self.pixel_weight, self.vgg_weight = pixel_weight, vgg_weight
        layers = dict.fromkeys(YUN_VGG_LAYERS, 1.0)
        self.perceptual = perceptual_or_none(layers, vgg19_weights) if vgg_weight else None

    def forward(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor | None]:
        out = self.method.generate(batch)
        hr, mask = to_signed(batch["hr"]), batch["face_mask"]
        masked = to_signed(from_signed(out.sharp) * mask)
        masked_hr = to_signed(batch["hr"] * mask)
        l_pix = l1_loss(masked, masked_hr) + l1_loss(out.sharp, hr) + l1_loss(out.blurred, to_signed(batch["hr_blur"]))
        loss = self.pixel_weight * l_pix
        logs = {"l_pix": l_pix.detach()}
        if self.perceptual is not None:
            l_vgg = self.perceptual(from_signed(out.sharp), batch["hr"])
            loss = loss + self.vgg_weight * l_vgg
            logs["l_vgg"] = l_vgg.detach()
        d_terms = []
        for name in self.used:
            if name == "global":
                condition = out.upscaled.detach()
                fake, real = torch.cat((condition, out.sharp), 1), torch.cat((condition, hr), 1)
            else:
                fake, real = masked, masked_hr
            g_term, d_term = self.adversarial(name, fake, real)
            loss = loss + g_term
            logs[f"g_{name}"], logs[f"d_{name}"] = g_term.detach(), d_term.detach()
            d_terms.append(d_term)
        return loss, logs, _sum(d_terms)


def _guides(batch: Batch, random_guide: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch's guides and guide landmarks; with ``random_guide`` those of the next face (Ours(R))."""
    guide, points = batch["guide"], batch["guide_landmarks"]
    if not random_guide:
        return guide, points
    if guide.shape[0] < 2:
        raise ConfigError("random_guide (Ours(R)) needs batches of at least 2 faces")
    return guide.roll(1, dims=0), points.roll(1, dims=0)


class GFRNetFlowObjective(Objective):
    """GFRNet WarpNet pre-training (§4.2): ``landmark_weight·ℓ_lm + tv_weight·ℓ_TV`` on WarpNet alone."""

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


class GFRNetObjective(AdversarialObjective):
    """GFRNet end-to-end (§3.3, Eq. 12; see the module docstring). ``adversarial`` lists the discriminators
    (global, local); ``train`` the sub-networks updated (default: the whole GFRNet)."""

    def __init__(self, method: Method, discriminators: Discriminators | None = None,
                 adversarial: Sequence[str] = ("global", "local"), l2_weight: float = 100.0,
                 recognition_weight: float = 0.001, global_weight: float = 1.0, local_weight: float = 0.5,
                 landmark_weight: float = 10.0, tv_weight: float = 1.0, d_channels: int = 64,
                 random_guide: bool = False, train: Sequence[str] | None = None):
        unknown = set(adversarial) - {"global", "local"}
        if unknown:
            raise ConfigError(f"gfrnet: adversarial lists global and/or local, got {sorted(unknown)}")
        net = method.net
        condition = 6 if net.use_guide else 3
        specs = {name: {"in_channels": condition + 3 if name == "global" else 3, "channels": d_channels}
                 for name in adversarial}
        super().__init__(method, _attributes(method, train), discriminators, specs, smoothed_vanilla_gan())
        self.keys = frozenset({"lr_up", "guide", "hr", "landmarks", "guide_landmarks"})
        self.l2_weight = l2_weight
        self.weights = {"global": global_weight, "local": local_weight}
        self.landmark_weight, self.tv_weight, self.random_guide = landmark_weight, tv_weight, random_guide
        if recognition_weight:
            log.warning("GFRNet face-recognition perceptual term (Eq. 5, weight %g) OFF: no local VGG-Face "
                        "network/weights in facerestore", recognition_weight)

    def forward(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor | None]:
        guide, guide_points = _guides(batch, self.random_guide)
        degraded, hr = to_signed(batch["lr_up"]), to_signed(batch["hr"])
        inputs = (degraded, to_signed(guide)) if self.method.net.use_guide else (degraded,)
        out = self.method.generate(batch, guide)
        l2 = l2_loss(out.restored, hr)
        loss = self.l2_weight * l2
        logs = {"l2": l2.detach()}
        if out.grid is not None and (self.landmark_weight or self.tv_weight):
            l_lm, l_tv = landmark_loss(out.grid, batch["landmarks"], guide_points), tv_loss(out.grid)
            loss = loss + self.landmark_weight * l_lm + self.tv_weight * l_tv
            logs["l_lm"], logs["l_tv"] = l_lm.detach(), l_tv.detach()
        d_terms = []
        for name in self.used:
            if name == "global":
                fake, real = torch.cat((*inputs, out.restored), 1), torch.cat((*inputs, hr), 1)
            else:
                boxes = landmark_boxes(batch["landmarks"])
                fake, real = crop_boxes(out.restored, boxes), crop_boxes(hr, boxes)
            g_term, d_term = self.adversarial(name, fake, real)
            loss = loss + self.weights[name] * g_term
            logs[f"g_{name}"], logs[f"d_{name}"] = g_term.detach(), d_term.detach()
            d_terms.append(d_term)
        return loss, logs, _sum(d_terms)


ADVERSARIAL_OBJECTIVES = {
    "yun_park": YunParkObjective,
    "gfrnet_flow": GFRNetFlowObjective,
    "gfrnet": GFRNetObjective,
}
