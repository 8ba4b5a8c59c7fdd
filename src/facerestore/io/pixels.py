"""Conversions between stored pixel values (uint8 / uint16) and float32 in [0, 1], and alpha splitting.

Images are ``HxWxC`` arrays with ``C`` = 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA).
"""
from __future__ import annotations

import numpy as np

_SCALES = {8: (np.uint8, 255), 16: (np.uint16, 65535)}


def to_float(image: np.ndarray) -> np.ndarray:
    """uint8 / uint16 pixels -> float32 in [0, 1] (divides by 255 or 65535)."""
    for dtype, scale in _SCALES.values():
        if image.dtype == dtype:
            return image.astype(np.float32) / np.float32(scale)
    raise TypeError(f"to_float expects uint8 or uint16 pixels, got {image.dtype}")


def from_float(image: np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """Float pixels -> uint8 (``bit_depth=8``) or uint16 (``16``): clip to [0, 1], scale, round half to even.

    Raises ``ValueError`` for NaN / infinite values, which have no pixel value.
    """
    if bit_depth not in _SCALES:
        raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
    if not np.isfinite(image).all():
        raise ValueError("image contains NaN or infinite values")
    dtype, scale = _SCALES[bit_depth]
    return np.rint(np.clip(image, 0.0, 1.0) * scale).astype(dtype)


def split_alpha(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Split ``HxWxC`` into color (``C`` = 1 or 3) and alpha (``HxWx1``, or None when C is 1 or 3)."""
    channels = image.shape[-1]
    if image.ndim != 3 or channels not in (1, 2, 3, 4):
        raise ValueError(f"expected an HxWxC image with C in 1..4, got shape {image.shape}")
    if channels in (1, 3):
        return image, None
    return image[..., :-1], image[..., -1:]
