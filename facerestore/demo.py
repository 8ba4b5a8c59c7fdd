"""The README's main job: degrade held-out synthetic faces with several presets, restore them with the
default model (UFVNet: one network for every input resolution) and report it against bicubic (PSNR / SSIM
on Y), with image grids and an HTML page.

Everything comes from the project itself: faces from :mod:`facerestore.synth` (a held-out seed that no
training recipe uses), degradations from :mod:`facerestore.degrade`, metrics from :mod:`facerestore.metrics`.

Weights of the default model, first found wins:

1. bundled with the package: ``facerestore/weights/<recipe name>/`` holding ``config.yaml`` and
   ``final.safetensors`` (a run folder of the committed recipe; none is bundled yet, see docs/training.md);
2. a previous demo's quick-training run in ``$FACERESTORE_HOME/demo/<recipe name>/`` whose ``config.yaml``
   equals the recipe;
3. otherwise the demo quick-trains the recipe (``configs/ufvnet_quick.yaml``) into that folder first and
   says so: a few minutes on a 2-core CPU, once (an interrupted training resumes on the next demo).
"""
from __future__ import annotations

import csv
import html
import io as _io
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from facerestore.degrade import apply_preset, imresize
from facerestore.errors import ConfigError, ImageWriteError
from facerestore.io import from_float, write_image
from facerestore.io.atomic import write_text_atomic
from facerestore.methods import Method, build_method
from facerestore.metrics import psnr_y, ssim_y
from facerestore.synth import render_face

DEMO_SEED = 90_001  # held out: training recipes draw synthetic faces from other seeds
DEMO_PRESETS = ("fish_x4", "fish_x8", "fish_x16", "ufv_multires")
DEFAULT_RECIPE = Path(__file__).resolve().parents[1] / "configs" / "ufvnet_quick.yaml"
BUNDLED_WEIGHTS = Path(__file__).resolve().parent / "weights"
REPORT_FILES = ("index.html", "metrics.csv", "metrics.md")

Log = Callable[[str], None]


@dataclass(frozen=True)
class PresetResult:
    preset: str
    bicubic: tuple[float, float]  # PSNR, SSIM (Y)
    restored: tuple[float, float]
    grid: str  # file name of the grid PNG inside the report folder


@dataclass(frozen=True)
class DemoModel:
    method: Method
    label: str  # method name and where its weights came from


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


# ------------------------------------------------------------------------------------------ the model
def _same_recipe(folder: Path, config: dict) -> bool:
    from facerestore.train import load_config

    return (folder / "config.yaml").is_file() and load_config(folder / "config.yaml") == config


def _run_folder_matches(folder: Path, config: dict) -> bool:
    return (folder / "final.safetensors").is_file() and _same_recipe(folder, config)


def _load_run(folder: Path, config: dict) -> Method:
    method = build_method(config["method"]["name"], weights=folder / "final.safetensors",
                          **config["method"]["options"])
    return method.eval()


def demo_model(recipe: str | os.PathLike = DEFAULT_RECIPE, overrides: Iterable[str] = (),
               home: str | os.PathLike | None = None, bundled: str | os.PathLike = BUNDLED_WEIGHTS,
               log: Log = print) -> DemoModel:
    """The default model with trained weights (bundled, cached, or quick-trained now; see the module docstring)."""
    from facerestore.restore.weights_cache import cache_dir
    from facerestore.train import Trainer, load_config

    recipe = Path(recipe)
    if not recipe.is_file():
        raise ConfigError(f"demo recipe not found: {recipe} (pass --recipe configs/ufvnet_quick.yaml from a "
                          "source checkout)")
    config = load_config(recipe, list(overrides))
    name = config["name"]
    shipped = Path(bundled) / name
    if _run_folder_matches(shipped, config):
        log(f"using the bundled {name} weights: {shipped}")
        return DemoModel(_load_run(shipped, config), f"{config['method']['name']} (bundled {name})")
    run = Path(home if home is not None else cache_dir()) / "demo" / name
    if _run_folder_matches(run, config):
        log(f"using the weights quick-trained by an earlier demo: {run}")
    else:
        log(f"no trained demo weights are bundled: quick-training {config['method']['name']} with {recipe} first "
            f"(a few minutes on a 2-core CPU, once; kept in {run})")
        Trainer(config, run, device="cpu", resume="auto" if _same_recipe(run, config) else None).run()
    return DemoModel(_load_run(run, config), f"{config['method']['name']} (quick-trained, {name})")


