"""Rasteriser: projected face geometry -> anti-aliased RGB image and parsing map.

The image is painted at twice the output size (albedo layers with anti-aliased sub-pixel polygons, fine
detail strokes), lit with a Lambert + Blinn-Phong model whose normals come from a smooth height field of
the projected shapes (computed at a quarter of the internal size), then area-downsampled. The parsing
map is rasterised directly at the output size from the same outlines, so every landmark that bounds a
region lies on that region's edge. Coordinates: output pixels, pixel centres at integers; internal
coordinate = 2 * output + 0.5.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from ..face import labels as L
from .geometry import FaceGeometry
from .identity import Identity, Scene
from .textures import IRIS_SPRITE_SIZE, TextureBank, get_bank

_SHIFT = 4
_AA = cv2.LINE_AA


# ----------------------------------------------------------------------------------------- outlines
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
        pts = [np.round(poly * (1 << _SHIFT)).astype(np.int32)]
        cv2.fillPoly(lab, pts, label, cv2.LINE_8, _SHIFT)
        if outline:
            cv2.polylines(lab, pts, True, label, 1, cv2.LINE_8, _SHIFT)

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


# ------------------------------------------------------------------------------- raster helpers
def _fix(poly: np.ndarray, origin: tuple[int, int] = (0, 0), factor: float = 2.0) -> np.ndarray:
    """Output-pixel points -> fixed-point coordinates of a canvas ``factor`` times larger, minus ``origin``."""
    one = 1 << _SHIFT
    q = poly * (factor * one) + np.array([(factor - 1) / 2 * one - origin[0] * one + 0.5,
                                          (factor - 1) / 2 * one - origin[1] * one + 0.5])
    return np.floor(q).astype(np.int32)


def _mask(shape: tuple[int, int], polys, origin=(0, 0), factor: float = 2.0) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [_fix(p, origin, factor) for p in polys], 255, _AA, _SHIFT)
    return m.astype(np.float32) * (1 / 255)


def _lines(shape: tuple[int, int], polylines, thickness: int, origin=(0, 0), closed: bool = False) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    pts = list(_fix(polylines, origin)) if isinstance(polylines, np.ndarray) else [_fix(p, origin) for p in polylines]
    cv2.polylines(m, pts, closed, 255, thickness, _AA, _SHIFT)
    return m.astype(np.float32) * (1 / 255)


def _blend(dst: np.ndarray, layer: np.ndarray, alpha: np.ndarray) -> None:
    """dst <- alpha * layer + (1 - alpha) * dst, in place (works on ROI views)."""
    dst[...] = cv2.blendLinear(layer, dst, alpha, 1 - alpha)


def _flat(shape: tuple[int, int], colour) -> np.ndarray:
    layer = np.empty((*shape, 3), np.float32)
    layer[...] = colour
    return layer


def _tinted(lum: np.ndarray, colour) -> np.ndarray:
    return cv2.merge([lum * colour[0], lum * colour[1], lum * colour[2]])


@dataclass(frozen=True)
class _Roi:
    x0: int
    y0: int
    x1: int
    y1: int

    @staticmethod
    def around(points: np.ndarray, margin: float, size: int) -> "_Roi":
        lo = points.min(0) * 2 + 0.5 - margin
        hi = points.max(0) * 2 + 1.5 + margin
        x0, y0 = min(max(int(lo[0]), 0), size), min(max(int(lo[1]), 0), size)
        return _Roi(x0, y0, min(max(int(hi[0]), x0), size), min(max(int(hi[1]), y0), size))

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


def _crop(tex: np.ndarray, x: float, y: float, shape: tuple[int, int]) -> np.ndarray:
    """A ``shape`` window of ``tex`` starting near (x, y), wrapped to stay inside."""
    h, w = shape
    x0 = int(x) % (tex.shape[1] - w + 1)
    y0 = int(y) % (tex.shape[0] - h + 1)
    return tex[y0:y0 + h, x0:x0 + w]


@lru_cache(maxsize=8)
def _grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / n
    return xx, yy


def _circle(centre: np.ndarray, radius: float) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    return centre + radius * np.stack([np.cos(t), np.sin(t)], 1)


@lru_cache(maxsize=1)
def _disc() -> np.ndarray:
    n = IRIS_SPRITE_SIZE
    m = np.zeros((n, n), np.uint8)
    cv2.circle(m, (n * 8 - 8, n * 8 - 8), n * 8, 255, -1, _AA, 4)
    return m.astype(np.float32) / 255


# -------------------------------------------------------------------------------- background
def _background(scene: Scene, size: int, bank: TextureBank, rng: np.random.Generator) -> np.ndarray:
    """Gradient + blurred clutter (0), textured wall (1) or studio vignette (2); ``size`` internal."""
    n = size // 4
    xx, yy = _grid(n)
    c0, c1 = (np.array(c, np.float32) for c in scene.background_colours)
    if scene.background == 2:
        t = np.clip(np.hypot(xx - 0.5, yy - 0.45) * 1.6, 0, 1)
    else:
        a = rng.uniform(0, 2 * np.pi)
        t = np.clip(0.5 + (xx - 0.5) * np.cos(a) + (yy - 0.5) * np.sin(a), 0, 1)
    low = (c0 + t[..., None] * (c1 - c0)).astype(np.float32)
    if scene.background == 0:
        for _ in range(rng.integers(6, 16)):
            colour = tuple(float(v) for v in rng.uniform(0.05, 0.95, 3))
            cx, cy = rng.uniform(-0.1, 1.1, 2) * n
            ax, ay = rng.uniform(0.04, 0.35, 2) * n
            if rng.random() < 0.5:
                cv2.ellipse(low, (int(cx), int(cy)), (int(ax), int(ay)), rng.uniform(0, 180), 0, 360, colour, -1)
            else:
                cv2.rectangle(low, (int(cx - ax), int(cy - ay)), (int(cx + ax), int(cy + ay)), colour, -1)
        low = cv2.GaussianBlur(low, (0, 0), rng.uniform(0.6, 3.0))
    img = cv2.resize(low, (size, size), interpolation=cv2.INTER_LINEAR)
    off = rng.uniform(0, size, 2)
    if scene.background == 1:
        lum = 1 + 0.12 * _crop(bank.blotch, *off, (size, size)) + 0.06 * _crop(bank.streaks, *off[::-1], (size, size))
    else:
        lum = 1 + 0.025 * _crop(bank.blotch, *off, (size, size))
    return img * cv2.merge([lum, lum, lum])


# ------------------------------------------------------------------------------- face features
def _strokes(base: np.ndarray, direction: np.ndarray, length: np.ndarray, curl: np.ndarray,
             bend: np.ndarray) -> np.ndarray:
    """Three-point strokes (hairs, lashes) from base points along ``direction``, bending along ``bend``."""
    mid = base + direction * length[:, None] * 0.5
    tip = base + direction * length[:, None] + bend * (curl * length)[:, None]
    return np.stack([base, mid, tip], 1)


def _sample_curve(curve: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points and unit tangents of a densely sampled polyline at parameter fractions ``t`` in [0, 1]."""
    pos = t * (len(curve) - 1)
    i = np.minimum(pos.astype(np.int64), len(curve) - 2)
    step = curve[i + 1] - curve[i]
    length = np.sqrt((step * step).sum(1, keepdims=True))
    return curve[i] + (pos - i)[:, None] * step, step / np.maximum(length, 1e-9)


