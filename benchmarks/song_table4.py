"""Song et al. Table 4: FSGN restoring faces whose component masks deviate more and more from the truth; and the
measurement of the detector's landmark error that the default (``mask_landmarks: perturbed``) masks imitate.

Table 4 (default mode). Test faces: the synthetic test split (benchmark seed, as ``synthetic-song-*``) under
``--preset`` (the paper's Table 4 is the deblurring task: ``song_deblur``), at ``--frame`` 128 or 320x240 (height x
width, Song §4). For each face one error pattern is drawn from the measured detector model
(:data:`facerestore.data.sample.LANDMARK_ERRORS`) and scaled so that the masks' mean inner-landmark deviation is
0, 2, 4, ... px *at 320x240* (the paper's pixels; at 128 the same deviation relative to the face is 0.4x as many
pixels); the FSGN output is scored (PSNR / SSIM on Y) against the HR face. Extra rows: masks from real detection on
the degraded input (where the detector finds the face), the default perturbed masks, and all-zero masks.

Weights: ``--weights`` an FSGN ``.safetensors`` (or a run folder with ``final.safetensors``) trained on ``--preset``
at ``--frame``. Without it the script trains a quick FSGN itself (``--train-iterations`` steps, ``--channels``
channels, 48-px patches of ``--train-count`` faces, masks of ``--train-masks``: the recipes' default, or ``gt``),
which is far from the paper's network: its numbers show the trend only, and the table says so.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/song_table4.py --threads 1            # quick weights, 128
    .venv/bin/python benchmarks/song_table4.py --weights runs/fsgn_deblur --frame 320x240 --count 50

Measurement (``--measure``): ``--measure-count`` synthetic faces (seed 11, training split: neither the recipes'
seed 0 nor the test split) under song_sr and song_deblur at 128 and 320x240 are degraded exactly as in training
(:func:`facerestore.data.build_sample`), the project's detector (:func:`facerestore.data.sample.detect_landmarks`:
dlib HOG, automatic upsampling, face nearest the centre) runs on ``lr_up``, and the error model is fitted to the
detections it makes (:class:`~facerestore.data.sample.LandmarkErrorModel`): the detections split at
``GROSS_FACTOR`` times the median deviation into usual and gross ones (two components); per face the
least-squares affine map from the GT inner landmarks to the detected ones about their centroid (mean and full
covariance), in its residual each part's per-axis scale and shift (means and deviations), the points' residual
beyond that: a systematic offset per point (pooled over all presets and frames: :data:`POINT_BIAS`) and a jitter;
the spreads (not the means) of each component are then scaled so that its mean deviation is the detections'
(Gaussians of the errors' variance overshoot it by 4-9 %: the errors are heavier-tailed). Prints the literals of
:data:`~facerestore.data.sample.POINT_BIAS` and :data:`~facerestore.data.sample.LANDMARK_ERRORS` and a check: the
deviation of detected and of model-perturbed landmarks on the same faces. ``--raw FILE.npz`` keeps the
detections, ``--refit FILE.npz`` fits them again without detecting.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/song_table4.py --measure --measure-count 200
"""
from __future__ import annotations

import argparse
import os
import platform
import pprint
import sys
import time
from datetime import date
from pathlib import Path

import dlib
import numpy as np
import torch

from facerestore.data import SyntheticFaces
from facerestore.data.sample import (INNER, PART_NAMES, PARTS, ErrorComponent, LandmarkErrorModel, collate_samples,
                                     crop_sample, detect_landmarks, eye_distance, landmark_error_model,
                                     mask_deviation, perturb_landmarks)
from facerestore.evaluate.benchmark import BENCHMARK_SEED
from facerestore.face.priors import component_masks
from facerestore.metrics import psnr_y_torch, ssim_y_torch

