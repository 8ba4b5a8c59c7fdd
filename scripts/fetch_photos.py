"""Fetch the natural photographs (training texture, no faces) into $FACERESTORE_HOME/natural_photos
(``make photos``): download Debian's wallpaper packages by name (apt-get download), unpack them (dpkg-deb -x),
keep the 38 listed photographs, check their SHA-256 and write ATTRIBUTION.md. See docs/data.md."""
from __future__ import annotations

import sys

from facerestore.data.natural_photos import fetch_natural_photos
from facerestore.errors import FaceRestoreError


def main() -> int:
    try:
        fetch_natural_photos(log=print)
    except FaceRestoreError as error:
        print(f"fetch_photos: error: {error}", file=sys.stderr)
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
