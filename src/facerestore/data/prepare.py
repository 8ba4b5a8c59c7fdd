"""The work behind ``facerestore prepare``: turn a folder of photos into a folder of aligned face
crops in the layout :class:`facerestore.data.FolderFaces` reads (:mod:`facerestore.data.formats`).

For every image under SRC (recursively): read, detect the largest face (``all_faces``: every face, as
``<name>_<k>``) with its 68 landmarks (dlib HOG
or CNN, ``upsample`` doublings, None: automatic, :func:`facerestore.face.detect.auto_upsample`), align
it to the canonical template (:func:`facerestore.face.align.align_face`) at ``size``, write
``DST/<relative path>.png`` (colour depth kept, alpha dropped), with ``priors`` its parsing map and
masks, and last the landmarks ``.npy`` in crop pixels. Every file is written atomically, so an output
is finished exactly when all its files exist; a second run skips finished outputs and retries the
rest. Images without a face and unreadable files are listed (file, kind, reason) in
``DST/prepare_report.json``. SRC is only read.
"""
from __future__ import annotations

import functools
import json
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facerestore.data.formats import (list_images, masks_path, parsing_path, write_landmarks,
                                      write_masks)
from facerestore.errors import ConfigError, ImageReadError, ImageWriteError
from facerestore.face.align import align_face, transform_points
from facerestore.face.detect import DlibDetector, detect_faces
from facerestore.face.priors import component_masks, face_mask, parsing_map
from facerestore.io import ensure_not_input, read_image, split_alpha, write_image
from facerestore.io.atomic import write_json_atomic

REPORT_FILE = "prepare_report.json"


def output_stems(source: Path, files: list[Path]) -> list[Path]:
    """Relative output stems (no extension): the input's relative path without its extension, or
    with the extension folded into the name (``a_jpg``) when two inputs would share a stem."""
    stems = [path.relative_to(source).with_suffix("") for path in files]
    counts = Counter(stems)
    return [stem if counts[stem] == 1 else stem.with_name(f"{stem.name}_{path.suffix[1:].lower()}")
            for stem, path in zip(stems, files)]


def output_files(stem: Path, priors: bool) -> list[Path]:
    """The files of one finished output, the landmarks (written last) at the end."""
    crop = stem.with_name(stem.name + ".png")
    extra = [parsing_path(crop), masks_path(crop)] if priors else []
    return [crop, *extra, stem.with_name(stem.name + ".npy")]


@functools.lru_cache(maxsize=2)
def _detector(kind: str, upsample: int | None) -> DlibDetector:
    """One detector per process, kind and upsampling (models load once per worker)."""
    return DlibDetector(kind, upsample)


def faces_marker(stem: Path) -> Path:
    """``--all-faces``: the list of a photo's crops, written after them (its presence means the photo is done)."""
    return stem.with_name(stem.name + "_faces.json")


