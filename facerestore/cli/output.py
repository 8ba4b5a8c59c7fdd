"""Output folders of the commands that write many files (``degrade``, ``restore``)."""
from __future__ import annotations

from pathlib import Path

from facerestore.errors import ImageWriteError
from facerestore.io.atomic import EXISTS_MESSAGE


def prepare_output_folder(folder: Path, run_file: str, overwrite: bool) -> Path:
    """Create ``folder`` and return the path of its ``run_file`` (log/report), refusing a run over an earlier
    one (its ``run_file`` exists) unless ``overwrite``."""
    if folder.exists() and not folder.is_dir():
        raise ImageWriteError("output must be a folder", folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / run_file
    if path.exists() and not overwrite:
        raise ImageWriteError(EXISTS_MESSAGE, path)
    return path
