"""Every data source a recipe's data spec can name (``source: celeba`` ...): importing this module imports each
source module, so that :data:`DATA_SOURCES` (defined in :mod:`facerestore.data.base`, filled by the
``@DATA_SOURCES.register`` decorator of each class) is complete. ``mix`` is not an entry:
:func:`facerestore.train.datasets.build_source` builds it from its parts."""
from __future__ import annotations

from facerestore.data import celeba, ffhq, folder, helen, identity, natural_photos, real_val, synthetic  # noqa: F401
from facerestore.data.base import DATA_SOURCES

__all__ = ["DATA_SOURCES"]