def _paint_brows(canvas: np.ndarray, out: Outlines, ident: Identity, s: float, rng: np.random.Generator) -> None:
    """Brow = faint base tone + individual hairs pointing outwards and up (steeper at the inner end)."""
    size = canvas.shape[0]
    for k, (brow, top) in enumerate(zip(out.brows, out.brow_tops)):
        roi = _Roi.around(brow, 4, size)
        if roi.empty:
            continue
        base = cv2.GaussianBlur(_mask(roi.shape, [brow], roi.origin), (0, 0), 0.012 * s + 0.5)
        n = int(130 * ident.brow_density)
        t = rng.uniform(0, 1, n)
        pts, tangent = _sample_curve(top, t)
        inner = t if k == 0 else 1 - t                        # 1 at the inner end
        outward = tangent if k == 1 else -tangent               # brow curves run outer->inner, inner->outer
        depth = rng.uniform(0.05, 1.0, n) * ident.brow_thickness * s * (0.45 + 0.75 * inner)
        start = pts + depth[:, None] * out.down
        angle = np.radians(15 + 55 * inner ** 2)[:, None]
        direction = outward * np.cos(angle) - out.down * np.sin(angle)
        strokes = _strokes(start, direction, rng.uniform(0.07, 0.13, n) * s, rng.uniform(-0.3, 0.3, n), out.down)
        hairs = _lines(roi.shape, strokes, 1, roi.origin)
        alpha = np.maximum(base * (0.35 + 0.35 * ident.brow_density), hairs * 0.9) * np.sqrt(base)
        view = roi.view(canvas)
        _blend(view, _flat(roi.shape, ident.brow), alpha)


