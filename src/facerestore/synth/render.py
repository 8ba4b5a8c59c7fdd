"""Rasteriser: projected face geometry -> anti-aliased RGB image and parsing map.

Composes the steps of its sibling modules. The image is painted at twice the output size (albedo
layers with anti-aliased sub-pixel polygons, raster.py; background and fine detail strokes, paint.py),
lit with a Lambert + Blinn-Phong model whose normals come from a smooth height field of the projected
shapes (computed at a quarter of the internal size, lighting.py), then area-downsampled. The parsing
map is rasterised directly at the output size from the same outlines (outlines.py), so every landmark
that bounds a region lies on that region's edge. Coordinates: output pixels, pixel centres at integers;
internal coordinate = 2 * output + 0.5.
"""
from __future__ import annotations

import cv2
import numpy as np

from .geometry import FaceGeometry
from .identity import Identity, Scene
from .lighting import shading
from .outlines import build_outlines, rasterise_parsing
from .paint import (paint_background, paint_brows, paint_eyes, paint_folds, paint_glasses, paint_mouth,
                    paint_nose)
from .raster import Roi, blend, crop, fill_mask, line_mask, tinted
from .textures import get_bank


def render_image(geo: FaceGeometry, ident: Identity, scene: Scene, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Render the face: (image (size, size, 3) float32 in [0, 1], parsing (size, size) int64)."""
    n = 2 * size
    bank = get_bank(n)
    rng = np.random.default_rng(scene.detail_seed)
    out = build_outlines(geo, ident)
    s = geo.scale
    shape = (n, n)
    background = paint_background(scene, n, bank, rng)

    albedo = np.zeros((n, n, 3), np.float32)
    hair_mask = fill_mask(shape, [out.hair])
    crown = (geo.skull_centre - 0.9 * s * out.down) * 2
    strands = crop(bank.hair[int(ident.hair_wavy)], n - crown[0], n - crown[1], shape)
    hair_layer = tinted(0.3 + 1.0 * strands, ident.hair)
    blend(albedo, hair_layer, hair_mask)
    neck = fill_mask(shape, [geo.neck])
    ox, oy = ident.texture_offset
    eye_mid = geo.landmarks[36:48].mean(0) * 2
    tx, ty = ox * n + n - eye_mid[0], oy * n + n - eye_mid[1]
    lum = 1 + ident.pores * crop(bank.pores, tx, ty, shape) + 0.035 * crop(bank.blotch, tx, ty, shape)
    if ident.freckles < 9:
        spots = np.clip((crop(bank.freckles, tx, ty, shape) - ident.freckles) * 1.5, 0, 1)
        channels = [lum - 0.12 * spots, lum - 0.2 * spots, lum - 0.26 * spots]
    else:
        channels = [lum, lum, lum]
    skin = cv2.merge([c * v for c, v in zip(channels, ident.skin)])
    blend(albedo, skin, neck)
    clothes = fill_mask(shape, [geo.clothes])
    blend(albedo, tinted(1 + 0.08 * crop(bank.streaks, tx, 0, shape), scene.clothes), clothes)
    face_alpha = fill_mask(shape, [out.face, *out.ears])
    blend(albedo, skin, face_alpha)
    # wispy hairline: strands over the forehead edge
    band_roi = Roi.around(geo.hairline, 0.1 * s, n)
    if not band_roi.empty:
        band = line_mask(band_roi.shape, [geo.hairline], max(1, round(0.05 * s)), band_roi.origin)
        band = cv2.GaussianBlur(band, (0, 0), 0.02 * s + 0.5)
        wisps = band * np.clip((band_roi.view(strands) - 0.3) * 4, 0, 1) * band_roi.view(hair_mask)
        blend(band_roi.view(albedo), band_roi.view(hair_layer), wisps)

    paint_folds(albedo, geo, out, ident, scene)
    paint_nose(albedo, geo, out, ident)
    paint_brows(albedo, out, ident, s, rng)
    paint_eyes(albedo, geo, out, ident, scene, bank, rng)
    paint_mouth(albedo, geo, out, ident, bank)
    if ident.glasses:
        paint_glasses(albedo, geo, ident)

    shade, spec = shading(out, geo, scene, n)
    lc = scene.light_colour
    lit = albedo * tinted(shade, lc) + tinted(spec, lc)
    fg_alpha = np.maximum(np.maximum(hair_mask, face_alpha), np.maximum(neck, clothes))
    blend(background, lit, fg_alpha)
    image = cv2.resize(background, (size, size), interpolation=cv2.INTER_AREA)
    np.clip(image, 0, 1, out=image)
    return image, rasterise_parsing(out, size)
