"""The README's main job: degrade held-out synthetic faces with several presets and a real public-domain photo
(the NASA astronaut, ``facerestore/assets/astronaut.png``) ×4, restore them with the default model and report it
against bicubic (PSNR / SSIM on Y), with image grids, a before/after picture and an HTML page.

Everything comes from the project itself: faces from :mod:`facerestore.synth` (a held-out seed that no
training recipe uses), degradations from :mod:`facerestore.degrade`, metrics from :mod:`facerestore.metrics`,
the model from its weights file alone (:mod:`facerestore.restore.weights_cache`: ``--weights``, else
``$FACERESTORE_HOME/<default>.safetensors``, else the bundled default). Nothing is trained or downloaded.
"""
from __future__ import annotations

import csv
import html
import io as _io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from facerestore.assets import astronaut_path
from facerestore.degrade import apply_preset, imresize
from facerestore.errors import ImageWriteError
from facerestore.io import from_float, read_image, split_alpha, to_float, write_image
from facerestore.io.atomic import write_text_atomic
from facerestore.methods import Method, build_method
from facerestore.metrics import psnr_y, ssim_y
from facerestore.synth import render_face

DEMO_SEED = 90_001  # held out: training recipes draw synthetic faces from other seeds
DEMO_PRESETS = ("fish_x4", "fish_x8", "fish_x16", "ufv_multires")
PHOTO = astronaut_path()
PHOTO_SCALE = 4
# The original's longer side: the astronaut's face is then 123 px (its template crop), within UFVNet's 128 px
# output at x4, so the photo pipeline restores it instead of keeping bicubic (docs/restore.md, size rules).
PHOTO_SIDE = 384
FACES_METHOD = "ufvnet"  # the bundled any-resolution model, for the presets x4 … x16 of the synthetic faces
PHOTO_METHOD = "edsr"  # the bundled model that restores every face of a whole photo (docs/restore.md)
PHOTO_PICTURE, FACE_PICTURE = "photo_before_after.png", "photo_face_before_after.png"
REPORT_FILES = ("index.html", "metrics.csv", "metrics.md")

Log = Callable[[str], None]


@dataclass(frozen=True)
class PresetResult:
    preset: str
    bicubic: tuple[float, float]  # PSNR, SSIM (Y)
    restored: tuple[float, float]
    grid: str  # file name of the grid PNG inside the report folder


@dataclass(frozen=True)
class PhotoResult:
    """The real photo ×``scale``: PSNR-Y of bicubic and of the model over the faces and the whole image."""

    scale: int
    faces: int
    bicubic: tuple[float, float]  # faces, whole image
    restored: tuple[float, float]
    face_picture: str | None  # the first face, zoomed (None: no face found)
    label: str  # the photo pipeline's method and weights


@dataclass(frozen=True)
class DemoModel:
    method: Method
    weights: Path
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
def demo_model(weights: str | os.PathLike | None = None, log: Log = print) -> DemoModel:
    """The model of the synthetic faces, built from its weights file's metadata (``weights``, else the bundled
    :data:`FACES_METHOD`: one network for every preset's LR size)."""
    from facerestore.restore.weights_cache import BUNDLED_DIR, resolve_weights

    path = resolve_weights(FACES_METHOD if weights is None else None, weights)
    method = build_method(weights=path).eval()
    where = "bundled" if path.parent == BUNDLED_DIR else str(path)
    log(f"using {method.name} weights: {path}")
    return DemoModel(method, path, f"{method.name} ({where} {path.stem})" if where == "bundled"
                     else f"{method.name} ({where})")


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


