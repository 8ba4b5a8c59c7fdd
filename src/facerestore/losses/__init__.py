"""Training losses: pixel L1/L2, FishFSRNet's parsing L1 (Eq. 2), UFVNet's soft-label cross-entropy (Eq. 12),
the VGG-19 perceptual loss (weights from a local file only), adversarial losses (LSGAN for Yun & Park, smoothed
vanilla GAN for GFRNet) and GFRNet's flow loss (landmark Eq. 9, TV Eq. 10)."""
from facerestore.losses.adversarial import GAN_KINDS, GANLoss, lsgan, smoothed_vanilla_gan
from facerestore.losses.flow import identity_grid, landmark_loss, tv_loss
from facerestore.losses.parsing import parsing_l1
from facerestore.losses.perceptual import NO_VGG19, PerceptualLoss, perceptual_or_none
from facerestore.losses.pixel import PIXEL_LOSSES, l1_loss, l2_loss, pixel_loss
from facerestore.losses.soft_ce import soft_cross_entropy

__all__ = [
    "GAN_KINDS", "GANLoss", "NO_VGG19", "PIXEL_LOSSES", "PerceptualLoss", "identity_grid", "l1_loss", "l2_loss", "landmark_loss",
    "lsgan", "parsing_l1", "perceptual_or_none", "pixel_loss", "smoothed_vanilla_gan", "soft_cross_entropy",
    "tv_loss",
]
