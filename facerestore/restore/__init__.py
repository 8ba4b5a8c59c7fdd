"""Restoration beyond a single network call: the photo pipeline and Song et al.'s detail enhancement.

Names load on first use (PEP 562), so importing this package stays light.
"""
from __future__ import annotations

from facerestore.lazy import lazy_exports

_EXPORTS = {
    "DetailEnhancementConfig": "detail_enhancement", "DetailEnhancementResult": "detail_enhancement",
    "enhance_details": "detail_enhancement", "FaceRestorer": "restorer", "RestoreResult": "restorer",
    "RestoredFace": "restorer", "cache_dir": "weights_cache", "resolve_weights": "weights_cache",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
