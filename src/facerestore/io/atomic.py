"""Atomic file writes shared by every writer of the package (images, tables, reports, weights, checkpoints).

The bytes go to a temporary file beside the target, are flushed to disk, then take the target's name in
one step: a reader never sees a half-written file and a failure leaves any old file untouched. Without
``overwrite`` the new name is given by a hard link, which fails atomically when the target appeared in
the meantime (file systems without hard links fall back to check-then-rename).
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path

from facerestore.errors import FaceRestoreError

EXISTS_MESSAGE = "file exists; pass overwrite=True to replace it"


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, overwrite: bool = True,
                       error: type[FaceRestoreError] = FaceRestoreError) -> Path:
    """Write ``data`` to ``path`` atomically; problems raise ``error`` naming the path."""
    path = Path(path)
    if not overwrite and os.path.lexists(path):
        raise error(EXISTS_MESSAGE, path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        # os.open with 0o666 lets the umask set the final permissions, as for an ordinary file.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if overwrite:
            os.replace(temporary, path)
        else:
            _link_new(temporary, path, error)
    except OSError as exc:
        raise error(f"cannot write file ({exc.strerror or exc})", path) from exc
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
    return path


def write_text_atomic(path: str | os.PathLike, text: str, *, overwrite: bool = True,
                      error: type[FaceRestoreError] = FaceRestoreError) -> Path:
    """UTF-8 text version of :func:`write_bytes_atomic`."""
    return write_bytes_atomic(path, text.encode("utf-8"), overwrite=overwrite, error=error)


def json_text(value, indent: int = 1) -> str:
    """Indented JSON in which a list of scalars or of lists of scalars (a box, 68 landmarks) stays on one line."""
    def flat(item) -> bool:
        return not isinstance(item, (dict, list, tuple)) or (
            isinstance(item, (list, tuple)) and not any(isinstance(x, (dict, list, tuple)) for x in item))

    def form(item, level: int) -> str:
        if isinstance(item, dict) and item:
            parts = [f"{json.dumps(str(k))}: {form(v, level + 1)}" for k, v in item.items()]
        elif isinstance(item, (list, tuple)) and item and not all(flat(x) for x in item):
            parts = [form(v, level + 1) for v in item]
        else:
            return json.dumps(item)
        inner, outer = " " * (indent * (level + 1)), " " * (indent * level)
        opening, closing = ("{", "}") if isinstance(item, dict) else ("[", "]")
        return opening + "\n" + ",\n".join(inner + part for part in parts) + "\n" + outer + closing

    return form(value, 0) + "\n"


def write_json_atomic(path: str | os.PathLike, value, *, indent: int = 1, overwrite: bool = True,
                      error: type[FaceRestoreError] = FaceRestoreError) -> Path:
    """``value`` as :func:`json_text`, written by :func:`write_bytes_atomic`."""
    return write_text_atomic(path, json_text(value, indent), overwrite=overwrite, error=error)


def _link_new(temporary: Path, path: Path, error: type[FaceRestoreError]) -> None:
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise error(EXISTS_MESSAGE, path) from None
    except OSError:
        if os.path.lexists(path):
            raise error(EXISTS_MESSAGE, path) from None
        os.replace(temporary, path)
