"""The files of a run folder (docs/training.md, "Run folder") and the rule that keeps two runs apart: a new
run never writes into a folder that holds another one unless told to (``--resume auto`` continues it,
``--overwrite`` clears it first)."""
from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from facerestore.errors import ConfigError

RUN_FILES = ("config.yaml", "train.log", "scalars.csv")
RUN_FOLDERS = ("checkpoints", "tensorboard", "grids")
_CLEARING = ".overwritten-"  # prefix of the hidden folder an --overwrite moves the old run into


def run_entries(folder: Path) -> list[Path]:
    """The files and folders of a run in ``folder``: its config, log, scalars, weights (``*.safetensors``),
    checkpoints, TensorBoard events and grids."""
    if not folder.is_dir():
        return []
    named = [folder / name for name in RUN_FILES + RUN_FOLDERS if os.path.lexists(folder / name)]
    return named + sorted(folder.glob("*.safetensors"))


def prepare_run_folder(folder: Path, resume: str | None, overwrite: bool, clear: bool = True) -> None:
    """Refuse to start a new run over another one (:class:`ConfigError` naming the folder and both ways on);
    with ``overwrite`` move the old run's entries into a hidden folder (one rename each), then delete it, so that
    an interrupted start leaves the old files apart, never mixed with the new run's. ``clear`` False: only check
    (the other ranks of a DDP run)."""
    if resume is not None:
        if overwrite:
            raise ConfigError("--resume continues the run and --overwrite clears it: give one of them", folder)
        return
    entries = run_entries(folder)
    if entries and not overwrite:
        names = ", ".join(entry.name for entry in entries[:4]) + (", ..." if len(entries) > 4 else "")
        raise ConfigError(f"holds a training run ({names}): use --resume auto to continue it or --overwrite to "
                          "start again", folder)
    if not clear:
        return
    leftovers = sorted(folder.glob(_CLEARING + "*")) if folder.is_dir() else []
    if entries:
        trash = folder / f"{_CLEARING}{secrets.token_hex(4)}"
        trash.mkdir()
        for entry in entries:
            os.replace(entry, trash / entry.name)
        leftovers.append(trash)
    for old in leftovers:
        shutil.rmtree(old, ignore_errors=True)
