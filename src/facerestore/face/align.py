"""Face alignment: canonical templates, similarity transforms, crops and their inverses.

Coordinates follow :mod:`facerestore.face.labels`: (x, y) pixels with pixel centres at integers.
A 2x3 ``matrix`` maps source pixel coordinates to crop pixel coordinates, the convention of
``cv2.warpAffine``: ``crop_point = matrix[:, :2] @ point + matrix[:, 2]``.
"""
from __future__ import annotations

import math
from typing import Literal

import cv2
import numpy as np

from facerestore.face.labels import LEFT_EYE, NUM_LANDMARKS, RIGHT_EYE

# Canonical frontal 68-point shape, normalised so that (0, 0) and (1, 1) are the corners of the
# crop. Source: the initial (mean) shape stored in dlib's ``shape_predictor_68_face_landmarks.dat``
# (trained on iBUG 300-W), averaged with its mirror image to make it exactly symmetric, then placed
# with the FFHQ crop rule (Karras et al. 2019, ffhq-dataset alignment): crop side
# ``2 * max(2.0 * |eye_to_eye|, 1.8 * |eye_to_mouth|)``, centred ``0.1 * eye_to_mouth`` below the
# eyes' midpoint. Its five points lie within 7 px of the FFHQ 5-point template at 512 px.
_TEMPLATE_68 = np.array([
    (0.2138, 0.4776), (0.2157, 0.5533), (0.2238, 0.6287), (0.2395, 0.7027),  # 0-3
    (0.2690, 0.7714), (0.3143, 0.8310), (0.3697, 0.8807), (0.4308, 0.9206),  # 4-7
    (0.5000, 0.9324), (0.5692, 0.9206), (0.6303, 0.8807), (0.6857, 0.8310),  # 8-11
    (0.7310, 0.7714), (0.7605, 0.7027), (0.7762, 0.6287), (0.7843, 0.5533),  # 12-15
    (0.7862, 0.4776), (0.2683, 0.4222), (0.3038, 0.3902), (0.3539, 0.3807),  # 16-19
    (0.4058, 0.3881), (0.4543, 0.4083), (0.5457, 0.4083), (0.5942, 0.3881),  # 20-23
    (0.6461, 0.3807), (0.6962, 0.3902), (0.7317, 0.4222), (0.5000, 0.4676),  # 24-27
    (0.5000, 0.5164), (0.5000, 0.5647), (0.5000, 0.6145), (0.4419, 0.6481),  # 28-31
    (0.4698, 0.6584), (0.5000, 0.6672), (0.5302, 0.6584), (0.5581, 0.6481),  # 32-35
    (0.3259, 0.4737), (0.3569, 0.4559), (0.3941, 0.4564), (0.4266, 0.4810),  # 36-39
    (0.3918, 0.4872), (0.3548, 0.4867), (0.5734, 0.4810), (0.6059, 0.4564),  # 40-43
    (0.6431, 0.4559), (0.6741, 0.4737), (0.6452, 0.4867), (0.6082, 0.4872),  # 44-47
    (0.3887, 0.7386), (0.4297, 0.7223), (0.4711, 0.7138), (0.5000, 0.7209),  # 48-51
    (0.5289, 0.7138), (0.5703, 0.7223), (0.6113, 0.7386), (0.5716, 0.7786),  # 52-55
    (0.5314, 0.7964), (0.5000, 0.7997), (0.4686, 0.7964), (0.4284, 0.7786),  # 56-59
    (0.4058, 0.7408), (0.4708, 0.7379), (0.5000, 0.7410), (0.5292, 0.7379),  # 60-63
    (0.5942, 0.7408), (0.5298, 0.7597), (0.5000, 0.7633), (0.4702, 0.7597),  # 64-67
], dtype=np.float64)

NOSE_TIP = 30
RIGHT_MOUTH_CORNER = 48
LEFT_MOUTH_CORNER = 54

