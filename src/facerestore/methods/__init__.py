"""Methods: one per paper (plus the baselines), each binding its networks to the sample keys it reads, with the
objectives that train it (:mod:`.objective`: the protocol, the pixel objective and the registry;
:mod:`.adversarial`: the discriminators' machinery).

Importing this package registers every method (explicit imports, no filename magic).
"""
from facerestore.methods import baselines, fishfsrnet, gfrnet, song, ufvnet, yun_park  # noqa: F401  (registers them)
from facerestore.methods.base import (
    METHODS,
    Method,
    build_method,
    check_method_options,
    list_methods,
    register_method,
)
from facerestore.methods.objective import OBJECTIVES, Objective, build_objective

__all__ = ["METHODS", "OBJECTIVES", "Method", "Objective", "build_method", "build_objective", "check_method_options",
           "list_methods", "register_method"]
