"""``facerestore degrade``: apply a paper's degradation preset to an image or a folder of images.

Writes ``<name>_<output>.png`` (8-bit PNG, so JPEG artefacts are kept exactly) for each preset output
(``lr``, and ``lr_up`` / ``hr_blur`` where the preset makes them) and one JSON line per image in
``OUT/params.jsonl``. Each image's random generator is seeded from ``(--seed, its relative path)``,
so results do not depend on the order or on the other files. An alpha channel is dropped (the
degradations model the photographed colours only). Unreadable or unwritable files are reported on
stderr and skipped; the exit code is then 1. Subfolders holding an earlier facerestore run are left out (and
said); ``--skip-existing`` continues an interrupted run from its ``params.jsonl`` (one flushed line per
finished file; the kept lines are written first).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facerestore.cli import COMMANDS
from facerestore.cli.output import find_images, prepare_output_folder, say_skipped_folders
from facerestore.degrade import PRESETS, apply_preset, list_presets
from facerestore.errors import ConfigError, ImageReadError, ImageWriteError
from facerestore.io import READ_EXTENSIONS, ensure_not_input, read_image, split_alpha, to_float, write_image

PARAMS_FILE = "params.jsonl"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "degrade", help=COMMANDS["degrade"],
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
    parser.add_argument("--skip-existing", action="store_true",
                        help=f"skip files whose outputs and {PARAMS_FILE} line are already there (continue a run)")
    parser.set_defaults(func=run)


def image_rng(seed: int, key: str) -> tuple[np.random.Generator, list[int]]:
    """Generator for one image from the base seed and the image's relative path; also its entropy."""
    digest = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "little")
    entropy = [int(seed), digest]
    return np.random.default_rng(entropy), entropy


def _list_inputs(source: Path, output: Path) -> tuple[list[tuple[Path, str]], list[Path]]:
    """``(path, key)`` pairs sorted by key (``key``: the path relative to a folder input), and the subfolders
    left out because they hold an earlier facerestore run (:func:`find_images`)."""
    if source.is_file():
        return [(source, source.name)], []
    if not source.is_dir():
        raise ImageReadError("no such file or folder", source)
    found, skipped = find_images(source, output)
    files = sorted(((p, p.relative_to(source).as_posix()) for p in found), key=lambda item: item[1])
    if not files:
        raise ImageReadError(f"no image files ({', '.join(sorted(READ_EXTENSIONS))}) in the folder", source)
    return files, skipped


def finished_records(params_path: Path, output: Path) -> dict[str, str]:
    """``--skip-existing``: the ``params.jsonl`` lines of an earlier run whose outputs are all there, by file key."""
    done = {}
    if params_path.is_file():
        for line in params_path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # the line an interruption cut short
            if all((output / name).is_file() for name in record.get("outputs", {}).values()) and record.get("outputs"):
                done[record["file"]] = line
    return done


def _degrade_one(path: Path, key: str, args: argparse.Namespace, options: dict) -> dict:
    """Degrade one file, write its outputs (with ``--skip-existing``, replacing what an interrupted run left of
    this file); returns its ``params.jsonl`` record."""
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
        write_image(target, image, overwrite=args.overwrite or args.skip_existing)
        written[name] = target.relative_to(args.output).as_posix()
    return {"file": key, "rng_entropy": entropy, "outputs": written, "params": params}


def run(args: argparse.Namespace) -> int:
    inputs, skipped_folders = _list_inputs(args.input, args.output)
    say_skipped_folders("degrade", skipped_folders)
    if args.overwrite and args.skip_existing:
        raise ConfigError("--overwrite replaces the outputs and --skip-existing keeps them: give one of them")
    params_path = prepare_output_folder(args.output, PARAMS_FILE, args.overwrite or args.skip_existing)
    done = finished_records(params_path, args.output) if args.skip_existing else {}
    options = {} if args.scale is None else {"scales": tuple(args.scale)}
    failures = 0
    todo = [(path, key) for path, key in inputs if key not in done]
    skipped = len(inputs) - len(todo)
    with open(params_path, "w", encoding="utf-8") as log:
        log.writelines(done[key] + "\n" for _, key in inputs if key in done)  # kept first: an interruption keeps them
        log.flush()
        for path, key in tqdm(todo, desc="degrade", unit="img", disable=args.input.is_file(), file=sys.stderr):
            try:
                record = _degrade_one(path, key, args, options)
            except (ImageReadError, ImageWriteError) as error:
                failures += 1
                tqdm.write(f"facerestore degrade: skipped: {error}", file=sys.stderr)
                continue
            log.write(json.dumps(record) + "\n")
            log.flush()
    print(f"facerestore degrade: {len(inputs)} file(s): {len(inputs) - failures - skipped} degraded, {skipped} "
          f"skipped (done before), {failures} failed", file=sys.stderr)
    return 1 if failures else 0
