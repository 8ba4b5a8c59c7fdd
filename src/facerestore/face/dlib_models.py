"""Locate dlib's model files shipped by the ``face-recognition-models`` package.

The package's own ``__init__`` imports ``pkg_resources`` (gone from recent setuptools), so it is
never imported: its folder is found with :func:`importlib.util.find_spec`, which does not run it.
``FACERESTORE_DLIB_MODELS`` may point to another folder holding the same file names.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from facerestore.errors import WeightsError

SHAPE_PREDICTOR_68 = "shape_predictor_68_face_landmarks.dat"
SHAPE_PREDICTOR_5 = "shape_predictor_5_face_landmarks.dat"
FACE_RECOGNITION_RESNET = "dlib_face_recognition_resnet_model_v1.dat"
MMOD_DETECTOR = "mmod_human_face_detector.dat"


def dlib_models_dir() -> Path:
    """The folder holding dlib's ``.dat`` model files."""
    override = os.environ.get("FACERESTORE_DLIB_MODELS")
    if override:
        return Path(override)
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(
            "the package 'face-recognition-models' is not installed "
            "(pip install face-recognition-models, or set FACERESTORE_DLIB_MODELS to a folder of dlib .dat files)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def dlib_model_path(filename: str) -> Path:
    """Absolute path of one dlib model file, with a clear error when it is missing."""
    path = dlib_models_dir() / filename
    if not path.is_file():
        raise WeightsError("dlib model file not found (reinstall face-recognition-models)", path)
    return path
