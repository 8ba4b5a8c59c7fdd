"""Whole-photo benchmark on real photos: does the photo pipeline (``FaceRestorer``, as ``facerestore restore``)
make faces better or worse than plain bicubic?

Every photo of ``--photos`` (default ``$FACERESTORE_HOME/real_val/photos``) is cropped to a multiple of 4 px,
degraded ×2 and ×4 by MATLAB bicubic (``facerestore.degrade.imresize``) and by ``gfrnet_general`` (GFRNet §3.2
blur, noise, JPEG; its factor fixed to 2 or 4, seeds fixed), quantised to 8 bits, restored at the matching
background scale, and compared with the original: PSNR-Y / SSIM-Y (``facerestore.metrics``) over each face
region (the box of its 68 landmarks, raised by 30 % for the forehead) and over the whole image.

The faces are *known* in the originals: the ``.pts`` landmark files beside a photo (iBUG, 1-based) and dlib
HOG (one upsampling) on the original for the rest. Each face is bucketed by its native size in the degraded
photo (``facerestore.face.align.native_size`` of the original landmarks over the factor).

Configurations, in one run: ``background`` (the photo upscaled by cv2 bicubic only: what a kept face gets),
``bicubic`` (the pipeline with ``--method bicubic``), the given method with the default size rule
(``--max-squeeze``), and the same with every face restored (``max_squeeze=inf``), which measures the rule:
for the faces larger than the network's output, the median gain over ``background`` per squeeze ratio tells
up to which ratio restoring them beats keeping bicubic. Whole-image scores are exact but only re-scored where
an output differs from ``background`` (the SSIM window is local).

Run: ``.venv/bin/python benchmarks/bench_photo_real.py`` (the photo default, its weights chosen per factor as
``facerestore restore --scale F`` does) or ``--method ufvnet --weights W.safetensors`` (``--allow-untrained
--option K=V`` for a network without weights). Prints Markdown tables of medians and
writes ``--json`` (default ``runs/bench_photo_real.json``, git-ignored).
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from facerestore.cli.options import parse_options
from facerestore.data.real_val import read_photo, read_pts
from facerestore.degrade import apply_preset, imresize
from facerestore.errors import FaceRestoreError, ImageReadError
from facerestore.face.detect import DlibDetector
from facerestore.io import to_float
from facerestore.io.atomic import write_json_atomic
from facerestore.metrics import rgb_to_y, ssim_y
from facerestore.face.align import native_size
from facerestore.restore.restorer import MAX_SQUEEZE, FaceRestorer
from facerestore.restore.weights_cache import cache_dir

FACTORS = (2, 4)
DEGRADATIONS = ("bicubic", "gfrnet_general")
BUCKETS = ((0, 32, "<32"), (32, 64, "32-64"), (64, 128, "64-128"), (128, math.inf, ">=128"))
RATIO_BUCKETS = ((1.0, 1.25), (1.25, 1.5), (1.5, 2.0), (2.0, math.inf))
SSIM_RADIUS = 5  # the 11x11 window
MEASURABLE_DB = 0.1  # a gain this large (median, PSNR-Y) counts as measurably better
BACKGROUND = "background"


@dataclass(frozen=True)
class Photo:
    """An original photo (HxWx3 float32 RGB in [0, 1], cropped to a multiple of 4) and its known faces'
    68 landmarks (photo pixels)."""

    name: str
    image: np.ndarray
    faces: list[np.ndarray]


class CachedDetector:
    """The default detector, run once per distinct image: every configuration sees the same faces."""

    def __init__(self):
        self.inner, self.seen = DlibDetector(), {}

    def detect(self, image: np.ndarray):
        key = hash(image.tobytes())
        if key not in self.seen:
            self.seen[key] = self.inner.detect(image)
        return self.seen[key]


# --- photos and their faces ------------------------------------------------------------------------------
def read_rgb(path: Path) -> np.ndarray:
    """HxWx3 float32 RGB of a photo (gray repeated, alpha dropped; PPM as :func:`real_val.read_photo` reads it)."""
    pixels = to_float(read_photo(path))
    return np.ascontiguousarray(np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels)


def known_faces(image: np.ndarray, pts: np.ndarray | None, detector: DlibDetector) -> list[np.ndarray]:
    """The ``.pts`` face, then every HOG face of the original whose centre is outside it."""
    faces = [] if pts is None else [pts]
    for face in detector.detect(image):
        centre = face.landmarks.mean(axis=0)
        if not any(inside(centre, face_box(known, image.shape)) for known in faces):
            faces.append(face.landmarks)
    return faces


def load_photos(folder: Path) -> list[Photo]:
    """Every image of ``folder`` (sorted) with its known faces; photos without a face are skipped."""
    detector = DlibDetector("hog", upsample=1)
    photos = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() == ".pts" or not path.is_file():
            continue
        image = read_rgb(path)
        image = image[:image.shape[0] // 4 * 4, :image.shape[1] // 4 * 4]
        pts = path.with_suffix(".pts")
        faces = known_faces(image, read_pts(pts) if pts.is_file() else None, detector)
        if faces:
            photos.append(Photo(path.name, image, faces))
        else:
            print(f"bench_photo_real: {path}: no face, skipped", file=sys.stderr)
    if not photos:
        raise ImageReadError("no photo with a face", folder)
    return photos


def face_box(landmarks: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), end exclusive: the landmarks' box raised by 30 % of its height, in the image."""
    (x0, y0), (x1, y1) = landmarks.min(axis=0), landmarks.max(axis=0)
    y0 -= 0.3 * (y1 - y0)
    return (max(0, int(x0)), max(0, int(y0)), min(shape[1], int(math.ceil(x1)) + 1),
            min(shape[0], int(math.ceil(y1)) + 1))