# --------------------------------------------------------------------------------------- evaluation
@torch.inference_mode()
def evaluate_preset(preset: str, model: DemoModel, count: int, size: int, seed: int
                    ) -> tuple[tuple[float, float], tuple[float, float], np.ndarray]:
    """Mean PSNR/SSIM (Y) of bicubic and of the model over ``count`` faces, and the grid
    LR | bicubic | model | HR (one row per face)."""
    scores: dict[str, list[float]] = {"bp": [], "bs": [], "mp": [], "ms": []}
    rows = []
    for index in range(count):
        hr = render_face(seed, index, size).image
        outputs, _ = apply_preset(preset, hr, np.random.default_rng([seed, index]))
        bicubic = outputs.get("lr_up")
        bicubic = _bicubic_to(outputs["lr"], hr.shape[:2]) if bicubic is None else bicubic
        lr = torch.from_numpy(np.ascontiguousarray(outputs["lr"].transpose(2, 0, 1)))[None].float()
        restored = model.method({"lr": lr})[0].permute(1, 2, 0).numpy()
        if restored.shape != hr.shape:
            restored = np.clip(cv2.resize(restored, (hr.shape[1], hr.shape[0]), interpolation=cv2.INTER_CUBIC), 0, 1)
        scores["bp"].append(psnr_y(bicubic, hr))
        scores["bs"].append(ssim_y(bicubic, hr))
        scores["mp"].append(psnr_y(restored, hr))
        scores["ms"].append(ssim_y(restored, hr))
        rows.append([_nearest_to(outputs["lr"], hr.shape[:2]), bicubic, restored, hr])
    mean = {k: float(np.mean(v)) for k, v in scores.items()}
    return (mean["bp"], mean["bs"]), (mean["mp"], mean["ms"]), _grid(rows)


def run_demo(out_dir: str | os.PathLike, model: DemoModel, *, count: int = 6, size: int = 128,
             seed: int = DEMO_SEED, presets: tuple[str, ...] = DEMO_PRESETS, overwrite: bool = False) -> Path:
    """Write the demo report into ``out_dir`` and return the path of its ``index.html``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not overwrite:
        for name in REPORT_FILES:
            if (out / name).exists():
                raise ImageWriteError("a demo report is already there (use --overwrite to replace it)", out / name)
    results = []
    for preset in presets:
        bicubic, restored, grid = evaluate_preset(preset, model, count, size, seed)
        grid_name = f"grid_{preset}.png"
        write_image(out / grid_name, from_float(grid, 8), overwrite=True)
        results.append(PresetResult(preset, bicubic, restored, grid_name))
    write_text_atomic(out / "metrics.csv", _csv(results, model))
    write_text_atomic(out / "metrics.md", _markdown(results, model, count, size))
    index = out / "index.html"
    write_text_atomic(index, _html(results, model, count, size))
    return index


def _csv(results: list[PresetResult], model: DemoModel) -> str:
    buffer = _io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["preset", "method", "psnr_y", "ssim_y"])
    for r in results:
        writer.writerow([r.preset, "bicubic", f"{r.bicubic[0]:.4f}", f"{r.bicubic[1]:.5f}"])
        writer.writerow([r.preset, model.label, f"{r.restored[0]:.4f}", f"{r.restored[1]:.5f}"])
    return buffer.getvalue()


def _markdown(results: list[PresetResult], model: DemoModel, count: int, size: int) -> str:
    lines = [f"{model.label} against bicubic on {count} held-out synthetic faces at {size}x{size} "
             "(PSNR dB / SSIM on Y).", "",
             "| preset | bicubic PSNR | bicubic SSIM | model PSNR | model SSIM | gain (dB) |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r.preset} | {r.bicubic[0]:.2f} | {r.bicubic[1]:.4f} | {r.restored[0]:.2f} | {r.restored[1]:.4f} "
              f"| {r.restored[0] - r.bicubic[0]:+.2f} |" for r in results]
    return "\n".join(lines) + "\n"


def _html(results: list[PresetResult], model: DemoModel, count: int, size: int) -> str:
    label = html.escape(model.label)
    rows = "\n".join(
        f"<tr><td>{html.escape(r.preset)}</td><td>{r.bicubic[0]:.2f}</td><td>{r.bicubic[1]:.4f}</td>"
        f"<td>{r.restored[0]:.2f}</td><td>{r.restored[1]:.4f}</td><td>{r.restored[0] - r.bicubic[0]:+.2f}</td></tr>"
        for r in results
    )
    grids = "\n".join(
        f"<h3>{html.escape(r.preset)}</h3><p>LR (nearest) | bicubic | {label} | ground truth</p>"
        f'<img src="{html.escape(r.grid)}" alt="{html.escape(r.preset)}">'
        for r in results
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>facerestore demo</title></head><body>"
        f"<h1>facerestore demo</h1><p>{count} held-out synthetic faces, {size}x{size}, degraded with each preset, "
        f"restored with {label}; PSNR/SSIM on the Y channel.</p>"
        "<table border='1' cellpadding='4'><tr><th>preset</th><th>bicubic PSNR (dB)</th><th>bicubic SSIM</th>"
        f"<th>model PSNR (dB)</th><th>model SSIM</th><th>gain (dB)</th></tr>{rows}</table>"
        f"{grids}</body></html>\n"
    )