_INTERPOLATION = {"cubic": cv2.INTER_CUBIC, "linear": cv2.INTER_LINEAR, "nearest": cv2.INTER_NEAREST}
_BORDER = {"reflect": cv2.BORDER_REFLECT_101, "constant": cv2.BORDER_CONSTANT, "replicate": cv2.BORDER_REPLICATE}


def _check_points(points: np.ndarray, count: int | None = None) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or (count is not None and points.shape[0] != count):
        expected = f"({count}, 2)" if count is not None else "(N, 2)"
        raise ValueError(f"points must have shape {expected}, got {points.shape}")
    return points


def five_points(landmarks68: np.ndarray) -> np.ndarray:
    """The 5 alignment points from 68: right-eye centre, left-eye centre, nose tip, right and left
    mouth corners (subject's sides, 300-W order; the usual GFPGAN/ArcFace 5-point order)."""
    pts = _check_points(landmarks68, NUM_LANDMARKS)
    return np.stack([
        pts[list(RIGHT_EYE)].mean(axis=0), pts[list(LEFT_EYE)].mean(axis=0),
        pts[NOSE_TIP], pts[RIGHT_MOUTH_CORNER], pts[LEFT_MOUTH_CORNER],
    ])


def template_68(size: int) -> np.ndarray:
    """Canonical 68 points (float64, (68, 2)) in pixel coordinates of a ``size`` x ``size`` crop."""
    return _TEMPLATE_68 * size - 0.5


def template_5(size: int) -> np.ndarray:
    """The 5 points of :func:`template_68` (see :func:`five_points`) for a ``size`` crop."""
    return five_points(template_68(size))


def estimate_similarity(src_pts: np.ndarray, dst_pts: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation; no reflection) mapping
    ``src_pts`` onto ``dst_pts``, by Umeyama's closed form (Umeyama 1991, Eq. 40-42). Returns 2x3."""
    src = _check_points(src_pts)
    dst = _check_points(dst_pts, src.shape[0])
    if src.shape[0] < 2:
        raise ValueError("a similarity needs at least 2 point pairs")
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / src.shape[0]
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0
    rotation = u @ np.diag(sign) @ vt
    src_var = (src_c ** 2).sum() / src.shape[0]
    if src_var == 0:
        raise ValueError("source points are all identical")
    scale = (singular * sign).sum() / src_var
    linear = scale * rotation
    return np.hstack([linear, (dst_mean - linear @ src_mean)[:, None]])