def _paint_eyes(canvas: np.ndarray, geo: FaceGeometry, out: Outlines, ident: Identity, scene: Scene,
                bank: TextureBank, rng: np.random.Generator) -> None:
    """Sclera, textured iris with pupil and catchlight, lid shadow, lash line, lashes and lid crease."""
    size, s = canvas.shape[0], geo.scale
    sprite = bank.iris[ident.iris_sprite]
    lash_colour = tuple(min(c, 0.09) for c in ident.brow)
    for k in range(2):
        eye, upper, lower = out.eyes[k], out.eye_uppers[k], out.eye_lowers[k]
        roi = _Roi.around(eye, 0.2 * s + 4, size)
        if roi.empty:
            continue
        view = roi.view(canvas)
        shape, org = roi.shape, np.array(roi.origin)
        opening = _mask(shape, [eye], org)
        # iris: sprite warped onto the projected iris ellipse
        centre = geo.irises[k] * 2 + 0.5 - org
        a0, a1 = geo.iris_axes[k] * 2
        half = IRIS_SPRITE_SIZE / 2
        m = np.stack([a0 / half, a1 / half], 1)
        affine = np.concatenate([m, (centre - m @ np.array([half - 0.5, half - 0.5]))[:, None]], 1)
        warp = dict(dsize=(shape[1], shape[0]), flags=cv2.INTER_LINEAR, borderValue=0)
        pattern = cv2.warpAffine(sprite, affine, **warp)
        disc = cv2.warpAffine(_disc(), affine, **warp)
        inside = _flat(shape, (0.92, 0.89, 0.86))
        _blend(inside, _tinted(pattern * 1.25, ident.iris), disc)
        # shadow of the upper lid and corners (ambient occlusion of the socket)
        lid = cv2.GaussianBlur(np.roll(opening, int(0.05 * s) + 1, axis=0), (0, 0), 0.04 * s + 0.5)
        occl = 0.45 + 0.55 * np.clip(lid, 0, 1)
        inside *= cv2.merge([occl, occl, occl])
        radius = float(np.linalg.norm(geo.iris_axes[k][1]))
        glint_centre = geo.irises[k] + 0.45 * radius * np.array(scene.light_dir[:2])
        glint = _mask(shape, [_circle(glint_centre, 0.2 * radius)], org)
        _blend(inside, _flat(shape, (1.0, 1.0, 1.0)), glint * 0.9)
        _blend(view, inside, opening)
        # lid crease, lower lid, lash line and lashes
        faint = _lines(shape, [upper - 0.55 * ident.eye_height * s * out.down, lower], 1, org)
        faint = cv2.GaussianBlur(faint, (0, 0), 0.008 * s + 0.6)
        _blend(view, _flat(shape, np.array(ident.skin) * 0.5), faint * 0.45)
        n = 26
        t = rng.uniform(0.08, 1.0, n) ** 0.7       # 1 at the outer corner
        pts, _ = _sample_curve(upper, 1 - t if k == 0 else t)  # right upper lid runs outer->inner
        outward = out.right * (-1 if k == 0 else 1)
        angle = np.radians(10 + 55 * t)[:, None]
        direction = -out.down * np.cos(angle) + outward * np.sin(angle)
        lashes = _strokes(pts, direction, rng.uniform(0.04, 0.075, n) * s, rng.uniform(0.2, 0.5, n), outward)
        dark = np.maximum(_lines(shape, lashes, 1, org), _lines(shape, [upper], max(1, round(0.02 * s)), org))
        _blend(view, _flat(shape, lash_colour), dark * 0.92)