MEASURE_SEED = 11
FRAMES = {"128": (128, None), "320x240": (512, (320, 240))}   # --frame: (synthetic render size, frame option)
PAPER_HEIGHT = 320
GROSS_FACTOR = 2.0   # a detection off by more than this many times the median deviation is a gross one
MIN_GROSS = 5        # fewer gross detections than this: one component
CALIBRATION_DRAWS = 8  # error patterns per measured face when calibrating the spreads
DEVIATIONS = (0, 2, 4, 6, 8, 10)                              # Table 4, px at 320x240
PAPER_TABLE4 = {0: (25.54, 0.85), 2: (25.52, 0.85), 4: (25.33, 0.84), 6: (25.10, 0.83), 8: (24.53, 0.81),
                10: (24.12, 0.78)}


# ---------------------------------------------------------------- the measurement of the detector's error

def _faces(frame: str, preset: str, count: int, seed: int, keys, split: str = "train",
           mask_landmarks: str | None = None) -> SyntheticFaces:
    size, shape = FRAMES[frame]
    options = {} if shape is None else {"frame": list(shape)}
    if mask_landmarks is not None:
        options["mask_landmarks"] = mask_landmarks
    return SyntheticFaces(size, count, seed, preset, keys, split=split, preset_options=options)


def _affine(truth: np.ndarray, found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, b, c, d, x, y) of the least-squares affine map found ≈ (I + [[a, b], [c, d]])(truth − centroid) +
    centroid + (x, y), and the residual, for (n, 2) points."""
    centre = truth.mean(axis=0)
    design = np.hstack([truth - centre, np.ones((len(truth), 1))])
    solution = np.linalg.lstsq(design, found - centre, rcond=None)[0]     # rows: A^T (2), shift (1)
    residual = found - centre - design @ solution
    return np.concatenate([(solution[:2].T - np.eye(2)).ravel(), solution[2]]), residual


def _part_residuals(truth: np.ndarray, found: np.ndarray, scale: float
                    ) -> tuple[np.ndarray, np.ndarray, list[tuple[float, float, float, float]]]:
    """For one face (68, 2), with errors in px times ``scale``: the global affine parameters, the inner points'
    residual after it and after each part's per-axis scale and shift (least squares), and those part values."""
    params, residual = _affine(truth[list(INNER)], found[list(INNER)])
    params[4:] *= scale
    residual = residual * scale
    left, values = residual.copy(), []
    for part in PARTS:
        index = [i - INNER[0] for i in part]
        relative = (truth[list(part)] - truth[list(part)].mean(axis=0)) * scale
        solutions = []
        for axis in (0, 1):
            design = np.stack([relative[:, axis], np.ones(len(part))], axis=1)
            solution = np.linalg.lstsq(design, residual[index, axis], rcond=None)[0]
            left[index, axis] -= design @ solution
            solutions.append(solution)
        values.append((solutions[0][0], solutions[1][0], solutions[0][1], solutions[1][1]))
    return params, left, values


def point_bias(raw: dict[str, np.ndarray]) -> np.ndarray:
    """(51, 2) mean point residual after the global affine and the parts' scale and shift, in eye distances,
    over every detection of :func:`collect` (the detector's shape convention; it differs between the presets
    and frames by a fifth of its size)."""
    left = [_part_residuals(t, f, 1 / eye_distance(t))[1]
            for key in raw if key.endswith("_truth") for t, f in zip(raw[key], raw[key[:-6] + "_found"])]
    return np.mean(left, axis=0)


