"""Files shipped with the package; their sources and licences are in ``NOTICE.md`` beside them."""
from __future__ import annotations

from pathlib import Path


def astronaut_path() -> Path:
    """NASA's 512x512 photo of astronaut Eileen Collins (public domain; scikit-image's ``astronaut.png``)."""
    return Path(__file__).with_name("astronaut.png")
