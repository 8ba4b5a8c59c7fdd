"""Training losses: pixel L1/L2, FishFSRNet's parsing L1 (Eq. 2), UFVNet's soft-label cross-entropy (Eq. 12)
and the VGG-19 perceptual loss (weights from a local file only)."""
from facerestore.losses.parsing import parsing_l1
from facerestore.losses.perceptual import PerceptualLoss, perceptual_or_none
from facerestore.losses.pixel import PIXEL_LOSSES, l1_loss, l2_loss, pixel_loss
from facerestore.losses.soft_ce import soft_cross_entropy

__all__ = [
    "PIXEL_LOSSES", "PerceptualLoss", "l1_loss", "l2_loss", "parsing_l1", "perceptual_or_none", "pixel_loss",
    "soft_cross_entropy",
]
