"""Alignment (templates, Umeyama similarity, crops, inverse transforms) and paste-back."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data
from skimage.transform import SimilarityTransform

from facerestore.face.align import (
    align_face, estimate_similarity, five_points, invert_affine, template_5, template_68, transform_points, warp,
)
from facerestore.face.dlib_models import SHAPE_PREDICTOR_68, dlib_model_path
from facerestore.face.paste import paste_back, paste_mask

# FFHQ 5-point template at 512 px (eyes, nose, mouth corners) as published with GFPGAN/facexlib.
FFHQ_5 = np.array([[192.98138, 239.94708], [318.90277, 240.1936], [256.63416, 314.01935],
                   [201.26117, 371.41043], [313.08905, 371.15118]])


def _dlib_mean_shape() -> np.ndarray:
    """The initial shape at the start of dlib's 68-point model file (dlib serialization: a
    version int, then a 136x1 float matrix; ints are a length byte (sign in bit 7) and
    little-endian bytes, floats a mantissa int and an exponent int)."""
    raw = dlib_model_path(SHAPE_PREDICTOR_68).read_bytes()[:2048]
    pos = 0

    def read_int() -> int:
        nonlocal pos
        head = raw[pos]
        value = int.from_bytes(raw[pos + 1:pos + 1 + (head & 0x0F)], "little")
        pos += 1 + (head & 0x0F)
        return -value if head & 0x80 else value

    assert read_int() == 1
    rows, cols = -read_int(), -read_int()
    values = [read_int() * 2.0 ** read_int() for _ in range(rows * cols)]
    return np.array(values).reshape(68, 2)


def _blob_image(center: tuple[float, float], shape=(200, 240), sigma=2.5) -> np.ndarray:
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    return np.exp(-((xx - center[0]) ** 2 + (yy - center[1]) ** 2) / (2 * sigma ** 2)).astype(np.float32)


def _centroid(image: np.ndarray) -> np.ndarray:
    weights = np.clip(image, 0, None)
    yy, xx = np.mgrid[:image.shape[0], :image.shape[1]]
    return np.array([(xx * weights).sum(), (yy * weights).sum()]) / weights.sum()


def _similarity(scale: float, degrees: float, tx: float, ty: float) -> np.ndarray:
    t = np.deg2rad(degrees)
    return np.array([[scale * np.cos(t), -scale * np.sin(t), tx], [scale * np.sin(t), scale * np.cos(t), ty]])


def test_template_matches_ffhq_five_points():
    assert np.abs(template_5(512) - FFHQ_5).max() < 7.0
    assert np.linalg.norm(template_5(512)[:2] - FFHQ_5[:2], axis=1).max() < 3.0


def test_template_is_dlibs_mean_shape_up_to_a_similarity():
    mean = _dlib_mean_shape()
    for size in (128, 256, 512):
        tform = SimilarityTransform.from_estimate(mean, template_68(size))
        residual = np.abs(tform(mean) - template_68(size)).max()
        assert residual < 1e-3 * size  # 4-decimal rounding and symmetrisation only


def test_five_points_are_eye_centres_nose_tip_and_mouth_corners(rng):
    pts = rng.random((68, 2)) * 100
    five = five_points(pts)
    np.testing.assert_allclose(five[0], pts[36:42].mean(axis=0))
    np.testing.assert_allclose(five[1], pts[42:48].mean(axis=0))
    np.testing.assert_allclose(five[2:], pts[[30, 48, 54]])


def test_estimate_similarity_matches_skimage_umeyama(rng):
    src = rng.random((68, 2)) * 300
    dst = transform_points(src, _similarity(0.7, 25.0, 40.0, -12.0)) + rng.normal(0, 2.0, (68, 2))
    expected = SimilarityTransform.from_estimate(src, dst)
    np.testing.assert_allclose(estimate_similarity(src, dst), expected.params[:2], atol=1e-9)
    exact = _similarity(1.8, -40.0, 5.0, 7.0)
    np.testing.assert_allclose(estimate_similarity(src, transform_points(src, exact)), exact, atol=1e-9)
    mirrored = src * [-1, 1]
    assert np.linalg.det(estimate_similarity(src, mirrored)[:, :2]) > 0  # never a reflection


@pytest.mark.parametrize("scale", [3.0, 1.0, 0.3])
def test_crop_puts_pixels_where_the_matrix_maps_points(scale):
    side = int(np.ceil(128 / scale)) + 40  # the photo holds the whole crop
    crop_to_photo = _similarity(1.0 / scale, 12.0, 0.0, 0.0)
    crop_to_photo[:, 2] = side / 2 - crop_to_photo[:, :2] @ [63.5, 63.5]
    landmarks = transform_points(template_68(128), crop_to_photo)
    blob = transform_points(np.array([[60.3, 70.6]]), crop_to_photo)[0]
    image = _blob_image(blob, (side, side), sigma=3.0 / scale)  # about 3 crop pixels wide
    crop, matrix = align_face(image, landmarks, 128)
    assert crop.shape == (128, 128) and crop.dtype == np.float32
    expected = transform_points(np.array([blob]), matrix)[0]
    np.testing.assert_allclose(expected, [60.3, 70.6], atol=1e-6)
    assert np.abs(_centroid(crop) - expected).max() < 0.1


def test_round_trip_of_points_and_upscaled_inverse(rng):
    landmarks = template_68(512) * 0.3 + [40.2, 33.7] + rng.normal(0, 1.5, (68, 2))
    _, matrix = align_face(np.zeros((300, 300, 3), np.uint8), landmarks, 256)
    back = transform_points(transform_points(landmarks, matrix), invert_affine(matrix))
    assert np.abs(back - landmarks).max() < 0.5
    # Crop pixel -> pixel of the photo resized x2 (cv2.resize pixel centres): check with a blob.
    blob = (120.4, 96.8)
    big = cv2.resize(_blob_image(blob, (300, 300), 4.0), (600, 600), interpolation=cv2.INTER_CUBIC)
    in_crop = transform_points(np.array([blob]), matrix)
    np.testing.assert_allclose(transform_points(in_crop, invert_affine(matrix, upscale=2.0))[0], _centroid(big),
                               atol=0.1)
    # A face 4x the crop's size maps to the same place.
    in_face = (in_crop + 0.5) * 4 - 0.5
    np.testing.assert_allclose(transform_points(in_face, invert_affine(matrix, 2.0, face_scale=4.0))[0],
                               _centroid(big), atol=0.1)


def test_alignment_keeps_alpha_and_16_bit():
    rgb = data.astronaut()
    alpha = np.tile(np.linspace(0, 65535, 512, dtype=np.uint16), (512, 1))
    rgba16 = np.dstack([rgb.astype(np.uint16) * 257, alpha])
    landmarks = template_68(512) * 0.2 + [170, 60]
    crop, matrix = align_face(rgba16, landmarks, 128)
    assert crop.shape == (128, 128, 4) and crop.dtype == np.uint16
    np.testing.assert_array_equal(crop[..., 3], warp(alpha, matrix, 128))
    five_channel = np.dstack([rgba16, alpha])
    np.testing.assert_array_equal(warp(five_channel, matrix, 128)[..., 4], crop[..., 3])


def _photo_and_landmarks():
    photo = cv2.GaussianBlur(data.astronaut().astype(np.float32) / 255.0, (0, 0), 1.0)
    landmarks = transform_points(template_68(512) * 0.25, _similarity(1.0, -10.0, 150.0, 70.0))
    return photo, landmarks


def test_pasting_the_unmodified_crop_restores_the_photo():
    photo, landmarks = _photo_and_landmarks()
    crop, matrix = align_face(photo, landmarks, 256)
    pasted = paste_back(photo, crop, invert_affine(matrix))
    assert pasted.dtype == np.float32 and pasted.shape == photo.shape
    # Inside the face: only interpolation error (bicubic there and back).
    inner = cv2.warpAffine(np.ones((256, 256), np.float32), invert_affine(matrix), (512, 512)) > 0.999
    inner = cv2.erode(inner.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert np.abs(pasted - photo)[inner].mean() < 0.01
    # Far outside: bit-identical.
    footprint = cv2.warpAffine(np.ones((256, 256), np.float32), invert_affine(matrix), (512, 512)) > 0
    outside = ~cv2.dilate(footprint.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    assert np.array_equal(pasted[outside], photo[outside])


def test_paste_into_upscaled_background_with_alpha():
    photo, landmarks = _photo_and_landmarks()
    crop, matrix = align_face(photo, landmarks, 128)
    face = cv2.resize(crop, (512, 512), interpolation=cv2.INTER_CUBIC)  # stand-in for a x4 restorer
    background = cv2.resize(photo, (1024, 1024), interpolation=cv2.INTER_CUBIC)
    alpha = np.random.default_rng(3).random((1024, 1024, 1)).astype(np.float32)
    rgba = np.concatenate([background, alpha], axis=2)
    pasted = paste_back(rgba, face, invert_affine(matrix, upscale=2.0, face_scale=4.0))
    assert np.array_equal(pasted[..., 3], rgba[..., 3])
    weight = cv2.warpAffine(paste_mask((512, 512)), invert_affine(matrix, 2.0, 4.0), (1024, 1024))
    inner = weight > 0.999
    assert inner.sum() > 20000
    assert np.abs(pasted[..., :3] - background)[inner].mean() < 0.02


def test_feathered_mask_has_no_seam():
    weight = paste_mask((256, 256))
    assert weight.min() == 0.0 and weight.max() == 1.0
    assert weight[:2].max() == 0.0 and weight[:, -2:].max() == 0.0
    assert weight[64:192, 64:192].min() == 1.0
    # smoothstep over 25.6 px: steepest step 1.5 / 25.6 per pixel.
    steps = max(np.abs(np.diff(weight, axis=0)).max(), np.abs(np.diff(weight, axis=1)).max())
    assert steps < 1.6 / 25.6


def test_hull_mask_stays_inside_the_face(rng):
    landmarks = template_68(256)
    weight = paste_mask((256, 256), "hull", landmarks)
    from facerestore.face.priors import face_mask

    region = face_mask(landmarks, 256, forehead=True)
    assert np.all(weight[region == 0] == 0)
    assert weight[int(landmarks[30, 1]), int(landmarks[30, 0])] == 1.0
    with pytest.raises(ValueError):
        paste_mask((256, 256), "hull")
    custom = rng.random((256, 256)).astype(np.float32)
    np.testing.assert_array_equal(paste_mask((256, 256), custom), custom)
