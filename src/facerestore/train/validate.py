"""Validation of a training run on the recipe's ``data.val`` (rank 0): the method's output scored face by face
with the metric loop evaluation runs use (:func:`facerestore.metrics.faces.face_scores`: PSNR/SSIM on Y, optional
dlib identity), the bicubic input scored the same way, MSE and L1 on [0, 1] outputs, and the comparison grid;
or the stage's own scores when its objective has them (:meth:`facerestore.methods.Objective.validation_scores`).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader

from facerestore.data.sample import collate_samples
from facerestore.metrics.grid import comparison_grid
from facerestore.metrics.faces import IdentityScorer, face_scores
from facerestore.methods import Method, Objective
from facerestore.methods.baselines import BicubicMethod
from facerestore.train.datasets import build_source

ORDER = ("psnr", "ssim", "psnr_bicubic", "ssim_bicubic", "identity", "mse", "l1")  # the logged order


@dataclass(frozen=True)
class Validation:
    scalars: dict[str, float]  # ``val/<name>``: the mean over the validation faces
    grid: np.ndarray | None  # rows of LR | bicubic | output | GT of the first faces (None: stage scores)


@torch.no_grad()
def validate(method: Method, objective: Objective | None, spec: Mapping, *, grid_faces: int, identity: bool = False,
             to_device: Callable[[dict], dict] = lambda batch: batch,
             autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext) -> Validation:
    """Scores of ``method`` (in eval mode) on the data set of ``spec``; ``objective``: the stage trained, whose
    own validation scores replace the output's when it has them."""
    keys = frozenset(method.requires | {"hr", "lr"} | (objective.keys if objective is not None else frozenset()))
    loader = DataLoader(build_source(spec, keys), batch_size=int(spec.get("batch_size", 1)),
                        collate_fn=collate_samples)
    bicubic = BicubicMethod()
    scorer = None
    if identity:
        from facerestore.metrics import DlibIdentity
        scorer = IdentityScorer(DlibIdentity())
    sums: dict[str, list[float]] = {name: [] for name in ORDER}
    rows: list[np.ndarray] = []
    size = 0
    for batch in loader:
        batch = to_device(batch)
        own = objective.validation_scores(method, batch) if objective is not None else None
        if own is not None:
            for key, values in own.items():
                sums.setdefault(key, []).extend(values.float().tolist())
            continue
        with autocast():
            out = method(batch).float()
        hr, base = batch["hr"], bicubic(batch).clamp(0, 1)
        for name, values in face_scores(out, hr, identity=scorer, first=len(sums["psnr"])).items():
            sums[name] += values
        for name, values in face_scores(base, hr).items():
            sums[f"{name}_bicubic"] += values
        sums["mse"] += (out - hr).pow(2).mean(dim=(1, 2, 3)).tolist()
        sums["l1"] += (out - hr).abs().mean(dim=(1, 2, 3)).tolist()
        if len(rows) < grid_faces:
            rows.append(comparison_grid(batch["lr"][:grid_faces], base[:grid_faces], out[:grid_faces],
                                        hr[:grid_faces]))
            size = hr.shape[-2]
    scalars = {f"val/{k}": float(np.mean(v)) for k, v in sums.items() if v}
    return Validation(scalars, np.concatenate(rows, axis=0)[: grid_faces * size] if rows else None)
