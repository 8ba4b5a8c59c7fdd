"""facerestore: face restoration toolkit implementing five papers (see README).

``facerestore.FaceRestorer`` loads the restoration pipeline (torch, dlib) on first use (PEP 562).
"""
from facerestore.lazy import lazy_exports

__version__ = "0.1.0"
__getattr__, __dir__ = lazy_exports(__name__, {"FaceRestorer": "restore.restorer"})
