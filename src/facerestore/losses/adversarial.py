"""Adversarial losses on discriminator score maps (PatchGAN outputs, no sigmoid).

* ``lsgan`` (Mao et al.; Yun & Park §3.3, Eq. 1–3): the discriminator minimises
  ``E[(D(real) − 1)²] + E[D(fake)²]`` (Eq. 1 as written, no ½), the generator ``E[(D(fake) − 1)²]``.
* ``vanilla`` (Goodfellow et al.; GFRNet §3.3, Eq. 7) with one-sided smoothed labels: binary cross-entropy
  on logits, real label 0.9 and fake label 0 (Salimans et al., as GFRNet writes "replace the labels 0/1 with
  the smoothed 0/0.9"). The discriminator minimises ``BCE(D(real), 0.9) + BCE(D(fake), 0)``; the generator
  (non-saturating form) ``BCE(D(fake), 0.9)``: our reading is that the label constant is replaced
  everywhere, as in the pix2pix code GFRNet builds on, where the generator's target is the real label.

Expectations are means over the score map and the batch. The real and fake terms are summed (the papers'
equations), not averaged as pix2pix does; with Adam the factor only rescales the gradients.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from facerestore.errors import ConfigError

GAN_KINDS = ("lsgan", "vanilla")


class GANLoss:
    """``d_loss(real_scores, fake_scores)`` and ``g_loss(fake_scores)`` of ``kind`` lsgan | vanilla."""

    def __init__(self, kind: str, real_label: float = 1.0, fake_label: float = 0.0):
        if kind not in GAN_KINDS:
            raise ConfigError(f"unknown GAN loss {kind!r}; choose one of {list(GAN_KINDS)}")
        self.kind, self.real_label, self.fake_label = kind, float(real_label), float(fake_label)

    def _criterion(self, scores: torch.Tensor, label: float) -> torch.Tensor:
        target = torch.full_like(scores, label)
        if self.kind == "lsgan":
            return F.mse_loss(scores, target)
        return F.binary_cross_entropy_with_logits(scores, target)

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        """The discriminator's loss: real scores toward the real label, fake ones toward the fake label."""
        return self._criterion(real_scores, self.real_label) + self._criterion(fake_scores, self.fake_label)

    def g_loss(self, fake_scores: torch.Tensor) -> torch.Tensor:
        """The generator's loss: fake scores toward the real label."""
        return self._criterion(fake_scores, self.real_label)


def lsgan() -> GANLoss:
    """Yun & Park Eq. 1–3 (labels 1 / 0)."""
    return GANLoss("lsgan")


def smoothed_vanilla_gan(real_label: float = 0.9) -> GANLoss:
    """GFRNet §3.3: BCE on logits with one-sided smoothed labels 0 / 0.9."""
    return GANLoss("vanilla", real_label=real_label)
