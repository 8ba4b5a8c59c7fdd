"""Weight files: safetensors (ours) or tensors-only PyTorch checkpoints, read without unpickling code."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from facerestore.errors import WeightsError


def load_weights_file(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Tensors of ``path``: ``.safetensors`` directly, anything else through ``torch.load(weights_only=True)``."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError("no such weights file", path)
    if path.suffix != ".safetensors":
        from facerestore.models.convert import load_official  # unwraps nesting keys, strips "module."

        return load_official(path)
    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(f"cannot be read as safetensors ({error})", path) from None


def save_weights_file(tensors: dict[str, torch.Tensor], path: str | os.PathLike, *, metadata: dict[str, str] | None = None,
                      overwrite: bool = False) -> Path:
    """Write ``tensors`` to ``path`` (safetensors) atomically: temporary file in the same folder, then rename."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise WeightsError("exists; pass --overwrite to replace it", path)
    contiguous = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        save_file(contiguous, temp, metadata=metadata)
        os.replace(temp, path)
    except OSError as error:
        raise WeightsError(f"cannot be written ({error.strerror or error})", path) from None
    finally:
        if os.path.exists(temp):
            os.remove(temp)
    return path
