"""Outlines and parsing: projected face geometry -> closed sub-pixel outlines -> parsing map.

Landmarks are joined by uniform Catmull-Rom curves into the outlines (output pixels) shared by the
painter, the lighting and the parsing rasteriser. The parsing map is rasterised directly at the output
size from those outlines, with the labels of facerestore.face.labels, so every landmark that bounds a
region lies on that region's edge.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from ..face import labels as L
from .geometry import FaceGeometry
from .identity import Identity
from .raster import SHIFT


@lru_cache(maxsize=16)
def _catmull_basis(n: int) -> np.ndarray:
    """(n, 4) weights of the four control points at t = 0, 1/n, ..., (n-1)/n of one segment."""
    t = np.arange(n) / n
    return 0.5 * np.stack([-t + 2 * t ** 2 - t ** 3, 2 - 5 * t ** 2 + 3 * t ** 3,
                           t + 4 * t ** 2 - 3 * t ** 3, -t ** 2 + t ** 3], 1)


def catmull_rom(points: np.ndarray, n: int = 6, closed: bool = False) -> np.ndarray:
    """Uniform Catmull-Rom curve through ``points`` (k, 2); passes exactly through every point."""
    p = np.asarray(points, np.float64)
    if closed:
        ext = np.concatenate([p[-1:], p, p[:2]])
    else:
        ext = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
    segments = len(ext) - 3
    controls = ext[np.arange(segments)[:, None] + np.arange(4)]  # (k, 4, 2)
    curve = (_catmull_basis(n) @ controls).reshape(-1, 2)
    return curve if closed else np.concatenate([curve, p[-1:]])


@dataclass(frozen=True)
class Outlines:
    """Closed outlines (output pixels) shared by the painter and the parsing rasteriser."""

    face: np.ndarray
    hair: np.ndarray
    ears: tuple[np.ndarray, ...]
    brows: tuple[np.ndarray, np.ndarray]
    brow_tops: tuple[np.ndarray, np.ndarray]
    eyes: tuple[np.ndarray, np.ndarray]
    eye_uppers: tuple[np.ndarray, np.ndarray]
    eye_lowers: tuple[np.ndarray, np.ndarray]
    nose: np.ndarray
    upper_lip: np.ndarray
    lower_lip: np.ndarray
    inner_mouth: np.ndarray
    inner_upper: np.ndarray
    right: np.ndarray   # unit vector towards image right along the eye axis
    down: np.ndarray    # unit vector from brows to chin


def _hair_outline(geo: FaceGeometry, ident: Identity) -> np.ndarray:
    """Skull ellipse, cut at ear level (short), jaw level (medium) or hanging to the shoulders (long)."""
    vals, vecs = np.linalg.eigh(geo.skull_q)
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    pts = geo.skull_centre + (vecs @ (np.stack([np.cos(t), np.sin(t)]) / np.sqrt(vals)[:, None])).T
    lm = geo.landmarks
    cy = geo.skull_centre[1]
    if ident.hair_style == 2:
        bottom = lm[8, 1] + 0.9 * geo.scale
        below = pts[:, 1] > cy
        stretch = (pts[below, 1] - cy) / (pts[:, 1].max() - cy)
        pts[below, 1] = cy + stretch * (bottom - cy)
        pts[below, 0] = geo.skull_centre[0] + (pts[below, 0] - geo.skull_centre[0]) * (1 + 0.12 * stretch)
    else:
        cut = lm[[2, 14], 1].mean() if ident.hair_style == 0 else lm[[5, 11], 1].mean()
        pts[:, 1] = np.minimum(pts[:, 1], cut)
    return pts


def build_outlines(geo: FaceGeometry, ident: Identity) -> Outlines:
    lm = geo.landmarks.astype(np.float64)
    right = lm[45] - lm[36]
    right /= np.linalg.norm(right)
    down = np.array([-right[1], right[0]])
    face = np.concatenate([catmull_rom(lm[0:17], 4), catmull_rom(geo.hairline[::-1], 2)])
    eyes, uppers, lowers = [], [], []
    for a, b, c, d, e, f in ((36, 37, 38, 39, 40, 41), (42, 43, 44, 45, 46, 47)):
        upper = catmull_rom(lm[[a, b, c, d]], 5)
        lower = catmull_rom(lm[[d, e, f, a]], 5)
        eyes.append(np.concatenate([upper[:-1], lower[:-1]]))
        uppers.append(upper)
        lowers.append(lower)
    brows, tops = [], []
    for idx in (L.RIGHT_BROW, L.LEFT_BROW):
        top = catmull_rom(lm[list(idx)], 5)
        inner_first = idx[0] == L.LEFT_BROW[0]
        t = np.linspace(0, 1, len(top))
        inner = 1 - t if inner_first else t           # 1 at the inner end
        thick = ident.brow_thickness * geo.scale * (0.45 + 0.75 * inner - 0.3 * inner ** 4)
        bottom = top + thick[:, None] * down
        brows.append(np.concatenate([top, bottom[::-1]]))
        tops.append(top)
    s, nw = geo.scale, ident.nose_width
    nose = np.array([lm[27], lm[28] - 0.08 * s * right, lm[29] - 0.11 * s * right,
                     lm[31] - 0.32 * nw * s * right - 0.07 * s * down, lm[31], lm[32], lm[33], lm[34], lm[35],
                     lm[35] + 0.32 * nw * s * right - 0.07 * s * down, lm[29] + 0.11 * s * right,
                     lm[28] + 0.08 * s * right])
    outer_up = catmull_rom(lm[48:55], 4)
    outer_low = catmull_rom(lm[[54, 55, 56, 57, 58, 59, 48]], 4)
    inner_up = catmull_rom(lm[60:65], 4)
    inner_low = catmull_rom(lm[[64, 65, 66, 67, 60]], 4)
    ears = tuple(geo.ears) if ident.hair_style == 0 else ()
    return Outlines(face=face, hair=_hair_outline(geo, ident), ears=ears, brows=tuple(brows),
                    brow_tops=tuple(tops), eyes=tuple(eyes), eye_uppers=tuple(uppers),
                    eye_lowers=tuple(lowers), nose=catmull_rom(nose, 3, closed=True),
                    upper_lip=np.concatenate([outer_up, inner_up[::-1]]),
                    lower_lip=np.concatenate([outer_low, inner_low[::-1]]),
                    inner_mouth=np.concatenate([inner_up, inner_low[1:-1]]), inner_upper=inner_up,
                    right=right, down=down)


# ------------------------------------------------------------------------------- parsing map
def rasterise_parsing(out: Outlines, size: int) -> np.ndarray:
    """Multi-class parsing map (size, size) int64 with the labels of facerestore.face.labels."""
    lab = np.zeros((size, size), np.uint8)

    def fill(poly: np.ndarray, label: int, outline: bool = False) -> None:
        pts = [np.round(poly * (1 << SHIFT)).astype(np.int32)]
        cv2.fillPoly(lab, pts, label, cv2.LINE_8, SHIFT)
        if outline:
            cv2.polylines(lab, pts, True, label, 1, cv2.LINE_8, SHIFT)

    fill(out.hair, L.HAIR)
    for ear in out.ears:
        fill(ear, L.SKIN)
    fill(out.face, L.SKIN)
    fill(out.nose, L.NOSE_LABEL)
    fill(out.brows[0], L.RIGHT_BROW_LABEL, True)
    fill(out.brows[1], L.LEFT_BROW_LABEL, True)
    fill(out.eyes[0], L.RIGHT_EYE_LABEL, True)
    fill(out.eyes[1], L.LEFT_EYE_LABEL, True)
    fill(out.upper_lip, L.UPPER_LIP, True)
    fill(out.lower_lip, L.LOWER_LIP, True)
    fill(out.inner_mouth, L.INNER_MOUTH_LABEL)
    return lab.astype(np.int64)
