"""Data-set throughput: samples per second for several key sets and sources (ratios against rendering
``hr`` + ``lr`` alone), and ``facerestore prepare`` images per second with 1 and 2 workers.

Run: ``.venv/bin/python benchmarks/bench_data.py``; figures go to docs/data.md.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from skimage import data as skdata

from facerestore.data import FolderFaces, SyntheticFaces
from facerestore.io import write_image

REPEATS = 5
SAMPLES = 24
PHOTOS = 12
PRIORS = {"hr", "lr", "lr_up", "landmarks", "masks", "face_mask", "parsing", "parsing_skin", "scale"}


def rate(dataset, count: int = SAMPLES) -> float:
    """Median samples/s over REPEATS passes of ``count`` samples."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for index in range(count):
            dataset[index]
        times.append(time.perf_counter() - start)
    return count / statistics.median(times)


def prepare_seconds(photos: Path, out: Path, workers: int) -> float:
    """Wall time of one ``prepare_folder`` call, in a fresh interpreter whose main module imports no
    torch (spawned workers re-import the main module; this script's would cost each one seconds)."""
    code = (f"import time; from facerestore.data.prepare import prepare_folder; t = time.perf_counter(); "
            f"prepare_folder({str(photos)!r}, {str(out)!r}, 128, workers={workers}, progress=False); "
            "print(time.perf_counter() - t)")
    return float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)


def main() -> None:
    torch.set_num_threads(2)
    cases = {
        "synthetic fish_x8 {hr, lr} (baseline)": SyntheticFaces(128, SAMPLES, 0, "fish_x8", {"hr", "lr"}),
        "synthetic fish_x8 all priors": SyntheticFaces(128, SAMPLES, 0, "fish_x8", PRIORS),
        "synthetic ufv_multires MR8 {lr_up, hr, scale}": SyntheticFaces(128, SAMPLES, 0, "ufv_multires",
                                                                        {"lr_up", "hr", "scale"}),
        "synthetic gfrnet_general pairs": SyntheticFaces(128, SAMPLES, 0, "gfrnet_general",
                                                         {"lr_up", "hr", "guide", "landmarks", "guide_landmarks"}),
        "synthetic yun_x8 256px {lr, hr, hr_blur, face_mask}": SyntheticFaces(256, SAMPLES, 0, "yun_x8",
                                                                               {"lr", "hr", "hr_blur", "face_mask"}),
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "faces"
        folder.mkdir()
        source = SyntheticFaces(128, SAMPLES, 0, None, {"hr"})
        for index in range(SAMPLES):
            record = source.record(index)
            write_image(folder / f"{index:03d}.png", record.hr)
            write_image(folder / f"{index:03d}_parsing.png", record.parsing.astype(np.uint8))
            np.save(folder / f"{index:03d}.npy", record.landmarks)
        cases["folder (PNG + .npy) fish_x8 all priors"] = FolderFaces(folder, 128, "fish_x8", PRIORS)
        rates = {name: rate(dataset) for name, dataset in cases.items()}

        photos = Path(tmp) / "photos"
        photos.mkdir()
        for index in range(PHOTOS):
            write_image(photos / f"astronaut{index}.png", skdata.astronaut())
        prepare_rates = {workers: PHOTOS / prepare_seconds(photos, Path(tmp) / f"prepared{workers}", workers)
                         for workers in (1, 2)}

    baseline = next(iter(rates.values()))
    print(f"{'case':58s} {'samples/s':>10s} {'ratio':>7s}")
    for name, value in rates.items():
        print(f"{name:58s} {value:10.1f} {value / baseline:7.2f}")
    for workers, value in prepare_rates.items():
        print(f"prepare 512x512 photos -> 128 crops, {workers} worker(s): {value:.2f} images/s "
              f"(ratio {value / prepare_rates[1]:.2f}, worker start-up included)")


if __name__ == "__main__":
    main()
