"""Typed errors. Every message names the file (or option) and the problem; the CLI prints
``str(error)`` on one line and exits with the error's ``exit_code``."""
from __future__ import annotations

import os


class FaceRestoreError(Exception):
    """Base class of every error the toolkit raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.path = None if path is None else os.fspath(path)
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)
        self.reason = message


class ImageReadError(FaceRestoreError):
    """A file or byte string could not be read as an image (missing, empty, truncated, too large...)."""


class ImageTooLargeError(ImageReadError):
    """An image above the pixel limit, refused from its header before decoding; ``width`` and ``height``."""

    def __init__(self, message: str, path: str | os.PathLike | None, width: int, height: int):
        super().__init__(message, path)
        self.width, self.height = width, height


class ImageWriteError(FaceRestoreError):
    """An image could not be written (existing output without overwrite, unknown extension, I/O error)."""


class WeightsError(FaceRestoreError):
    """Model weights missing, unreadable or not matching the network."""


class ConfigError(FaceRestoreError):
    """A recipe / option value is invalid."""


class NoFaceError(FaceRestoreError):
    """No face was found where one was required."""

    exit_code = 3
