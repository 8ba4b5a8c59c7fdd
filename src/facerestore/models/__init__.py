"""Networks, one file per architecture, all registered in :mod:`facerestore.models.registry`.

Importing this package imports every network file so that the registry is complete.
"""
from facerestore.models import (  # noqa: F401  (imported for registration)
    baselines,
    discriminators,
    edsr,
    fishfsrnet,
    fsgn,
    gfrnet,
    inception,
    parsingnet,
    sparnet,
    ufvnet,
    vgg_face,
    yun_park,
)
from facerestore.models.registry import MODELS, build_model, count_parameters, list_models, register_model

__all__ = ["MODELS", "build_model", "count_parameters", "list_models", "register_model"]
