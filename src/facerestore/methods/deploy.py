"""Weights to ship: the test-time method of a trained file, stored in fp16 (and its large matrices in int8)
where that keeps its PSNR.

:func:`inference_method` rebuilds a trained method without its training-only parts
(:meth:`Method.inference_options`); :func:`save_method` writes its tensors with the file's metadata
(:mod:`facerestore.methods.metadata`), options updated, in float32, float16, or float16 with the tensors of at
least :data:`INT8_MIN_ELEMENTS` values as int8 rows (:func:`facerestore.models.weights.quantize_rows`);
loading gives float32 back. :func:`stored_copy` is the method as such a file loads, to measure the change.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import torch

from facerestore.methods.base import Method, build_method, method_class
from facerestore.methods.metadata import WeightsInfo
from facerestore.metrics import psnr_y_torch
from facerestore.models.weights import INT8_SCALE, dequantize_rows, quantize_rows, save_weights_file


def inference_method(trained: Method) -> Method:
    """A copy of ``trained`` built with its inference options, holding the tensors those options keep."""
    options = method_class(trained.name).inference_options(trained.options)
    method = build_method(trained.name, **options)
    tensors = trained.state_dict()
    method.load_state_dict({k: tensors[k] for k in method.state_dict()})
    return method.eval()


STORAGES = ("fp32", "fp16", "fp16+int8")
INT8_MIN_ELEMENTS = 1 << 20  # "fp16+int8": float tensors this large are stored as int8 rows


def stored_tensors(method: Method, storage: str = "fp32") -> dict[str, torch.Tensor]:
    """The tensors a file of ``storage`` (:data:`STORAGES`) holds for ``method``."""
    if storage not in STORAGES:
        raise ValueError(f"storage must be one of {STORAGES}, got {storage!r}")
    out = {}
    for name, tensor in method.state_dict().items():
        if storage == "fp16+int8" and tensor.is_floating_point() and tensor.numel() >= INT8_MIN_ELEMENTS:
            out[name], out[name + INT8_SCALE] = quantize_rows(tensor)
        else:
            out[name] = tensor.half() if storage != "fp32" and tensor.is_floating_point() else tensor
    return out


def save_method(method: Method, info: WeightsInfo, path: str | os.PathLike, storage: str = "fp32",
                overwrite: bool = False) -> Path:
    """Write ``method``'s weights with ``info`` (its options replaced by the method's) in ``storage``."""
    info = replace(info, options=dict(method.options))
    return save_weights_file(stored_tensors(method, storage), path, metadata=info.to_metadata(), overwrite=overwrite)


def stored_copy(method: Method, storage: str) -> Method:
    """``method`` as a file of ``storage`` loads (fp16 rounding, int8 rows), float32."""
    copy = build_method(method.name, **method.options)
    loaded = dequantize_rows(stored_tensors(method, storage))
    copy.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in loaded.items()})
    return copy.eval()


def stored_bytes(method: Method, storage: str) -> int:
    return sum(t.numel() * t.element_size() for t in stored_tensors(method, storage).values())


@torch.no_grad()
def psnr_change(a: Method, b: Method, samples: list[dict]) -> float:
    """Largest |ΔPSNR-Y| (dB) between the outputs of ``a`` and ``b`` over ``samples`` (each scored against hr)."""
    worst = 0.0
    for sample in samples:
        batch = {k: v[None] for k, v in sample.items() if isinstance(v, torch.Tensor)}
        pa, pb = (psnr_y_torch(m(batch), batch["hr"]) for m in (a, b))
        worst = max(worst, float((pa - pb).abs().max()))
    return worst
