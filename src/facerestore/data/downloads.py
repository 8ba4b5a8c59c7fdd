"""What every fetch script of the project shares: its error type and checksum/folder helpers."""
from __future__ import annotations

import hashlib
from pathlib import Path

from facerestore.errors import FaceRestoreError


class FetchError(FaceRestoreError):
    """A file to fetch could not be downloaded, found in its archive, checked or written."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str | None:
    """The SHA-256 of a file, None when it does not exist."""
    return sha256_hex(path.read_bytes()) if path.is_file() else None


def make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FetchError(f"cannot create the folder ({exc.strerror or exc})", folder) from exc
