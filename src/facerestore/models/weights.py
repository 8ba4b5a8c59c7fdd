"""Weight files: safetensors (ours) or tensors-only PyTorch checkpoints, read without unpickling code.

A float tensor may be stored as int8 rows with a float32 scale per row under ``<name>`` + :data:`INT8_SCALE`
(symmetric, ``value = int8 · scale``; :func:`quantize_rows`): a shipped file's large matrices in a quarter of
their fp32 size. :func:`load_weights_file` gives them back as float32.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save

from facerestore.errors import WeightsError
from facerestore.io.atomic import write_bytes_atomic

INT8_SCALE = ".int8_row_scale"  # suffix of the per-row scale of an int8-stored tensor
# Keys under which training scripts commonly nest the state dict, most specific first.
NESTING_KEYS = ("params_ema", "params", "state_dict", "model", "net", "network", "generator")


def load_weights_file(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Tensors of ``path``: ``.safetensors`` directly, anything else through ``torch.load(weights_only=True)``."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError("no such weights file", path)
    if path.suffix != ".safetensors":
        return load_torch_state_dict(path)
    try:
        return dequantize_rows(load_file(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(f"cannot be read as safetensors ({error})", path) from None


def quantize_rows(tensor: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``tensor`` (rows along dim 0) as int8 and the float32 scale of each row (its largest |value| / 127)."""
    rows = tensor.detach().float().reshape(tensor.shape[0], -1)
    scale = rows.abs().amax(dim=1).clamp_min(1e-12) / 127.0
    quantized = (rows / scale[:, None]).round().clamp(-127, 127).to(torch.int8)
    return quantized.reshape(tensor.shape), scale


def dequantize_rows(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``tensors`` with every int8-stored tensor (one with a ``<name>`` + :data:`INT8_SCALE` entry) as float32."""
    out = {}
    for name, tensor in tensors.items():
        if name.endswith(INT8_SCALE):
            continue
        scale = tensors.get(name + INT8_SCALE)
        if scale is not None:
            tensor = tensor.float() * scale.float().reshape(-1, *([1] * (tensor.dim() - 1)))
        out[name] = tensor
    return out


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The string metadata of a ``.safetensors`` file's header (``{}`` for other files or none stored)."""
    path = Path(path)
    if path.suffix != ".safetensors" or not path.is_file():
        return {}
    try:
        with safe_open(path, framework="pt") as handle:
            return dict(handle.metadata() or {})
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(f"cannot be read as safetensors ({error})", path) from None


def check_shapes(expected: dict[str, torch.Tensor], tensors: dict[str, torch.Tensor], path: str | os.PathLike,
                 what: str) -> None:
    """:class:`WeightsError` naming the first tensor of ``tensors`` whose shape differs from ``expected``'s."""
    for name, tensor in tensors.items():
        if name in expected and tuple(expected[name].shape) != tuple(tensor.shape):
            raise WeightsError(f"tensor {name} has shape {tuple(tensor.shape)} in the file but "
                               f"{tuple(expected[name].shape)} in {what}", path)


def save_weights_file(tensors: dict[str, torch.Tensor], path: str | os.PathLike, *, metadata: dict[str, str] | None = None,
                      overwrite: bool = False) -> Path:
    """Write ``tensors`` to ``path`` (safetensors) atomically: temporary file in the same folder, then rename."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise WeightsError("exists; pass overwrite=True to replace it", path)
    contiguous = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    return write_bytes_atomic(path, save(contiguous, metadata=metadata), error=WeightsError)


def load_torch_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read an official checkpoint safely; unwrap ``NESTING_KEYS`` and strip ``module.`` (DataParallel) prefixes."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError("no such checkpoint file", path) from None
    except Exception as error:  # torch raises many types for corrupt or code-carrying pickles
        raise WeightsError(f"cannot be read as a tensors-only PyTorch checkpoint ({error.__class__.__name__}: "
                           f"{str(error).splitlines()[0] if str(error) else ''})", path) from None
    while isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        key = next((k for k in NESTING_KEYS if isinstance(obj.get(k), dict)), None)
        if key is None:
            raise WeightsError(f"no state dict found; top-level keys: {preview_keys(obj)}", path)
        obj = obj[key]
    if not isinstance(obj, dict):
        raise WeightsError(f"holds a {type(obj).__name__}, not a state dict", path)
    not_tensors = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if not_tensors:
        raise WeightsError(f"non-tensor entries in the state dict: {preview_keys(not_tensors)}", path)
    return {k.removeprefix("module."): v for k, v in obj.items()}


def preview_keys(keys, limit: int = 8) -> str:
    keys = list(keys)
    more = f" … (+{len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(map(str, keys[:limit])) + more
