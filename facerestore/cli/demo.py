"""``facerestore demo``: the README's main job on the embedded synthetic faces."""
from __future__ import annotations

import argparse

from facerestore.demo import DEFAULT_RECIPE, DEMO_PRESETS, DEMO_SEED, demo_model, run_demo


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="restore degraded synthetic faces with the default model (UFVNet) and write an HTML report",
        description="Renders held-out synthetic faces, degrades them with several presets, restores them with "
        "UFVNet (bundled weights, or weights quick-trained once on this machine and cached in "
        "$FACERESTORE_HOME/demo) and writes a report folder (index.html, PNG grids, metrics.csv/.md) against "
        "bicubic.",
    )
    parser.add_argument("-o", "--output", default="demo_out", help="report folder (default: demo_out)")
    parser.add_argument("--count", type=int, default=6, help="faces per preset (default: 6)")
    parser.add_argument("--size", type=int, default=128, choices=(128, 256, 512), help="HR face size")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help="synthetic face set (default: held-out seed)")
    parser.add_argument("--presets", nargs="+", default=list(DEMO_PRESETS), help="degradation presets to show")
    parser.add_argument("--recipe", default=str(DEFAULT_RECIPE), help="recipe of the model (default: %(default)s)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe key, as in `facerestore train`")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing report in the folder")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    model = demo_model(args.recipe, args.overrides)
    index = run_demo(args.output, model, count=args.count, size=args.size, seed=args.seed,
                     presets=tuple(args.presets), overwrite=args.overwrite)
    print((index.parent / "metrics.md").read_text(encoding="utf-8"))
    print(f"report written: {index}")
    return 0