def inside(point: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """Whether an (x, y) point lies in an (x0, y0, x1, y1) box, end exclusive."""
    return box[0] <= point[0] < box[2] and box[1] <= point[1] < box[3]


# --- degradation and restoration -------------------------------------------------------------------------
def degrade(image: np.ndarray, kind: str, factor: int, seed: int) -> np.ndarray:
    """The photo ``factor`` times smaller, as 8-bit RGB."""
    if kind == "bicubic":
        small = imresize(image, scale=1 / factor)
    else:
        small = apply_preset(kind, image, seed, scales=(float(factor),))[0]["lr"]
    return np.round(np.clip(small, 0, 1) * 255).astype(np.uint8)


def build_restorers(args: argparse.Namespace, detector: CachedDetector) -> dict[str, dict[int, FaceRestorer]]:
    """Per configuration name, one FaceRestorer per factor (background scale = factor)."""
    options = parse_options(args.option)
    configs = {"bicubic": lambda f: FaceRestorer("bicubic", scale=f, detector=detector, options={"scale": f},
                                                 max_squeeze=args.max_squeeze)}
    if args.method != "bicubic":
        def method(factor: int, squeeze: float) -> FaceRestorer:
            return FaceRestorer(args.method, args.weights, scale=factor, detector=detector, options=options,
                                allow_untrained=args.allow_untrained, max_squeeze=squeeze)
        name = args.method or "default"  # None: `facerestore restore`'s default, its weights chosen per factor
        configs[name] = lambda f: method(f, args.max_squeeze)
        configs[f"{name}, every face"] = lambda f: method(f, math.inf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # --allow-untrained is said once, in the header
        return {name: {f: make(f) for f in args.factors} for name, make in configs.items()}


# --- scores ----------------------------------------------------------------------------------------------
def face_scores(image: np.ndarray, gt: np.ndarray, box: tuple[int, int, int, int]) -> tuple[float, float]:
    """(PSNR-Y, SSIM-Y) of one face region."""
    x0, y0, x1, y1 = box
    return _psnr(_sse(image[y0:y1, x0:x1], gt[y0:y1, x0:x1]), (y1 - y0) * (x1 - x0)), \
        ssim_y(image[y0:y1, x0:x1], gt[y0:y1, x0:x1])


def _sse(image: np.ndarray, gt: np.ndarray) -> float:
    return float(np.sum((rgb_to_y(image.astype(np.float64)) - rgb_to_y(gt.astype(np.float64))) ** 2))


def _psnr(sse: float, pixels: int) -> float:
    return 10 * math.log10(255.0 ** 2 / max(sse / pixels, 1e-12))


class WholeImage:
    """Exact whole-image PSNR-Y / SSIM-Y of outputs that equal ``background`` except in a box: the background
    is scored once, an output only over its changed box (padded by two SSIM radii)."""

    def __init__(self, background: np.ndarray, gt: np.ndarray):
        self.background, self.gt = background, gt
        height, width = gt.shape[:2]
        self.pixels = height * width
        self.windows = (height - 2 * SSIM_RADIUS) * (width - 2 * SSIM_RADIUS)
        self.sse = _sse(background, gt)
        self.ssim_sum = ssim_y(background, gt) * self.windows

    def scores(self, image: np.ndarray) -> tuple[float, float]:
        changed = np.any(image != self.background, axis=2)
        rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
        sse, ssim_sum = self.sse, self.ssim_sum
        if rows.size:
            pad = 2 * SSIM_RADIUS
            y0, y1 = max(0, rows[0] - pad), min(changed.shape[0], rows[-1] + 1 + pad)
            x0, x1 = max(0, cols[0] - pad), min(changed.shape[1], cols[-1] + 1 + pad)
            new, old, gt = image[y0:y1, x0:x1], self.background[y0:y1, x0:x1], self.gt[y0:y1, x0:x1]
            sse += _sse(new, gt) - _sse(old, gt)
            windows = (y1 - y0 - 2 * SSIM_RADIUS) * (x1 - x0 - 2 * SSIM_RADIUS)
            ssim_sum += (ssim_y(new, gt) - ssim_y(old, gt)) * windows
        return _psnr(sse, self.pixels), ssim_sum / self.windows


def detected_face(result, landmarks: np.ndarray, factor: int, shape: tuple[int, ...]):
    """The restored face of ``result`` lying on a known face (original pixels), else None."""
    box = face_box(landmarks, shape)
    for face in result.faces:
        if inside((face.landmarks.mean(axis=0) + 0.5) * factor - 0.5, box):
            return face
    return None


def run_photo(photo: Photo, kind: str, factor: int, seed: int, restorers: dict, timings: dict) -> tuple[list, dict]:
    """Face records and the image record of one degraded photo, every configuration."""
    small = degrade(photo.image, kind, factor, seed)
    height, width = photo.image.shape[:2]
    start = time.perf_counter()
    background = np.clip(cv2.resize(small.astype(np.float32) / 255, (width, height),
                                    interpolation=cv2.INTER_CUBIC), 0, 1)
    timings[BACKGROUND] = timings.get(BACKGROUND, 0.0) + time.perf_counter() - start
    outputs = {BACKGROUND: (background, None)}
    for name, by_factor in restorers.items():
        start = time.perf_counter()
        result = by_factor[factor].restore(small)
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start
        outputs[name] = (result.image, result)
    whole = WholeImage(background, photo.image)
    image_record = {"photo": photo.name, "degradation": kind, "factor": factor, "seed": seed,
                    "scores": {name: whole.scores(image) for name, (image, _) in outputs.items()}}
    faces = []
    for index, landmarks in enumerate(photo.faces):
        box = face_box(landmarks, photo.image.shape)
        record = {"photo": photo.name, "face": index, "degradation": kind, "factor": factor,
                  "native": native_size(landmarks) / factor, "scores": {}, "status": {}}
        for name, (image, result) in outputs.items():
            record["scores"][name] = face_scores(image, photo.image, box)
            if result is not None:
                found = detected_face(result, landmarks, factor, photo.image.shape)
                record["status"][name] = "missed" if found is None else (found.kept or "restored")
        faces.append(record)
    return faces, image_record


# --- tables ----------------------------------------------------------------------------------------------
def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _cell(records: list[dict], name: str) -> str:
    if not records:
        return "-"
    psnr = _median([r["scores"][name][0] for r in records])
    ssim = _median([r["scores"][name][1] for r in records])
    gain = _median([r["scores"][name][0] - r["scores"][BACKGROUND][0] for r in records])
    return f"{psnr:.2f} / {ssim:.4f} ({gain:+.2f})"


def bucket_table(faces: list[dict], images: list[dict], names: list[str], factors: list[int]) -> list[str]:
    """Markdown: per degradation and face-size bucket, median PSNR-Y / SSIM (median PSNR gain over the
    background), and the whole images."""
    scales = "/".join(f"x{f}" for f in factors)
    lines = ["| degradation | faces (native px, degraded photo) | n | " + " | ".join(names) + " |",
             "|---" * (len(names) + 3) + "|"]
    for kind in DEGRADATIONS:
        for low, high, label in BUCKETS:
            chosen = [r for r in faces if r["degradation"] == kind and low <= r["native"] < high]
            lines.append(f"| {kind} {scales} | {label} | {len(chosen)} | "
                         + " | ".join(_cell(chosen, n) for n in names) + " |")
        chosen = [r for r in images if r["degradation"] == kind]
        lines.append(f"| {kind} {scales} | whole image | {len(chosen)} | "
                     + " | ".join(_cell(chosen, n) for n in names) + " |")
    return lines


def squeeze_table(faces: list[dict], every: str, limit: int) -> tuple[list[str], float]:
    """Markdown: faces larger than the network's output, by squeeze ratio (native / ``limit``), restored
    anyway (``every``) against the background; and the largest ratio up to which that measurably wins."""
    lines = [f"| native / {limit} px | n | PSNR-Y gain | SSIM gain | restored better |", "|---|---|---|---|---|"]
    suggested, winning = 1.0, True
    for low, high in RATIO_BUCKETS:
        chosen = [r for r in faces if low < r["native"] / limit <= high and r["status"].get(every) == "restored"]
        gains = [r["scores"][every][0] - r["scores"][BACKGROUND][0] for r in chosen]
        ssim_gains = [r["scores"][every][1] - r["scores"][BACKGROUND][1] for r in chosen]
        better = sum(g > 0 for g in gains)
        lines.append(f"| {low:g}-{high:g} | {len(chosen)} | {_median(gains):+.2f} dB | {_median(ssim_gains):+.4f} | "
                     f"{better} of {len(chosen)} |")
        winning = winning and bool(chosen) and _median(gains) > MEASURABLE_DB and _median(ssim_gains) > 0
        if winning:
            suggested = high
    return lines, suggested


def status_line(faces: list[dict], names: list[str]) -> str:
    counts = {name: {} for name in names}
    for record in faces:
        for name, status in record["status"].items():
            counts[name][status] = counts[name].get(status, 0) + 1
    return "; ".join(f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())) for name, c in counts.items()
                     if c)