def _fit_component(truths: list[np.ndarray], founds: list[np.ndarray], reference: float, weight: float,
                   bias: np.ndarray) -> ErrorComponent:
    """One :class:`ErrorComponent` fitted to (68, 2) GT / detected pairs, in px of a face of eye distance
    ``reference``: the affine map's mean and covariance (Cholesky factor); in its residual, each part's
    per-axis scale about its centroid and shift (least squares), then the points' jitter (variance with the
    fit's degrees of freedom); then every spread (not the means) times the factor that makes the component's
    mean deviation that of its detections (the errors are heavier-tailed than Gaussians of their variance)."""
    affines, parts, jitters = [], [], [[] for _ in PARTS]
    bias_px = bias * reference
    for truth, found in zip(truths, founds):
        params, left, values = _part_residuals(truth, found, reference / eye_distance(truth))
        affines.append(params)
        parts.append(values)
        for p, part in enumerate(PARTS):
            index = [i - INNER[0] for i in part]
            jitters[p].append(left[index] - bias_px[index])
    affines, parts = np.array(affines), np.array(parts)
    point_var = np.array([np.concatenate(j).var(axis=0) * len(part) / (len(part) - 2)
                          for j, part in zip(jitters, PARTS)])
    chol = np.linalg.cholesky(np.cov(affines.T, bias=True) + 1e-10 * np.eye(6))
    measured = np.mean([mask_deviation(f, t) for t, f in zip(truths, founds)])

    def component(spread: float) -> ErrorComponent:
        return ErrorComponent(
            weight=round(weight, 4), affine_mean=_rounded(affines.mean(axis=0), 5),
            affine_chol=tuple(_rounded(chol[i, :i + 1] * spread, 5) for i in range(6)),
            part_mean=tuple(_rounded(v, 4) for v in parts.mean(axis=0)),
            part_std=tuple(_rounded(v, 4) for v in parts.std(axis=0) * spread),
            point_std=tuple(_rounded(v, 3) for v in np.sqrt(point_var) * spread))

    def mean_deviation(spread: float) -> float:
        model = LandmarkErrorModel("", (1, 1), reference, 0, 0, 0.0, (component(spread),))
        rng = np.random.default_rng(0)
        return float(np.mean([mask_deviation(perturb_landmarks(t, model, rng, point_bias=bias), t)
                              for t in truths for _ in range(CALIBRATION_DRAWS)]))

    low, high = 0.1, 2.0
    for _ in range(20):                               # bisection: the mean deviation grows with the spread
        middle = (low + high) / 2
        low, high = (middle, high) if mean_deviation(middle) < measured else (low, middle)
    spread = round((low + high) / 2, 3)
    print(f"#   component of {len(truths)} detections: spread factor {spread}", file=sys.stderr)
    return component(spread)


def _rounded(values: np.ndarray, digits: int) -> tuple[float, ...]:
    return tuple(round(float(v), digits) for v in values)


def fit_error_model(preset: str, frame: tuple[int, int], truths: list[np.ndarray], founds: list[np.ndarray],
                    faces: int, bias: np.ndarray) -> LandmarkErrorModel:
    """Fit :class:`LandmarkErrorModel` to (68, 2) GT / detected landmark pairs: the usual detections (deviation up
    to ``GROSS_FACTOR`` times the median) and the gross ones (above) as two components; ``bias``: the
    :func:`point_bias` the model will be used with."""
    reference = float(np.mean([eye_distance(t) for t in truths]))
    deviations = np.array([mask_deviation(f, t) for t, f in zip(truths, founds)])
    gross = deviations > GROSS_FACTOR * np.median(deviations)
    groups = [~gross, gross] if gross.sum() >= MIN_GROSS else [np.ones_like(gross)]
    components = tuple(_fit_component([t for t, g in zip(truths, group) if g], [f for f, g in zip(founds, group) if g],
                                      reference, float(group.mean()), bias) for group in groups)
    return LandmarkErrorModel(preset=preset, frame=tuple(frame), eye_distance=round(reference, 2), faces=faces,
                              detected=len(truths), deviation=round(float(deviations.mean()), 3),
                              components=components)


