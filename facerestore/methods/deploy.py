"""Weights to ship: the test-time method of a trained file, stored in fp16 where that keeps its PSNR.

:func:`inference_method` rebuilds a trained method without its training-only parts
(:meth:`Method.inference_options`); :func:`save_method` writes its tensors with the file's metadata
(:mod:`facerestore.methods.metadata`), options updated, in float32 or float16 (loading casts back to float32).
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import torch

from facerestore.methods.base import Method, build_method, method_class
from facerestore.methods.metadata import WeightsInfo
from facerestore.metrics import psnr_y_torch
from facerestore.models.weights import save_weights_file


def inference_method(trained: Method) -> Method:
    """A copy of ``trained`` built with its inference options, holding the tensors those options keep."""
    options = method_class(trained.name).inference_options(trained.options)
    method = build_method(trained.name, **options)
    tensors = trained.state_dict()
    method.load_state_dict({k: tensors[k] for k in method.state_dict()})
    return method.eval()


def save_method(method: Method, info: WeightsInfo, path: str | os.PathLike, half: bool = False,
                overwrite: bool = False) -> Path:
    """Write ``method``'s weights with ``info`` (its options replaced by the method's), floats in fp16 if ``half``."""
    tensors = {k: v.half() if half and v.is_floating_point() else v for k, v in method.state_dict().items()}
    info = replace(info, options=dict(method.options))
    return save_weights_file(tensors, path, metadata=info.to_metadata(), overwrite=overwrite)


def half_precision_copy(method: Method) -> Method:
    """``method`` with every float tensor rounded through fp16 (what a float16 file loads as)."""
    copy = build_method(method.name, **method.options)
    copy.load_state_dict({k: v.half().float() if v.is_floating_point() else v for k, v in method.state_dict().items()})
    return copy.eval()


@torch.no_grad()
def psnr_change(a: Method, b: Method, samples: list[dict]) -> float:
    """Largest |ΔPSNR-Y| (dB) between the outputs of ``a`` and ``b`` over ``samples`` (each scored against hr)."""
    worst = 0.0
    for sample in samples:
        batch = {k: v[None] for k, v in sample.items() if isinstance(v, torch.Tensor)}
        pa, pb = (psnr_y_torch(m(batch), batch["hr"]) for m in (a, b))
        worst = max(worst, float((pa - pb).abs().max()))
    return worst
