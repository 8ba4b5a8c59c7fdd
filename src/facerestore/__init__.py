"""facerestore: face restoration toolkit implementing five papers (see README).

The public API loads on first use (PEP 562), so ``import facerestore`` stays light::

    from facerestore import FaceRestorer, build_method, list_methods, build_model, list_models, read_image, write_image
"""
from facerestore.lazy import lazy_exports
from facerestore.version import __version__

_EXPORTS = {
    "FaceRestorer": "restore.restorer", "build_method": "methods", "list_methods": "methods",
    "build_model": "models", "list_models": "models", "read_image": "io", "write_image": "io",
}
__all__ = ["__version__", *sorted(_EXPORTS)]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
