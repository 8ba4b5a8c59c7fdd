"""End-to-end ``FaceRestorer.restore`` on the 1280x886 six-face photo of ``bench_face_detect.py`` with the
default model (UFVNet, random weights: the timing does not depend on them), stage split (detection, 68
landmarks, alignment, restoration, paste-back), all faces in one batch against one face per call, fp32 and
bf16. Wall-clock medians and process CPU time (the machine may be shared), ratios to batched fp32 measured in
the same run. Run: ``.venv/bin/python benchmarks/bench_restore.py [--repeats 5]``.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import dlib
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_face_detect import group_photo  # noqa: E402  (the shared six-face photo)

from facerestore.face.detect import DlibDetector  # noqa: E402
from facerestore.restore.restorer import FaceRestorer  # noqa: E402


def measure(fn, repeats: int) -> tuple[float, float, list]:
    """(median wall seconds, median CPU seconds, results) after one warm-up call."""
    results = [fn()]
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        results.append(fn())
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--method", default="ufvnet")
    args = parser.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    photo = group_photo()
    detector = DlibDetector()
    hog = dlib.get_frontal_face_detector()
    boxes_wall, boxes_cpu, _ = measure(lambda: hog.run(photo, detector.upsampling(photo), detector.min_score),
                                       args.repeats)
    print(f"photo {photo.shape[1]}x{photo.shape[0]}, method {args.method}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, median of {args.repeats}")
    print(f"HOG boxes alone: wall {boxes_wall * 1000:.0f} ms, CPU {boxes_cpu * 1000:.0f} ms")

    baseline = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # random weights on purpose
        configs = {"batched fp32": {}, "one face per call fp32": {"batch_size": 1},
                   "batched bf16": {"precision": "bf16"}}
        for name, options in configs.items():
            restorer = FaceRestorer(args.method, detector=detector, allow_untrained=True, **options)
            wall, cpu, results = measure(lambda: restorer.restore(photo), args.repeats)
            baseline = baseline or wall
            stages = {k: statistics.median(r.timings[k] for r in results[1:]) for k in results[0].timings}
            split = (f"detection {boxes_wall * 1000:.0f} + landmarks {(stages['detect'] - boxes_wall) * 1000:.0f}, "
                     f"align {stages['align'] * 1000:.0f}, restore {stages['restore'] * 1000:.0f}, "
                     f"paste {stages['paste'] * 1000:.0f} ms")
            print(f"{name:24s} faces {len(results[0].faces)}  wall {wall:6.2f} s  CPU {cpu:6.2f} s  "
                  f"ratio {wall / baseline:4.2f}  [{split}]")


if __name__ == "__main__":
    main()
