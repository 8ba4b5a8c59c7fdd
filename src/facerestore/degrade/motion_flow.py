"""Spatially varying motion-flow blur of the face foreground (Yun & Park §4.1, after Gong et al. 2017).

Yun & Park synthesise blur with Gong et al.'s motion flow: every pixel gets its own linear motion
vector ``m(p) = (u, v)`` and is blurred along the segment ``p + t m(p), t in [-1/2, 1/2]``. Only the
face foreground (their CelebA-HQ mask) is blurred. The flow parameters are not given in the paper;
we draw a smooth field as the sum of the camera motions Gong et al. combine (§4.1 of theirs):
an in-plane translation, a rotation about a random centre and a zoom (z translation) about a random
centre, rescaled so that the longest vector is ``max_length`` px (default range 4-20 px at 256 px,
i.e. 0.5-2.5 px after the x8 downsampling). Compositing is ``M * blur(I) + (1 - M) * I``, so pixels
where the mask is 0 are exactly the input.
"""
from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from facerestore.degrade.kernels import as_generator

DEFAULT_MAX_LENGTH = (4.0, 20.0)  # px at a 256 px face crop; scaled with the image size
_REFERENCE_SIZE = 256


def random_motion_field(
    shape: tuple[int, int],
    rng: np.random.Generator | int | None,
    max_length: tuple[float, float] = DEFAULT_MAX_LENGTH,
) -> tuple[np.ndarray, dict]:
    """Sample a smooth ``HxWx2`` float32 motion field ``(u, v)`` in px, and its parameters."""
    rng = as_generator(rng)
    h, w = shape
    size = max(h, w)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64) / size  # normalised coordinates
    translation = rng.normal(0.0, 1.0, 2)
    rotation = rng.normal(0.0, 1.0)
    zoom = rng.normal(0.0, 1.0)
    rot_centre = rng.uniform(0.0, 1.0, 2) * (w / size, h / size)
    zoom_centre = rng.uniform(0.0, 1.0, 2) * (w / size, h / size)
    u = translation[0] - rotation * (ys - rot_centre[1]) + zoom * (xs - zoom_centre[0])
    v = translation[1] + rotation * (xs - rot_centre[0]) + zoom * (ys - zoom_centre[1])
    length = float(rng.uniform(*max_length)) * size / _REFERENCE_SIZE
    norm = np.sqrt(u * u + v * v).max()
    gain = length / max(norm, 1e-12)
    field = np.stack([u * gain, v * gain], axis=-1).astype(np.float32)
    params = {
        "flow_max_length": round(length, 4),
        "flow_translation": [round(float(t * gain), 4) for t in translation],
        "flow_rotation": round(float(rotation * gain / size), 6),  # radians per exposure (small angle)
        "flow_rotation_centre": [round(float(c * size), 2) for c in rot_centre],
        "flow_zoom": round(float(zoom * gain / size), 6),  # relative scale change per exposure
        "flow_zoom_centre": [round(float(c * size), 2) for c in zoom_centre],
    }
    return field, params


def motion_flow_blur(img: np.ndarray, field: np.ndarray) -> np.ndarray:
    """Blur ``HxWxC`` float32 with per-pixel linear motion: average of ``img`` along ``p + t field(p)``.

    ``t`` takes ``n = ceil(max |field|) + 1`` evenly spaced values in [-1/2, 1/2] (about one sample per
    px of motion); samples are bilinear with replicated borders.
    """
    h, w = img.shape[:2]
    steps = int(math.ceil(float(np.sqrt((field**2).sum(-1)).max()))) + 1
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    src = np.asarray(img, dtype=np.float32)
    acc = np.zeros_like(src)
    offsets = np.linspace(-0.5, 0.5, steps) if steps > 1 else np.zeros(1)
    for t in offsets:
        map_x = xs + np.float32(t) * field[..., 0]
        map_y = ys + np.float32(t) * field[..., 1]
        acc += cv2.remap(src, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).reshape(src.shape)
    return acc / np.float32(len(offsets))


@lru_cache(maxsize=8)
def default_face_mask(shape: tuple[int, int]) -> np.ndarray:
    """Soft ellipse for an aligned face crop (used when no ``face_mask`` is given), ``HxW`` in [0, 1].

    Centre (0.5 W, 0.52 H), semi-axes (0.36 W, 0.46 H): the cheeks-to-chin and brow-to-hairline span of
    an aligned CelebA-HQ-style crop. 1 inside 85 % of the radius, smoothstep down to exactly 0 at the rim.
    Cached per shape: the returned array is read-only.
    """
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    r = np.sqrt(((xs + 0.5 - 0.5 * w) / (0.36 * w)) ** 2 + ((ys + 0.5 - 0.52 * h) / (0.46 * h)) ** 2)
    t = np.clip((1.0 - r) / 0.15, 0.0, 1.0)
    mask = (t * t * (3 - 2 * t)).astype(np.float32)
    mask.setflags(write=False)
    return mask


def blur_foreground(
    img: np.ndarray,
    mask: np.ndarray,
    rng: np.random.Generator | int | None,
    max_length: tuple[float, float] = DEFAULT_MAX_LENGTH,
) -> tuple[np.ndarray, dict]:
    """Motion-flow blur of the masked foreground: ``M * blur(I) + (1 - M) * I`` (Yun & Park §4.1).

    ``img`` HxWxC float32, ``mask`` HxW in [0, 1]. Returns the blurred image and the flow parameters.
    """
    field, params = random_motion_field(img.shape[:2], rng, max_length)
    m = np.asarray(mask, dtype=np.float32)[..., None]
    blurred = motion_flow_blur(img, field)
    out = np.where(m > 0, m * blurred + (1 - m) * img, img).astype(np.float32)
    return out, params