def collect(count: int) -> dict[str, np.ndarray]:
    """GT and detected landmarks of ``count`` degraded faces per preset and frame: arrays ``{preset}_{frame}_truth``
    and ``_found`` (detected, n, 68, 2), plus ``_faces`` (count) and ``_shape`` (the frame)."""
    raw = {}
    for frame in FRAMES:
        for preset in ("song_sr", "song_deblur"):
            start = time.perf_counter()
            data = _faces(frame, preset, count, MEASURE_SEED, {"lr_up", "landmarks"})
            truths, founds = [], []
            for index in range(count):
                sample = data[index]
                found = detect_landmarks(sample["lr_up"].permute(1, 2, 0).numpy())
                if found is not None:
                    truths.append(sample["landmarks"].numpy().astype(np.float64))
                    founds.append(found.astype(np.float64))
            key = f"{preset}_{frame}"
            raw[f"{key}_truth"], raw[f"{key}_found"] = np.array(truths), np.array(founds)
            raw[f"{key}_faces"], raw[f"{key}_shape"] = np.array(count), np.array(data[0]["lr_up"].shape[-2:])
            print(f"# {key}: detected {len(truths)}/{count} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    return raw


def _field(name: str, value, indent: int, width: int = 116) -> str:
    """``name=value`` as Python, wrapped under ``indent`` spaces within ``width`` columns."""
    text = pprint.pformat(value, width=width - indent - len(name) - 1, compact=True)
    return " " * indent + f"{name}=" + text.replace("\n", "\n" + " " * (indent + len(name) + 1))


def _literal(model: LandmarkErrorModel) -> str:
    """The source text of one entry of :data:`~facerestore.data.sample.LANDMARK_ERRORS`."""
    lines = [f"    LandmarkErrorModel({model.preset!r}, {model.frame}, eye_distance={model.eye_distance}, "
             f"faces={model.faces}, detected={model.detected},\n"
             f"                       deviation={model.deviation}, components=("]
    for component in model.components:
        fields = [_field(name, getattr(component, name), 12) for name in
                  ("affine_mean", "affine_chol", "part_mean", "part_std", "point_std")]
        lines.append(f"        ErrorComponent({component.weight},\n" + ",\n".join(fields) + "),")
    return "\n".join(lines) + "\n    )),"


def measure(raw: dict[str, np.ndarray], header: str) -> None:
    """Fit and print the models of :func:`collect`'s detections, with the check of the module docstring."""
    print(header)
    bias = point_bias(raw)
    models, checks = [], []
    for frame in FRAMES:
        for preset in ("song_sr", "song_deblur"):
            key = f"{preset}_{frame}"
            truths, founds, count = list(raw[f"{key}_truth"]), list(raw[f"{key}_found"]), int(raw[f"{key}_faces"])
            model = fit_error_model(preset, tuple(int(v) for v in raw[f"{key}_shape"]), truths, founds, count,
                                    bias)
            models.append(model)
            rng = np.random.default_rng(0)
            simulated = [mask_deviation(perturb_landmarks(t, model, rng, point_bias=bias), t)
                         for t in truths for _ in range(4)]
            measured = [mask_deviation(f, t) for t, f in zip(truths, founds)]

            def stats(values: list[float]) -> str:
                return (f"mean {np.mean(values):.2f} median {np.median(values):.2f} p90 "
                        f"{np.percentile(values, 90):.2f}")

            checks.append(f"{preset} {frame}: detected {len(truths)}/{count}; inner-landmark deviation px, detected "
                          f"{stats(measured)}; model {stats(simulated)}")
    print("POINT_BIAS: tuple[tuple[float, float], ...] = " + pprint.pformat(
        tuple((round(float(x), 4), round(float(y), 4)) for x, y in bias), width=70, compact=True).replace(
        "\n", "\n" + " " * 46))
    print("LANDMARK_ERRORS: tuple[LandmarkErrorModel, ...] = (")
    for model in models:
        print(_literal(model))
    print(")")
    print("\n".join("# " + line for line in checks))
    for model in models:
        print(f"\n{model.preset} {model.frame[0]}x{model.frame[1]} (eye distance {model.eye_distance} px)")
        for component in model.components:
            std = [float(np.sqrt(np.sum(np.square(row)))) for row in component.affine_chol]
            print(f"\ncomponent weight {component.weight}: affine (a, b, c, d, x, y) mean {component.affine_mean}, "
                  f"std {tuple(round(v, 4) for v in std)}")
            print("| part | mean scale−1 x, y; shift x, y | std scale x, y; shift x, y | point std x, y |\n"
                  "|---|---|---|---|")
            for name, mean, std, point in zip(PART_NAMES, component.part_mean, component.part_std,
                                              component.point_std):
                print(f"| {name} | {mean[0]:+.3f}, {mean[1]:+.3f}; {mean[2]:+.2f}, {mean[3]:+.2f} | "
                      f"{std[0]:.3f}, {std[1]:.3f}; {std[2]:.2f}, {std[3]:.2f} | {point[0]:.2f}, {point[1]:.2f} |")


# ---------------------------------------------------------------- Table 4

def _load_fsgn(weights: Path):
    from facerestore.methods import build_method

    path = weights / "final.safetensors" if weights.is_dir() else weights
    return build_method("fsgn", weights=path).eval()


def _quick_fsgn(frame: str, preset: str, iterations: int, channels: int, count: int, masks: str):
    """A quick FSGN trained here (L2, Adam 1e-3 with a cosine decay, batch 8 of 48-px patches, ``masks``: the
    training masks' ``mask_landmarks``)."""
    from facerestore.methods import build_method

    torch.manual_seed(0)
    fsgn = build_method("fsgn", channels=channels, scale=4)
    data = _faces(frame, preset, count, 0, {"lr_up", "masks", "hr"}, mask_landmarks=masks)
    records = [data.record(i) for i in range(count)]
    optimiser = torch.optim.Adam(fsgn.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, iterations, eta_min=1e-5)
    order = np.random.default_rng(0)
    start = time.perf_counter()
    for step in range(iterations):
        batch = []
        for index in order.integers(0, count, 8):
            rng = np.random.default_rng([step, int(index)])
            batch.append(crop_sample(data.sample(int(index), rng, records[index]), 48, rng))
        batch = collate_samples(batch)
        loss = torch.nn.functional.mse_loss(fsgn.restore(batch), batch["hr"])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 50 == 0 or step == iterations - 1:
            print(f"  quick FSGN step {step}: loss {loss.item():.5f} ({time.perf_counter() - start:.0f} s)",
                  file=sys.stderr)
    return fsgn.eval()


def _run(fsgn, samples: list[dict], masks: list[np.ndarray]) -> tuple[float, float]:
    batch = collate_samples([{"lr_up": s["lr_up"], "hr": s["hr"]} for s in samples])
    batch["masks"] = torch.from_numpy(np.stack(masks))
    with torch.inference_mode():
        out = torch.cat([fsgn({k: v[i:i + 4] for k, v in batch.items()}) for i in range(0, len(samples), 4)])
    return psnr_y_torch(out, batch["hr"]).mean().item(), ssim_y_torch(out, batch["hr"]).mean().item()


def table4(args: argparse.Namespace) -> None:
    began = time.perf_counter()
    if args.weights is not None:
        fsgn, source = _load_fsgn(args.weights), f"weights {args.weights}"
    else:
        fsgn = _quick_fsgn(args.frame, args.preset, args.train_iterations, args.channels, args.train_count,
                           args.train_masks)
        source = (f"QUICK weights trained by this script ({args.train_iterations} iterations, {args.channels} "
                  f"channels, {args.train_count} faces, masks mask_landmarks={args.train_masks}, "
                  f"{time.perf_counter() - began:.0f} s): trend only")
    data = _faces(args.frame, args.preset, args.count, BENCHMARK_SEED, {"lr_up", "hr", "landmarks"}, split="test")
    samples = [data[i] for i in range(args.count)]
    truths = [s["landmarks"].numpy() for s in samples]
    shape = tuple(samples[0]["hr"].shape[-2:])
    models = [landmark_error_model(args.preset, t) for t in truths]
    if any(m is None for m in models):
        raise SystemExit(f"no measured landmark error model for {args.preset}")
    to_paper = PAPER_HEIGHT / shape[0]
    print(f"## Song Table 4 on synthetic {args.preset} faces, {shape[0]}x{shape[1]}, {args.count} test faces\n")
    print(f"FSGN: {source}. torch {torch.__version__}, {torch.get_num_threads()} thread(s).\n")
    print("| masks | deviation px (at 320x240) | PSNR | SSIM | paper PSNR / SSIM |\n|---|---|---|---|---|")

    def row(label: str, points: list[np.ndarray], paper: str = "") -> None:
        masks = [component_masks(p, shape) for p in points]
        deviation = np.mean([mask_deviation(p, t) for p, t in zip(points, truths)])
        psnr, ssim = _run(fsgn, samples, masks)
        print(f"| {label} | {deviation:.2f} ({deviation * to_paper:.2f}) | {psnr:.2f} | {ssim:.4f} | {paper} |")
        sys.stdout.flush()

    unit = [mask_deviation(perturb_landmarks(t, m, np.random.default_rng([args.seed, i])), t)
            for i, (t, m) in enumerate(zip(truths, models))]
    for target in DEVIATIONS:
        strength = target / to_paper / float(np.mean(unit))
        points = [perturb_landmarks(t, m, np.random.default_rng([args.seed, i]), strength)
                  for i, (t, m) in enumerate(zip(truths, models))]
        paper = PAPER_TABLE4[target]
        row(f"perturbed, {target} px at 320x240 (x{strength:.2f})", points, f"{paper[0]:.2f} / {paper[1]:.2f}")
    row("perturbed, measured model (x1, default)", [perturb_landmarks(t, m, np.random.default_rng([args.seed, i]))
                                                    for i, (t, m) in enumerate(zip(truths, models))])
    detected = [detect_landmarks(s["lr_up"].permute(1, 2, 0).numpy()) for s in samples]
    found = [i for i, d in enumerate(detected) if d is not None]
    print(f"\nThe detector on lr_up found {len(found)} of {len(samples)} faces; on those:\n")
    if found:
        kept = [samples[i] for i in found]
        samples_all, truths_all = samples, truths
        samples, truths = kept, [truths_all[i] for i in found]
        print("| masks | deviation px (at 320x240) | PSNR | SSIM | |\n|---|---|---|---|---|")
        row("detected on lr_up", [detected[i] for i in found])
        row("ground truth", truths)
        samples, truths = samples_all, truths_all
    print()
    masks = [np.zeros((4,) + shape, np.float32) for _ in samples]
    psnr, ssim = _run(fsgn, samples, masks)
    print(f"All-zero masks, all {len(samples)} faces: PSNR {psnr:.2f}, SSIM {ssim:.4f}. "
          f"Total {time.perf_counter() - began:.0f} s.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", action="store_true", help="measure the detector's landmark error instead")
    parser.add_argument("--measure-count", type=int, default=200, help="faces per preset and frame (--measure)")
    parser.add_argument("--raw", type=Path, help="with --measure: also save the detections (.npz) for --refit")
    parser.add_argument("--refit", type=Path, help="fit the models to detections saved by --measure --raw")
    parser.add_argument("--weights", type=Path, help="FSGN .safetensors or run folder (default: train quick ones)")
    parser.add_argument("--preset", default="song_deblur", choices=("song_sr", "song_deblur"))
    parser.add_argument("--frame", default="128", choices=tuple(FRAMES), help="face size (height x width)")
    parser.add_argument("--count", type=int, default=20, help="test faces")
    parser.add_argument("--seed", type=int, default=0, help="seed of the error patterns")
    parser.add_argument("--train-iterations", type=int, default=300, help="quick FSGN training steps")
    parser.add_argument("--train-count", type=int, default=128, help="quick FSGN training faces")
    parser.add_argument("--channels", type=int, default=16, help="quick FSGN channels")
    parser.add_argument("--train-masks", default="auto", choices=("auto", "gt", "perturbed", "detected"),
                        help="mask_landmarks of the quick FSGN's training masks (auto: the recipes' default)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.refit is not None:
        with np.load(args.refit) as raw:
            measure(dict(raw), f"# refitted from {args.refit}")
    elif args.measure:
        header = (f"# measured {date.today()} on {platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs), "
                  f"dlib {dlib.__version__}, {args.measure_count} faces per preset and frame, seed {MEASURE_SEED}\n"
                  f"#   OMP_NUM_THREADS=1 .venv/bin/python benchmarks/song_table4.py --measure --measure-count "
                  f"{args.measure_count}")
        raw = collect(args.measure_count)
        if args.raw is not None:
            np.savez(args.raw, **raw)
        measure(raw, header)
    else:
        table4(args)


if __name__ == "__main__":
    main()
