"""PSNR / SSIM of trained weights under the tuned fp32 and bf16 inference paths, on the synthetic benchmarks.

    python benchmarks/bf16_quality.py [--recipes ufvnet_quick ...] [--runs runs/quick] [--count 20]
                                      [--run RECIPE=DIR ...] [--out runs/bf16_quality]

For every recipe with trained weights (``RUNS/RECIPE/final.safetensors``, as ``benchmarks/quick_recipes.py``
leaves them; ``--run`` points a recipe elsewhere), ``facerestore eval --precision fp32`` and ``--precision bf16``
(conv/linear weights stored in bf16, bf16 autocast; ``prepare_for_inference``) on the recipe's benchmark, and
one table of both scores and their difference. Issue #4's bar: bf16 within 0.05 dB PSNR of fp32. Recipes
without weights are listed as skipped.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _recipes import recipe_file  # noqa: E402
from quick_recipes import RECIPES, evaluate  # noqa: E402

BENCHMARKS = {**RECIPES, "yun_park_quick": "synthetic-yun-x8", "gfrnet_quick": "synthetic-gfrnet"}
TOLERANCE_DB = 0.05


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", default=list(BENCHMARKS), choices=list(BENCHMARKS))
    parser.add_argument("--runs", type=Path, default=Path("runs/quick"), help="folder of RECIPE/final.safetensors")
    parser.add_argument("--run", action="append", default=[], metavar="RECIPE=DIR",
                        help="the training run of one recipe elsewhere; repeatable")
    parser.add_argument("--count", type=int, default=20, help="test faces per condition (default: 20)")
    parser.add_argument("--out", type=Path, default=Path("runs/bf16_quality"))
    args = parser.parse_args()
    runs = {recipe: args.runs / recipe for recipe in args.recipes}
    for pair in args.run:
        recipe, _, folder = pair.partition("=")
        if recipe not in BENCHMARKS or not folder:
            parser.error(f"--run expects RECIPE=DIR with RECIPE one of {', '.join(BENCHMARKS)}, got {pair!r}")
        runs[recipe] = Path(folder)
    lines = ["| recipe | benchmark | condition | fp32 PSNR / SSIM | bf16 PSNR / SSIM | Δ PSNR (dB) | Δ SSIM |",
             "|---|---|---|---:|---:|---:|---:|"]
    worst = 0.0
    for recipe, run in runs.items():
        weights = run / "final.safetensors"
        if not weights.is_file():
            print(f"skipped {recipe}: no {weights}")
            continue
        data = BENCHMARKS[recipe]
        scores = {precision: evaluate(["--config", str(recipe_file(recipe)), "--weights", str(weights),
                                       "--precision", precision, "--label", f"{recipe}_{precision}"],
                                      args.out / f"{recipe}_{precision}", data, args.count)
                  for precision in ("fp32", "bf16")}
        for condition, (psnr, ssim) in scores["fp32"].items():
            psnr16, ssim16 = scores["bf16"][condition]
            worst = max(worst, abs(psnr16 - psnr))
            lines.append(f"| {recipe} | {data} | {condition} | {psnr:.3f} / {ssim:.4f} | {psnr16:.3f} / {ssim16:.4f} "
                         f"| {psnr16 - psnr:+.3f} | {ssim16 - ssim:+.4f} |")
    table = "\n".join(lines) + f"\n\nlargest |Δ PSNR| {worst:.3f} dB (bar: {TOLERANCE_DB} dB)\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bf16_quality.md").write_text(table, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
