"""Input and output folders of the commands that read and write many files (``degrade``, ``restore``)."""
from __future__ import annotations

import sys
from pathlib import Path

from facerestore.errors import ConfigError, ImageWriteError
from facerestore.io import READ_EXTENSIONS

RUN_REPORTS = ("report.json", "params.jsonl", "prepare_report.json")  # restore, degrade, prepare


def prepare_output_folder(folder: Path, run_file: str, overwrite: bool) -> Path:
    """Create ``folder`` and return the path of its ``run_file`` (log/report), refusing a run over an earlier
    one (its ``run_file`` exists) unless ``overwrite`` (``--overwrite``, or ``--skip-existing`` which keeps the
    earlier outputs)."""
    if folder.exists() and not folder.is_dir():
        raise ImageWriteError("output must be a folder", folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / run_file
    if path.exists() and not overwrite:
        raise ImageWriteError("an earlier run's report is there: pass --overwrite to replace its outputs or "
                              "--skip-existing to keep them and continue", path)
    return path


def find_images(folder: Path, output: Path) -> tuple[list[Path], list[Path]]:
    """Image files under ``folder`` (recursively), leaving out ``output`` and every subfolder that holds a
    facerestore run report (:data:`RUN_REPORTS`: an earlier run's outputs written inside the input); returns
    ``(files, skipped folders)``. The output folder being the input folder is a :class:`ConfigError`."""
    if output.resolve() == folder.resolve():
        raise ConfigError("the output folder (-o) is the input folder: choose another output folder", folder)
    skipped = sorted({report.parent for name in RUN_REPORTS for report in folder.rglob(name)
                      if report.parent.resolve() != folder.resolve()})
    excluded = [output.resolve()] + [path.resolve() for path in skipped]
    files = [path for path in folder.rglob("*")
             if path.suffix.lower() in READ_EXTENSIONS and path.is_file()
             and not any(other in path.resolve().parents for other in excluded)]
    return files, skipped


def say_skipped_folders(command: str, skipped: list[Path]) -> None:
    if skipped:
        names = ", ".join(str(p) for p in skipped[:3]) + (", ..." if len(skipped) > 3 else "")
        print(f"facerestore {command}: skipped {len(skipped)} folder(s) holding an earlier facerestore run's "
              f"outputs ({names})", file=sys.stderr)
