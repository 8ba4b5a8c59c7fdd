"""Synthetic face world: determinism, output contract, landmark/parsing agreement, pose geometry, pairs."""
from __future__ import annotations

import math

import numpy as np
import pytest

from facerestore.errors import ConfigError
from facerestore.face import labels as L
from facerestore.synth import Expression, Pose, identity_of, render_face, render_pair

GROUPS = {  # landmark group -> parsing labels that must contain (or touch) every point of it
    "right_brow": (L.RIGHT_BROW, {L.RIGHT_BROW_LABEL}),
    "left_brow": (L.LEFT_BROW, {L.LEFT_BROW_LABEL}),
    "right_eye": (L.RIGHT_EYE, {L.RIGHT_EYE_LABEL}),
    "left_eye": (L.LEFT_EYE, {L.LEFT_EYE_LABEL}),
    "nose": (L.NOSE, {L.NOSE_LABEL}),
    "mouth": (L.MOUTH, {L.UPPER_LIP, L.INNER_MOUTH_LABEL, L.LOWER_LIP}),
}


def _distance_to_region(points: np.ndarray, parsing: np.ndarray, labels: set[int]) -> np.ndarray:
    """Euclidean distance from each (x, y) point to the nearest pixel centre carrying one of ``labels``."""
    ys, xs = np.nonzero(np.isin(parsing, list(labels)))
    if len(xs) == 0:
        return np.full(len(points), np.inf)
    d2 = (points[:, :1] - xs[None]) ** 2 + (points[:, 1:] - ys[None]) ** 2
    return np.sqrt(d2.min(1))


def test_same_seed_and_index_render_identical_faces():
    a, b = render_face(3, 7), render_face(3, 7)
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.landmarks, b.landmarks)
    assert np.array_equal(a.parsing, b.parsing)
    assert a.identity == b.identity and a.params == b.params


def test_different_seeds_or_indices_render_different_faces():
    base = render_face(3, 7)
    for other in (render_face(4, 7), render_face(3, 8)):
        assert np.abs(other.image - base.image).mean() > 0.02
        assert np.abs(other.landmarks - base.landmarks).max() > 1.0


@pytest.mark.parametrize("size", [128, 256, 512])
def test_output_shapes_dtypes_and_ranges(size):
    face = render_face(0, 1, size)
    assert face.image.shape == (size, size, 3) and face.image.dtype == np.float32
    assert 0.0 <= face.image.min() and face.image.max() <= 1.0
    assert face.landmarks.shape == (68, 2) and face.landmarks.dtype == np.float32
    assert face.parsing.shape == (size, size) and face.parsing.dtype == np.int64
    assert set(np.unique(face.parsing)) <= set(range(L.NUM_PARSING_LABELS))
    assert {L.SKIN, L.HAIR, L.NOSE_LABEL, L.UPPER_LIP, L.LOWER_LIP} <= set(np.unique(face.parsing))
    assert np.all((face.landmarks >= 0) & (face.landmarks <= size - 1))


def test_landmarks_scale_with_output_size():
    small, large = render_face(5, 2, 128), render_face(5, 2, 256)
    # pixel centres at integers: x_256 = 2 * x_128 + 0.5
    np.testing.assert_allclose(large.landmarks, 2 * small.landmarks + 0.5, atol=1e-3)


def test_unsupported_size_is_a_config_error():
    with pytest.raises(ConfigError, match="size"):
        render_face(0, 0, 100)


@pytest.mark.parametrize("index", range(24))
def test_every_component_landmark_lies_in_its_parsing_region(index):
    face = render_face(11, index)
    for name, (indices, labels) in GROUPS.items():
        dist = _distance_to_region(face.landmarks[list(indices)].astype(np.float64), face.parsing, labels)
        assert dist.max() <= 1.0, f"{name}: landmark {int(np.argmax(dist))} is {dist.max():.2f} px from its region"


def test_closed_eyes_keep_an_eye_region():
    face = render_face(2, 5, expression=Expression(eye_open=0.1))
    for indices, labels in (GROUPS["right_eye"], GROUPS["left_eye"]):
        assert _distance_to_region(face.landmarks[list(indices)].astype(np.float64), face.parsing, labels).max() <= 1.0


