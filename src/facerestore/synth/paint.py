"""Painting: the background and the fine face features, on the albedo canvas at twice the output size.

Background (blurred clutter, textured wall or studio vignette), nasolabial folds and under-eye lines,
nostrils and ala creases, brows of individual hairs, eyes (sclera, textured iris warped onto the
projected iris ellipse, lid shadow, catchlight, crease, lash line, lashes), lips with the mouth
interior and teeth, and glasses. Layers are anti-aliased sub-pixel polygons and detail strokes
(raster.py) along the outlines of outlines.py; the relief comes later, from lighting.py.
"""
from __future__ import annotations

import cv2
import numpy as np

from .geometry import FaceGeometry
from .identity import Identity, Scene
from .outlines import Outlines, catmull_rom
from .raster import Roi, blend, circle, crop, fill_mask, flat, grid, iris_disc, line_mask, tinted
from .textures import IRIS_SPRITE_SIZE, TextureBank


# -------------------------------------------------------------------------------- background
def paint_background(scene: Scene, size: int, bank: TextureBank, rng: np.random.Generator) -> np.ndarray:
    """Gradient + blurred clutter (0), textured wall (1) or studio vignette (2); ``size`` internal."""
    n = size // 4
    xx, yy = grid(n)
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
        lum = 1 + 0.12 * crop(bank.blotch, *off, (size, size)) + 0.06 * crop(bank.streaks, *off[::-1], (size, size))
    else:
        lum = 1 + 0.025 * crop(bank.blotch, *off, (size, size))
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


def paint_brows(canvas: np.ndarray, out: Outlines, ident: Identity, s: float, rng: np.random.Generator) -> None:
    """Brow = faint base tone + individual hairs pointing outwards and up (steeper at the inner end)."""
    size = canvas.shape[0]
    for k, (brow, top) in enumerate(zip(out.brows, out.brow_tops)):
        roi = Roi.around(brow, 4, size)
        if roi.empty:
            continue
        base = cv2.GaussianBlur(fill_mask(roi.shape, [brow], roi.origin), (0, 0), 0.012 * s + 0.5)
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
        hairs = line_mask(roi.shape, strokes, 1, roi.origin)
        alpha = np.maximum(base * (0.35 + 0.35 * ident.brow_density), hairs * 0.9) * np.sqrt(base)
        view = roi.view(canvas)
        blend(view, flat(roi.shape, ident.brow), alpha)


def paint_eyes(canvas: np.ndarray, geo: FaceGeometry, out: Outlines, ident: Identity, scene: Scene,
                bank: TextureBank, rng: np.random.Generator) -> None:
    """Sclera, textured iris with pupil and catchlight, lid shadow, lash line, lashes and lid crease."""
    size, s = canvas.shape[0], geo.scale
    sprite = bank.iris[ident.iris_sprite]
    lash_colour = tuple(min(c, 0.09) for c in ident.brow)
    for k in range(2):
        eye, upper, lower = out.eyes[k], out.eye_uppers[k], out.eye_lowers[k]
        roi = Roi.around(eye, 0.2 * s + 4, size)
        if roi.empty:
            continue
        view = roi.view(canvas)
        shape, org = roi.shape, np.array(roi.origin)
        opening = fill_mask(shape, [eye], org)
        # iris: sprite warped onto the projected iris ellipse
        centre = geo.irises[k] * 2 + 0.5 - org
        a0, a1 = geo.iris_axes[k] * 2
        half = IRIS_SPRITE_SIZE / 2
        m = np.stack([a0 / half, a1 / half], 1)
        affine = np.concatenate([m, (centre - m @ np.array([half - 0.5, half - 0.5]))[:, None]], 1)
        warp = dict(dsize=(shape[1], shape[0]), flags=cv2.INTER_LINEAR, borderValue=0)
        pattern = cv2.warpAffine(sprite, affine, **warp)
        disc = cv2.warpAffine(iris_disc(), affine, **warp)
        inside = flat(shape, (0.92, 0.89, 0.86))
        blend(inside, tinted(pattern * 1.25, ident.iris), disc)
        # shadow of the upper lid and corners (ambient occlusion of the socket)
        lid = cv2.GaussianBlur(np.roll(opening, int(0.05 * s) + 1, axis=0), (0, 0), 0.04 * s + 0.5)
        occl = 0.45 + 0.55 * np.clip(lid, 0, 1)
        inside *= cv2.merge([occl, occl, occl])
        radius = float(np.linalg.norm(geo.iris_axes[k][1]))
        glint_centre = geo.irises[k] + 0.45 * radius * np.array(scene.light_dir[:2])
        glint = fill_mask(shape, [circle(glint_centre, 0.2 * radius)], org)
        blend(inside, flat(shape, (1.0, 1.0, 1.0)), glint * 0.9)
        blend(view, inside, opening)
        # lid crease, lower lid, lash line and lashes
        faint = line_mask(shape, [upper - 0.55 * ident.eye_height * s * out.down, lower], 1, org)
        faint = cv2.GaussianBlur(faint, (0, 0), 0.008 * s + 0.6)
        blend(view, flat(shape, np.array(ident.skin) * 0.5), faint * 0.45)
        n = 26
        t = rng.uniform(0.08, 1.0, n) ** 0.7       # 1 at the outer corner
        pts, _ = _sample_curve(upper, 1 - t if k == 0 else t)  # right upper lid runs outer->inner
        outward = out.right * (-1 if k == 0 else 1)
        angle = np.radians(10 + 55 * t)[:, None]
        direction = -out.down * np.cos(angle) + outward * np.sin(angle)
        lashes = _strokes(pts, direction, rng.uniform(0.04, 0.075, n) * s, rng.uniform(0.2, 0.5, n), outward)
        dark = np.maximum(line_mask(shape, lashes, 1, org), line_mask(shape, [upper], max(1, round(0.02 * s)), org))
        blend(view, flat(shape, lash_colour), dark * 0.92)


