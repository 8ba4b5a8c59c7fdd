"""Throughput of the synthetic face renderer (faces/s), single process and a 2-process pool.

Baseline in the same run: parameter sampling + 3-D projection alone (no raster work), so the ratio
shows what the painting costs. Reports medians over repeats of wall time and of process CPU time
(the CPU figure is the one to trust on a shared, loaded machine).

    python benchmarks/bench_synth.py [--count 200] [--repeats 5] [--sheet docs/images/synth_contact_sheet.png]
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time

import cv2
import numpy as np

from facerestore.synth import render_face
from facerestore.synth.geometry import project_face
from facerestore.synth.identity import photo_rng, sample_identity, sample_scene


def _geometry_only(seed: int, index: int, size: int) -> None:
    project_face(sample_identity(seed, index), sample_scene(photo_rng(seed, index)), size)


def _render(seed: int, index: int, size: int) -> None:
    render_face(seed, index, size)


def _timed(fn, count: int, size: int, start: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(start, start + count):
        fn(0, i, size)
    return (time.perf_counter() - wall) / count, (time.process_time() - cpu) / count


def _median_rate(fn, count: int, size: int, repeats: int) -> tuple[float, float]:
    fn(0, 10 ** 6, size)  # build the texture bank outside the timing
    runs = [_timed(fn, count, size, r * count) for r in range(repeats)]
    return 1 / statistics.median(w for w, _ in runs), 1 / statistics.median(c for _, c in runs)


def _chunk(args: tuple[int, int, int]) -> None:
    start, count, size = args
    for i in range(start, start + count):
        render_face(0, i, size)


def _pool_rate(count: int, size: int, processes: int) -> float:
    with mp.get_context("fork").Pool(processes) as pool:
        pool.map(_chunk, [(10 ** 6, 2, size)] * processes)  # warm each worker's bank
        chunks = [(10 ** 5 + k * count, count, size) for k in range(processes)]
        start = time.perf_counter()
        pool.map(_chunk, chunks)
        return processes * count / (time.perf_counter() - start)


def contact_sheet(seed: int = 0, count: int = 64, size: int = 128, columns: int = 8) -> np.ndarray:
    """RGB uint8 grid of faces ``0..count-1`` of set ``seed``."""
    tiles = [(render_face(seed, i, size).image * 255 + 0.5).astype(np.uint8) for i in range(count)]
    rows = [np.hstack(tiles[r:r + columns]) for r in range(0, count, columns)]
    return np.vstack(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="faces per repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--sheet", help="also write the 8x8 contact sheet (PNG) here")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    base_wall, base_cpu = _median_rate(_geometry_only, args.count, 128, args.repeats)
    print(f"baseline geometry only @128: {base_wall:8.1f} faces/s wall, {base_cpu:8.1f} faces/s cpu")
    for size, count in ((128, args.count), (256, max(args.count // 4, 10)), (512, max(args.count // 16, 5))):
        wall, cpu = _median_rate(_render, count, size, args.repeats)
        print(f"render @{size}: {wall:8.1f} faces/s wall, {cpu:8.1f} faces/s cpu "
              f"(x{base_cpu / cpu:.1f} the geometry-only cpu time)")
    if args.processes > 1:
        print(f"render @128 with {args.processes} processes: {_pool_rate(args.count, 128, args.processes):8.1f} "
              "faces/s wall")
    if args.sheet:
        cv2.imwrite(args.sheet, cv2.cvtColor(contact_sheet(), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"wrote {args.sheet}")


if __name__ == "__main__":
    main()
