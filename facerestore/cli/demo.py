"""``facerestore demo``: the README's main job on the embedded synthetic faces."""
from __future__ import annotations

import argparse

from facerestore.demo import DEMO_PRESETS, DEMO_SEED, run_demo


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="degrade embedded synthetic faces with every paper's protocol and write an HTML report",
        description="Renders held-out synthetic faces, degrades them with each paper's preset, restores them "
        "and writes a report folder (index.html, PNG grids, metrics.csv/.md).",
    )
    parser.add_argument("-o", "--output", default="demo_out", help="report folder (default: demo_out)")
    parser.add_argument("--count", type=int, default=6, help="faces per preset (default: 6)")
    parser.add_argument("--size", type=int, default=128, choices=(128, 256, 512), help="HR face size")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help="synthetic face set (default: held-out seed)")
    parser.add_argument("--presets", nargs="+", default=list(DEMO_PRESETS), help="degradation presets to show")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing report in the folder")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    index = run_demo(args.output, count=args.count, size=args.size, seed=args.seed,
                     presets=tuple(args.presets), overwrite=args.overwrite)
    print((index.parent / "metrics.md").read_text(encoding="utf-8"))
    print(f"report written: {index}")
    return 0
