"""Identity-folder data sets (VGGFace2, CASIA-WebFace: ``root/ID/*.jpg``) as GFRNet guide/target
pairs (Li et al. 2018 §4.1): per identity, a frontal eyes-open guide and up to four targets."""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from facerestore.data.base import DATA_SOURCES, FaceRecord
from facerestore.data.formats import layout_landmarks, list_images
from facerestore.data.photo_faces import PhotoFaces
from facerestore.errors import ConfigError
from facerestore.face import labels as L
from facerestore.face.align import template_68
from facerestore.face.detect import FaceDetector


def _eye_opening(points: np.ndarray) -> float:
    """Mean eye aspect ratio of both eyes (Soukupova & Cech 2016): lid gaps over eye width."""
    ratios = []
    for eye in (L.RIGHT_EYE, L.LEFT_EYE):
        p = points[list(eye)]
        gaps = np.hypot(*(p[1] - p[5])) + np.hypot(*(p[2] - p[4]))
        ratios.append(gaps / (2.0 * np.hypot(*(p[0] - p[3]))))
    return float(np.mean(ratios))


def _pose_ratios(points: np.ndarray) -> tuple[float, float]:
    """(yaw ratio, pitch ratio) measured in the face's own frame (roll removed): the nose tip's share
    of the jaw width along the eye axis, and its depth between the eye line and the mouth corners."""
    eye_right, eye_left = points[list(L.RIGHT_EYE)].mean(axis=0), points[list(L.LEFT_EYE)].mean(axis=0)
    across = (eye_left - eye_right) / max(np.hypot(*(eye_left - eye_right)), 1e-9)
    down = np.array([-across[1], across[0]])
    nose, eye_mid = points[30], (eye_right + eye_left) / 2.0
    yaw = float(np.dot(nose - points[0], across) / max(np.dot(points[16] - points[0], across), 1e-9))
    mouth_mid = (points[48] + points[54]) / 2.0
    pitch = float(np.dot(nose - eye_mid, down) / max(np.dot(mouth_mid - eye_mid, down), 1e-9))
    return yaw, pitch


_TEMPLATE = template_68(1)
_TEMPLATE_EAR = _eye_opening(_TEMPLATE)
_TEMPLATE_PITCH = _pose_ratios(_TEMPLATE)[1]


def guide_score(landmarks: np.ndarray) -> float:
    """How well a face suits a GFRNet guide ("frontal with eyes open", Li et al. §3, §4.1, where the
    guides were picked by hand); higher is better, 1 for the canonical frontal template.

    ``min(EAR / EAR_template, 1) - 2 |yaw ratio - 0.5| - |pitch ratio / pitch_template - 1|`` from the
    68 landmarks: eye openness by the eye aspect ratio, yaw by where the nose tip sits between the
    jaw ends (0.5 when frontal), pitch by the nose tip between the eyes and the mouth relative to the
    frontal template. All ratios are scale and roll invariant.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    yaw, pitch = _pose_ratios(points)
    openness = min(_eye_opening(points) / _TEMPLATE_EAR, 1.0)
    return openness - 2.0 * abs(yaw - 0.5) - abs(pitch / _TEMPLATE_PITCH - 1.0)


@DATA_SOURCES.register("identity")
class IdentityPairs(PhotoFaces, cache_prefix="identity_"):
    """GFRNet pairs from ``root/<identity>/*``: each identity folder (at least two images) gives its
    best :func:`guide_score` image as the guide and up to ``max_targets`` of the others (file-name
    order) as targets (GFRNet §4.1: at most five images per identity, one the guide). Images are
    square face crops (e.g. WebFace's 250x250, or ``facerestore prepare`` output) resized to
    ``size`` (256 in GFRNet); their landmarks come from layout files or are detected once and cached
    (``cache_dir``, default ``root/.facerestore_cache``) - all at construction, as the guide choice
    needs them. GFRNet keeps the photos unaligned; aligned crops make an easier task.
    Default keys: GFRNet's inputs. Other arguments: :class:`PhotoFaces`.
    """

    provides = frozenset({"identity", "guide", "guide_landmarks"})

    def __init__(self, root: str | os.PathLike, size: int = 256, preset: str | None = "gfrnet_general",
                 keys: Iterable[str] = ("lr_up", "hr", "guide", "landmarks", "guide_landmarks"), seed: int = 0,
                 flip: float = 0.0, preset_options: Mapping | None = None, *, max_targets: int = 4,
                 detector: FaceDetector | None = None, cache_dir: str | os.PathLike | None = None):
        super().__init__(root, size, preset, keys, seed, flip, preset_options, detector=detector, cache_dir=cache_dir)
        if max_targets < 1:
            raise ConfigError(f"max_targets must be >= 1, got {max_targets}")
        if not self.root.is_dir():
            raise ConfigError("identity root folder not found", self.root)
        self.landmarks: dict[Path, np.ndarray] = {}
        self.pairs: list[tuple[int, Path, Path]] = []
        folders = sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
        for identity, folder in enumerate(folders):
            files = list_images(folder)
            if len(files) < 2:
                continue
            for path in files:
                self.landmarks[path] = self._landmarks(path)
            guide = max(files, key=lambda p: guide_score(self.landmarks[p]))
            targets = [p for p in files if p != guide][:max_targets]
            self.pairs.extend((identity, target, guide) for target in targets)
        if not self.pairs:
            raise ConfigError("no identity folder with two or more face images", self.root)

    def _landmarks(self, path: Path) -> np.ndarray:
        face, side = self.load_aligned(path)
        return self.landmarks_for(path, face, layout_landmarks(path), side)

    def __len__(self) -> int:
        return len(self.pairs)

    def record(self, index: int) -> FaceRecord:
        identity, target, guide = self.pairs[index]
        return FaceRecord(self.load_aligned(target)[0], self.landmarks[target], None, identity,
                          self.load_aligned(guide)[0], self.landmarks[guide])
