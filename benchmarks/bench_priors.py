"""Rendering time of the landmark priors at the sizes the methods use.

Prints the median over repeated calls of each prior at 128 and 512 px, and its ratio to the
binary (``antialias=False``) face mask at the same size, i.e. the cost of 4x4 supersampling and of
the extra regions. Run: ``.venv/bin/python benchmarks/bench_priors.py``.
"""
from __future__ import annotations

import statistics
import time

import torch

from facerestore.face.align import template_68
from facerestore.face.priors import component_masks, face_mask, fish_parsing, landmark_heatmaps, parsing_map


def median_ms(fn, repeats: int = 9) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    torch.set_num_threads(2)
    for size in (128, 512):
        points = template_68(size)
        cases = {
            "face_mask binary (baseline)": lambda: face_mask(points, size, antialias=False),
            "face_mask antialiased": lambda: face_mask(points, size),
            "face_mask forehead": lambda: face_mask(points, size, forehead=True),
            "component_masks (4 ch)": lambda: component_masks(points, size),
            "component_masks dilate=2": lambda: component_masks(points, size, dilate=2.0),
            "parsing_map": lambda: parsing_map(points, size),
            f"fish_parsing at {size // 8} px": lambda: fish_parsing(points, size // 8, scale=1 / 8),
            "landmark_heatmaps (68 ch)": lambda: landmark_heatmaps(points, size),
        }
        baseline = None
        for name, fn in cases.items():
            ms = median_ms(fn)
            baseline = baseline or ms
            print(f"{size:4d} px  {name:30s} median {ms:8.2f} ms  ratio {ms / baseline:6.2f}")


if __name__ == "__main__":
    main()
