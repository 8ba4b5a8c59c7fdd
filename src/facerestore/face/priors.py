"""Facial priors rendered from 68 landmarks at any resolution.

Every function takes landmarks as a (68, 2) array in pixel coordinates (pixel centres at integers,
see :mod:`facerestore.face.labels`), an output ``size`` (int or (height, width)) and ``scale``,
the factor from the landmarks' image to the output (``1/8`` renders HR landmarks at x8 LR size;
``p' = (p + 0.5) * scale - 0.5``, the pixel-centre convention of ``cv2.resize``).
Polygons are filled exactly at sample points (scanline, pixel-centre rule) on a 4x supersampled
canvas and area-averaged, so soft masks hold each pixel's covered fraction (16 samples).
"""
from __future__ import annotations

import cv2
import numpy as np

from facerestore.face import labels as L

SUPERSAMPLE = 4
BROW_THICKNESS = 0.15  # eyebrow band below the 300-W brow points, in eye-centre distances


def _as_hw(size: int | tuple[int, int]) -> tuple[int, int]:
    height, width = (size, size) if isinstance(size, (int, np.integer)) else size
    if height <= 0 or width <= 0:
        raise ValueError(f"output size must be positive, got {size}")
    return int(height), int(width)


def _points(landmarks: np.ndarray, scale: float) -> np.ndarray:
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.shape != (L.NUM_LANDMARKS, 2):
        raise ValueError(f"landmarks must have shape (68, 2), got {pts.shape}")
    return (pts + 0.5) * scale - 0.5


def _down_vector(pts: np.ndarray) -> tuple[np.ndarray, float]:
    """Unit vector from the brows towards the chin (perpendicular to the eye line) and the
    eye-centre distance."""
    eye_line = pts[list(L.LEFT_EYE)].mean(axis=0) - pts[list(L.RIGHT_EYE)].mean(axis=0)
    distance = float(np.hypot(*eye_line))
    return np.array([-eye_line[1], eye_line[0]]) / max(distance, 1e-6), distance


def _brow_polygon(pts: np.ndarray, brow: tuple[int, ...]) -> np.ndarray:
    """300-W brow points trace a curve, not an area: close it into a band of
    ``BROW_THICKNESS`` eye distances towards the eye."""
    down, eye_distance = _down_vector(pts)
    arc = pts[list(brow)]
    return np.concatenate([arc, arc[::-1] + down * BROW_THICKNESS * eye_distance])


def _hull(points: np.ndarray) -> np.ndarray:
    return cv2.convexHull(points.astype(np.float32)).reshape(-1, 2).astype(np.float64)


