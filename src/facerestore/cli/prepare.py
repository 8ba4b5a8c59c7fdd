"""``facerestore prepare SRC DST``: detect, align and crop every face photo of SRC into DST
(:func:`facerestore.data.prepare_folder`); exit 1 when any image failed (listed on stderr and in
``DST/prepare_report.json``)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from facerestore.cli import COMMANDS
from facerestore.data.prepare import REPORT_FILE, prepare_folder
from facerestore.face.detect import parse_upsample


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare", help=COMMANDS["prepare"],
        description="For every image under SRC (recursively): detect the largest face, align it to the "
                    "canonical 68-point template and write DST/<path>.png with its landmarks (.npy), and "
                    f"with --priors its parsing map and masks. Resumable; failures go to DST/{REPORT_FILE}.")
    parser.add_argument("source", type=Path, metavar="SRC", help="folder of photos (never modified)")
    parser.add_argument("destination", type=Path, metavar="DST", help="output folder (not inside SRC)")
    parser.add_argument("--size", type=int, default=128, help="crop size in pixels (default 128)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--detector", default="hog", metavar="{hog,cnn}", help="dlib face detector (default hog)")
    parser.add_argument("--upsample", default="auto", metavar="N",
                        help="image doublings before detection (default auto: 1, 2 when the short side < 400 px)")
    parser.add_argument("--priors", action="store_true", help="also write parsing maps and component masks")
    parser.add_argument("--all-faces", action="store_true",
                        help="one crop per detected face, DST/<path>_<k>.png (default: the largest face only)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    def log(line: str) -> None:
        tqdm.write(f"facerestore prepare: {line}", file=sys.stderr)

    report = prepare_folder(args.source, args.destination, args.size, workers=args.workers,
                            detector=args.detector, upsample=parse_upsample(args.upsample), priors=args.priors,
                            all_faces=args.all_faces, log=log)
    failed = len(report["failed"])
    print(f"facerestore prepare: {report['written']} written, {report['skipped']} already done, {failed} failed "
          f"of {report['images']} image(s); {report['faces_found']} face(s) found, {report['faces_kept']} kept; "
          f"report: {args.destination / REPORT_FILE}", file=sys.stderr)
    return 1 if failed else 0
