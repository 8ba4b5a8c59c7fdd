"""Real photos for the data sets: read as RGB float, resize or crop a face square, and find 68
landmarks once (detection on the square, cached on disk) when a data set ships none."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from facerestore.data.formats import read_landmarks, write_landmarks
from facerestore.degrade import imresize
from facerestore.errors import ImageReadError
from facerestore.face.align import warp
from facerestore.face.detect import FaceDetector, detect_faces, require_face
from facerestore.io import read_image, split_alpha, to_float

CACHE_DIR = ".facerestore_cache"  # default landmark cache folder, inside a data set's root


def load_rgb(path: str | os.PathLike) -> np.ndarray:
    """An image file as HxWx3 float32 RGB in [0, 1] (alpha dropped, gray repeated)."""
    pixels, _ = read_image(path)
    colour, _ = split_alpha(to_float(pixels))
    return np.repeat(colour, 3, axis=2) if colour.shape[2] == 1 else colour


def rescale_points(points: np.ndarray, factor_xy: tuple[float, float]) -> np.ndarray:
    """Points of an image resized by ``(fx, fy)``, pixel-centre convention (``p' = (p + 0.5) f - 0.5``)."""
    return (np.asarray(points, dtype=np.float64) + 0.5) * np.asarray(factor_xy) - 0.5


def resize_face(image: np.ndarray, size: int, path: str | os.PathLike) -> np.ndarray:
    """A square face image resized to ``size`` (MATLAB bicubic, clipped to [0, 1]); refuses a
    non-square image (an aligned face is square) naming ``path``."""
    height, width = image.shape[:2]
    if height != width:
        raise ImageReadError(f"an aligned face must be square, this one is {width}x{height} "
                             "(crop it with 'facerestore prepare')", path)
    if height == size:
        return image
    return np.clip(imresize(image, size=(size, size)), 0.0, 1.0)


def square_from_points(eyes: np.ndarray, mouth: np.ndarray) -> tuple[np.ndarray, float]:
    """Axis-aligned face square ``(centre, side)`` from the two eye centres and the mouth centre.

    The extent rule of the FFHQ crop (Karras et al. 2019), the framing of our alignment template:
    side ``2 max(2 |eye_to_eye|, 1.8 |eye_to_mouth|)``, centre ``0.1 eye_to_mouth`` below the eyes'
    midpoint; not rotated, so the face keeps its in-plane pose (a "square crop around the landmarks",
    the DIC protocol that FishFSRNet §IV-A and UFVNet §IV-A follow for CelebA and Helen).
    """
    eyes = np.asarray(eyes, dtype=np.float64)
    eye_mid = eyes.mean(axis=0)
    eye_to_eye = eyes[1] - eyes[0]
    eye_to_mouth = np.asarray(mouth, dtype=np.float64) - eye_mid
    side = 2.0 * max(2.0 * float(np.hypot(*eye_to_eye)), 1.8 * float(np.hypot(*eye_to_mouth)))
    return eye_mid + 0.1 * eye_to_mouth, side


def crop_square(image: np.ndarray, centre: np.ndarray, side: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Crop the square of ``side`` pixels around ``centre`` and resize it to ``size`` (area-filtered
    when shrinking, mirrored outside the photo). Returns ``(crop, 2x3 photo-to-crop matrix)``."""
    factor = size / side
    corner = np.asarray(centre, dtype=np.float64) - side / 2.0
    offset = -corner * factor - 0.5  # the square's edge lands on the crop's edge, -0.5
    matrix = np.array([[factor, 0.0, offset[0]], [0.0, factor, offset[1]]])
    return np.clip(warp(image, matrix, size), 0.0, 1.0), matrix


class LandmarkCache:
    """68 landmarks of face squares that came without any: detected once (the face nearest the
    centre) and stored as ``cache_dir/KEY.npy`` (``cache_dir`` defaults to ``root/.facerestore_cache``);
    later calls, runs and workers read the file.

    ``detector`` None uses the default HOG detector (built per process, so the cache pickles to
    DataLoader workers). A square with no face raises :class:`NoFaceError` naming its file.
    """

    def __init__(self, root: str | os.PathLike, cache_dir: str | os.PathLike | None = None,
                 detector: FaceDetector | None = None):
        self.cache_dir = Path(root) / CACHE_DIR if cache_dir is None else Path(cache_dir)
        self.detector = detector

    def path(self, key: str) -> Path:
        return self.cache_dir / f"{key}.npy"

    def get(self, key: str, image: np.ndarray, source: str | os.PathLike) -> np.ndarray:
        cached = self.path(key)
        if cached.is_file():
            return read_landmarks(cached)
        face = require_face(detect_faces(image, self.detector, only_center=True), source)[0]
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_landmarks(cached, face.landmarks)
        return face.landmarks
