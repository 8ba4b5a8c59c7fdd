"""Paste a restored face back into its (upscaled) photo with a soft mask (the inverse of
:func:`facerestore.face.align.align_face`, as in facexlib's ``FaceRestoreHelper``)."""
from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from facerestore.face.align import transform_points
from facerestore.face.priors import face_mask

FEATHER = 0.1  # default width of the soft edge, as a fraction of the face's shorter side
_MARGIN = 2.0  # face-space pixels kept at weight 0 on the edge (bicubic reaches 2 px outside)


def _soft_mask(support: np.ndarray, feather: float) -> np.ndarray:
    """Weight rising smoothly (smoothstep) from 0 at ``_MARGIN`` px inside the support's edge to 1
    at ``_MARGIN + feather`` px inside; the distance is Euclidean (cv2.distanceTransform)."""
    padded = np.pad(support.astype(np.uint8), 1)  # the array's own edge counts as outside
    distance = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    ramp = np.clip((distance - _MARGIN) / max(feather, 1e-6), 0.0, 1.0)
    return (ramp * ramp * (3.0 - 2.0 * ramp)).astype(np.float32)


def paste_mask(
    face_shape: tuple[int, int],
    mask: Literal["feather", "hull"] | np.ndarray = "feather",
    landmarks: np.ndarray | None = None,
    feather: float | None = None,
) -> np.ndarray:
    """Blending weight in face space, (h, w) float32 in [0, 1]. ``"feather"``: the whole crop with
    a soft edge; ``"hull"``: the face region from ``landmarks`` (face pixel coordinates, forehead
    included) with a soft edge inside it; an array: used as given (e.g. a parsing-derived mask)."""
    height, width = face_shape
    if isinstance(mask, np.ndarray):
        if mask.shape != (height, width):
            raise ValueError(f"mask must have the face's shape {(height, width)}, got {mask.shape}")
        return np.clip(mask, 0.0, 1.0).astype(np.float32)
    width_px = FEATHER * min(height, width) if feather is None else feather
    if mask == "feather":
        return _soft_mask(np.ones((height, width), dtype=bool), width_px)
    if mask == "hull":
        if landmarks is None:
            raise ValueError("mask='hull' needs the face's landmarks")
        return _soft_mask(face_mask(landmarks, (height, width), forehead=True) >= 0.5, width_px)
    raise ValueError(f"mask must be 'feather', 'hull' or an array, got {mask!r}")


def paste_back(
    image_up: np.ndarray,
    face: np.ndarray,
    inverse_matrix: np.ndarray,
    mask: Literal["feather", "hull"] | np.ndarray = "feather",
    landmarks: np.ndarray | None = None,
    feather: float | None = None,
) -> np.ndarray:
    """Blend ``face`` (h, w, C) into ``image_up`` (H, W, C or C+1) through ``inverse_matrix``
    (face pixels to image pixels, see :func:`facerestore.face.align.invert_affine`).

    Works in float32 on values of any consistent scale (0-1, 0-65535...) and returns a new float32
    image; the caller converts back. A fourth (alpha) channel of the image that the face lacks is
    left untouched. The face is warped bicubically, the mask (see :func:`paste_mask`) bilinearly;
    pixels where the warped mask is 0 (all those outside the face's footprint) are exactly unchanged.
    """
    gray = np.ndim(image_up) == 2
    out = np.array(image_up, dtype=np.float32, copy=True)
    if gray:
        out = out[..., None]
    face = np.asarray(face, dtype=np.float32)
    if face.ndim == 2:
        face = face[..., None]
    channels = face.shape[2]
    if out.shape[2] not in (channels, channels + 1):
        raise ValueError(f"face has {channels} channels, image {out.shape[2]}: they must match (plus alpha)")
    weight = paste_mask(face.shape[:2], mask, landmarks, feather)

    # Work only on the face's footprint in the image.
    h, w = face.shape[:2]
    corners = transform_points(np.array([[-0.5, -0.5], [w - 0.5, -0.5], [-0.5, h - 0.5], [w - 0.5, h - 0.5]]),
                               inverse_matrix)
    x0, y0 = np.clip(np.floor(corners.min(axis=0)).astype(int) - 1, 0, [out.shape[1], out.shape[0]])
    x1, y1 = np.clip(np.ceil(corners.max(axis=0)).astype(int) + 2, 0, [out.shape[1], out.shape[0]])
    if x1 > x0 and y1 > y0:
        _blend(out[y0:y1, x0:x1, :channels], face, weight, inverse_matrix, x0, y0)
    return out[..., 0] if gray else out


def _blend(region: np.ndarray, face: np.ndarray, weight: np.ndarray, inverse_matrix: np.ndarray,
           x0: int, y0: int) -> None:
    """In place: ``region += warped_weight * (warped_face - region)`` (exact where weight is 0)."""
    to_roi = np.asarray(inverse_matrix, dtype=np.float64).copy()
    to_roi[:, 2] -= (x0, y0)
    size = (region.shape[1], region.shape[0])
    warped_face = cv2.warpAffine(face, to_roi, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    warped_weight = cv2.warpAffine(weight, to_roi, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    warped_face = warped_face.reshape(region.shape)
    region += warped_weight[..., None] * (warped_face - region)