def _paint_nose(canvas: np.ndarray, geo: FaceGeometry, out: Outlines, ident: Identity) -> None:
    """Nostrils and ala creases (the nose's relief comes from the height field)."""
    lm, s = geo.landmarks.astype(np.float64), geo.scale
    roi = _Roi.around(out.nose, 0.1 * s, canvas.shape[0])
    if roi.empty:
        return
    org = np.array(roi.origin)
    nostrils, creases = [], []
    for outer, inner, sign in ((31, 32, -1), (35, 34, 1)):
        centre = 0.55 * lm[inner] + 0.45 * lm[outer] - 0.035 * s * out.down
        axis = lm[33] - lm[outer]
        angle = np.degrees(np.arctan2(axis[1], axis[0]))
        w = 0.3 * ident.nose_width * s
        nostrils.append(cv2.ellipse2Poly((0, 0), (100, 45), int(angle), 0, 360, 20).astype(np.float64)
                        * (w / 100) + centre)
        ala = lm[outer] + sign * 0.3 * ident.nose_width * s * out.right
        creases.append(np.array([lm[outer] - 0.12 * s * out.down + sign * 0.04 * s * out.right,
                                 ala - 0.08 * s * out.down, ala + 0.02 * s * out.down, lm[outer]]))
    dark = cv2.GaussianBlur(_mask(roi.shape, nostrils, org), (0, 0), 0.006 * s + 0.5)
    crease = cv2.GaussianBlur(_lines(roi.shape, [catmull_rom(c, 4) for c in creases], 1, org), (0, 0), 0.01 * s + 0.5)
    view = roi.view(canvas)
    _blend(view, _flat(roi.shape, np.array(ident.skin) * 0.45), np.maximum(dark * 0.85, crease * 0.35))


def _paint_mouth(canvas: np.ndarray, geo: FaceGeometry, out: Outlines, ident: Identity, scene: Scene,
                 bank: TextureBank) -> None:
    """Lips with vertical lip lines, dark mouth interior, upper teeth when open, lip seam."""
    s = geo.scale
    roi = _Roi.around(np.concatenate([out.upper_lip, out.lower_lip]), 4, canvas.shape[0])
    if roi.empty:
        return
    shape, org = roi.shape, roi.origin
    view = roi.view(canvas)
    lines = _crop(bank.streaks, *(org[0] * 0.7, org[1] * 1.3), shape)
    lip_lum = 1 + 0.09 * lines
    upper, lower = _mask(shape, [out.upper_lip], org), _mask(shape, [out.lower_lip], org)
    _blend(view, _tinted(lip_lum * 0.86, ident.lip), upper)
    _blend(view, _tinted(lip_lum, ident.lip), lower)
    inner = _mask(shape, [out.inner_mouth], org)
    if inner.max() > 0:
        mouth = _flat(shape, (0.22, 0.06, 0.06))
        teeth_h = 0.11 * s
        teeth_poly = np.concatenate([out.inner_upper, (out.inner_upper + teeth_h * out.down)[::-1]])
        teeth = _mask(shape, [teeth_poly], org) * cv2.GaussianBlur(inner, (0, 0), 0.02 * s + 0.5)
        _blend(mouth, _flat(shape, (0.9, 0.86, 0.78)), np.clip(teeth * 1.4, 0, 1))
        _blend(view, mouth, inner)
    seam = cv2.GaussianBlur(_lines(shape, [out.inner_upper], max(1, round(0.012 * s)), org), (0, 0), 0.6)
    _blend(view, _flat(shape, np.array(ident.lip) * 0.35), seam * 0.8)


