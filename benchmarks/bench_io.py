"""facerestore.io overhead: read_image / write_image against the bare decoder / encoder call they wrap.

Run: ``python benchmarks/bench_io.py`` (prints median milliseconds and the ratio to the baseline
measured in the same run). Baselines: ``cv2.imdecode(IMREAD_UNCHANGED)`` for reading (it keeps 16 bits
but neither applies EXIF nor converts palettes), ``cv2.imencode`` + a plain file write for writing.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from facerestore.io import read_image, write_image


def paired_median_ms(function, baseline, repeats: int) -> tuple[float, float]:
    """Median milliseconds of ``function`` and ``baseline``, called alternately so that load from other
    processes hits both alike."""
    function(), baseline()  # warm-up
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for callable_, samples in zip((function, baseline), times):
            start = time.perf_counter()
            callable_()
            samples.append(time.perf_counter() - start)
    return statistics.median(times[0]) * 1e3, statistics.median(times[1]) * 1e3


def photo_like(size: int, dtype: type) -> np.ndarray:
    """Smooth gradients plus mild noise: compresses like a photograph, unlike pure noise."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([x, y, (x + y) / 2], axis=2) * 0.8 + rng.normal(0, 0.02, (size, size, 3))
    scale = np.iinfo(dtype).max
    return np.rint(np.clip(base, 0, 1) * scale).astype(dtype)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    cv2.setNumThreads(2)
    cases = [("PNG 8-bit RGB", ".png", np.uint8), ("JPEG q95 RGB", ".jpg", np.uint8),
             ("PNG 16-bit RGB", ".png", np.uint16), ("TIFF 16-bit RGB", ".tif", np.uint16)]
    print(f"{args.size}x{args.size}, median of {args.repeats}")
    print(f"{'file':<18}{'read ms':>9}{'cv2 ms':>9}{'ratio':>7}{'write ms':>10}{'cv2 ms':>9}{'ratio':>7}")
    with tempfile.TemporaryDirectory() as folder:
        for label, suffix, dtype in cases:
            pixels = photo_like(args.size, dtype)
            path = write_image(Path(folder) / f"image{dtype.__name__}{suffix}", pixels)
            data = path.read_bytes()
            read, read_base = paired_median_ms(
                lambda: read_image(path),
                lambda: cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_UNCHANGED),
                args.repeats)
            target, base_target = Path(folder) / f"out{suffix}", Path(folder) / f"base{suffix}"
            bgr = np.ascontiguousarray(pixels[..., ::-1])
            write, write_base = paired_median_ms(
                lambda: write_image(target, pixels, overwrite=True),
                lambda: base_target.write_bytes(cv2.imencode(suffix, bgr)[1].tobytes()),
                args.repeats)
            print(f"{label:<18}{read:>9.1f}{read_base:>9.1f}{read / read_base:>7.2f}"
                  f"{write:>10.1f}{write_base:>9.1f}{write / write_base:>7.2f}   ({len(data) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