def _inside(polygon: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Pixels whose centre lies inside ``polygon`` (even-odd rule, half-open edges), by scanlines:
    each edge crossing a row toggles inside/outside from the first pixel centre right of it."""
    height, width = hw
    start, end = polygon, np.roll(polygon, -1, axis=0)
    rows = np.arange(height, dtype=np.float64)[:, None]
    low, high = np.minimum(start[:, 1], end[:, 1]), np.maximum(start[:, 1], end[:, 1])
    row, edge = np.nonzero((rows >= low) & (rows < high))
    dy = end[edge, 1] - start[edge, 1]
    x = start[edge, 0] + (row - start[edge, 1]) / dy * (end[edge, 0] - start[edge, 0])
    toggles = np.zeros((height, width + 1), dtype=np.int32)
    np.add.at(toggles, (row, np.clip(np.ceil(x), 0, width).astype(np.int64)), 1)
    return (np.cumsum(toggles, axis=1)[:, :width] & 1).astype(bool)


def _raster(polygons: list[np.ndarray], hw: tuple[int, int], antialias: bool = True,
            dilate: float = 0.0) -> np.ndarray:
    """Fill polygons (output pixel coordinates) into an (H, W) float32 map: the covered fraction of
    each pixel (``SUPERSAMPLE``^2 samples) when ``antialias``, else 1 where the pixel centre is
    inside. ``dilate`` grows the region by that many output pixels (elliptic structuring element)."""
    factor = SUPERSAMPLE if antialias else 1
    height, width = hw
    out = np.zeros(hw, dtype=np.float32)
    # Work on the polygons' bounding box only (components are small).
    corners = np.concatenate(polygons)
    x0, y0 = np.clip(np.floor(corners.min(axis=0) - dilate - 1).astype(int), 0, [width, height])
    x1, y1 = np.clip(np.ceil(corners.max(axis=0) + dilate + 2).astype(int), 0, [width, height])
    if x1 <= x0 or y1 <= y0:
        return out
    fine = ((y1 - y0) * factor, (x1 - x0) * factor)
    canvas = np.zeros(fine, dtype=bool)
    for polygon in polygons:
        canvas |= _inside((polygon - [x0, y0] + 0.5) * factor - 0.5, fine)
    canvas = canvas.astype(np.float32)
    radius = int(round(dilate * factor))
    if radius > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        canvas = cv2.dilate(canvas, kernel)
    if factor > 1:
        canvas = cv2.resize(canvas, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    out[y0:y1, x0:x1] = canvas
    return out


def _component_polygons(pts: np.ndarray) -> tuple[list[np.ndarray], ...]:
    """Song et al. §3.1 (after Yang et al. SFH): eyebrows, eyes, nose, mouth."""
    return (
        [_brow_polygon(pts, L.RIGHT_BROW), _brow_polygon(pts, L.LEFT_BROW)],
        [pts[list(L.RIGHT_EYE)], pts[list(L.LEFT_EYE)]],
        [_hull(pts[list(L.NOSE)])],
        [pts[list(L.OUTER_MOUTH)]],
    )


def component_masks(landmarks: np.ndarray, size: int | tuple[int, int], dilate: float = 0.0,
                    scale: float = 1.0, antialias: bool = True) -> np.ndarray:
    """Song et al. §3.1 facial component masks, (4, H, W) float32: eyebrows, eyes, nose, mouth;
    1 inside the component, 0 outside. The paper gives no construction; ours: eyes and mouth are
    the 300-W eye and outer-lip polygons, the nose the hull of points 27-35, a brow the band of
    ``BROW_THICKNESS`` eye distances below its 5 points. ``dilate`` (output pixels) widens them, as
    SFH does to tolerate landmark error (Song Table 4: masks off by <= 6 px still help)."""
    pts, hw = _points(landmarks, scale), _as_hw(size)
    return np.stack([_raster(polys, hw, antialias, dilate) for polys in _component_polygons(pts)])


def _face_polygon(pts: np.ndarray, forehead: bool) -> np.ndarray:
    outline = [pts[list(L.JAW)], pts[list(L.RIGHT_BROW + L.LEFT_BROW)]]
    if forehead:
        # Rule of facial thirds: hairline-to-brow about equals brow-to-nose-base (point 33).
        down, _ = _down_vector(pts)
        brows = pts[list(L.RIGHT_BROW + L.LEFT_BROW)]
        height = float(np.dot(pts[33] - brows.mean(axis=0), down))
        outline.append(brows - down * height)
    return _hull(np.concatenate(outline))


def face_mask(landmarks: np.ndarray, size: int | tuple[int, int], forehead: bool = False,
              scale: float = 1.0, antialias: bool = True) -> np.ndarray:
    """Face-region mask M_face of Yun & Park §3.3, (H, W) float32: the hull of the jaw line and
    the brows, raised to an estimated hairline when ``forehead`` (the paper's CelebAMask-HQ masks
    include the forehead; from landmarks it is estimated by the rule of facial thirds)."""
    pts, hw = _points(landmarks, scale), _as_hw(size)
    return _raster([_face_polygon(pts, forehead)], hw, antialias)


def _label_map(pts: np.ndarray, hw: tuple[int, int], forehead: bool, antialias: bool) -> np.ndarray:
    outer, inner = list(L.OUTER_MOUTH), list(L.INNER_MOUTH)
    # Outer lip 48..54 runs over the top, 54..59 under the bottom; inner 60..64 top, 64..67 bottom.
    upper_lip = np.concatenate([pts[outer[:7]], pts[inner[:5]][::-1]])
    lower_lip = np.concatenate([pts[outer[6:] + outer[:1]], pts[inner[4:] + inner[:1]][::-1]])
    regions = [
        (L.SKIN, _face_polygon(pts, forehead)),
        (L.RIGHT_BROW_LABEL, _brow_polygon(pts, L.RIGHT_BROW)),
        (L.LEFT_BROW_LABEL, _brow_polygon(pts, L.LEFT_BROW)),
        (L.NOSE_LABEL, _hull(pts[list(L.NOSE)])),
        (L.RIGHT_EYE_LABEL, pts[list(L.RIGHT_EYE)]),
        (L.LEFT_EYE_LABEL, pts[list(L.LEFT_EYE)]),
        (L.UPPER_LIP, upper_lip),
        (L.LOWER_LIP, lower_lip),
        (L.INNER_MOUTH_LABEL, pts[inner]),
    ]
    parsing = np.full(hw, L.BACKGROUND, dtype=np.int64)
    for label, polygon in regions:
        parsing[_raster([polygon], hw, antialias) >= 0.5] = label
    return parsing


def parsing_map(landmarks: np.ndarray, size: int | tuple[int, int], forehead: bool = True,
                scale: float = 1.0) -> np.ndarray:
    """Multi-class parsing map, (H, W) int64 with the labels of :mod:`facerestore.face.labels`:
    skin is the face region (with forehead by default), then brows, nose, eyes, upper lip, lower
    lip and inner mouth are painted over it in that order. A pixel takes a region's label when
    at least half of it is covered. Hair is unknown from landmarks and never labelled."""
    return _label_map(_points(landmarks, scale), _as_hw(size), forehead, antialias=True)


def fish_parsing(source: np.ndarray, size: int | tuple[int, int], scale: float = 1.0) -> np.ndarray:
    """FishFSRNet's simplified parsing map (Wang et al. §III-A): skin 1, facial components and
    everything else 0, as the (3, h, w) float32 the ParsingNet/FishFSRNet checkpoints use (the
    official data are 0/255 RGB PNGs read with ToTensor, so the three channels are equal).

    ``source`` is either an integer label map (e.g. from the synthetic renderer) or float (68, 2)
    landmarks (``scale`` then applies). As in the paper, the map is made at high resolution and
    downsampled to ``size`` (area average), so LR pixels on the skin border are fractional.
    """
    hw = _as_hw(size)
    source = np.asarray(source)
    if np.issubdtype(source.dtype, np.integer):
        if source.ndim != 2:
            raise ValueError(f"a parsing map must be (H, W), got {source.shape}")
        skin = (source == L.SKIN).astype(np.float32)
    else:
        fine = (hw[0] * SUPERSAMPLE, hw[1] * SUPERSAMPLE)
        labels = _label_map(_points(source, scale * SUPERSAMPLE), fine, forehead=True, antialias=False)
        skin = (labels == L.SKIN).astype(np.float32)
    if skin.shape != hw:
        skin = cv2.resize(skin, (hw[1], hw[0]), interpolation=cv2.INTER_AREA)
    return np.repeat(skin[None], 3, axis=0)


def landmark_heatmaps(landmarks: np.ndarray, size: int | tuple[int, int], sigma: float = 1.0,
                      scale: float = 1.0) -> np.ndarray:
    """One Gaussian per landmark, (68, H, W) float32, ``exp(-d^2 / (2 sigma^2))`` with peak 1 at
    the (sub-pixel) point; ``sigma`` in output pixels (FSRNet-style prior / heatmap loss target)."""
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    pts, (height, width) = _points(landmarks, scale), _as_hw(size)
    gx = np.exp(-((np.arange(width)[None, :] - pts[:, :1]) ** 2) / (2 * sigma ** 2)).astype(np.float32)
    gy = np.exp(-((np.arange(height)[None, :] - pts[:, 1:]) ** 2) / (2 * sigma ** 2)).astype(np.float32)
    return gy[:, :, None] * gx[:, None, :]
