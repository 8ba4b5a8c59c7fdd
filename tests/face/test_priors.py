"""Priors from 68 landmarks: component masks, face mask, parsing maps, FishFSRNet's map, heatmaps."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import ConvexHull
from skimage.draw import polygon as draw_polygon
from skimage.transform import downscale_local_mean

from facerestore.face import labels as L
from facerestore.face.align import template_68, transform_points
from facerestore.face.priors import component_masks, face_mask, fish_parsing, landmark_heatmaps, parsing_map

SIZE = 128


@pytest.fixture
def landmarks(rng) -> np.ndarray:
    """A slightly turned, jittered face in a 128 px crop."""
    t = np.deg2rad(8.0)
    rotation = np.array([[np.cos(t), -np.sin(t), 0.0], [np.sin(t), np.cos(t), 0.0]])
    centred = template_68(SIZE) - 63.5
    return transform_points(centred, rotation) + 63.5 + rng.normal(0, 0.4, (68, 2))


def _polygon_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def test_shapes_and_dtypes(landmarks):
    assert component_masks(landmarks, SIZE).shape == (4, SIZE, SIZE)
    assert component_masks(landmarks, (96, 80)).dtype == np.float32
    assert face_mask(landmarks, (96, 80)).shape == (96, 80)
    assert parsing_map(landmarks, SIZE).dtype == np.int64
    fish = fish_parsing(landmarks, 16, scale=1 / 8)
    assert fish.shape == (3, 16, 16) and fish.dtype == np.float32
    heat = landmark_heatmaps(landmarks, (64, 48), scale=0.5)
    assert heat.shape == (68, 64, 48) and heat.dtype == np.float32
    with pytest.raises(ValueError):
        face_mask(landmarks[:5], SIZE)


def test_antialiased_face_mask_covers_the_hull_area(landmarks):
    mask = face_mask(landmarks, SIZE)
    outline = landmarks[list(L.JAW + L.RIGHT_BROW + L.LEFT_BROW)]
    area = ConvexHull(outline).volume  # 2-D "volume" is the area
    assert abs(mask.sum() - area) / area < 0.005
    assert 0.0 < mask[mask > 0].min() < 1.0  # soft edge
    assert mask.max() == 1.0


def test_binary_masks_match_skimage_rasterisation(landmarks):
    mouth = component_masks(landmarks, SIZE, antialias=False)[3]
    assert set(np.unique(mouth)) == {0.0, 1.0}
    outer = landmarks[list(L.OUTER_MOUTH)]
    reference = np.zeros((SIZE, SIZE), bool)
    rr, cc = draw_polygon(outer[:, 1], outer[:, 0], (SIZE, SIZE))
    reference[rr, cc] = True
    iou = (reference & (mouth > 0)).sum() / (reference | (mouth > 0)).sum()
    assert iou > 0.85
    assert abs(mouth.sum() - _polygon_area(outer)) / _polygon_area(outer) < 0.2


def test_eye_and_mouth_masks_cover_their_polygon_areas(landmarks):
    masks = component_masks(landmarks, SIZE)
    eyes = _polygon_area(landmarks[list(L.RIGHT_EYE)]) + _polygon_area(landmarks[list(L.LEFT_EYE)])
    assert abs(masks[1].sum() - eyes) / eyes < 0.03
    mouth = _polygon_area(landmarks[list(L.OUTER_MOUTH)])
    assert abs(masks[3].sum() - mouth) / mouth < 0.03


def test_components_lie_inside_the_face_mask(landmarks):
    masks = component_masks(landmarks, SIZE)
    face = face_mask(landmarks, SIZE)
    assert (masks - face[None]).max() < 0.1
    assert np.all(masks.sum(axis=(1, 2)) > 10)


@pytest.mark.parametrize("channel,indices", [(0, L.RIGHT_BROW + L.LEFT_BROW), (1, L.RIGHT_EYE + L.LEFT_EYE),
                                             (2, L.NOSE), (3, L.OUTER_MOUTH)])
def test_each_component_landmark_is_in_its_mask(landmarks, channel, indices):
    mask = component_masks(landmarks, SIZE)[channel]
    for x, y in landmarks[list(indices)]:
        # inside or on the edge: the pixel holding the point, or one next to it, is covered
        near = mask[int(round(y)) - 1:int(round(y)) + 2, int(round(x)) - 1:int(round(x)) + 2]
        assert near.max() > 0.25


def test_dilation_grows_by_perimeter_times_radius(landmarks):
    plain, grown = component_masks(landmarks, SIZE)[3], component_masks(landmarks, SIZE, dilate=2.0)[3]
    assert np.all(grown >= plain - 1e-6)
    outer = landmarks[list(L.OUTER_MOUTH)]
    perimeter = np.linalg.norm(outer - np.roll(outer, 1, axis=0), axis=1).sum()
    expected = perimeter * 2.0 + np.pi * 2.0 ** 2  # Steiner formula for a convex region
    assert abs((grown.sum() - plain.sum()) - expected) / expected < 0.15


def test_scale_renders_hr_landmarks_at_lr_size(landmarks):
    hr = component_masks(landmarks * 4 + 1.5, SIZE * 4)  # the same face at 4x: p' = (p + 0.5) * 4 - 0.5
    lr = component_masks(landmarks * 4 + 1.5, SIZE, scale=0.25)
    expected = np.stack([downscale_local_mean(m, (4, 4)) for m in hr])
    edges = (expected > 0) & (expected < 1)
    # 16 samples per pixel against 256: a sample row or column of difference at most
    assert np.abs(lr - expected).max() <= 0.125 + 1e-6
    assert np.abs(lr - expected)[edges].mean() < 0.04
    np.testing.assert_allclose(lr, component_masks(landmarks, SIZE), atol=1e-6)


def test_forehead_extends_the_face_upwards(landmarks):
    plain, tall = face_mask(landmarks, SIZE), face_mask(landmarks, SIZE, forehead=True)
    assert np.all(tall >= plain - 1e-6)
    brow_top = int(landmarks[list(L.RIGHT_BROW + L.LEFT_BROW), 1].min())
    assert tall[:brow_top].sum() > 0.2 * plain.sum() and plain[:brow_top - 2].sum() == 0


def test_parsing_map_labels_at_landmark_sites(landmarks):
    parsing = parsing_map(landmarks, SIZE)

    def at(point) -> int:
        return int(parsing[int(round(point[1])), int(round(point[0]))])

    assert at(landmarks[list(L.RIGHT_EYE)].mean(axis=0)) == L.RIGHT_EYE_LABEL
    assert at(landmarks[list(L.LEFT_EYE)].mean(axis=0)) == L.LEFT_EYE_LABEL
    assert at(landmarks[30]) == L.NOSE_LABEL
    assert at((landmarks[19] + landmarks[37]) / 2 * [1, 0] + [0, landmarks[19, 1] + 1]) == L.RIGHT_BROW_LABEL
    assert at(landmarks[51] * 0.7 + landmarks[62] * 0.3) == L.UPPER_LIP
    assert at(landmarks[57] * 0.7 + landmarks[66] * 0.3) == L.LOWER_LIP
    assert at((landmarks[3] + landmarks[31]) / 2) == L.SKIN  # cheek
    assert at((0, 0)) == L.BACKGROUND
    assert L.HAIR not in np.unique(parsing)
    skin_region = face_mask(landmarks, SIZE, forehead=True) >= 0.5
    assert np.all(skin_region[parsing != L.BACKGROUND])


def test_fish_parsing_is_downsampled_skin_indicator(landmarks):
    hr_skin = (parsing_map(landmarks, SIZE) == L.SKIN).astype(np.float32)
    from_labels = fish_parsing(parsing_map(landmarks, SIZE), 16)
    np.testing.assert_allclose(from_labels[0], downscale_local_mean(hr_skin, (8, 8)), atol=1e-6)
    assert np.array_equal(from_labels[0], from_labels[1]) and np.array_equal(from_labels[0], from_labels[2])
    from_points = fish_parsing(landmarks, 16, scale=1 / 8)
    assert np.abs(from_points - from_labels).mean() < 0.03
    assert from_points.min() >= 0.0 and from_points.max() <= 1.0
    nose_lr = (int(round((landmarks[30, 1] + 0.5) / 8 - 0.5)), int(round((landmarks[30, 0] + 0.5) / 8 - 0.5)))
    assert from_points[0][nose_lr] < 0.5  # components count as 0
    assert from_points[0, 0, 0] == 0.0


def test_heatmaps_peak_at_the_points(landmarks):
    heat = landmark_heatmaps(landmarks, SIZE, sigma=1.5)
    peaks = np.stack(np.unravel_index(heat.reshape(68, -1).argmax(axis=1), (SIZE, SIZE)), axis=1)[:, ::-1]
    assert np.abs(peaks - landmarks).max() <= 0.5 + 1e-9
    k, x, y = 40, 70, 60
    expected = np.exp(-((x - landmarks[k, 0]) ** 2 + (y - landmarks[k, 1]) ** 2) / (2 * 1.5 ** 2))
    assert heat[k, y, x] == pytest.approx(expected, rel=1e-5)
    on_grid = landmark_heatmaps(np.round(landmarks), SIZE)
    assert np.allclose(on_grid.max(axis=(1, 2)), 1.0)
