"""Yun & Park: joint ×8 SR and deblurring GAN generator, 32×32 → 256×256, values in [-1, 1] inside (§3), and its
objective (losses in [-1, 1]; the VGG-19 term sees [0, 1] images):

* ``yun_park`` (Yun & Park §3.3–3.4): ``L = L_GAN + 100·L_pix + 10·L_vgg``; L_pix is Eq. 4's sum of three L1
  terms (masked HR, HR, blurred HR), L_vgg Eq. 5 (L1 of VGG-19 Pool1–5 features, local weights only, else
  off with a log line), L_GAN the LSGAN Eq. 1–3 with the global D_g on concat(I_{LR_f}, HR) and the local
  D_l on the face-mask-multiplied HR. ``adversarial`` lists the discriminators of the stage: [] (Model 2, or
  a pixel warm-up), [global] (Model 3 and the paper's first stage), [global, local] (full). ``d_arch`` picks
  both discriminators' form: ``yun_park`` (default; §3.3's seven convolutions with one score per image,
  11.16 M parameters at width 64) or ``patchgan`` (pix2pix's five-convolution 30×30 PatchGAN, 2.77 M; what
  this objective used before, and what the quick recipe keeps): :mod:`facerestore.models.discriminators`.
  Our choices: the condition I_{LR_f} (the upscaler's output) is detached in D_g's input, so the generator is
  judged on its HR output only; masking multiplies the [0, 1] image (background black).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from facerestore.degrade import imresize_torch
from facerestore.errors import ConfigError
from facerestore.losses import NO_VGG19, l1_loss, lsgan, perceptual_or_none
from facerestore.methods.adversarial import AdversarialObjective, Discriminators, sum_terms
from facerestore.methods.base import Method, from_signed, register_method, to_signed
from facerestore.methods.objective import OBJECTIVES, Batch
from facerestore.models import build_model
from facerestore.models.yun_park import PAPER_CHANNELS, YunParkOutput

YUN_VGG_LAYERS = ("pool1", "pool2", "pool3", "pool4", "pool5")  # Yun & Park Eq. 5


@register_method
class YunParkMethod(Method):
    """The sharp-branch output of the generator is the restored face. Without the five-layer upscaler
    (Model 1 of Table 2) the generator reads the LR face bicubic-upsampled (MATLAB) to ``hr_size``.
    ``channels`` < 64: the same architecture thinner (CPU-sized recipes).

    ``residual=True`` is **not in the paper** (our addition for the CPU-sized quick recipe, see
    ``configs/yun_park/yun_park_quick.yaml``): both generator outputs are added to the bicubic-upsampled LR face,
    so the network learns a correction of bicubic instead of the whole face."""

    name = "yun_park"
    requires = frozenset({"lr"})

    def __init__(self, hr_size: int = 256, upscaler: bool = True, noise: bool = False, noise_std: float = 0.1,
                 channels: int = PAPER_CHANNELS, residual: bool = False):
        super().__init__(hr_size=hr_size, scale=8)
        self.net = build_model("yun_park", upscaler=upscaler, noise=noise, noise_std=noise_std, channels=channels)
        self.residual = residual

    def generate(self, sample: Mapping[str, torch.Tensor]) -> YunParkOutput:
        """All three generator outputs (sharp, blurred, upscaled) in [-1, 1], for training."""
        lr = sample["lr"]
        needs_bicubic = self.net.upscaler is None or self.residual
        bicubic = to_signed(imresize_torch(lr, size=(self.hr_size, self.hr_size))) if needs_bicubic else None
        out = self.net(to_signed(lr) if self.net.upscaler is not None else bicubic)
        if self.residual:
            out = out._replace(sharp=bicubic + out.sharp, blurred=bicubic + out.blurred)
        return out

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return from_signed(self.generate(sample).sharp)


@OBJECTIVES.register("yun_park")
class YunParkObjective(AdversarialObjective):
    """Yun & Park §3.4 (see the module docstring). ``d_arch``: the discriminators' form, ``yun_park`` (§3.3) or
    ``patchgan``; ``d_channels``: their base width (64, pix2pix's; the paper gives no width)."""

    method_type = YunParkMethod

    def __init__(self, method: Method, discriminators: Discriminators | None = None,
                 adversarial: Sequence[str] = ("global", "local"), pixel_weight: float = 100.0,
                 vgg_weight: float = 10.0, d_channels: int = 64, d_arch: str = "yun_park",
                 vgg19_weights: str | None = None):
        unknown = set(adversarial) - {"global", "local"}
        if unknown:
            raise ConfigError(f"yun_park: adversarial lists global and/or local, got {sorted(unknown)}")
        if d_arch not in ("yun_park", "patchgan"):
            raise ConfigError(f"yun_park: d_arch must be yun_park or patchgan, got {d_arch!r}")
        specs = {name: {"arch": d_arch, "in_channels": 6 if name == "global" else 3, "channels": d_channels}
                 for name in adversarial}
        super().__init__(method, [method.net], discriminators, specs, lsgan())
        self.keys = frozenset({"lr", "hr", "hr_blur", "face_mask"})
        self.pixel_weight, self.vgg_weight = pixel_weight, vgg_weight
        layers = dict.fromkeys(YUN_VGG_LAYERS, 1.0)
        self.perceptual = perceptual_or_none(layers, vgg19_weights) if vgg_weight else None
        if vgg_weight and self.perceptual is None:
            self.off_terms["L_vgg (Eq. 5)"] = NO_VGG19

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
        return loss, logs, sum_terms(d_terms)
