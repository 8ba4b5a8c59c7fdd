"""``facerestore restore``: restore every face of a photo, a folder (recursively) or a glob with one method.

A thin layer over :class:`facerestore.restore.restorer.FaceRestorer` and :mod:`facerestore.restore.outputs`:
lists the inputs (a folder's subfolders that hold an earlier facerestore run are left out, and said), restores
them one by one under a progress bar, writes OUTDIR/report.json (per image: faces, boxes, landmarks, timings
per stage, warnings, errors). Unreadable or unwritable files are reported and skipped; the exit code is then 1.
A photo without faces is written upscaled with a warning (exit 0, or 1 with ``--strict``); every photo's
warnings are printed once. ``--skip-existing`` continues an interrupted run: a photo whose restored image is
there (it is written last) is skipped and counted as such; the face files an interrupted photo left are replaced.
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import warnings
from pathlib import Path

from tqdm import tqdm

from facerestore.cli import COMMANDS
from facerestore.cli.options import method_spec
from facerestore.cli.output import find_images, prepare_output_folder, say_skipped_folders
from facerestore.errors import ConfigError, ImageReadError, ImageWriteError
from facerestore.face.detect import DlibDetector, parse_upsample
from facerestore.io import READ_EXTENSIONS
from facerestore.io.atomic import write_json_atomic
from facerestore.methods import list_methods
from facerestore.methods.base import method_class
from facerestore.methods.metadata import read_weights_info
from facerestore.methods.options import option_parameters
from facerestore.restore.outputs import EXTENSIONS, image_extension, write_result
from facerestore.restore.restorer import BACKGROUNDS, DEVICES, MAX_SQUEEZE, PRECISIONS, FaceRestorer, RestoreResult
from facerestore.restore.weights_cache import DEFAULT_METHOD

REPORT_FILE = "report.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "restore", help=COMMANDS["restore"],
        description="Restore the faces of an image, a folder (recursively) or a glob; writes cropped_faces/, "
                    f"restored_faces/, cmp/, restored_imgs/ and {REPORT_FILE} under the output folder.")
    parser.add_argument("-i", "--input", required=True, help="image file, folder or glob (quote it)")
    parser.add_argument("-o", "--output", required=True, type=Path, help="output folder (created if missing)")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--method", choices=list_methods(),
                      help=f"restoration method (default: the one the --weights file names, else {DEFAULT_METHOD})")
    what.add_argument("--config", type=Path, metavar="RECIPE", help="take the method and its options from a recipe")
    parser.add_argument("--weights", type=Path,
                        help="weights file; its metadata sets the method and options (default: "
                             "$FACERESTORE_HOME/<method>.safetensors, FACERESTORE_HOME defaulting to "
                             "~/.cache/facerestore, else the bundled weights)")
    parser.add_argument("--onnx", type=Path, metavar="MODEL.onnx",
                        help="run the graph of 'facerestore export' with onnxruntime instead of PyTorch (CPU, fp32)")
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
    parser.add_argument("--skip-existing", action="store_true",
                        help="skip photos whose restored image is already in the output folder (continue a run)")
    parser.set_defaults(func=run)


def list_inputs(pattern: str, output: Path) -> tuple[list[tuple[Path, str]], list[Path]]:
    """``(path, output stem)`` per input, sorted, and the folders left out: a file; a folder's image files,
    recursively, without the subfolders that hold an earlier facerestore run (:func:`find_images`); or a glob's
    matches. The stem is the path relative to the folder (or the glob's fixed part), without extension; when two
    inputs share one, their extensions are kept (``a_jpg``, ``a_png``). Files under ``output`` are skipped."""
    path = Path(pattern)
    skipped: list[Path] = []
    if path.is_file():
        files, base = [path], path.parent
    elif path.is_dir():
        files, skipped = find_images(path, output)
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
        raise ImageReadError(f"no image files ({', '.join(sorted(READ_EXTENSIONS))}) found"
                             + (f" outside the {len(skipped)} folder(s) of earlier runs" if skipped else ""), pattern)
    keys = [Path(os.path.relpath(p, base)).as_posix() for p in files]
    stems = [str(Path(k).with_suffix("")) for k in keys]
    return [(p, stem if stems.count(stem) == 1 else k.replace(".", "_"))
            for p, k, stem in zip(files, keys, stems)], skipped


def existing_output(output: Path, stem: str, source: Path, ext: str, suffix: str) -> str | None:
    """The restored image an earlier run wrote for ``source`` (relative to ``output``), None when absent. It is
    written after the photo's face files, so its presence means the photo is done."""
    for has_alpha in (False, True):
        for depth in (8, 16):
            candidate = Path("restored_imgs") / f"{stem}{suffix}{image_extension(str(source), ext, has_alpha, depth)}"
            if (output / candidate).is_file():
                return candidate.as_posix()
    return None


def resolved_method(name: str | None, weights: Path | None) -> str:
    """The method a run will use: ``name``, else the weights file's, else the default."""
    if name is not None:
        return name
    info = read_weights_info(weights) if weights is not None and weights.is_file() else None
    return info.method if info is not None else DEFAULT_METHOD


def check_cli_options(args: argparse.Namespace, method: str) -> None:
    """Refuse, in the CLI's words and before anything is built, the options ``method`` does not take."""
    if args.onnx is not None:
        given = [flag for flag, value in (("--weights", args.weights), ("--exemplars", args.exemplars),
                                          ("--option", args.option), ("--config", args.config)) if value]
        if given or args.save_warped_guide:
            raise ConfigError(f"--onnx: the graph holds the method, its weights and options; drop "
                              f"{', '.join(given + (['--save-warped-guide'] if args.save_warped_guide else []))}")
        return
    if args.exemplars is not None and "bank" not in option_parameters(method_class(method)):
        raise ConfigError(f"--exemplars applies to song (Song et al.'s detail enhancement), not {method}")
    if args.face_size is not None and args.aligned:
        raise ConfigError("--face-size applies to photos; --aligned crops are restored at their own size")


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
    name, options = method_spec(args)
    check_cli_options(args, resolved_method(name, args.weights))
    inputs, skipped_folders = list_inputs(args.input, args.output)
    say_skipped_folders("restore", skipped_folders)
    if args.overwrite and args.skip_existing:
        raise ConfigError("--overwrite replaces the outputs and --skip-existing keeps them: give one of them")
    report_path = prepare_output_folder(args.output, REPORT_FILE, args.overwrite or args.skip_existing)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        restorer = FaceRestorer(name, args.weights, device=args.device, scale=args.scale,
                                face_size=args.face_size, aligned=args.aligned,
                                only_center_face=args.only_center_face, batch_size=args.batch,
                                detector=DlibDetector(args.detector, parse_upsample(args.upsample)),
                                max_squeeze=args.max_squeeze,
                                background=args.background, precision=args.precision,
                                allow_untrained=args.allow_untrained,
                                options={**options, **({} if args.exemplars is None else {"bank": args.exemplars})},
                                **({} if args.onnx is None else {"backend": "onnx", "onnx_path": args.onnx}))
    notes = [str(w.message) for w in caught]
    for note in notes:
        print(f"facerestore restore: warning: {note}", file=sys.stderr)
    if args.guide is not None and "guide" not in restorer.method.requires:
        raise ConfigError(f"--guide applies to methods that read a reference photo (gfrnet), not {restorer.name}")
    guide = restorer.prepare_guide(args.guide) if args.guide is not None else None
    records, failed, skipped, faceless = [], 0, 0, []
    for path, stem in tqdm(inputs, desc="restore", unit="img", file=sys.stderr, disable=len(inputs) == 1):
        done = existing_output(args.output, stem, path, args.ext, args.suffix) if args.skip_existing else None
        if done is not None:
            skipped += 1
            records.append({"input": str(path), "status": "skipped", "output": done})
            continue
        try:
            result = restorer.restore(path, guide=guide, save_warped_guide=args.save_warped_guide)
            # with --skip-existing a photo not done may have face files of the interrupted run: replaced
            written = write_result(result, args.output, stem, ext=args.ext, suffix=args.suffix,
                                   overwrite=args.overwrite or args.skip_existing, inputs=[p for p, _ in inputs])
        except (ImageReadError, ImageWriteError) as error:
            failed += 1
            records.append({"input": str(path), "status": "error", "error": str(error)})
            tqdm.write(f"facerestore restore: skipped: {error}", file=sys.stderr)
            continue
        if not result.faces:
            faceless.append(path)
        records.append(_record(path, result, written))
        if result.warnings:
            tqdm.write(f"facerestore restore: warning: {path}: {'; '.join(result.warnings)}", file=sys.stderr)
    restored = len(inputs) - failed - skipped
    report = {"method": restorer.name, "weights": None if restorer.weights is None else str(restorer.weights),
              "untrained": restorer.untrained, "device": args.device, "warnings": notes,
              "summary": {"images": len(inputs), "restored": restored, "skipped": skipped, "failed": failed,
                          "without_face": len(faceless), "faces": sum(len(r.get("faces", ())) for r in records),
                          "skipped_folders": [str(p) for p in skipped_folders]},
              "images": records}
    write_json_atomic(report_path, report)
    print(f"facerestore restore: {len(inputs)} image(s): {restored} restored, {skipped} skipped (done before), "
          f"{failed} failed; {report['summary']['faces']} face(s), {len(faceless)} without a face; "
          f"report: {report_path}", file=sys.stderr)
    if args.strict and faceless:
        names = ", ".join(str(p) for p in faceless[:5]) + (", ..." if len(faceless) > 5 else "")
        print(f"facerestore restore: --strict: no face found in {len(faceless)} photo(s): {names}", file=sys.stderr)
    return 1 if failed or (args.strict and faceless) else 0
