"""facerestore's one data folder: ``$FACERESTORE_HOME``, default ``~/.cache/facerestore``. Weights
(``restore.weights_cache``), the real validation faces and the natural photos (``data``) live under it."""
from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "FACERESTORE_HOME"
DEFAULT_HOME = "~/.cache/facerestore"


def home_dir() -> Path:
    """``$FACERESTORE_HOME`` or ``~/.cache/facerestore``, ``~`` expanded and made absolute (a relative value is
    taken from the current folder once, here), so it never depends on where a later call runs."""
    return Path(os.path.abspath(os.path.expanduser(os.environ.get(HOME_ENV) or DEFAULT_HOME)))
