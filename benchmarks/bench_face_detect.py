"""Face detection + 68 landmarks (+ align and paste-back) on a 1280x886 photo with 6 faces.

The photo is composed from skimage's astronaut head (the only real face on the machine): six
copies at face widths of ~80-140 px, some mirrored or turned by a few degrees, on skimage's
coffee photo. Prints the median of repeated runs per configuration and the ratio to the default
(HOG, one upsampling, full resolution). Run: ``.venv/bin/python benchmarks/bench_face_detect.py``.
"""
from __future__ import annotations

import statistics
import time

import cv2
import numpy as np
import torch
from skimage import data

from facerestore.face.align import align_face, invert_affine
from facerestore.face.detect import DlibDetector
from facerestore.face.paste import paste_back

WIDTH, HEIGHT = 1280, 886
# (centre x, centre y, scale, mirrored, rotation in degrees) of each pasted head.
PLACEMENTS = [(200, 230, 1.0, False, 0), (620, 200, 1.3, True, 6), (1070, 250, 0.95, False, -8),
              (240, 640, 1.6, True, 0), (660, 650, 1.15, False, 4), (1060, 660, 1.45, True, -5)]


def group_photo() -> np.ndarray:
    """The 1280x886 RGB uint8 test photo with six faces."""
    photo = cv2.resize(data.coffee(), (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    head = data.astronaut()[10:250, 120:320].astype(np.float32)  # hair to neck
    h, w = head.shape[:2]
    alpha = np.zeros((h, w), np.float32)
    cv2.ellipse(alpha, (w // 2, h // 2), (w // 2 - 6, h // 2 - 6), 0, 0, 360, 1.0, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 4)
    for cx, cy, scale, mirrored, angle in PLACEMENTS:
        src = head[:, ::-1] if mirrored else head
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
        matrix[:, 2] += (cx - w / 2, cy - h / 2)
        warped = cv2.warpAffine(np.ascontiguousarray(src), matrix, (WIDTH, HEIGHT), flags=cv2.INTER_CUBIC)
        weight = cv2.warpAffine(alpha, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)[..., None]
        photo = photo * (1 - weight) + warped * weight
    return np.clip(np.round(photo), 0, 255).astype(np.uint8)


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up (model loading is not timed)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    torch.set_num_threads(2)
    photo = group_photo()
    configs = {
        "hog up=1 (default)": DlibDetector("hog", upsample=1),
        "hog up=0": DlibDetector("hog", upsample=0),
        "hog up=1 max_side=640": DlibDetector("hog", upsample=1, max_side=640),
        "hog up=2 max_side=640": DlibDetector("hog", upsample=2, max_side=640),
        "cnn up=0 max_side=640": DlibDetector("cnn", upsample=0, max_side=640),
        "cnn up=0": DlibDetector("cnn", upsample=0),
    }
    baseline = None
    print(f"photo {WIDTH}x{HEIGHT}, {len(PLACEMENTS)} faces")
    for name, detector in configs.items():
        found = len(detector.detect(photo))
        seconds = median_seconds(lambda: detector.detect(photo), repeats=3 if "cnn" in name else 7)
        baseline = baseline or seconds
        print(f"{name:24s} faces {found}  median {seconds * 1000:8.1f} ms  ratio {seconds / baseline:5.2f}")

    faces = configs["hog up=1 (default)"].detect(photo)
    image = photo.astype(np.float32) / 255.0

    def align_and_paste() -> None:
        out = image
        for face in faces:
            crop, matrix = align_face(image, face.landmarks, 512)
            out = paste_back(out, crop, invert_affine(matrix))

    seconds = median_seconds(align_and_paste, repeats=7)
    print(f"align 512 + feathered paste-back of {len(faces)} faces: median {seconds * 1000:.1f} ms")


if __name__ == "__main__":
    main()
