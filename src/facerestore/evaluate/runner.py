"""Run one method over an :class:`~facerestore.evaluate.benchmark.EvalData`: batches of samples, the method's
output, and per-condition means of PSNR / SSIM on Y (:mod:`facerestore.metrics.psnr_ssim`: FishFSRNet §IV-A
states it; the other papers do not say, and Y is the field's usual choice) and identity similarity, plus the comparison grid (LR | bicubic | output | GT).

Means are over faces of the per-face scores, as the papers' tables report them. With several conditions an
``all`` row averages every face of every condition (UFVNet Tab. II reports MR8 as one mean). Deterministic:
samples depend on (seed, index) only, and the method runs in eval mode without gradients.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from facerestore.data.base import FaceDataset
from facerestore.data.sample import collate_samples
from facerestore.degrade import imresize_torch
from facerestore.errors import ConfigError
from facerestore.evaluate.benchmark import Condition, EvalData
from facerestore.methods import Method
from facerestore.metrics import DlibIdentity, PCAIdentity
from facerestore.metrics.faces import IdentityScorer, face_scores
from facerestore.metrics.fid import InceptionFeatures, feature_statistics, frechet_distance
from facerestore.metrics.grid import comparison_grid

ALL_CONDITIONS = "all"


@dataclass(frozen=True)
class Score:
    """Mean scores of ``method`` (its table label) on ``count`` faces of ``data`` under ``condition``.
    ``identity_measure`` is "dlib", "pca" or "" (no identity score); ``fid`` is the FID of the outputs against
    the ground truths (None: not measured)."""

    method: str
    data: str
    condition: str
    count: int
    psnr: float
    ssim: float
    identity: float | None = None
    identity_measure: str = ""
    fid: float | None = None


@dataclass(frozen=True)
class EvalResult:
    scores: list[Score]
    grid: np.ndarray  # (rows·H)×(4·W)×3 float32 in [0, 1]


def _signature(sample: dict) -> tuple:
    return tuple((key, tuple(value.shape)) for key, value in sample.items() if isinstance(value, torch.Tensor))


def iterate_batches(dataset: FaceDataset, count: int, batch_size: int) -> Iterator[list[dict]]:
    """Samples ``0 … count-1`` in order, in runs of at most ``batch_size`` sharing every tensor shape (a
    variable-scale preset such as ``gfrnet_general`` gives LR faces of several sizes)."""
    pending: list[dict] = []
    for index in range(count):
        sample = dataset[index]
        if pending and (len(pending) == batch_size or _signature(sample) != _signature(pending[0])):
            yield pending
            pending = []
        pending.append(sample)
    if pending:
        yield pending


def evaluate(method: Method, data: EvalData, *, label: str | None = None, batch_size: int = 8,
             identity: DlibIdentity | PCAIdentity | None = None, crop_border: int = 0,
             device: str | torch.device = "cpu", grid_faces: int = 2, progress: bool = False,
             bf16: bool = False, fid: InceptionFeatures | None = None) -> EvalResult:
    """Scores of ``method`` on ``data``: one :class:`Score` per condition (plus ``all`` when there are several)
    and a comparison grid of the first ``grid_faces`` faces of each condition. ``label`` names the method's
    row (default: its registry name). ``bf16``: run the method under bf16 autocast (prepare it with
    ``prepare_for_inference(..., precision="bf16")`` first to store its weights in bf16). ``fid``: an
    Inception feature extractor; then each row also has the FID of its outputs against its ground truths
    (Heusel et al.; with the few faces of a benchmark it is biased upwards, so compare rows of equal count). Raises
    :class:`ConfigError` when the method's HR size or output size does not match the data."""
    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    if method.hr_size is not None and method.hr_size != data.size:
        raise ConfigError(f"method {method.name} restores {method.hr_size}x{method.hr_size} faces but {data.name} "
                          f"has HR size {data.size}")
    label = label or method.name
    method = method.eval().to(device)
    scorer = IdentityScorer(identity) if identity is not None else None
    measure = scorer.name if scorer is not None else ""
    keys = data.keys(method.requires)
    scores, rows, totals = [], [], {"psnr": [], "ssim": [], "identity": [], "fid_output": [], "fid_truth": []}
    for condition in data.conditions:
        per_face = _run_condition(method, data, condition, keys, batch_size, scorer, crop_border, device,
                                  grid_faces, rows, progress, bf16, fid)
        scores.append(_mean_score(label, data.name, condition.label, per_face, measure))
        for name, values in per_face.items():
            totals[name].extend(values)
    if len(data.conditions) > 1:
        scores.append(_mean_score(label, data.name, ALL_CONDITIONS, totals, measure))
    return EvalResult(scores, np.concatenate(rows, axis=0))


def _run_condition(method: Method, data: EvalData, condition: Condition, keys: frozenset[str], batch_size: int,
                   scorer: IdentityScorer | None, crop_border: int, device: str | torch.device, grid_faces: int,
                   rows: list[np.ndarray], progress: bool, bf16: bool,
                   fid: InceptionFeatures | None) -> dict[str, list]:
    dataset = data.dataset(condition, keys)
    count = len(dataset) if data.count is None else min(data.count, len(dataset))
    per_face: dict[str, list] = {"psnr": [], "ssim": [], "identity": [], "fid_output": [], "fid_truth": []}
    bar = tqdm(total=count, desc=f"{method.name} {data.name} {condition.label}", unit="face", disable=not progress)
    for samples in iterate_batches(dataset, count, batch_size):
        batch = collate_samples(samples)
        with torch.inference_mode(), torch.autocast(torch.device(device).type, torch.bfloat16, enabled=bf16):
            output = method({k: v.to(device) for k, v in batch.items()}).float().cpu()
        hr = batch["hr"]
        if output.shape != hr.shape:
            raise ConfigError(f"method {method.name} returned {tuple(output.shape[-2:])} images for "
                              f"{tuple(hr.shape[-2:])} ground truths under {data.name} {condition.label}: build it "
                              "for this scale / size (--option scale=N) or choose matching data")
        first = len(per_face["psnr"])
        for name, values in face_scores(output, hr, crop_border, scorer, first).items():
            per_face[name].extend(values)
        if fid is not None:
            per_face["fid_output"].extend(fid(output.clamp(0, 1)))
            per_face["fid_truth"].extend(fid(hr))
        for j in range(max(0, min(len(samples), grid_faces - first))):
            lr = batch["lr"][j:j + 1]
            bicubic = imresize_torch(lr, size=tuple(hr.shape[-2:])).clamp(0, 1)
            rows.append(comparison_grid(lr, bicubic, output[j:j + 1], hr[j:j + 1]))
        bar.update(len(samples))
    bar.close()
    return per_face


def _mean_score(label: str, data: str, condition: str, per_face: dict[str, list], measure: str) -> Score:
    identity = float(np.mean(per_face["identity"])) if per_face["identity"] else None
    fid = None
    if per_face["fid_output"]:
        fid = frechet_distance(*feature_statistics(np.stack(per_face["fid_output"])),
                               *feature_statistics(np.stack(per_face["fid_truth"])))
    return Score(label, data, condition, len(per_face["psnr"]), float(np.mean(per_face["psnr"])),
                 float(np.mean(per_face["ssim"])), identity, measure, fid)
