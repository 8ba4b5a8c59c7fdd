"""Blur kernels: isotropic Gaussian (GFRNet §3.2, Song §4) and random camera-shake motion kernels (Song §4).

Song et al. §4 convolve the HR faces with one of 200 pre-generated, noise-free motion kernels whose
size is random in [11, 31] px. The paper does not say how the trajectories were drawn; we use a
camera-shake random walk in the spirit of Boracchi & Foi (2012): a 2-D position driven by a velocity
with Gaussian jitter, a pull back towards the start and rare impulsive jerks, rasterised with
bilinear splatting. Sizes are odd (11, 13, ..., 31) so the kernel has a centre pixel, and the
trajectory's centroid sits on that centre so blurring does not shift the face.
"""
from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

MOTION_KERNEL_SIZES = tuple(range(11, 32, 2))
BANK_SIZE = 200
_TRAJECTORY_STEPS = 128


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Accept a Generator or an integer seed."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def gaussian_kernel_1d(sigma: float) -> np.ndarray:
    """Normalised 1-D Gaussian of standard deviation ``sigma``, length ``2 ceil(3 sigma) + 1``; 0 gives [1]."""
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    if sigma == 0:
        return np.ones(1, dtype=np.float32)
    radius = math.ceil(3 * sigma)
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-(t * t) / (2 * sigma * sigma))
    return (g / g.sum()).astype(np.float32)


def convolve(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """2-D convolution of ``HxW[xC]`` float32 with ``kernel`` (same size output, replicated borders).

    Replicated borders follow MATLAB ``imfilter(..., 'replicate')``, the usual choice in SR data scripts.
    """
    flipped = np.ascontiguousarray(kernel[::-1, ::-1], dtype=np.float32)  # filter2D correlates
    out = cv2.filter2D(np.asarray(img, dtype=np.float32), -1, flipped, borderType=cv2.BORDER_REPLICATE)
    return out.reshape(img.shape)


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Blur with an isotropic Gaussian of standard deviation ``sigma`` px; ``sigma = 0`` returns a copy.

    The 2-D kernel is separable: :func:`gaussian_kernel_1d` along each axis.
    """
    if sigma == 0:
        return np.array(img, dtype=np.float32, copy=True)
    g = gaussian_kernel_1d(sigma)
    out = cv2.sepFilter2D(np.asarray(img, dtype=np.float32), -1, g, g, borderType=cv2.BORDER_REPLICATE)
    return out.reshape(img.shape)


def _trajectory(rng: np.random.Generator, steps: int) -> np.ndarray:
    """Random camera-shake path as ``steps x 2`` positions (arbitrary units)."""
    inertia_jitter = rng.uniform(0.02, 0.2)  # how much the heading wanders per step
    centripetal = rng.uniform(0.0, 0.5) / steps  # pull back towards the starting point
    jerk_prob = rng.uniform(0.0, 0.02)  # probability of an impulsive shake per step
    angle = rng.uniform(0, 2 * np.pi)
    velocity = np.array([np.cos(angle), np.sin(angle)])
    position = np.zeros(2)
    jitter = rng.standard_normal((steps, 2))
    jerks = rng.random(steps) < jerk_prob
    jerk_angles = rng.uniform(0, 2 * np.pi, steps)
    path = np.empty((steps, 2))
    for t in range(steps):
        velocity = velocity + inertia_jitter * jitter[t] - centripetal * position
        if jerks[t]:
            velocity = velocity + 1.5 * np.array([np.cos(jerk_angles[t]), np.sin(jerk_angles[t])])
        velocity = velocity / max(np.linalg.norm(velocity), 1e-12)  # constant speed along the path
        position = position + velocity
        path[t] = position
    return path


def _rasterise(path: np.ndarray, size: int) -> np.ndarray:
    """Bilinearly splat the (centred, scaled) path into a ``size x size`` kernel summing to 1."""
    kernel = np.zeros((size, size), dtype=np.float64)
    x0 = np.floor(path[:, 0]).astype(np.int64)
    y0 = np.floor(path[:, 1]).astype(np.int64)
    fx, fy = path[:, 0] - x0, path[:, 1] - y0
    for dy, dx, w in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        np.add.at(kernel, (y0 + dy, x0 + dx), w)
    return (kernel / kernel.sum()).astype(np.float32)


def random_motion_kernel(rng: np.random.Generator | int | None) -> tuple[np.ndarray, dict]:
    """Sample one motion-blur kernel (Song §4): odd size in [11, 31], non-negative, sums to 1.

    Returns ``(kernel, {"kernel_size": int, "motion_extent": float})``; the extent is the largest
    displacement from the centre in px, drawn in [0.5, 1] x the half-size so kernels fill their support.
    """
    rng = as_generator(rng)
    size = int(rng.choice(MOTION_KERNEL_SIZES))
    path = _trajectory(rng, _TRAJECTORY_STEPS)
    path -= path.mean(axis=0)
    half = (size - 1) / 2
    extent = float(rng.uniform(0.5, 1.0) * (half - 1))  # keep one px of margin for bilinear splatting
    path *= extent / max(np.abs(path).max(), 1e-12)
    kernel = _rasterise(path + half, size)
    kernel.setflags(write=False)  # bank kernels are shared
    return kernel, {"kernel_size": size, "motion_extent": round(extent, 4)}


@lru_cache(maxsize=4)
def motion_kernel_bank(seed: int = 0, count: int = BANK_SIZE) -> tuple[np.ndarray, ...]:
    """The fixed bank of ``count`` motion kernels (200 in Song §4), reproducible from ``seed``."""
    children = np.random.SeedSequence(seed).spawn(count)
    return tuple(random_motion_kernel(np.random.default_rng(child))[0] for child in children)