# --- main ------------------------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=None,
                        help="folder of real photos (default $FACERESTORE_HOME/real_val/photos)")
    parser.add_argument("--method", default=None, help="default: the photo pipeline's default method")
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--option", action="append", default=[], metavar="K=V")
    parser.add_argument("--allow-untrained", action="store_true")
    parser.add_argument("--max-squeeze", type=float, default=MAX_SQUEEZE)
    parser.add_argument("--factors", type=int, nargs="+", default=list(FACTORS), help="degradation factors")
    parser.add_argument("--seed", type=int, default=0, help="first seed of the gfrnet_general degradations")
    parser.add_argument("--json", type=Path, default=Path("runs") / "bench_photo_real.json")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    try:
        photos = load_photos(args.photos or cache_dir() / "real_val" / "photos")
        detector = CachedDetector()
        restorers = build_restorers(args, detector)
    except FaceRestoreError as error:
        print(f"bench_photo_real: error: {error}", file=sys.stderr)
        return 2
    names = [BACKGROUND, *restorers]
    label = args.method or "default"
    method = restorers.get(label, restorers["bicubic"])[args.factors[0]]
    weights = {f: str(r.weights) for f, r in restorers.get(label, restorers["bicubic"]).items()}
    print(f"{len(photos)} photos, {sum(len(p.faces) for p in photos)} known faces; method {method.name}, weights "
          f"{weights}{' (untrained)' if method.untrained else ''}, options {args.option}, max_squeeze "
          f"{args.max_squeeze:g}; torch {torch.__version__}, 1 thread")
    faces, images, timings = [], [], {}
    for index, photo in enumerate(photos):
        for factor in args.factors:
            for kind in DEGRADATIONS:
                seed = args.seed + 100 * index + factor
                face_records, image_record = run_photo(photo, kind, factor, seed, restorers, timings)
                faces += face_records
                images.append(image_record)
    print("\nMedian PSNR-Y / SSIM-Y against the original (median PSNR-Y gain over the background upscale):\n")
    print("\n".join(bucket_table(faces, images, names, args.factors)))
    print(f"\nface status: {status_line(faces, names[1:])}")
    summary = {"timings_s": {k: round(v, 2) for k, v in timings.items()}}
    every = f"{label}, every face"
    if every in restorers:
        limit = restorers[every][args.factors[0]].largest_face()
        lines, suggested = squeeze_table(faces, every, limit)
        print(f"\nFaces larger than {method.name}'s {limit} px output, restored anyway, against keeping bicubic:\n")
        print("\n".join(lines))
        print(f"\nsuggested max_squeeze: {suggested:g} (largest ratio up to which restoring wins by > "
              f"{MEASURABLE_DB} dB and in SSIM)")
        summary["suggested_max_squeeze"] = suggested
    print(f"\nseconds per configuration: {summary['timings_s']}; total {time.perf_counter() - started:.0f} s")
    report = {"method": method.name, "weights": weights,
              "untrained": method.untrained, "options": args.option, "max_squeeze": args.max_squeeze,
              "torch": torch.__version__, "summary": summary, "images": images, "faces": faces}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.json, report)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