def _nose_offset(pose: Pose) -> tuple[float, float]:
    lm = render_face(9, 4, 256, pose=pose).landmarks.astype(np.float64)
    eye_mid = lm[36:48].mean(0)
    return lm[30, 0] - eye_mid[0], lm[30, 1] - eye_mid[1]


def test_yaw_moves_the_nose_tip_sideways_relative_to_the_eyes():
    offsets = [_nose_offset(Pose(yaw=y))[0] for y in (-30, -15, 0, 15, 30)]
    assert abs(offsets[2]) < 1.0
    assert np.all(np.diff(offsets) > 2.0)           # monotonic, towards image right for positive yaw
    assert offsets[0] == pytest.approx(-offsets[-1], rel=0.15)  # symmetric face


def test_pitch_moves_the_nose_tip_vertically_relative_to_the_eyes():
    down, level, up = (_nose_offset(Pose(pitch=p))[1] for p in (12, 0, -12))
    assert down > level + 2.0 > up + 4.0


def test_yaw_changes_geometry_beyond_a_2d_rotation():
    """Projecting the 3-D template foreshortens the far side, so the two eye widths differ."""
    lm = render_face(9, 4, 256, pose=Pose(yaw=30)).landmarks.astype(np.float64)
    right_w, left_w = np.linalg.norm(lm[39] - lm[36]), np.linalg.norm(lm[45] - lm[42])
    assert abs(right_w - left_w) / max(right_w, left_w) > 0.08


def test_roll_rotates_the_eye_line_by_the_roll_angle():
    for roll in (-18.0, 0.0, 12.0):
        lm = render_face(9, 4, 256, pose=Pose(roll=roll)).landmarks.astype(np.float64)
        d = lm[42:48].mean(0) - lm[36:42].mean(0)
        assert math.degrees(math.atan2(d[1], d[0])) == pytest.approx(roll, abs=1.0)


def test_frontal_faces_are_framed_like_aligned_crops():
    for index in range(10):
        lm = render_face(21, index, 256, pose=Pose()).landmarks.astype(np.float64)
        eye_mid = (lm[36:42].mean(0) + lm[42:48].mean(0)) / 2
        assert 0.44 * 256 < eye_mid[0] < 0.56 * 256
        assert 0.34 * 256 < eye_mid[1] < 0.46 * 256
        assert 0.5 * 256 < lm[16, 0] - lm[0, 0] < 0.7 * 256


def test_pairs_share_identity_and_differ_in_photo():
    guide, target = render_pair(5, 42)
    assert guide.identity == target.identity == 42
    assert guide.params["identity"] == target.params["identity"]
    assert guide.params["scene"] != target.params["scene"]
    pose = guide.params["scene"]["pose"]
    assert max(abs(pose["yaw"]), abs(pose["pitch"]), abs(pose["roll"])) <= 5.0
    assert guide.params["scene"]["expression"]["eye_open"] >= 0.85
    assert np.abs(guide.image - target.image).mean() > 0.01
    # the same identity rendered through render_face carries the same identity parameters
    assert render_face(5, 0, identity=42).params["identity"] == guide.params["identity"]
    assert render_pair(5, 42, pair_index=1)[0].params["scene"] != guide.params["scene"]


def test_identity_of_is_deterministic_and_in_range():
    ids = [identity_of(1, i, 10) for i in range(400)]
    assert ids == [identity_of(1, i, 10) for i in range(400)]
    assert set(ids) == set(range(10))
    assert ids != [identity_of(2, i, 10) for i in range(400)]


def test_skin_carries_fine_detail_that_blurring_removes():
    """Pores/freckles: the skin's high-pass energy at 256 px must exceed what a 1-px Gaussian leaves."""
    from scipy import ndimage

    face = render_face(13, 3, 256)
    grey = face.image.mean(2).astype(np.float64)
    skin = ndimage.binary_erosion(face.parsing == L.SKIN, iterations=3)
    highpass = grey - ndimage.gaussian_filter(grey, 1.0)
    blurred = ndimage.gaussian_filter(grey, 1.0)
    residual = blurred - ndimage.gaussian_filter(blurred, 1.0)
    assert highpass[skin].std() > 0.004
    assert highpass[skin].std() > 2.0 * residual[skin].std()
