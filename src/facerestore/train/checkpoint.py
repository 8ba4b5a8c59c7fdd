"""Checkpoints: weights as safetensors (``<tag>_params.safetensors`` and ``<tag>_params_ema.safetensors``, the
method's state dict, loadable with ``build_method(..., weights=...)``; ``<tag>_disc.safetensors``, the
discriminators of adversarial recipes, keyed ``<name>.<tensor>``) and the training state
(``<tag>_state.pt``: optimizer, scheduler, the discriminators' optimizer/scheduler and build options, RNG
states, stage, iteration, best metric; tensors and plain types only, read back with
``torch.load(weights_only=True)``). Every file is written atomically (temporary file +
rename) and the state file last, so a state file always points at complete weights.
"""
from __future__ import annotations

import io
import os
import random
import re
from pathlib import Path

import numpy as np
import torch

from facerestore.errors import WeightsError
from facerestore.io.atomic import write_bytes_atomic
from facerestore.models.weights import load_weights_file, save_weights_file

_STATE = re.compile(r"^s(\d+)_(\d+)_state\.pt$")


def checkpoint_tag(stage: int, iteration: int) -> str:
    return f"s{stage}_{iteration:08d}"


def rng_states() -> dict:
    """RNG states of torch (CPU and CUDA), numpy's global generator and Python's ``random``, as tensors."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos), "has_gauss": int(has_gauss),
                  "gauss": float(gauss)},
        "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64),
                   "gauss_next": gauss_next},
    }


def set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    n = states["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    p = states["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["internal"].tolist()), p["gauss_next"]))


def _atomic_torch_save(obj: dict, path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_bytes_atomic(path, buffer.getvalue(), error=WeightsError)


def save_checkpoint(folder: str | os.PathLike, stage: int, iteration: int, params: dict[str, torch.Tensor],
                    params_ema: dict[str, torch.Tensor] | None, state: dict, keep: int = 2,
                    discriminators: dict[str, torch.Tensor] | None = None,
                    metadata: dict[str, str] | None = None) -> Path:
    """Write one checkpoint into ``folder``; keep the newest ``keep`` ones. Returns the state file's path.
    ``metadata`` (:mod:`facerestore.methods.metadata`) goes into the params and EMA files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tag = checkpoint_tag(stage, iteration)
    save_weights_file(params, folder / f"{tag}_params.safetensors", metadata=metadata, overwrite=True)
    if params_ema is not None:
        save_weights_file(params_ema, folder / f"{tag}_params_ema.safetensors", metadata=metadata, overwrite=True)
    if discriminators:
        save_weights_file(discriminators, folder / f"{tag}_disc.safetensors", overwrite=True)
    path = folder / f"{tag}_state.pt"
    _atomic_torch_save({**state, "stage": stage, "iteration": iteration, "has_ema": params_ema is not None,
                        "has_discriminators": bool(discriminators)}, path)
    for old in list_checkpoints(folder)[:-keep] if keep > 0 else []:
        for suffix in ("_state.pt", "_params.safetensors", "_params_ema.safetensors", "_disc.safetensors"):
            old.with_name(old.name.replace("_state.pt", suffix)).unlink(missing_ok=True)
    return path


def list_checkpoints(folder: str | os.PathLike) -> list[Path]:
    """State files of ``folder``, oldest first (by stage, then iteration)."""
    found = []
    for path in Path(folder).glob("s*_state.pt"):
        match = _STATE.match(path.name)
        if match:
            found.append(((int(match[1]), int(match[2])), path))
    return [path for _, path in sorted(found)]


def latest_checkpoint(folder: str | os.PathLike) -> Path | None:
    """The newest state file in ``folder`` (``--resume auto``), ``None`` when there is none."""
    found = list_checkpoints(folder)
    return found[-1] if found else None


def load_checkpoint(state_path: str | os.PathLike) -> tuple[dict, dict[str, torch.Tensor], dict | None]:
    """(training state, params, params_ema or None) of the checkpoint whose state file is ``state_path``; the
    discriminators' weights, when it has some, are in the state under ``discriminator_params``."""
    state_path = Path(state_path)
    if not state_path.is_file():
        raise WeightsError("no such checkpoint state file", state_path)
    try:
        state = torch.load(state_path, map_location="cpu", weights_only=True)
    except Exception as error:  # unpickling errors come in many types
        raise WeightsError(f"cannot be read as a training state ({error})", state_path) from None
    base = str(state_path)[: -len("_state.pt")]
    params = load_weights_file(base + "_params.safetensors")
    ema = load_weights_file(base + "_params_ema.safetensors") if state.get("has_ema") else None
    if state.get("has_discriminators"):
        state["discriminator_params"] = load_weights_file(base + "_disc.safetensors")
    return state, params, ema