def _paint_folds(canvas: np.ndarray, geo: FaceGeometry, out: Outlines, ident: Identity, scene: Scene) -> None:
    """Nasolabial folds (deepened by smiling) and under-eye lines."""
    lm, s = geo.landmarks.astype(np.float64), geo.scale
    folds = []
    for ala, corner, sign in ((31, 48, -1), (35, 54, 1)):
        start = lm[ala] + sign * 0.12 * s * out.right - 0.05 * s * out.down
        end = lm[corner] + sign * 0.1 * s * out.right + 0.06 * s * out.down
        mid = (start + end) / 2 + sign * 0.08 * s * out.right
        folds.append(catmull_rom(np.array([start, mid, end]), 5))
    for lower in out.eye_lowers:
        folds.append(lower[1:-1] + 0.07 * s * out.down)
    roi = _Roi.around(np.concatenate(folds), 0.05 * s + 4, canvas.shape[0])
    if roi.empty:
        return
    m = cv2.GaussianBlur(_lines(roi.shape, folds, max(1, round(0.012 * s)), roi.origin), (0, 0), 0.012 * s + 0.5)
    _blend(roi.view(canvas), _flat(roi.shape, np.array(ident.skin) * 0.6), m * (0.15 + 0.3 * scene.expression.smile))


def _paint_glasses(canvas: np.ndarray, geo: FaceGeometry, ident: Identity) -> None:
    g = geo.glasses
    """Frame: two rims, the bridge and the temple arms (from the outer rim points to the ears)."""
    rims = [g[:24], g[24:48]]
    size = canvas.shape[0]
    bars = [np.array([g[48], g[49]]), np.array([g[12], g[50]]), np.array([g[24], g[51]])]
    frame = np.maximum(_lines((size, size), rims, max(1, round(0.025 * geo.scale)), closed=True),
                       _lines((size, size), bars, max(1, round(0.02 * geo.scale))))
    _blend(canvas, _flat((size, size), ident.glasses_colour), frame * 0.95)