def native_size(landmarks: np.ndarray, reference: int = 512) -> float:
    """Side, in photo pixels, of the aligned template crop around a face: the template's size over the scale of
    the least-squares similarity from its 68 landmarks to the template (``reference`` px)."""
    matrix = estimate_similarity(landmarks, template_68(reference))
    return reference / math.sqrt(abs(float(np.linalg.det(matrix[:, :2]))))


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to (N, 2) points."""
    pts = _check_points(points)
    matrix = np.asarray(matrix, dtype=np.float64)
    return pts @ matrix[:, :2].T + matrix[:, 2]


def _homogeneous(matrix: np.ndarray) -> np.ndarray:
    return np.vstack([np.asarray(matrix, dtype=np.float64), [0.0, 0.0, 1.0]])


def _rescale(factor: float) -> np.ndarray:
    """3x3 map from pixel coordinates to those of the same image resized by ``factor``
    (pixel-centre convention of cv2.resize: ``x' = (x + 0.5) * factor - 0.5``)."""
    shift = 0.5 * factor - 0.5
    return np.array([[factor, 0.0, shift], [0.0, factor, shift], [0.0, 0.0, 1.0]])


def invert_affine(matrix: np.ndarray, upscale: float = 1.0, face_scale: float = 1.0) -> np.ndarray:
    """Inverse of an alignment matrix, for pasting back (2x3).

    The result maps pixels of the restored face, which is ``face_scale`` times the size of the
    aligned crop (e.g. 8 for a x8 super-resolved crop), to pixels of the background resized by
    ``upscale``; both resizes follow the pixel-centre convention of ``cv2.resize``.
    """
    inverse = np.linalg.inv(_homogeneous(matrix))
    return (_rescale(upscale) @ inverse @ _rescale(1.0 / face_scale))[:2]


def _shrink_first(image: np.ndarray, matrix: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """When the crop shrinks the face, area-resize only the source region first so the warp samples
    at about 1:1 (cv2.warpAffine does not filter when it minifies, which would alias)."""
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale >= 1.0:
        return image, matrix
    corners = np.array([[-0.5, -0.5], [width - 0.5, -0.5], [-0.5, height - 0.5], [width - 0.5, height - 0.5]])
    region = transform_points(corners, invert_affine(matrix))
    limit = [image.shape[1], image.shape[0]]
    x0, y0 = np.clip(np.floor(region.min(axis=0)).astype(int) - 4, 0, limit)
    x1, y1 = np.clip(np.ceil(region.max(axis=0)).astype(int) + 4, 0, limit)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return image, matrix
    crop_w, crop_h = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
    small = cv2.resize(image[y0:y1, x0:x1], (crop_w, crop_h), interpolation=cv2.INTER_AREA)
    to_region = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
    # Anisotropic rescale of the region (width and height round separately).
    fx, fy = crop_w / (x1 - x0), crop_h / (y1 - y0)
    to_small = np.array([[fx, 0.0, 0.5 * fx - 0.5], [0.0, fy, 0.5 * fy - 0.5], [0.0, 0.0, 1.0]])
    small_to_crop = _homogeneous(matrix) @ np.linalg.inv(to_small @ to_region)
    return small.reshape(crop_h, crop_w, *image.shape[2:]), small_to_crop[:2]


def warp(
    image: np.ndarray,
    matrix: np.ndarray,
    size: int | tuple[int, int],
    interpolation: Literal["cubic", "linear", "nearest"] = "cubic",
    border: Literal["reflect", "constant", "replicate"] = "reflect",
) -> np.ndarray:
    """``cv2.warpAffine`` of an HxW or HxWxC image (any channel count, uint8/uint16/float) to
    ``size`` (int or (height, width)), area-prefiltered when the matrix minifies."""
    height, width = (size, size) if isinstance(size, int) else size
    matrix = np.asarray(matrix, dtype=np.float64)
    if interpolation != "nearest":
        image, matrix = _shrink_first(image, matrix, height, width)
    flags = _INTERPOLATION[interpolation]
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels <= 4:
        out = cv2.warpAffine(image, matrix, (width, height), flags=flags, borderMode=_BORDER[border])
        return out.reshape(height, width, *image.shape[2:])
    planes = [cv2.warpAffine(np.ascontiguousarray(image[..., c]), matrix, (width, height), flags=flags,
                             borderMode=_BORDER[border]) for c in range(channels)]
    return np.stack(planes, axis=-1)


def align_face(
    image: np.ndarray,
    landmarks: np.ndarray,
    size: int,
    template: Literal["68", "5"] | np.ndarray = "68",
    interpolation: Literal["cubic", "linear", "nearest"] = "cubic",
    border: Literal["reflect", "constant", "replicate"] = "reflect",
) -> tuple[np.ndarray, np.ndarray]:
    """Crop a face to ``size`` x ``size`` by the least-squares similarity from its 68 landmarks (or
    the 5 derived points) to the canonical template. ``template`` may also be an (N, 2) array of
    target points in crop pixels matching ``landmarks``. Channels (alpha included) and dtype are
    kept. Border pixels outside the photo are mirrored by default (no black wedges for the
    networks). Returns ``(crop, matrix)``, ``matrix`` being the 2x3 source-to-crop transform."""
    landmarks = _check_points(landmarks)
    if isinstance(template, str):
        if template not in ("68", "5"):
            raise ValueError(f"template must be '68', '5' or an array, got {template!r}")
        if template == "5":
            src, dst = five_points(landmarks), template_5(size)
        else:
            src, dst = _check_points(landmarks, NUM_LANDMARKS), template_68(size)
    else:
        src, dst = landmarks, _check_points(template, landmarks.shape[0])
    matrix = estimate_similarity(src, dst)
    return warp(image, matrix, size, interpolation, border), matrix
