"""Train every ``*_quick`` recipe, evaluate it and bicubic on its synthetic benchmark, and print one table.

    python benchmarks/quick_recipes.py [--recipes fsgn_sr_quick ...] [--count 20] [--out runs/quick]

Each recipe runs as a user would run it (``facerestore train``, then ``facerestore eval --config ... --weights``
on the held-out synthetic benchmark of its protocol, identity off); the wall time of the training command is
measured. A run whose ``final.safetensors`` exists is not trained again (its time is then read from the earlier
``train_seconds.txt``). Output: ``OUT/quick_recipes.md`` and the per-run eval folders.
"""
from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path

from _recipes import recipe_file

# recipe → synthetic benchmark of its paper protocol
RECIPES = {
    "fishfsrnet_x8_quick": "synthetic-fish-x8",
    "ufvnet_quick": "synthetic-mr8",
    "fsgn_sr_quick": "synthetic-song-sr",
    "fsgn_deblur_quick": "synthetic-song-deblur",
    "srcnn_quick": "synthetic-fish-x8",
    "vdsr_quick": "synthetic-fish-x8",
    "srresnet_quick": "synthetic-fish-x8",
    "sparnet_quick": "synthetic-mr8",
}
CLI = [sys.executable, "-m", "facerestore"]


def _run(command: list[str]) -> None:
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True)


def train(recipe: str, run: Path) -> float:
    return train_file(recipe_file(recipe), run)


def train_file(recipe_file: str | Path, run: Path) -> float:
    """Wall seconds of ``facerestore train RECIPE_FILE`` (read back from ``train_seconds.txt`` when ``run``
    already holds ``final.safetensors``)."""
    seconds_file = run / "train_seconds.txt"
    if (run / "final.safetensors").is_file() and seconds_file.is_file():
        return float(seconds_file.read_text())
    start = time.perf_counter()
    _run([*CLI, "train", str(recipe_file), "--out", str(run), "--set", "train.progress=false"])
    seconds = time.perf_counter() - start
    seconds_file.write_text(f"{seconds:.1f}\n")
    return seconds


def evaluate(args: list[str], out: Path, data: str, count: int) -> dict[str, tuple[float, float]]:
    """Mean PSNR/SSIM per condition of one eval run (``--overwrite``: evaluation is cheap and deterministic)."""
    _run([*CLI, "eval", *args, "--data", data, "--count", str(count), "--identity", "none", "--out", str(out),
          "--overwrite"])
    rows = list(csv.DictReader((out / "scores.csv").open()))
    return {r["condition"]: (float(r["psnr"]), float(r["ssim"])) for r in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--count", type=int, default=20, help="test faces per condition (default: 20)")
    parser.add_argument("--out", type=Path, default=Path("runs/quick"))
    args = parser.parse_args()
    lines = ["| recipe | benchmark | train time | condition | bicubic PSNR / SSIM | model PSNR / SSIM | gain (dB) |",
             "|---|---|---:|---|---:|---:|---:|"]
    bicubic_of: dict[str, dict[str, tuple[float, float]]] = {}  # one bicubic run per benchmark
    for recipe in args.recipes:
        data, run = RECIPES[recipe], args.out / recipe
        seconds = train(recipe, run)
        model = evaluate(["--config", str(recipe_file(recipe)), "--weights", str(run / "final.safetensors"),
                          "--label", recipe], run / "eval", data, args.count)
        if data not in bicubic_of:
            bicubic_of[data] = evaluate(["--method", "bicubic"], args.out / f"bicubic_{data}", data, args.count)
        bicubic = bicubic_of[data]
        for condition, (psnr, ssim) in model.items():
            base = bicubic[condition]
            lines.append(f"| {recipe} | {data} | {seconds / 60:.1f} min | {condition} | {base[0]:.2f} / {base[1]:.4f} "
                         f"| {psnr:.2f} / {ssim:.4f} | {psnr - base[0]:+.2f} |")
    table = "\n".join(lines) + "\n"
    (args.out / "quick_recipes.md").write_text(table, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
