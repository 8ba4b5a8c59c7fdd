"""Evaluate a folder of restored images against a folder of ground truths (``facerestore metrics``).

Files are paired by name stem (``001.png`` with ``001.jpg``) among the images directly inside each
folder. Every pair gets PSNR and SSIM on Y (:mod:`facerestore.metrics.psnr_ssim`) and, optionally,
an identity similarity. Problems (a file without counterpart, two files with one stem, an unreadable
file, different sizes) are collected with the file name instead of stopping the run. Alpha channels
are dropped and gray images replicated to RGB before scoring.
"""
from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from facerestore.errors import ConfigError, FaceRestoreError
from facerestore.io import READ_EXTENSIONS, read_image, split_alpha, to_float
from facerestore.io.atomic import write_bytes_atomic
from facerestore.metrics.psnr_ssim import psnr_y, ssim_y

IdentityFn = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class PairScore:
    """Scores of one image pair; ``identity`` is None when not computed."""

    name: str
    psnr: float
    ssim: float
    identity: float | None = None


@dataclass
class FolderReport:
    """Per-pair scores (sorted by name) and the problems met, each naming its file."""

    scores: list[PairScore] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def mean(self) -> PairScore:
        """Mean of each score over the pairs (NaN without pairs; ``inf`` PSNR if a pair is identical)."""
        if not self.scores:
            return PairScore("mean", math.nan, math.nan)
        identities = [score.identity for score in self.scores]
        return PairScore(
            "mean",
            float(np.mean([score.psnr for score in self.scores])),
            float(np.mean([score.ssim for score in self.scores])),
            None if identities[0] is None else float(np.mean(identities)),
        )


def _images_by_stem(folder: Path, problems: list[str]) -> dict[str, Path]:
    if not folder.is_dir():
        raise ConfigError("not a folder", folder)
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in READ_EXTENSIONS and path.is_file():
            found.setdefault(path.stem, []).append(path)
    for stem, paths in found.items():
        if len(paths) > 1:
            problems.append(f"{folder / stem}.*: several files share the stem ({', '.join(p.name for p in paths)})")
    return {stem: paths[0] for stem, paths in found.items() if len(paths) == 1}


def pair_by_stem(
    pred_dir: str | os.PathLike, gt_dir: str | os.PathLike
) -> tuple[list[tuple[str, Path, Path]], list[str]]:
    """``(stem, pred_path, gt_path)`` for every stem found once in both folders, sorted by stem,
    and the problems (unpaired files, duplicated stems)."""
    problems: list[str] = []
    pred, gt = _images_by_stem(Path(pred_dir), problems), _images_by_stem(Path(gt_dir), problems)
    if not pred and not gt and not problems:
        raise ConfigError(f"no image files ({', '.join(sorted(READ_EXTENSIONS))}) in either folder", pred_dir)
    problems += [f"{pred[stem]}: no ground truth with this name stem in {gt_dir}" for stem in sorted(pred.keys() - gt)]
    problems += [f"{gt[stem]}: no prediction with this name stem in {pred_dir}" for stem in sorted(gt.keys() - pred)]
    return [(stem, pred[stem], gt[stem]) for stem in sorted(pred.keys() & gt.keys())], problems


def load_rgb(path: Path) -> np.ndarray:
    """An image file as HxWx3 float32 RGB in [0, 1] (alpha dropped, gray replicated)."""
    pixels, _ = read_image(path)
    colour, _ = split_alpha(to_float(pixels))
    return np.repeat(colour, 3, axis=2) if colour.shape[2] == 1 else colour


def evaluate_folders(
    pred_dir: str | os.PathLike,
    gt_dir: str | os.PathLike,
    crop_border: int = 0,
    identity: IdentityFn | None = None,
) -> FolderReport:
    """Score every stem-paired image of ``pred_dir`` against ``gt_dir``; see the module docstring."""
    pairs, problems = pair_by_stem(pred_dir, gt_dir)
    report = FolderReport(problems=problems)
    for stem, pred_path, gt_path in pairs:
        try:
            pred, gt = load_rgb(pred_path), load_rgb(gt_path)
        except FaceRestoreError as error:
            report.problems.append(str(error))
            continue
        if pred.shape != gt.shape:
            report.problems.append(f"{pred_path}: size {pred.shape[1]}x{pred.shape[0]} differs from "
                                   f"{gt_path} ({gt.shape[1]}x{gt.shape[0]})")
            continue
        try:
            score = PairScore(stem, psnr_y(pred, gt, crop_border), ssim_y(pred, gt, crop_border),
                              None if identity is None else identity(pred, gt))
        except ValueError as error:  # too small for the crop / SSIM window, or for the PCA
            report.problems.append(f"{pred_path}: {error}")
            continue
        report.scores.append(score)
    return report


def write_csv(path: str | os.PathLike, report: FolderReport, overwrite: bool = False) -> Path:
    """Write one row per pair and a final ``mean`` row (``name,psnr,ssim[,identity]``) atomically."""
    with_identity = report.mean().identity is not None
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["name", "psnr", "ssim"] + (["identity"] if with_identity else []))
    for score in [*report.scores, report.mean()]:
        values = [score.psnr, score.ssim] + ([score.identity] if with_identity else [])
        writer.writerow([score.name] + [f"{value:.6f}" for value in values])
    return write_bytes_atomic(path, text.getvalue().encode("utf-8"), overwrite=overwrite)