# -------------------------------------------------------------------------------------- lighting
def _shading(out: Outlines, geo: FaceGeometry, scene: Scene, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Diffuse (wrapped Lambert + cavity occlusion) and specular maps from a height field at size/4."""
    n = size // 4
    f = 0.5  # output pixels -> quarter-internal pixels
    a = geo.scale * f                       # one face unit in height-field pixels

    def blob(polys, sigma):
        m = _mask((n, n), polys, factor=f)
        return cv2.GaussianBlur(m, (0, 0), max(sigma * a, 0.5))

    head = [out.hair, out.face, *out.ears, geo.neck]
    face = blob([out.face], 0.25)
    height = a * (0.8 * blob(head, 0.35) + 0.9 * face + 0.3 * blob([out.nose], 0.09)
                  - 0.12 * blob(list(out.eyes), 0.12) + 0.06 * blob([out.upper_lip, out.lower_lip], 0.05))
    gx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3) / 8
    inv = 1 / np.sqrt(gx * gx + gy * gy + 1)
    lx, ly, lz = scene.light_dir
    ndl = (-gx * lx - gy * ly + lz) * inv
    diffuse = np.clip((ndl + 0.3) / 1.3, 0, 1)
    cavity = np.clip(cv2.GaussianBlur(height, (0, 0), 0.1 * a + 0.5) - height, 0, None) / a
    face_mask = _mask((n, n), [out.face], factor=f)
    neck_only = np.clip(_mask((n, n), [geo.neck], factor=f) - face_mask, 0, 1)
    shadow = cv2.GaussianBlur(np.roll(face_mask, int(0.2 * a) + 1, axis=0), (0, 0), 0.1 * a + 0.5) * neck_only
    shade = (scene.ambient + scene.light_intensity * diffuse) * (1 - 2.0 * cavity) * (1 - 0.55 * shadow)
    h = np.array([lx, ly, lz + 1.0])
    h /= np.linalg.norm(h)
    ndh = np.clip((-gx * h[0] - gy * h[1] + h[2]) * inv, 0, 1)
    spec = 0.12 * scene.light_intensity * face * ndh ** 24
    up = (size, size)
    return (cv2.resize(shade.astype(np.float32), up, interpolation=cv2.INTER_LINEAR),
            cv2.resize(spec.astype(np.float32), up, interpolation=cv2.INTER_LINEAR))


# ----------------------------------------------------------------------------------------- render
def render_image(geo: FaceGeometry, ident: Identity, scene: Scene, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Render the face: (image (size, size, 3) float32 in [0, 1], parsing (size, size) int64)."""
    n = 2 * size
    bank = get_bank(n)
    rng = np.random.default_rng(scene.detail_seed)
    out = build_outlines(geo, ident)
    s = geo.scale
    shape = (n, n)
    background = _background(scene, n, bank, rng)

    albedo = np.zeros((n, n, 3), np.float32)
    hair_mask = _mask(shape, [out.hair])
    crown = (geo.skull_centre - 0.9 * s * out.down) * 2
    strands = _crop(bank.hair[int(ident.hair_wavy)], n - crown[0], n - crown[1], shape)
    hair_layer = _tinted(0.3 + 1.0 * strands, ident.hair)
    _blend(albedo, hair_layer, hair_mask)
    neck = _mask(shape, [geo.neck])
    ox, oy = ident.texture_offset
    eye_mid = geo.landmarks[36:48].mean(0) * 2
    tx, ty = ox * n + n - eye_mid[0], oy * n + n - eye_mid[1]
    lum = 1 + ident.pores * _crop(bank.pores, tx, ty, shape) + 0.035 * _crop(bank.blotch, tx, ty, shape)
    if ident.freckles < 9:
        spots = np.clip((_crop(bank.freckles, tx, ty, shape) - ident.freckles) * 1.5, 0, 1)
        channels = [lum - 0.12 * spots, lum - 0.2 * spots, lum - 0.26 * spots]
    else:
        channels = [lum, lum, lum]
    skin = cv2.merge([c * v for c, v in zip(channels, ident.skin)])
    _blend(albedo, skin, neck)
    clothes = _mask(shape, [geo.clothes])
    _blend(albedo, _tinted(1 + 0.08 * _crop(bank.streaks, tx, 0, shape), scene.clothes), clothes)
    face_alpha = _mask(shape, [out.face, *out.ears])
    _blend(albedo, skin, face_alpha)
    # wispy hairline: strands over the forehead edge
    band_roi = _Roi.around(geo.hairline, 0.1 * s, n)
    if not band_roi.empty:
        band = _lines(band_roi.shape, [geo.hairline], max(1, round(0.05 * s)), band_roi.origin)
        band = cv2.GaussianBlur(band, (0, 0), 0.02 * s + 0.5)
        wisps = band * np.clip((band_roi.view(strands) - 0.3) * 4, 0, 1) * band_roi.view(hair_mask)
        _blend(band_roi.view(albedo), band_roi.view(hair_layer), wisps)

    _paint_folds(albedo, geo, out, ident, scene)
    _paint_nose(albedo, geo, out, ident)
    _paint_brows(albedo, out, ident, s, rng)
    _paint_eyes(albedo, geo, out, ident, scene, bank, rng)
    _paint_mouth(albedo, geo, out, ident, scene, bank)
    if ident.glasses:
        _paint_glasses(albedo, geo, ident)

    shade, spec = _shading(out, geo, scene, n)
    lc = scene.light_colour
    lit = albedo * _tinted(shade, lc) + _tinted(spec, lc)
    fg_alpha = np.maximum(np.maximum(hair_mask, face_alpha), np.maximum(neck, clothes))
    _blend(background, lit, fg_alpha)
    image = cv2.resize(background, (size, size), interpolation=cv2.INTER_AREA)
    np.clip(image, 0, 1, out=image)
    return image, rasterise_parsing(out, size)
