"""Faces: detection and 68 landmarks (:mod:`.detect`), alignment (:mod:`.align`), paste-back (:mod:`.paste`),
priors (:mod:`.priors`: masks, parsing maps, heatmaps) and the label tables (:mod:`.labels`).

Names load on first use (PEP 562): dlib is imported only by what detects.
"""
from __future__ import annotations

from facerestore.lazy import lazy_exports

_EXPORTS = {
    "DetectedFace": "detect", "DlibDetector": "detect", "FaceDetector": "detect", "detect_faces": "detect",
    "require_face": "detect", "align_face": "align", "native_size": "align", "template_68": "align",
    "paste_back": "paste", "component_masks": "priors", "face_mask": "priors", "fish_parsing": "priors",
    "landmark_heatmaps": "priors", "parsing_map": "priors", "NUM_LANDMARKS": "labels",
    "NUM_PARSING_LABELS": "labels",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
