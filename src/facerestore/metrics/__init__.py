"""Evaluation metrics: PSNR / SSIM on Y (:mod:`.psnr_ssim`), identity similarity (:mod:`.identity`),
FID (:mod:`.fid`, imported on demand: it builds the Inception network) and folder evaluation
(:mod:`.folders`, behind ``facerestore metrics``)."""
from facerestore.metrics.identity import DlibIdentity, PCAIdentity, cosine_similarity
from facerestore.metrics.psnr_ssim import psnr_y, psnr_y_torch, rgb_to_y, ssim_y, ssim_y_torch

__all__ = [
    "DlibIdentity",
    "PCAIdentity",
    "cosine_similarity",
    "psnr_y",
    "psnr_y_torch",
    "rgb_to_y",
    "ssim_y",
    "ssim_y_torch",
]
