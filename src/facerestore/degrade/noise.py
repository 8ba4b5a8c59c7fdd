"""Additive white Gaussian noise and JPEG compression (GFRNet §3.2, Eq. 4: ``n_sigma`` and ``(.)_JPEG_q``)."""
from __future__ import annotations

import cv2
import numpy as np

from facerestore.degrade.kernels import as_generator


def add_gaussian_noise(img: np.ndarray, sigma: float, rng: np.random.Generator | int | None) -> np.ndarray:
    """``img + n``, ``n ~ N(0, (sigma / 255)^2)`` i.i.d. per pixel and channel; ``sigma`` on the 0-255 scale.

    ``sigma = 0`` returns a copy (no random numbers are drawn). Not clipped.
    """
    if sigma < 0:
        raise ValueError(f"noise sigma must be >= 0, got {sigma}")
    img = np.asarray(img, dtype=np.float32)
    if sigma == 0:
        return img.copy()
    noise = as_generator(rng).standard_normal(img.shape, dtype=np.float32)
    return img + noise * np.float32(sigma / 255.0)


def jpeg_compress(img: np.ndarray, quality: int) -> np.ndarray:
    """JPEG round trip of ``HxWx{1,3}`` RGB float32 at ``quality`` 1-100 (libjpeg via OpenCV, 4:2:0).

    The image is clipped and rounded to 8 bits first, as a JPEG file is 8-bit. ``quality = 0`` means
    lossless storage (GFRNet §3.2): the input is returned unchanged, without quantisation.
    """
    if quality == 0:
        return np.array(img, dtype=np.float32, copy=True)
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be 0 (none) or in 1..100, got {quality}")
    pixels = np.rint(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)
    colour = pixels.ndim == 3 and pixels.shape[2] == 3
    if colour:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    ok, buffer = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV failed to encode a JPEG")
    decoded = cv2.imdecode(buffer, cv2.IMREAD_COLOR_BGR if colour else cv2.IMREAD_GRAYSCALE)
    if colour:
        decoded = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    return (decoded.astype(np.float32) * np.float32(1.0 / 255.0)).reshape(img.shape)
