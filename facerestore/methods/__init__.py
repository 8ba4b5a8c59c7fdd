"""Methods: one per paper (plus the baselines), each binding its networks to the sample keys it reads.

Importing this package registers every method (explicit imports, no filename magic).
"""
from facerestore.methods import baselines, fishfsrnet, gfrnet, song, ufvnet, yun_park  # noqa: F401
from facerestore.methods.base import (
    METHODS,
    Method,
    build_method,
    check_method_options,
    list_methods,
    register_method,
)

__all__ = ["METHODS", "Method", "build_method", "check_method_options", "list_methods", "register_method"]
