"""``facerestore restore``: restore every face of a photo, a folder (recursively) or a glob with one method.

A thin layer over :class:`facerestore.restore.restorer.FaceRestorer` and :mod:`facerestore.restore.outputs`:
lists the inputs, restores them one by one under a progress bar, writes OUTDIR/report.json (per image: faces,
boxes, landmarks, timings per stage, warnings, errors). Unreadable or unwritable files are reported and
skipped; the exit code is then 1. A photo without faces is written upscaled with a warning (exit 0, or 1
with ``--strict``).
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import warnings
from pathlib import Path

from tqdm import tqdm

from facerestore.cli.eval import parse_options
from facerestore.cli.output import prepare_output_folder
from facerestore.errors import ImageReadError, ImageWriteError
from facerestore.io import READ_EXTENSIONS
from facerestore.io.atomic import write_json_atomic
from facerestore.methods import list_methods
from facerestore.restore.outputs import EXTENSIONS, write_result
from facerestore.face.detect import DlibDetector, parse_upsample
from facerestore.restore.restorer import (BACKGROUNDS, DEVICES, MAX_SQUEEZE, PRECISIONS, FaceRestorer, RestoreResult,
                                          kept_warning)

REPORT_FILE = "report.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "restore", help="restore every face of photos: detect, align, restore, paste back",
        description="Restore the faces of an image, a folder (recursively) or a glob; writes cropped_faces/, "
                    f"restored_faces/, cmp/, restored_imgs/ and {REPORT_FILE} under the output folder.")
    parser.add_argument("-i", "--input", required=True, help="image file, folder or glob (quote it)")
    parser.add_argument("-o", "--output", required=True, type=Path, help="output folder (created if missing)")
    parser.add_argument("--method", choices=list_methods(),
                        help="restoration method (default: the one the --weights file names, else ufvnet)")
    parser.add_argument("--weights", type=Path,
                        help="weights file; its metadata sets the method and options (default: "
                             "$FACERESTORE_HOME/<method>.safetensors, FACERESTORE_HOME defaulting to "
                             "~/.cache/facerestore, else the bundled weights)")
    parser.add_argument("--allow-untrained", action="store_true",
                        help="run a method without weights file on its random weights (testing, timing)")
    parser.add_argument("--scale", type=float, help="background upscale factor (default: the method's, else 2)")
    parser.add_argument("--guide", type=Path, help="reference photo of the same person (gfrnet)")
    parser.add_argument("--option", action="append", default=[], metavar="K=V",
                        help="method option (YAML value), e.g. channels=8 for weights of a quick recipe; repeatable")
    parser.add_argument("--exemplars", type=Path, metavar="BANK",
                        help="exemplar bank .npz of aligned HR faces (song; `facerestore exemplars build`)")
    parser.add_argument("--save-warped-guide", action="store_true", help="also write GFRNet's warped guide")
    parser.add_argument("--face-size", type=int, help="HR face size for methods without a fixed one")
    parser.add_argument("--only-center-face", action="store_true", help="restore only the face nearest the centre")
    parser.add_argument("--detector", default="hog", metavar="{hog,cnn}",
                        help="dlib face detector: hog (fast) or cnn (MMOD, more small and turned faces)")
    parser.add_argument("--upsample", default="auto", metavar="N",
                        help="image doublings before detection (default auto: 1, 2 when the short side < 400 px)")
    parser.add_argument("--max-squeeze", type=float, default=MAX_SQUEEZE, metavar="R",
                        help=f"faces larger than R x the network's output keep the bicubic background "
                             f"(default {MAX_SQUEEZE:g}; inf restores every face)")
    parser.add_argument("--aligned", action="store_true", help="inputs are aligned face crops: restore them whole")
    parser.add_argument("--device", default="cpu", choices=DEVICES)
    parser.add_argument("--precision", default="fp32", choices=PRECISIONS, help="bf16: bfloat16 autocast")
    parser.add_argument("--background", default="bicubic", choices=list(BACKGROUNDS), help="background upscaler")
    parser.add_argument("--batch", type=int, help="most faces per model call (default: all faces of one LR size)")
    parser.add_argument("--ext", default="auto", choices=EXTENSIONS, help="restored photo format (auto: the input's)")
    parser.add_argument("--suffix", default="", help="suffix of restored photo and face file names")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a photo has no face")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.set_defaults(func=run)


def list_inputs(pattern: str, output: Path) -> list[tuple[Path, str]]:
    """``(path, output stem)`` per input, sorted: a file; a folder's image files, recursively; or a glob's
    matches. The stem is the path relative to the folder (or the glob's fixed part), without extension;
    when two inputs share one, their extensions are kept (``a_jpg``, ``a_png``). Files under ``output``
    are skipped."""
    path = Path(pattern)
    if path.is_file():
        files, base = [path], path.parent
    elif path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in READ_EXTENSIONS]
        base = path
    elif glob.has_magic(pattern):
        files = [Path(p) for p in glob.glob(pattern, recursive=True) if os.path.isfile(p)]
        fixed = pattern[:min(pattern.index(c) for c in "*?[" if c in pattern)]
        base = Path(os.path.dirname(fixed) or ".")
    else:
        raise ImageReadError("no such file or folder", pattern)
    out_dir = output.resolve()
    files = sorted(p for p in files if out_dir not in p.resolve().parents)
    if not files:
        raise ImageReadError(f"no image files ({', '.join(sorted(READ_EXTENSIONS))}) found", pattern)
    keys = [Path(os.path.relpath(p, base)).as_posix() for p in files]
    stems = [str(Path(k).with_suffix("")) for k in keys]
    return [(p, stem if stems.count(stem) == 1 else k.replace(".", "_"))
            for p, k, stem in zip(files, keys, stems)]


def _face_record(face, paths: dict) -> dict:
    return {"box": None if face.box is None else [round(float(v), 2) for v in face.box],
            "score": face.score, "landmarks": face.landmarks.round(2).tolist(),
            "crop_size": int(face.crop.shape[0]), "restored_size": int(face.restored.shape[0]),
            "native_size": round(float(face.native), 1), "kept": face.kept, "reason": face.reason, **paths}


def _record(path: Path, result: RestoreResult, written: dict) -> dict:
    height, width = result.image.shape[:2]
    return {"input": str(path), "status": "ok" if result.faces else "no_face", "output": written["image"],
            "size": list(result.input_size), "output_size": [width, height],
            "bit_depth": result.bit_depth, "scale": result.scale, "faces_found": len(result.faces),
            "faces": [_face_record(f, p) for f, p in zip(result.faces, written["faces"])],
            "timings": {k: round(v, 4) for k, v in result.timings.items()}, "warnings": result.warnings}


def run(args: argparse.Namespace) -> int:
    inputs = list_inputs(args.input, args.output)
    report_path = prepare_output_folder(args.output, REPORT_FILE, args.overwrite)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        restorer = FaceRestorer(args.method, args.weights, device=args.device, scale=args.scale,
                                face_size=args.face_size, aligned=args.aligned,
                                only_center_face=args.only_center_face, batch_size=args.batch,
                                detector=DlibDetector(args.detector, parse_upsample(args.upsample)),
                                max_squeeze=args.max_squeeze,
                                background=args.background, precision=args.precision,
                                allow_untrained=args.allow_untrained,
                                options={**parse_options(args.option),
                                         **({} if args.exemplars is None else {"bank": args.exemplars})})
    notes = [str(w.message) for w in caught]
    for note in notes:
        print(f"facerestore restore: warning: {note}", file=sys.stderr)
    guide = restorer.prepare_guide(args.guide) if args.guide is not None else None
    records, failed, faceless = [], 0, 0
    for path, stem in tqdm(inputs, desc="restore", unit="img", file=sys.stderr, disable=len(inputs) == 1):
        try:
            result = restorer.restore(path, guide=guide, save_warped_guide=args.save_warped_guide)
            written = write_result(result, args.output, stem, ext=args.ext, suffix=args.suffix,
                                   overwrite=args.overwrite, inputs=[p for p, _ in inputs])
        except (ImageReadError, ImageWriteError) as error:
            failed += 1
            records.append({"input": str(path), "status": "error", "error": str(error)})
            tqdm.write(f"facerestore restore: skipped: {error}", file=sys.stderr)
            continue
        faceless += not result.faces
        records.append(_record(path, result, written))
        kept = kept_warning(result.faces)
        if kept:
            tqdm.write(f"facerestore restore: warning: {path}: {kept}", file=sys.stderr)
    report = {"method": restorer.name, "weights": None if restorer.weights is None else str(restorer.weights),
              "untrained": restorer.untrained, "device": args.device, "warnings": notes,
              "summary": {"images": len(inputs), "restored": len(inputs) - failed, "failed": failed,
                          "without_face": faceless, "faces": sum(len(r.get("faces", ())) for r in records)},
              "images": records}
    write_json_atomic(report_path, report)
    summary = report["summary"]
    print(f"facerestore restore: {summary['restored']} of {summary['images']} image(s) restored, "
          f"{summary['faces']} face(s), {faceless} without a face, {failed} failed; report: {report_path}",
          file=sys.stderr)
    return 1 if failed or (args.strict and faceless) else 0
