"""PSNR and SSIM on the luma (Y) channel, the usual convention of face SR tables.

FishFSRNet §IV-A states that its PSNR/SSIM are computed on the Y channel of YCbCr; Song et al., Yun & Park,
GFRNet and UFVNet do not say which channels they measure (our choice for them: the same Y, so that every
table is comparable). Computed the way MATLAB (and BasicSR's ``test_y_channel=True``) does it:

* Y of YCbCr with the BT.601 coefficients of MATLAB's ``rgb2ycbcr``
  (``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` for RGB in [0, 1]), kept on the [0, 255] scale
  without rounding; ``crop_border`` pixels are removed on every side first;
* PSNR with peak 255;
* SSIM of Wang et al. (2004): 11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255, the
  SSIM map evaluated only where the window fits inside the image ('valid'), then averaged.

``skimage.metrics.structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=255)`` filters with reflected borders but drops the
5-pixel border of its map before averaging, so on the same Y input it averages exactly the
'valid' map computed here.

The torch functions are the implementation (batched, float64 internally); the numpy functions
convert one image and call them. Inputs are not clipped or quantised: evaluate the images as saved.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

# MATLAB rgb2ycbcr, Y row, for RGB in [0, 1] -> Y in [16, 235].
_Y_WEIGHTS = (65.481, 128.553, 24.966)
_Y_OFFSET = 16.0
_PEAK = 255.0
_SSIM_SIZE = 11
_SSIM_SIGMA = 1.5
_SSIM_C1 = (0.01 * _PEAK) ** 2
_SSIM_C2 = (0.03 * _PEAK) ** 2


def rgb_to_y(image: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Luma on the [0, 255] scale of RGB in [0, 1].

    ``image``: numpy ``...xHxWx3`` (-> ``...xHxW``) or torch ``...x3xHxW`` (-> ``...x1xHxW``), float.
    """
    if isinstance(image, torch.Tensor):
        if image.ndim < 3 or image.shape[-3] != 3:
            raise ValueError(f"expected a ...x3xHxW tensor, got shape {tuple(image.shape)}")
        weights = torch.tensor(_Y_WEIGHTS, dtype=image.dtype, device=image.device).view(3, 1, 1)
        return (image * weights).sum(dim=-3, keepdim=True) + _Y_OFFSET
    image = np.asarray(image)
    if image.ndim < 3 or image.shape[-1] != 3:
        raise ValueError(f"expected an ...xHxWx3 array, got shape {image.shape}")
    return image @ np.asarray(_Y_WEIGHTS, dtype=image.dtype) + _Y_OFFSET


def _y_pair(pred: torch.Tensor, gt: torch.Tensor, crop_border: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Y channels (float64, Nx1xHxW) of two Nx3xHxW batches, borders cropped."""
    if pred.shape != gt.shape or pred.ndim != 4 or pred.shape[1] != 3:
        raise ValueError(f"expected two Nx3xHxW batches of one shape, got {tuple(pred.shape)} and {tuple(gt.shape)}")
    if crop_border < 0:
        raise ValueError(f"crop_border must be >= 0, got {crop_border}")
    y_pred, y_gt = rgb_to_y(pred.double()), rgb_to_y(gt.double())
    if crop_border:
        y_pred = y_pred[..., crop_border:-crop_border, crop_border:-crop_border]
        y_gt = y_gt[..., crop_border:-crop_border, crop_border:-crop_border]
    if y_pred.numel() == 0:
        raise ValueError(f"crop_border={crop_border} leaves nothing of a {tuple(pred.shape[-2:])} image")
    return y_pred, y_gt


def psnr_y_torch(pred: torch.Tensor, gt: torch.Tensor, crop_border: int = 0) -> torch.Tensor:
    """PSNR (dB, peak 255) on Y of each pair of an Nx3xHxW batch in [0, 1] -> float64 ``Tensor[N]``.

    Identical images give ``inf``.
    """
    y_pred, y_gt = _y_pair(pred, gt, crop_border)
    mse = (y_pred - y_gt).pow(2).mean(dim=(1, 2, 3))
    return 10.0 * torch.log10(_PEAK**2 / mse)


def _gaussian_filter_valid(image: torch.Tensor) -> torch.Tensor:
    """Filter Nx1xHxW with the normalised 11x11 Gaussian (sigma 1.5) where it fits: Nx1x(H-10)x(W-10).

    The window is separable: an 11x1 then a 1x11 pass, about 30x faster on CPU in float64 than
    one 11x11 ``conv2d`` (docs/metrics.md)."""
    offsets = torch.arange(_SSIM_SIZE, dtype=image.dtype, device=image.device) - (_SSIM_SIZE - 1) / 2
    line = torch.exp(-(offsets**2) / (2 * _SSIM_SIGMA**2))
    line = line / line.sum()
    return F.conv2d(F.conv2d(image, line.view(1, 1, -1, 1)), line.view(1, 1, 1, -1))


def ssim_y_torch(pred: torch.Tensor, gt: torch.Tensor, crop_border: int = 0) -> torch.Tensor:
    """SSIM (Wang et al. 2004, eq. 13) on Y of each pair of an Nx3xHxW batch -> float64 ``Tensor[N]``.

    Local statistics use the Gaussian window over the 'valid' region only, as MATLAB's ``ssim``
    reference code; the image left after cropping must be at least 11x11.
    """
    x, y = _y_pair(pred, gt, crop_border)
    if min(x.shape[-2:]) < _SSIM_SIZE:
        raise ValueError(
            f"SSIM needs at least {_SSIM_SIZE}x{_SSIM_SIZE} pixels after cropping, got {tuple(x.shape[-2:])}"
        )
    mu_x, mu_y = _gaussian_filter_valid(x), _gaussian_filter_valid(y)
    var_x = _gaussian_filter_valid(x * x) - mu_x**2
    var_y = _gaussian_filter_valid(y * y) - mu_y**2
    cov = _gaussian_filter_valid(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + _SSIM_C1) * (2 * cov + _SSIM_C2)) / (
        (mu_x**2 + mu_y**2 + _SSIM_C1) * (var_x + var_y + _SSIM_C2)
    )
    return ssim_map.mean(dim=(1, 2, 3))


def _as_batch(image: np.ndarray) -> torch.Tensor:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"expected an HxWx3 array, got shape {image.shape}")
    return torch.from_numpy(np.ascontiguousarray(image, dtype=np.float64)).permute(2, 0, 1)[None]


def psnr_y(pred: np.ndarray, gt: np.ndarray, crop_border: int = 0) -> float:
    """PSNR (dB) on Y of two HxWx3 RGB float images in [0, 1]; see :func:`psnr_y_torch`."""
    return float(psnr_y_torch(_as_batch(pred), _as_batch(gt), crop_border)[0])


def ssim_y(pred: np.ndarray, gt: np.ndarray, crop_border: int = 0) -> float:
    """SSIM on Y of two HxWx3 RGB float images in [0, 1]; see :func:`ssim_y_torch`."""
    return float(ssim_y_torch(_as_batch(pred), _as_batch(gt), crop_border)[0])