def paint_nose(canvas: np.ndarray, geo: FaceGeometry, out: Outlines, ident: Identity) -> None:
    """Nostrils and ala creases (the nose's relief comes from the height field)."""
    lm, s = geo.landmarks.astype(np.float64), geo.scale
    roi = Roi.around(out.nose, 0.1 * s, canvas.shape[0])
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
    dark = cv2.GaussianBlur(fill_mask(roi.shape, nostrils, org), (0, 0), 0.006 * s + 0.5)
    crease = cv2.GaussianBlur(line_mask(roi.shape, [catmull_rom(c, 4) for c in creases], 1, org), (0, 0),
                              0.01 * s + 0.5)
    view = roi.view(canvas)
    blend(view, flat(roi.shape, np.array(ident.skin) * 0.45), np.maximum(dark * 0.85, crease * 0.35))


def paint_mouth(canvas: np.ndarray, geo: FaceGeometry, out: Outlines, ident: Identity, bank: TextureBank) -> None:
    """Lips with vertical lip lines, dark mouth interior, upper teeth when open, lip seam."""
    s = geo.scale
    roi = Roi.around(np.concatenate([out.upper_lip, out.lower_lip]), 4, canvas.shape[0])
    if roi.empty:
        return
    shape, org = roi.shape, roi.origin
    view = roi.view(canvas)
    lines = crop(bank.streaks, *(org[0] * 0.7, org[1] * 1.3), shape)
    lip_lum = 1 + 0.09 * lines
    upper, lower = fill_mask(shape, [out.upper_lip], org), fill_mask(shape, [out.lower_lip], org)
    blend(view, tinted(lip_lum * 0.86, ident.lip), upper)
    blend(view, tinted(lip_lum, ident.lip), lower)
    inner = fill_mask(shape, [out.inner_mouth], org)
    if inner.max() > 0:
        mouth = flat(shape, (0.22, 0.06, 0.06))
        teeth_h = 0.11 * s
        teeth_poly = np.concatenate([out.inner_upper, (out.inner_upper + teeth_h * out.down)[::-1]])
        teeth = fill_mask(shape, [teeth_poly], org) * cv2.GaussianBlur(inner, (0, 0), 0.02 * s + 0.5)
        blend(mouth, flat(shape, (0.9, 0.86, 0.78)), np.clip(teeth * 1.4, 0, 1))
        blend(view, mouth, inner)
    seam = cv2.GaussianBlur(line_mask(shape, [out.inner_upper], max(1, round(0.012 * s)), org), (0, 0), 0.6)
    blend(view, flat(shape, np.array(ident.lip) * 0.35), seam * 0.8)


def paint_folds(canvas: np.ndarray, geo: FaceGeometry, out: Outlines, ident: Identity, scene: Scene) -> None:
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
    roi = Roi.around(np.concatenate(folds), 0.05 * s + 4, canvas.shape[0])
    if roi.empty:
        return
    m = cv2.GaussianBlur(line_mask(roi.shape, folds, max(1, round(0.012 * s)), roi.origin), (0, 0), 0.012 * s + 0.5)
    blend(roi.view(canvas), flat(roi.shape, np.array(ident.skin) * 0.6), m * (0.15 + 0.3 * scene.expression.smile))


def paint_glasses(canvas: np.ndarray, geo: FaceGeometry, ident: Identity) -> None:
    """Frame: two rims, the bridge and the temple arms (from the outer rim points to the ears)."""
    g = geo.glasses
    rims = [g[:24], g[24:48]]
    size = canvas.shape[0]
    bars = [np.array([g[48], g[49]]), np.array([g[12], g[50]]), np.array([g[24], g[51]])]
    frame = np.maximum(line_mask((size, size), rims, max(1, round(0.025 * geo.scale)), closed=True),
                       line_mask((size, size), bars, max(1, round(0.02 * geo.scale))))
    blend(canvas, flat((size, size), ident.glasses_colour), frame * 0.95)
