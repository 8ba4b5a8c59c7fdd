"""Detection recall of dlib's HOG and MMOD-CNN detectors on the real validation photos, at full size and
downscaled ×2 and ×4 (MATLAB bicubic, 8-bit): the small faces, where upsampling matters.

The known faces are those of ``bench_photo_real.load_photos`` (``.pts`` files, else HOG on the original);
a detection finds a known face when its 68 landmarks' centre lies in that face's region (landmark box raised
by 30 %); a detection that finds none is a false positive. Settings: HOG with 0, 1, 2 doublings, ``auto``
(the default, :func:`facerestore.face.detect.auto_upsample`), CNN with 0 doublings, and CNN with 1 on the
downscaled photos only (at full size it takes minutes per photo on one CPU thread). Prints a Markdown table
and writes ``--json`` (default ``runs/bench_detect_recall.json``, git-ignored).
Run: ``.venv/bin/python benchmarks/bench_detect_recall.py [--photos DIR]``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_photo_real import face_box, inside, load_photos  # noqa: E402

from facerestore.degrade import imresize  # noqa: E402
from facerestore.face.detect import DlibDetector  # noqa: E402
from facerestore.io.atomic import write_json_atomic  # noqa: E402
from facerestore.restore.weights_cache import cache_dir  # noqa: E402

FACTORS = (1, 2, 4)
SETTINGS = {"hog x0": ("hog", 0), "hog x1": ("hog", 1), "hog x2": ("hog", 2), "hog auto": ("hog", None),
            "cnn x0": ("cnn", 0), "cnn x1": ("cnn", 1)}
SKIP = {("cnn x1", 1)}  # too slow at full size


def matches(faces, known: list[np.ndarray], shape: tuple[int, ...]) -> tuple[int, int]:
    """(known faces found, false positives) of one detection run."""
    boxes = [face_box(points, shape) for points in known]
    found, false = set(), 0
    for face in faces:
        hits = [i for i, box in enumerate(boxes) if inside(face.landmarks.mean(axis=0), box) and i not in found]
        if hits:
            found.add(hits[0])
        else:
            false += 1
    return len(found), false


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, help="folder of real photos (default $FACERESTORE_HOME/real_val/photos)")
    parser.add_argument("--json", type=Path, default=Path("runs") / "bench_detect_recall.json")
    args = parser.parse_args()
    photos = load_photos(args.photos or cache_dir() / "real_val" / "photos")
    detectors = {name: DlibDetector(kind, upsample) for name, (kind, upsample) in SETTINGS.items()}
    rows = []
    for photo in photos:
        for factor in FACTORS:
            image = photo.image if factor == 1 else imresize(photo.image, scale=1 / factor)
            image = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
            known = [(points + 0.5) / factor - 0.5 for points in photo.faces]
            for name, detector in detectors.items():
                if (name, factor) in SKIP:
                    continue
                start = time.perf_counter()
                faces = detector.detect(image)
                seconds = time.perf_counter() - start
                found, false = matches(faces, known, image.shape)
                rows.append({"photo": photo.name, "factor": factor, "setting": name, "size": image.shape[:2],
                             "doublings": detector.upsampling(image), "known": len(known), "found": found,
                             "false": false, "seconds": round(seconds, 3)})
                print(f"{photo.name} /{factor} {name}: {found}/{len(known)} (+{false} false) {seconds:.2f} s",
                      file=sys.stderr, flush=True)
    print("| setting | " + " | ".join(f"/{f}: recall, false, s" for f in FACTORS) + " |")
    print("|---" * (len(FACTORS) + 1) + "|")
    for name in SETTINGS:
        cells = []
        for factor in FACTORS:
            chosen = [r for r in rows if r["setting"] == name and r["factor"] == factor]
            if not chosen:
                cells.append("-")
                continue
            found, known = sum(r["found"] for r in chosen), sum(r["known"] for r in chosen)
            cells.append(f"{found}/{known}, {sum(r['false'] for r in chosen)}, "
                         f"{sum(r['seconds'] for r in chosen):.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.json, rows)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
