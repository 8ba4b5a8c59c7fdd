"""``facerestore demo``: the README's main job, with the default model's weights (nothing is trained)."""
from __future__ import annotations

import argparse

from facerestore.cli import COMMANDS
from facerestore.demo import DEMO_PRESETS, DEMO_SEED, PHOTO, demo_model, run_demo


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help=COMMANDS["demo"],
        description="Renders held-out synthetic faces, degrades them with several presets, degrades a real "
        "public-domain photo x4, restores them with the default model (bundled weights, or --weights) and "
        "writes a report folder (index.html, PNG grids, a before/after picture, metrics.csv/.md) against bicubic.",
    )
    parser.add_argument("-o", "--output", default="demo_out", help="report folder (default: demo_out)")
    parser.add_argument("--weights", help="a weights file (default: the default model's, see 'restore --help')")
    parser.add_argument("--count", type=int, default=6, help="faces per preset (default: 6)")
    parser.add_argument("--size", type=int, default=128, choices=(128, 256, 512), help="HR face size")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help="synthetic face set (default: held-out seed)")
    parser.add_argument("--presets", nargs="+", default=list(DEMO_PRESETS), help="degradation presets to show")
    parser.add_argument("--photo", default=str(PHOTO), help="real photo degraded x4 and restored "
                        "(default: the bundled NASA astronaut)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing report in the folder")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    model = demo_model(args.weights)
    index = run_demo(args.output, model, count=args.count, size=args.size, seed=args.seed,
                     presets=tuple(args.presets), photo=args.photo, overwrite=args.overwrite)
    print((index.parent / "metrics.md").read_text(encoding="utf-8"))
    print(f"report written: {index}")
    return 0