def finished(stem: Path, priors: bool, all_faces: bool) -> bool:
    """Whether the outputs of the photo of ``stem`` are all there (a second run skips it)."""
    if not all_faces:
        return all(p.is_file() for p in output_files(stem, priors))
    marker = faces_marker(stem)
    try:
        crops = json.loads(marker.read_text(encoding="utf-8"))["crops"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return all(p.is_file() for crop in crops for p in output_files(stem.with_name(crop), priors))


def prepare_one(source: str, stem: str, size: int, detector: str, priors: bool, upsample: int | None = None,
                all_faces: bool = False) -> dict:
    """Prepare one image (runs in a worker). Returns ``{"status": "written", "found": N, "kept": K}`` or
    ``{"status": "failed", "kind": "unreadable" | "no_face" | "write_error", "reason": ...}``. ``all_faces``:
    every detected face (best detection score first) as ``<stem>_<k>``, else the largest as ``<stem>``."""
    try:
        pixels, _ = read_image(source)
    except ImageReadError as error:
        return {"status": "failed", "kind": "unreadable", "reason": error.reason}
    colour, _ = split_alpha(pixels)
    faces = detect_faces(colour, _detector(detector, upsample))
    if not faces:
        return {"status": "failed", "kind": "no_face", "reason": "no face found", "found": 0, "kept": 0}
    kept = faces if all_faces else [max(faces, key=lambda f: f.area)]
    stems = [Path(f"{stem}_{k}") for k in range(len(kept))] if all_faces else [Path(stem)]
    try:
        for face, face_stem in zip(kept, stems):
            crop, matrix = align_face(colour, face.landmarks, size)
            points = transform_points(face.landmarks, matrix)
            files = output_files(face_stem, priors)
            for path in files:
                ensure_not_input(path, [source])
            files[0].parent.mkdir(parents=True, exist_ok=True)
            write_image(files[0], crop, overwrite=True)
            if priors:
                write_image(files[1], parsing_map(points, size).astype(np.uint8), overwrite=True)
                write_masks(files[2], component_masks(points, size), face_mask(points, size, forehead=True))
            write_landmarks(files[-1], points)
        if all_faces:
            write_json_atomic(faces_marker(Path(stem)), {"found": len(faces), "crops": [p.name for p in stems]},
                              error=ImageWriteError)
    except (ImageWriteError, OSError) as error:
        return {"status": "failed", "kind": "write_error", "reason": str(getattr(error, "reason", error))}
    return {"status": "written", "found": len(faces), "kept": len(kept)}


def _check_folders(source: Path, destination: Path) -> None:
    if not source.is_dir():
        raise ConfigError("SRC must be a folder of images", source)
    src, dst = source.resolve(), destination.resolve()
    if dst == src or src in dst.parents:
        raise ConfigError(f"DST {destination} is inside SRC or is SRC; SRC is never written to, choose a "
                          "destination outside it", source)
    if dst in src.parents:
        raise ConfigError(f"SRC {source} is inside DST; outputs could land on inputs, choose a destination "
                          "outside it", destination)


def _check_previous_run(report_path: Path, size: int) -> None:
    if not report_path.is_file():
        return
    try:
        previous = json.loads(report_path.read_text(encoding="utf-8")).get("size")
    except (OSError, ValueError, AttributeError):
        return
    if previous not in (None, size):
        raise ConfigError(f"DST holds {previous}px crops (see {REPORT_FILE}); resuming with --size {size} would "
                          "mix sizes, choose another DST", report_path.parent)


def prepare_folder(source: str | os.PathLike, destination: str | os.PathLike, size: int = 128, *, workers: int = 1,
                   detector: str = "hog", upsample: int | None = None, priors: bool = False, all_faces: bool = False,
                   progress: bool = True, log: Callable[[str], None] | None = None) -> dict:
    """Prepare every image under ``source`` into ``destination`` (see the module docstring).

    ``workers`` > 1 uses that many spawned processes (results identical to one worker); ``detector``
    "hog" or "cnn" and ``upsample`` (:class:`facerestore.face.detect.DlibDetector`); ``progress`` shows a tqdm bar on
    stderr; ``all_faces`` writes every face (:func:`prepare_one`); ``log`` receives one line per failed image and
    per photo whose other faces were left out. Returns the report (also written to
    ``destination/prepare_report.json``): counts, the ``failed`` list of ``{file, kind, reason}`` and ``faces``:
    per photo prepared in this run, the faces ``found`` and ``kept``.
    """
    source, destination = Path(source), Path(destination)
    if size < 16:
        raise ConfigError(f"--size must be at least 16, got {size}")
    if workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {workers}")
    DlibDetector(detector, upsample)  # validates both (ConfigError)
    _check_folders(source, destination)
    destination.mkdir(parents=True, exist_ok=True)
    report_path = destination / REPORT_FILE
    _check_previous_run(report_path, size)

    files = list_images(source, skip_auxiliary=False)
    stems = output_stems(source, files)
    todo, skipped = [], 0
    for path, stem in zip(files, stems):
        if finished(destination / stem, priors, all_faces):
            skipped += 1
        else:
            todo.append((str(path), str(destination / stem), size, detector, priors, upsample, all_faces))
    results = {}
    with tqdm(total=len(todo), desc="prepare", unit="img", disable=not progress) as bar:
        for job, result in _run(todo, workers):
            name = Path(job[0]).relative_to(source).as_posix()
            results[name] = result
            if log is not None and result["status"] == "failed":
                log(f"failed: {name}: {result['reason']}")
            elif log is not None and result["found"] > result["kept"]:
                log(f"{name}: {result['found']} faces found, the largest kept (--all-faces keeps every face)")
            bar.update()
    failed = [{"file": name, "kind": r["kind"], "reason": r["reason"]}
              for name, r in sorted(results.items()) if r["status"] == "failed"]
    report = {"source": str(source), "destination": str(destination), "size": size, "detector": detector,
              "upsample": "auto" if upsample is None else upsample, "priors": priors, "images": len(files),
              "all_faces": all_faces, "written": len(results) - len(failed), "skipped": skipped,
              "faces_found": sum(r.get("found", 0) for r in results.values()),
              "faces_kept": sum(r.get("kept", 0) for r in results.values()), "failed": failed,
              "faces": {name: {"found": r["found"], "kept": r["kept"]} for name, r in sorted(results.items())
                        if "found" in r}}
    write_json_atomic(report_path, report, indent=2)
    return report


def _run(jobs: list[tuple], workers: int):
    """Yield ``(job, result)`` as jobs finish: in this process for one worker, else in spawned ones."""
    if workers == 1 or len(jobs) <= 1:
        for job in jobs:
            yield job, prepare_one(*job)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
        futures = {pool.submit(prepare_one, *job): job for job in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()
