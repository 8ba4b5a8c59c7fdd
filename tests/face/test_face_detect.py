"""Face detection + 68 landmarks on skimage's astronaut photo (a real face), input layouts, the
no-face result, downscaled detection and face selection."""
from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from facerestore.errors import NoFaceError
from facerestore.face import labels as L
from facerestore.face.detect import DetectedFace, DlibDetector, detect_faces, detection_image, require_face


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


@pytest.fixture(scope="module")
def hog() -> DlibDetector:
    return DlibDetector("hog", upsample=1)


@pytest.fixture(scope="module")
def reference(hog, astronaut) -> DetectedFace:
    faces = hog.detect(astronaut)
    assert len(faces) == 1
    return faces[0]


def test_astronaut_has_one_face_with_plausible_landmarks(reference):
    box, pts = reference.box, reference.landmarks
    assert pts.shape == (68, 2) and pts.dtype == np.float64
    # The face is at about x 175-265, y 75-170 in the 512x512 photo.
    assert 160 < box[0] < 195 and 245 < box[2] < 285 and 60 < box[1] < 100 and 150 < box[3] < 190
    eyes_y = pts[list(L.RIGHT_EYE + L.LEFT_EYE), 1].mean()
    nose_y = pts[30, 1]
    mouth_y = pts[list(L.MOUTH), 1].mean()
    assert eyes_y < nose_y < mouth_y
    # Subject's right eye appears on the image's left (300-W convention).
    assert pts[list(L.RIGHT_EYE), 0].mean() < pts[list(L.LEFT_EYE), 0].mean()
    margin = 0.15 * (box[2] - box[0])  # dlib's HOG box stops just above the chin (here by 12 px)
    assert np.all(pts >= box[:2] - margin) and np.all(pts <= box[2:] + margin)


@pytest.mark.parametrize("layout", ["gray", "gray1", "rgba", "uint16", "float"])
def test_input_layouts_give_the_same_face(hog, astronaut, reference, layout):
    gray = (astronaut @ np.array([0.299, 0.587, 0.114])).round().astype(np.uint8)
    image = {
        "gray": gray,
        "gray1": gray[..., None],
        "rgba": np.dstack([astronaut, np.full(astronaut.shape[:2], 77, np.uint8)]),
        "uint16": astronaut.astype(np.uint16) * 257,
        "float": astronaut.astype(np.float32) / 255.0,
    }[layout]
    faces = hog.detect(image)
    assert len(faces) == 1
    tolerance = 3.0 if layout.startswith("gray") else 1e-9  # color -> gray changes HOG features
    assert np.abs(faces[0].landmarks - reference.landmarks).mean() <= tolerance


def test_detection_image_conversions():
    values = np.array([[0, 257, 32896, 65535]], dtype=np.uint16)
    np.testing.assert_array_equal(detection_image(values), [[0, 1, 128, 255]])
    np.testing.assert_array_equal(detection_image(np.array([[0.0, 0.5, 1.2]], np.float32)), [[0, 128, 255]])
    with pytest.raises(ValueError):
        detection_image(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(TypeError):
        detection_image(np.zeros((4, 4), np.int32))


def test_no_face_is_an_empty_list_and_require_face_names_the_file(hog, rng):
    blank = (rng.random((200, 240, 3)) * 40 + 100).astype(np.uint8)
    faces = detect_faces(blank, hog)
    assert faces == []
    with pytest.raises(NoFaceError, match="holiday.jpg") as info:
        require_face(faces, "photos/holiday.jpg")
    assert info.value.exit_code == 3
    assert require_face([1], "x") == [1]


def test_downscaled_detection_maps_boxes_and_points_back(astronaut, reference):
    import cv2

    big = cv2.resize(astronaut, (1024, 1024), interpolation=cv2.INTER_CUBIC)
    faces = DlibDetector("hog", upsample=1, max_side=512).detect(big)
    assert len(faces) == 1
    # Pixel centres: x_big = 2 x + 0.5.
    expected_box = 2 * reference.box + 0.5
    assert np.abs(faces[0].box - expected_box).max() <= 2.0
    expected_points = 2 * reference.landmarks + 0.5
    assert np.abs(faces[0].landmarks - expected_points).mean() < 3.0


def test_cnn_detector_finds_the_face(astronaut, reference):
    faces = DlibDetector("cnn", upsample=0, max_side=384).detect(astronaut)
    assert len(faces) == 1
    centre = (faces[0].box[:2] + faces[0].box[2:]) / 2
    assert np.abs(centre - reference.center).max() < 12
    assert np.abs(faces[0].landmarks - reference.landmarks).mean() < 5.0


class _FixedDetector:
    """A backend returning given boxes: the selection logic is independent of dlib."""

    def __init__(self, boxes):
        self.boxes = boxes

    def detect(self, image):
        return [DetectedFace(np.array(b, float), 1.0 - i / 10, np.zeros((68, 2))) for i, b in enumerate(self.boxes)]


def test_largest_and_center_selection():
    image = np.zeros((100, 200, 3), np.uint8)
    detector = _FixedDetector([(0, 0, 30, 30), (90, 40, 110, 60), (150, 10, 199, 90)])
    assert len(detect_faces(image, detector)) == 3
    assert detect_faces(image, detector, only_largest=True)[0].box.tolist() == [150, 10, 199, 90]
    assert detect_faces(image, detector, only_center=True)[0].box.tolist() == [90, 40, 110, 60]
    assert detect_faces(image, _FixedDetector([]), only_largest=True) == []
    with pytest.raises(ValueError):
        detect_faces(image, detector, only_largest=True, only_center=True)


def test_models_load_lazily_and_once_per_detector(hog, astronaut):
    fresh = DlibDetector("cnn")
    assert "_predictor" not in vars(fresh) and "_box_detector" not in vars(fresh)
    predictor, boxes = hog._predictor, hog._box_detector
    hog.detect(astronaut)
    assert hog._predictor is predictor and hog._box_detector is boxes
