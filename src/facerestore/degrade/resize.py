"""MATLAB-compatible bicubic resizing (``imresize(I, scale)`` / ``imresize(I, [h w])``, method 'bicubic').

The papers' LR data were made with MATLAB (Song §4, GFRNet §3.2 "bicubic downsampler", UFVNet §IV-A,
FishFSRNet §IV-B), so this reproduces MATLAB's resampler rather than OpenCV's:

* Keys cubic kernel with a = -0.5;
* output pixel ``x`` (1-based) maps to input coordinate ``u = x / scale + 0.5 (1 - 1 / scale)``;
* when shrinking, the kernel is stretched by ``1 / scale`` (antialiasing);
* weights are normalised per output pixel, out-of-range taps are mirrored (``symmetric`` padding);
* with an explicit output size the scale of each axis is ``out / in``; with a scale factor the output
  size is ``ceil(in * scale)`` and the kernel uses the given factor (as MATLAB does).

Each axis is an ``out x in`` weight matrix, cached per (in, out, scale); resizing is two matmuls
(sparse in numpy, dense in the batched torch version).
Values are not clipped (MATLAB does not clip floating-point images): bicubic may overshoot [0, 1].
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from scipy import sparse

# Relative tolerance when turning ``in * scale`` into an integer size: 128 * (1 / 3.2) is 40.000000000000004
# in floating point, which a bare ceil would turn into 41.
_SIZE_EPS = 1e-9


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``), support [-2, 2]."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    near = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return near + far


@lru_cache(maxsize=1024)
def weight_matrix(in_len: int, out_len: int, scale: float) -> np.ndarray:
    """Dense ``out_len x in_len`` float32 resampling matrix of one axis (rows sum to 1).

    ``scale`` is the factor the kernel uses (``out / in`` unless a factor was given explicitly).
    The returned array is shared by the cache: treat it as read-only.
    """
    if in_len < 1 or out_len < 1 or scale <= 0:
        raise ValueError(f"invalid resize axis: in={in_len}, out={out_len}, scale={scale}")
    width = 4.0
    if scale < 1:  # antialiasing: stretch the kernel over 1 / scale input pixels
        kernel = lambda d: scale * cubic(scale * d)  # noqa: E731
        width /= scale
    else:
        kernel = cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :]
    weights = kernel(u[:, None] - indices)
    weights /= weights.sum(axis=1, keepdims=True)
    # Symmetric padding: 1..n, n..1, repeated.
    period = 2 * in_len
    folded = np.mod(indices.astype(np.int64) - 1, period)
    folded = np.where(folded < in_len, folded, period - 1 - folded)
    matrix = np.zeros((out_len, in_len), dtype=np.float64)
    np.add.at(matrix, (np.repeat(np.arange(out_len), taps), folded.ravel()), weights.ravel())
    matrix = matrix.astype(np.float32)
    matrix.setflags(write=False)
    return matrix


@lru_cache(maxsize=1024)
def _sparse_weight_matrix(in_len: int, out_len: int, scale: float) -> sparse.csr_array:
    return sparse.csr_array(weight_matrix(in_len, out_len, scale))


@lru_cache(maxsize=1024)
def _torch_weight_matrix(in_len: int, out_len: int, scale: float) -> torch.Tensor:
    # A normal tensor even when first asked for under torch.inference_mode() (an evaluation, a restore): the
    # cache outlives that block, and an inference tensor could not be used by a later training step's autograd.
    with torch.inference_mode(False):
        return torch.from_numpy(weight_matrix(in_len, out_len, scale).copy())


def output_size(
    in_size: tuple[int, int], scale: float | tuple[float, float] | None, size: tuple[int, int] | None
) -> tuple[tuple[int, int], tuple[float, float]]:
    """``((out_h, out_w), (scale_h, scale_w))`` for ``imresize``: exactly one of ``scale`` / ``size``."""
    if (scale is None) == (size is None):
        raise ValueError("give exactly one of scale and size")
    if size is not None:
        out = (int(size[0]), int(size[1]))
        if min(out) < 1:
            raise ValueError(f"output size must be positive, got {size}")
        return out, (out[0] / in_size[0], out[1] / in_size[1])
    scales = (float(scale), float(scale)) if np.isscalar(scale) else (float(scale[0]), float(scale[1]))
    if min(scales) <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    out = tuple(max(1, math.ceil(n * s * (1 - _SIZE_EPS))) for n, s in zip(in_size, scales))
    return out, scales


def imresize(
    img: np.ndarray, scale: float | tuple[float, float] | None = None, size: tuple[int, int] | None = None
) -> np.ndarray:
    """Resize ``HxW`` or ``HxWxC`` float32 like MATLAB ``imresize(img, scale | [h w], 'bicubic')``.

    ``size`` is ``(out_h, out_w)``. Returns float32; an axis whose size and scale are unchanged is
    left as is. The banded weights are applied as sparse matrices: no BLAS threads, which stall
    when data-loader workers already occupy the cores.
    """
    (out_h, out_w), (scale_h, scale_w) = output_size(img.shape[:2], scale, size)
    in_h, in_w = img.shape[:2]
    rest = img.shape[2:]
    out = np.asarray(img, dtype=np.float32)
    if (out_h, scale_h) != (in_h, 1.0):
        out = (_sparse_weight_matrix(in_h, out_h, scale_h) @ out.reshape(in_h, -1)).reshape((out_h, in_w) + rest)
    if (out_w, scale_w) != (in_w, 1.0):
        by_column = np.swapaxes(out, 0, 1).reshape(in_w, -1)  # W x (h * C)
        resized = _sparse_weight_matrix(in_w, out_w, scale_w) @ by_column
        out = np.swapaxes(resized.reshape((out_w, out_h) + rest), 0, 1)
    return np.ascontiguousarray(out, dtype=np.float32)


def imresize_torch(
    x: torch.Tensor, scale: float | tuple[float, float] | None = None, size: tuple[int, int] | None = None
) -> torch.Tensor:
    """Batched ``imresize`` acting on the last two axes of ``x`` (e.g. ``NxCxHxW``), same weights. The sizes are
    read as Python ints (under ONNX tracing too: the weight matrices of that input size become constants)."""
    in_h, in_w = (int(n) for n in x.shape[-2:])
    (out_h, out_w), (scale_h, scale_w) = output_size((in_h, in_w), scale, size)
    out = x
    if (out_h, scale_h) != (in_h, 1.0):
        rows = _torch_weight_matrix(in_h, out_h, scale_h).to(device=x.device, dtype=x.dtype)
        out = rows @ out
    if (out_w, scale_w) != (in_w, 1.0):
        cols = _torch_weight_matrix(in_w, out_w, scale_w).to(device=x.device, dtype=x.dtype)
        out = out @ cols.T
    return out
