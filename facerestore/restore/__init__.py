"""Restoration beyond a single network call: the photo pipeline and Song et al.'s detail enhancement.

Names load on first use (PEP 562), so importing this package stays light.
"""
from __future__ import annotations

import importlib

_LAZY = {
    "DetailEnhancementConfig": "facerestore.restore.detail_enhancement",
    "DetailEnhancementResult": "facerestore.restore.detail_enhancement",
    "enhance_details": "facerestore.restore.detail_enhancement",
    "FaceRestorer": "facerestore.restore.restorer",
    "RestoreResult": "facerestore.restore.restorer",
    "RestoredFace": "facerestore.restore.restorer",
    "cache_dir": "facerestore.restore.weights_cache",
    "resolve_weights": "facerestore.restore.weights_cache",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
