"""Degradation models of the five papers: MATLAB bicubic resize, blur kernels, motion-flow blur, noise,
JPEG, and one named preset per paper protocol (see ``docs/degradations.md``)."""
from facerestore.degrade.kernels import gaussian_blur, gaussian_kernel_1d, motion_kernel_bank, random_motion_kernel
from facerestore.degrade.motion_flow import blur_foreground, default_face_mask, random_motion_field
from facerestore.degrade.noise import add_gaussian_noise, jpeg_compress
from facerestore.degrade.presets import PRESETS, Preset, apply_preset, list_presets
from facerestore.degrade.resize import imresize, imresize_torch

__all__ = [
    "PRESETS", "Preset", "add_gaussian_noise", "apply_preset", "blur_foreground", "default_face_mask",
    "gaussian_blur", "gaussian_kernel_1d", "imresize", "imresize_torch", "jpeg_compress", "list_presets",
    "motion_kernel_bank", "random_motion_field", "random_motion_kernel",
]
