"""The README's main job: degrade embedded synthetic faces with every paper's protocol and report
how far the bicubic baseline gets (PSNR / SSIM on Y), with image grids and an HTML page.

Everything comes from the project itself: faces from :mod:`facerestore.synth` (a held-out seed that no
training recipe uses), degradations from :mod:`facerestore.degrade`, metrics from
:mod:`facerestore.metrics`. The trained-model columns join this report as the recipes land.
"""
from __future__ import annotations

import csv
import html
import io as _io
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from facerestore.degrade import apply_preset, imresize
from facerestore.errors import ImageWriteError
from facerestore.io import from_float, write_image
from facerestore.io.atomic import write_text_atomic
from facerestore.metrics import psnr_y, ssim_y
from facerestore.synth import render_face

DEMO_SEED = 90_001  # held out: training recipes draw synthetic faces from other seeds
DEMO_PRESETS = ("fish_x4", "fish_x8", "fish_x16", "ufv_multires", "song_sr", "song_deblur", "gfrnet_general")
REPORT_FILES = ("index.html", "metrics.csv", "metrics.md")


@dataclass(frozen=True)
class PresetResult:
    preset: str
    psnr: float
    ssim: float
    grid: str  # file name of the grid PNG inside the report folder


def _bicubic_to(lr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return np.clip(imresize(lr, size=shape), 0.0, 1.0)


def _nearest_to(lr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return cv2.resize(lr, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)


def _grid(rows: list[list[np.ndarray]], gap: int = 2) -> np.ndarray:
    """Tile equally sized HxWx3 images (rows of columns) on a white background."""
    height, width = rows[0][0].shape[:2]
    canvas = np.ones((len(rows) * (height + gap) - gap, len(rows[0]) * (width + gap) - gap, 3), np.float32)
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            canvas[r * (height + gap):r * (height + gap) + height, c * (width + gap):c * (width + gap) + width] = image
    return canvas


def evaluate_preset(preset: str, count: int, size: int, seed: int) -> tuple[float, float, np.ndarray]:
    """Mean bicubic PSNR/SSIM (Y) over ``count`` faces and the grid LR | bicubic | HR (one row per face)."""
    psnrs, ssims, rows = [], [], []
    for index in range(count):
        hr = render_face(seed, index, size).image
        outputs, _ = apply_preset(preset, hr, np.random.default_rng([seed, index]))
        bicubic = outputs.get("lr_up")
        bicubic = _bicubic_to(outputs["lr"], hr.shape[:2]) if bicubic is None else bicubic
        psnrs.append(psnr_y(bicubic, hr))
        ssims.append(ssim_y(bicubic, hr))
        rows.append([_nearest_to(outputs["lr"], hr.shape[:2]), bicubic, hr])
    return float(np.mean(psnrs)), float(np.mean(ssims)), _grid(rows)


def run_demo(out_dir: str | os.PathLike, *, count: int = 6, size: int = 128, seed: int = DEMO_SEED,
             presets: tuple[str, ...] = DEMO_PRESETS, overwrite: bool = False) -> Path:
    """Write the demo report into ``out_dir`` and return the path of its ``index.html``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not overwrite:
        for name in REPORT_FILES:
            if (out / name).exists():
                raise ImageWriteError("a demo report is already there (use --overwrite to replace it)", out / name)
    results = []
    for preset in presets:
        psnr, ssim, grid = evaluate_preset(preset, count, size, seed)
        grid_name = f"grid_{preset}.png"
        write_image(out / grid_name, from_float(grid, 8), overwrite=True)
        results.append(PresetResult(preset, psnr, ssim, grid_name))
    write_text_atomic(out / "metrics.csv", _csv(results))
    write_text_atomic(out / "metrics.md", _markdown(results, count, size))
    index = out / "index.html"
    write_text_atomic(index, _html(results, count, size))
    return index


def _csv(results: list[PresetResult]) -> str:
    buffer = _io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["preset", "method", "psnr_y", "ssim_y"])
    for r in results:
        writer.writerow([r.preset, "bicubic", f"{r.psnr:.4f}", f"{r.ssim:.5f}"])
    return buffer.getvalue()


def _markdown(results: list[PresetResult], count: int, size: int) -> str:
    lines = [f"Bicubic baseline on {count} held-out synthetic faces at {size}x{size} (PSNR/SSIM on Y).", "",
             "| preset | PSNR (dB) | SSIM |", "|---|---:|---:|"]
    lines += [f"| {r.preset} | {r.psnr:.2f} | {r.ssim:.4f} |" for r in results]
    return "\n".join(lines) + "\n"


def _html(results: list[PresetResult], count: int, size: int) -> str:
    rows = "\n".join(
        f"<tr><td>{html.escape(r.preset)}</td><td>{r.psnr:.2f}</td><td>{r.ssim:.4f}</td></tr>" for r in results
    )
    grids = "\n".join(
        f"<h3>{html.escape(r.preset)}</h3><p>LR (nearest) | bicubic | ground truth</p>"
        f'<img src="{html.escape(r.grid)}" alt="{html.escape(r.preset)}">'
        for r in results
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>facerestore demo</title></head><body>"
        f"<h1>facerestore demo</h1><p>{count} held-out synthetic faces, {size}x{size}, degraded with each paper's "
        "protocol; bicubic baseline, PSNR/SSIM on the Y channel.</p>"
        f"<table border='1' cellpadding='4'><tr><th>preset</th><th>PSNR (dB)</th><th>SSIM</th></tr>{rows}</table>"
        f"{grids}</body></html>\n"
    )
