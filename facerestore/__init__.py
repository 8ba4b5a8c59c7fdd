"""facerestore: face restoration toolkit implementing five papers (see README)."""
__version__ = "0.1.0"


def __getattr__(name: str):
    """``facerestore.FaceRestorer`` loads the restoration pipeline (torch, dlib) on first use (PEP 562)."""
    if name == "FaceRestorer":
        from facerestore.restore.restorer import FaceRestorer

        return FaceRestorer
    raise AttributeError(f"module 'facerestore' has no attribute {name!r}")
