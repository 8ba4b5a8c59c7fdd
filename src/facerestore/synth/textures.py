"""Procedural texture banks for the synthetic faces (skin, hair, lips, iris).

Generating fresh noise per face is the slow part of a renderer, so each internal render size gets one
bank, built once from a fixed seed and cached; faces sample it by random crops/offsets. Banks are
twice the render size so any crop of the render size fits.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

_BANK_SEED = 20261123
NUM_IRIS_SPRITES = 16
IRIS_SPRITE_SIZE = 64


@dataclass(frozen=True)
class TextureBank:
    """Textures for one internal render size ``size`` (fields are ``2*size`` square unless noted).

    pores: zero-mean fine skin relief (pores and pits), std ~1.
    blotch: zero-mean low-frequency skin unevenness, std ~1.
    freckles: field with std ~1; thresholding it high gives sparse freckle spots.
    hair: (2, 2*size, 2*size) strand patterns in [0, 1] radiating from the centre (straight, wavy).
    streaks: (size, size) zero-mean vertical streaks (lip lines, fabric).
    iris: (NUM_IRIS_SPRITES, 64, 64) iris luminance patterns in [0, 1] with a dark pupil.
    """

    size: int
    pores: np.ndarray
    blotch: np.ndarray
    freckles: np.ndarray
    hair: np.ndarray
    streaks: np.ndarray
    iris: np.ndarray


def _normalised(field: np.ndarray) -> np.ndarray:
    field = field - field.mean()
    return (field / (field.std() + 1e-8)).astype(np.float32)


def _blurred_noise(rng: np.random.Generator, shape: tuple[int, int], sx: float, sy: float) -> np.ndarray:
    """Gaussian-filtered white noise, std 1; wide blurs run on a subsampled grid and are upsampled."""
    fx, fy = max(1, int(sx / 2)), max(1, int(sy / 2))
    small = (-(-shape[0] // fy), -(-shape[1] // fx))
    noise = rng.standard_normal(small).astype(np.float32)
    field = cv2.GaussianBlur(noise, (0, 0), sigmaX=sx / fx, sigmaY=sy / fy)
    if (fx, fy) != (1, 1):
        field = cv2.resize(field, (small[1] * fx, small[0] * fy), interpolation=cv2.INTER_CUBIC)
    return _normalised(field[:shape[0], :shape[1]])


def _hair_strands(rng: np.random.Generator, size: int, wavy: bool) -> np.ndarray:
    """Strands radiating from the texture centre: streaky noise in polar coordinates warped to Cartesian."""
    n_angles, n_radii = 5 * size, size
    fine = _blurred_noise(rng, (n_angles, n_radii), sx=40.0, sy=0.8)
    clumps = _blurred_noise(rng, (n_angles, n_radii), sx=60.0, sy=6.0)
    polar = 0.7 * fine + 0.5 * clumps
    if wavy:
        radii = np.arange(n_radii, dtype=np.float32)
        shift = (0.004 * n_angles * np.sin(2 * np.pi * radii / (0.25 * size))).astype(np.int64)
        rows = (np.arange(n_angles)[:, None] + shift[None, :]) % n_angles
        polar = polar[rows, np.arange(n_radii)[None, :]]
    polar = 1.0 / (1.0 + np.exp(-1.6 * polar))  # squash to (0, 1), strands dark/light
    cart = cv2.warpPolar(polar.astype(np.float32), (2 * size, 2 * size), (size, size), float(n_radii),
                         cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR | cv2.WARP_FILL_OUTLIERS)
    return cart


def _iris_sprite(rng: np.random.Generator) -> np.ndarray:
    """One iris pattern (Daugman-style radial fibres, crypts, collarette, limbal ring, pupil)."""
    n = IRIS_SPRITE_SIZE
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    c = (n - 1) / 2
    r = np.hypot(xx - c, yy - c) / (n / 2)
    theta = np.arctan2(yy - c, xx - c)
    polar = _blurred_noise(rng, (360, 64), sx=6.0, sy=1.0)  # rows: angle, cols: radius
    ai = ((theta + np.pi) / (2 * np.pi) * 359).astype(np.int64)
    ri = np.clip(r * 63, 0, 63).astype(np.int64)
    fibres = polar[ai, ri]
    pupil_r = rng.uniform(0.28, 0.4)
    collarette = np.exp(-((r - (pupil_r + 0.18)) / 0.06) ** 2)
    limbus = np.clip((r - 0.78) / 0.2, 0, 1)
    pattern = 0.62 + 0.16 * fibres + 0.15 * collarette - 0.45 * limbus
    pattern *= np.clip((r - pupil_r) / 0.05, 0.05, 1.0)
    return np.clip(pattern, 0, 1).astype(np.float32)


@lru_cache(maxsize=4)
def get_bank(size: int) -> TextureBank:
    """The texture bank for internal render size ``size`` (built once per process, deterministic)."""
    rng = np.random.default_rng(_BANK_SEED + size)
    k = size / 256.0
    big = (2 * size, 2 * size)
    pits = np.clip(_blurred_noise(rng, big, 0.9 * k, 0.9 * k) - 2.0, 0, None)
    pores = _normalised(0.5 * _blurred_noise(rng, big, 0.7 * k, 0.7 * k) - 2.5 * pits / (pits.max() + 1e-8))
    blotch = _normalised(_blurred_noise(rng, big, 5 * k, 5 * k) + 1.5 * _blurred_noise(rng, big, 18 * k, 18 * k))
    freckles = _blurred_noise(rng, big, 2.0 * k, 2.0 * k)
    hair = np.stack([_hair_strands(rng, size, wavy=False), _hair_strands(rng, size, wavy=True)])
    streaks = _blurred_noise(rng, (size, size), 0.5 * k, 4 * k)
    iris = np.stack([_iris_sprite(rng) for _ in range(NUM_IRIS_SPRITES)])
    return TextureBank(size, pores, blotch, freckles, hair, streaks, iris)
