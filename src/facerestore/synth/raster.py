"""Raster helpers shared by the painter, the lighting and the composer of render.py.

Anti-aliased sub-pixel polygons and polylines (OpenCV fixed point, 1/16-pixel vertices) on a canvas twice
the output size, alpha blending, flat and tinted layers, regions of interest, texture crops and small
cached sprites. Coordinates: output pixels, pixel centres at integers; internal coordinate =
2 * output + 0.5.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .textures import IRIS_SPRITE_SIZE

SHIFT = 4
_AA = cv2.LINE_AA


def _fix(poly: np.ndarray, origin: tuple[int, int] = (0, 0), factor: float = 2.0) -> np.ndarray:
    """Output-pixel points -> fixed-point coordinates of a canvas ``factor`` times larger, minus ``origin``."""
    one = 1 << SHIFT
    q = poly * (factor * one) + np.array([(factor - 1) / 2 * one - origin[0] * one + 0.5,
                                          (factor - 1) / 2 * one - origin[1] * one + 0.5])
    return np.floor(q).astype(np.int32)


def fill_mask(shape: tuple[int, int], polys, origin=(0, 0), factor: float = 2.0) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [_fix(p, origin, factor) for p in polys], 255, _AA, SHIFT)
    return m.astype(np.float32) * (1 / 255)


def line_mask(shape: tuple[int, int], polylines, thickness: int, origin=(0, 0), closed: bool = False) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    pts = list(_fix(polylines, origin)) if isinstance(polylines, np.ndarray) else [_fix(p, origin) for p in polylines]
    cv2.polylines(m, pts, closed, 255, thickness, _AA, SHIFT)
    return m.astype(np.float32) * (1 / 255)


def blend(dst: np.ndarray, layer: np.ndarray, alpha: np.ndarray) -> None:
    """dst <- alpha * layer + (1 - alpha) * dst, in place (works on ROI views)."""
    dst[...] = cv2.blendLinear(layer, dst, alpha, 1 - alpha)


def flat(shape: tuple[int, int], colour) -> np.ndarray:
    layer = np.empty((*shape, 3), np.float32)
    layer[...] = colour
    return layer


def tinted(lum: np.ndarray, colour) -> np.ndarray:
    return cv2.merge([lum * colour[0], lum * colour[1], lum * colour[2]])


@dataclass(frozen=True)
class Roi:
    x0: int
    y0: int
    x1: int
    y1: int

    @staticmethod
    def around(points: np.ndarray, margin: float, size: int) -> "Roi":
        lo = points.min(0) * 2 + 0.5 - margin
        hi = points.max(0) * 2 + 1.5 + margin
        x0, y0 = min(max(int(lo[0]), 0), size), min(max(int(lo[1]), 0), size)
        return Roi(x0, y0, min(max(int(hi[0]), x0), size), min(max(int(hi[1]), y0), size))

    @property
    def shape(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0

    @property
    def origin(self) -> tuple[int, int]:
        return self.x0, self.y0

    def view(self, a: np.ndarray) -> np.ndarray:
        return a[self.y0:self.y1, self.x0:self.x1]

    @property
    def empty(self) -> bool:
        return self.x1 - self.x0 < 2 or self.y1 - self.y0 < 2


def crop(tex: np.ndarray, x: float, y: float, shape: tuple[int, int]) -> np.ndarray:
    """A ``shape`` window of ``tex`` starting near (x, y), wrapped to stay inside."""
    h, w = shape
    x0 = int(x) % (tex.shape[1] - w + 1)
    y0 = int(y) % (tex.shape[0] - h + 1)
    return tex[y0:y0 + h, x0:x0 + w]


@lru_cache(maxsize=8)
def grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / n
    return xx, yy


def circle(centre: np.ndarray, radius: float) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    return centre + radius * np.stack([np.cos(t), np.sin(t)], 1)


@lru_cache(maxsize=1)
def iris_disc() -> np.ndarray:
    n = IRIS_SPRITE_SIZE
    m = np.zeros((n, n), np.uint8)
    cv2.circle(m, (n * 8 - 8, n * 8 - 8), n * 8, 255, -1, _AA, 4)
    return m.astype(np.float32) / 255