def _face_boxes(faces, scale: int, shape: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """Detector boxes of the LR photo's faces in HR pixels, clipped to the image."""
    height, width = shape
    boxes = []
    for face in faces:
        x0, y0, x1, y1 = (np.asarray(face.box, dtype=np.float64) + 0.5) * scale - 0.5
        boxes.append((max(0, int(np.floor(x0))), max(0, int(np.floor(y0))),
                      min(width, int(np.ceil(x1)) + 1), min(height, int(np.ceil(y1)) + 1)))
    return boxes


def evaluate_photo(out: Path, photo: Path = PHOTO, scale: int = PHOTO_SCALE,
                   weights: str | os.PathLike | None = None) -> PhotoResult:
    """The real photo (its longer side at most :data:`PHOTO_SIDE`) MATLAB-bicubic downscaled ×``scale``, restored
    by the photo pipeline as ``facerestore restore --method edsr --scale N`` does (:data:`PHOTO_METHOD`, or
    ``weights``) and with ``--method bicubic`` (the same detection and paste: only the face network differs), scored against the
    original over the face boxes and the whole image; writes ``photo_before_after.png`` (LR | bicubic | model |
    original)."""
    from facerestore.restore import FaceRestorer

    pixels, _ = read_image(photo)
    hr = split_alpha(to_float(pixels))[0][..., :3]
    if max(hr.shape[:2]) > PHOTO_SIDE:  # area-downscaled: a photo of a size the report shows whole
        factor = PHOTO_SIDE / max(hr.shape[:2])
        hr = cv2.resize(hr, (round(hr.shape[1] * factor), round(hr.shape[0] * factor)), interpolation=cv2.INTER_AREA)
    hr = hr[:hr.shape[0] // scale * scale, :hr.shape[1] // scale * scale]
    lr = np.clip(imresize(hr, 1.0 / scale), 0.0, 1.0)
    restorers = {"bicubic": FaceRestorer("bicubic", scale=scale, options={"scale": scale}),
                 "model": FaceRestorer(None if weights else PHOTO_METHOD, weights, scale=scale)}
    runs = {name: restorer.restore(lr) for name, restorer in restorers.items()}
    chosen = restorers["model"]
    label = f"{chosen.name} ({Path(chosen.weights).stem})" if chosen.weights is not None else chosen.name
    boxes = _face_boxes(runs["model"].faces, scale, hr.shape[:2])
    scores = {}
    for name, result in runs.items():
        face_scores = [psnr_y(result.image[y0:y1, x0:x1], hr[y0:y1, x0:x1]) for x0, y0, x1, y1 in boxes]
        scores[name] = (float(np.mean(face_scores)) if face_scores else float("nan"), psnr_y(result.image, hr))
    row = [_nearest_to(lr, hr.shape[:2]), runs["bicubic"].image, runs["model"].image, hr]
    write_image(out / PHOTO_PICTURE, from_float(_grid([row], gap=4), 8), overwrite=True)
    if boxes:
        x0, y0, x1, y1 = _widen(boxes[0], 0.3, hr.shape[:2])
        write_image(out / FACE_PICTURE, from_float(_grid([[image[y0:y1, x0:x1] for image in row]], gap=4), 8),
                    overwrite=True)
    return PhotoResult(scale, len(boxes), scores["bicubic"], scores["model"], FACE_PICTURE if boxes else None, label)


def _widen(box: tuple[int, int, int, int], margin: float, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    dx, dy = int(margin * (x1 - x0)), int(margin * (y1 - y0))
    return max(0, x0 - dx), max(0, y0 - dy), min(shape[1], x1 + dx), min(shape[0], y1 + dy)


def run_demo(out_dir: str | os.PathLike, model: DemoModel, *, count: int = 6, size: int = 128,
             seed: int = DEMO_SEED, presets: tuple[str, ...] = DEMO_PRESETS, photo: Path | None = PHOTO,
             overwrite: bool = False) -> Path:
    """Write the demo report into ``out_dir`` and return the path of its ``index.html`` (``photo`` None: no
    real photo)."""
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
    real = None if photo is None else evaluate_photo(out, Path(photo))
    write_text_atomic(out / "metrics.csv", _csv(results, real, model))
    write_text_atomic(out / "metrics.md", _markdown(results, real, model, count, size))
    index = out / "index.html"
    write_text_atomic(index, _html(results, real, model, count, size))
    return index


def _csv(results: list[PresetResult], real: PhotoResult | None, model: DemoModel) -> str:
    buffer = _io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["preset", "method", "psnr_y", "ssim_y"])
    for r in results:
        writer.writerow([r.preset, "bicubic", f"{r.bicubic[0]:.4f}", f"{r.bicubic[1]:.5f}"])
        writer.writerow([r.preset, model.label, f"{r.restored[0]:.4f}", f"{r.restored[1]:.5f}"])
    if real is not None:
        for region, index in (("faces", 0), ("image", 1)):
            writer.writerow([f"photo_x{real.scale}_{region}", "bicubic", f"{real.bicubic[index]:.4f}", ""])
            writer.writerow([f"photo_x{real.scale}_{region}", real.label, f"{real.restored[index]:.4f}", ""])
    return buffer.getvalue()


def _photo_sentence(real: PhotoResult) -> str:
    return (f"Real photo (NASA astronaut, public domain) MATLAB-bicubic downscaled x{real.scale} and restored by "
            f"the photo pipeline with {real.label} and with bicubic: PSNR-Y over the {real.faces} face box(es) "
            f"{real.restored[0]:.2f} dB against {real.bicubic[0]:.2f} dB ({real.restored[0] - real.bicubic[0]:+.2f}), "
            f"over the whole image {real.restored[1]:.2f} against {real.bicubic[1]:.2f} dB.")


def _markdown(results: list[PresetResult], real: PhotoResult | None, model: DemoModel, count: int, size: int
              ) -> str:
    lines = [f"{model.label} against bicubic on {count} held-out synthetic faces at {size}x{size} "
             "(PSNR dB / SSIM on Y; an output smaller than the face is resized to it by bicubic).", "",
             "| preset | bicubic PSNR | bicubic SSIM | model PSNR | model SSIM | gain (dB) |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r.preset} | {r.bicubic[0]:.2f} | {r.bicubic[1]:.4f} | {r.restored[0]:.2f} | {r.restored[1]:.4f} "
              f"| {r.restored[0] - r.bicubic[0]:+.2f} |" for r in results]
    if real is not None:
        lines += ["", _photo_sentence(real)]
    return "\n".join(lines) + "\n"


def _html(results: list[PresetResult], real: PhotoResult | None, model: DemoModel, count: int, size: int) -> str:
    label = html.escape(model.label)
    rows = "\n".join(
        f"<tr><td>{html.escape(r.preset)}</td><td>{r.bicubic[0]:.2f}</td><td>{r.bicubic[1]:.4f}</td>"
        f"<td>{r.restored[0]:.2f}</td><td>{r.restored[1]:.4f}</td><td>{r.restored[0] - r.bicubic[0]:+.2f}</td></tr>"
        for r in results
    )
    photo = "" if real is None else (
        f"<h2>A real photo</h2><p>{html.escape(_photo_sentence(real))}</p>"
        f"<p>LR input (nearest) | bicubic | {html.escape(real.label)} | original</p>"
        f'<img src="{PHOTO_PICTURE}" alt="real photo before and after" style="max-width:100%">'
        + ("" if real.face_picture is None else f'<p>the face</p><img src="{real.face_picture}" alt="the face">'))
    grids = "\n".join(
        f"<h3>{html.escape(r.preset)}</h3><p>LR (nearest) | bicubic | {label} | ground truth</p>"
        f'<img src="{html.escape(r.grid)}" alt="{html.escape(r.preset)}">'
        for r in results
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>facerestore demo</title></head><body>"
        f"<h1>facerestore demo</h1>{photo}<h2>Synthetic faces</h2><p>{count} held-out synthetic faces, "
        f"{size}x{size}, degraded with each preset, restored with {label}; PSNR/SSIM on the Y channel.</p>"
        "<table border='1' cellpadding='4'><tr><th>preset</th><th>bicubic PSNR (dB)</th><th>bicubic SSIM</th>"
        f"<th>model PSNR (dB)</th><th>model SSIM</th><th>gain (dB)</th></tr>{rows}</table>"
        f"{grids}</body></html>\n"
    )
