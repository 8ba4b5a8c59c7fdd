"""``facerestore degrade``: apply a paper's degradation preset to an image or a folder of images.

Writes ``<name>_<output>.png`` (8-bit PNG, so JPEG artefacts are kept exactly) for each preset output
(``lr``, and ``lr_up`` / ``hr_blur`` where the preset makes them) and one JSON line per image in
``OUT/params.jsonl``. Each image's random generator is seeded from ``(--seed, its relative path)``,
so results do not depend on the order or on the other files. An alpha channel is dropped (the
degradations model the photographed colours only). Unreadable or unwritable files are reported on
stderr and skipped; the exit code is then 1.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facerestore.cli.output import prepare_output_folder
from facerestore.degrade import PRESETS, apply_preset, list_presets
from facerestore.errors import ImageReadError, ImageWriteError
from facerestore.io import READ_EXTENSIONS, ensure_not_input, read_image, split_alpha, to_float, write_image

PARAMS_FILE = "params.jsonl"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "degrade", help="make degraded (LR) images with a paper's degradation preset",
        description="Degrade an image or every image in a folder (recursively) with a named preset; "
                    f"writes PNGs and {PARAMS_FILE} (the sampled parameters, one JSON line per image).",
        epilog="presets:\n" + "\n".join(
            f"  {p.name:15s} {p.description} [{p.section}]" for p in map(PRESETS.get, list_presets())),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-i", "--input", required=True, type=Path, help="image file or folder")
    parser.add_argument("-o", "--output", required=True, type=Path, help="output folder (created if missing)")
    parser.add_argument("--preset", required=True, choices=list_presets(), help="degradation protocol")
    parser.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    parser.add_argument("--scale", type=float, nargs="+", metavar="S",
                        help="downscale factor(s) HR/LR to draw from, replacing the preset's own")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.set_defaults(func=run)


def image_rng(seed: int, key: str) -> tuple[np.random.Generator, list[int]]:
    """Generator for one image from the base seed and the image's relative path; also its entropy."""
    digest = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "little")
    entropy = [int(seed), digest]
    return np.random.default_rng(entropy), entropy


def _list_inputs(source: Path, output: Path) -> list[tuple[Path, str]]:
    """``(path, key)`` pairs sorted by key; ``key`` is the path relative to a folder input."""
    if source.is_file():
        return [(source, source.name)]
    if not source.is_dir():
        raise ImageReadError("no such file or folder", source)
    out_dir = output.resolve()
    files = sorted(
        ((p, p.relative_to(source).as_posix()) for p in source.rglob("*")
         if p.suffix.lower() in READ_EXTENSIONS and p.is_file() and out_dir not in p.resolve().parents),
        key=lambda item: item[1])
    if not files:
        raise ImageReadError(f"no image files ({', '.join(sorted(READ_EXTENSIONS))}) in the folder", source)
    return files


def _degrade_one(path: Path, key: str, args: argparse.Namespace, options: dict) -> dict:
    """Degrade one file, write its outputs; returns its ``params.jsonl`` record."""
    pixels, _ = read_image(path)
    colour, _ = split_alpha(to_float(pixels))
    rng, entropy = image_rng(args.seed, key)
    outputs, params = apply_preset(args.preset, colour, rng, **options)
    stem = Path(key).with_suffix("")
    written = {}
    for name, image in outputs.items():
        target = args.output / f"{stem}_{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        ensure_not_input(target, [path])
        write_image(target, image, overwrite=args.overwrite)
        written[name] = target.relative_to(args.output).as_posix()
    return {"file": key, "rng_entropy": entropy, "outputs": written, "params": params}


def run(args: argparse.Namespace) -> int:
    inputs = _list_inputs(args.input, args.output)
    params_path = prepare_output_folder(args.output, PARAMS_FILE, args.overwrite)
    options = {} if args.scale is None else {"scales": tuple(args.scale)}
    failures = 0
    with open(params_path, "w", encoding="utf-8") as log:
        for path, key in tqdm(inputs, desc="degrade", unit="img", disable=args.input.is_file(), file=sys.stderr):
            try:
                record = _degrade_one(path, key, args, options)
            except (ImageReadError, ImageWriteError) as error:
                failures += 1
                tqdm.write(f"facerestore degrade: skipped: {error}", file=sys.stderr)
                continue
            log.write(json.dumps(record) + "\n")
            log.flush()
    if failures:
        print(f"facerestore degrade: {failures} of {len(inputs)} file(s) failed", file=sys.stderr)
        return 1
    return 0
