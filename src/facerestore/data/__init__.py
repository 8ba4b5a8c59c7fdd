"""Data sets: one sample vocabulary (:mod:`facerestore.data.sample`) for every source - the embedded
synthetic faces, a folder of aligned faces, CelebA, Helen, FFHQ, identity folders (GFRNet pairs), patches of
natural photographs (texture, no faces) and mixes of these - and ``prepare_folder``, the work behind ``facerestore prepare``. See ``docs/data.md``.

Names are imported on first use (PEP 562), so that ``facerestore prepare``'s spawned workers, which
import :mod:`facerestore.data.prepare`, do not pay for importing torch (about 5 s each here).
"""
from __future__ import annotations

from facerestore.lazy import lazy_exports

_EXPORTS = {
    "DATA_SOURCES": "sources", "FaceDataset": "base", "FaceRecord": "base", "CelebAFaces": "celeba",
    "FFHQFaces": "ffhq", "FolderFaces": "folder", "AnnotationError": "formats", "HelenFaces": "helen",
    "IdentityPairs": "identity", "guide_score": "identity", "MixedSources": "mix", "PhotoPatches": "natural_photos",
    "PhotoFaces": "photo_faces", "prepare_folder": "prepare", "RealValFaces": "real_val", "SAMPLE_KEYS": "sample",
    "build_sample": "sample", "collate_samples": "sample", "sample_rng": "sample", "SyntheticFaces": "synthetic",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
