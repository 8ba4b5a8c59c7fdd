"""The photo pipeline: faces of real photos detected, aligned, restored by a method and pasted back; where its
weights come from (bundled, cached, given).

Names load on first use (PEP 562), so importing this package stays light.
"""
from __future__ import annotations

from facerestore.lazy import lazy_exports

_EXPORTS = {
    "FaceRestorer": "restorer", "RestoreResult": "restorer",
    "RestoredFace": "restorer", "cache_dir": "weights_cache", "resolve_weights": "weights_cache",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
