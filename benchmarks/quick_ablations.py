"""Quick-scale ablations: GFRNet Table 1 (Li et al. 2018 §4.5) and Yun & Park Table 2 (Model 1/2/3, w/ N, full),
one Markdown table each.

    OMP_NUM_THREADS=1 python benchmarks/quick_ablations.py [--methods gfrnet yun_park] [--count 100]
                                                           [--seeds 0 1 2] [--report-only] [--out runs/ablations]

Every variant is its paper's ablation applied to the quick recipe (``configs/gfrnet/gfrnet_quick.yaml``,
``configs/yun_park/yun_park_quick.yaml``): ``--set``-style overrides (:func:`facerestore.train.config.apply_overrides`)
and, for the variants without the flow loss or without WarpNet, the WarpNet pre-training stage dropped (as the
paper-scale ``configs/gfrnet_no_*.yaml`` do). The derived recipe is written to ``OUT/<method>/<variant>/
recipe.yaml``, trained with ``facerestore train`` (wall time measured) and evaluated with ``facerestore eval``
on the method's synthetic benchmark, as is bicubic. A variant whose ``final.safetensors`` and
``train_seconds.txt`` exist is not trained again. ``--seeds``: every variant trained with each recipe seed
(run folders ``<variant>_seed<N>``; seeds run in parallel as separate processes, then ``--report-only`` reads their
scores without training or evaluating): rows give the mean over seeds and the spread (min-max), and the rank by
mean. Output: ``OUT/quick_ablations.md``, printed as well.

The paper columns are the papers' own numbers on real faces (GFRNet: Table 1, VggFace2 ×8; Yun & Park:
Table 2), given for their ordering only.
"""
from __future__ import annotations

import argparse
import csv
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _recipes import recipe_file  # noqa: E402
from quick_recipes import evaluate, train_file  # noqa: E402

from facerestore.train.config import apply_overrides, read_recipe  # noqa: E402



@dataclass(frozen=True)
class Variant:
    label: str                      # the paper's name of the row
    key: str                        # run folder name
    overrides: tuple[str, ...] = ()  # applied to the quick recipe, stage indices of the quick recipe
    drop: tuple[str, ...] = ()      # stage names removed after the overrides
    paper: str = ""                 # the paper's PSNR (SSIM) of this row
    data_suffix: str = ""           # added to the benchmark name when this row is scored (":random-guide")


@dataclass(frozen=True)
class Ablation:
    recipe: str
    data: str
    variants: tuple[Variant, ...]
    paper_column: str


_NO_FLOW = tuple(f"stages.{i}.options.{k}=0" for i in (1, 2) for k in ("landmark_weight", "tv_weight"))
ABLATIONS = {
    "gfrnet": Ablation("gfrnet_quick", "synthetic-gfrnet-x8", (
        Variant("Ours(Full)", "full", paper="24.10 (.898)"),
        Variant("Ours(R)", "random_guide", tuple(f"stages.{i}.options.random_guide=true" for i in (0, 1, 2)),
                paper="24.05 (.890)", data_suffix=":random-guide"),  # Table 1 scores Ours(R) on random guides
        Variant("Ours(-F)", "no_flow", _NO_FLOW, ("warpnet",), paper="23.17 (.863)"),
        Variant("Ours(-W)", "no_warpnet", ("method.options.use_warpnet=false", *_NO_FLOW), ("warpnet",),
                paper="23.29 (.843)"),
        Variant("Ours(-WG)", "no_guide", ("method.options.use_warpnet=false", "method.options.use_guide=false",
                                          *_NO_FLOW), ("warpnet",), paper="22.91 (.838)"),
    ), "paper PSNR (SSIM), VggFace2 ×8"),
    "yun_park": Ablation("yun_park_quick", "synthetic-yun-x8", (
        Variant("Ours (full)", "full", paper="27.75 / 0.8553"),
        Variant("Model 1 (no five-layer upscaler)", "model1", ("method.options.upscaler=false",),
                paper="25.41 / 0.7008"),
        Variant("Model 2 (no discriminators)", "model2",
                ("stages.1.options.adversarial=[]", "stages.2.options.adversarial=[]"), paper="25.35 / 0.7016"),
        Variant("Model 3 (no local D)", "model3", ("stages.2.options.adversarial=[global]",),
                paper="25.48 / 0.7094"),
        Variant("Ours (w/ N)", "noise", ("method.options.noise=true",), paper="23.40 / 0.6289"),
    ), "paper PSNR / SSIM"),
}
PAPER_BICUBIC = {"gfrnet": "—", "yun_park": "24.08 / 0.6744"}


def derived_recipe(recipe: str, variant: Variant, path: Path, seed: int | None = None) -> None:
    """The quick recipe with the variant's overrides (and ``seed``) and without its dropped stages, written to
    ``path``."""
    raw = apply_overrides(read_recipe(recipe_file(recipe)), [*variant.overrides,
                                                             *([f"seed={seed}"] if seed is not None else [])])
    raw["name"] = f"{recipe}_{variant.key}"
    raw["stages"] = [stage for stage in raw["stages"] if stage["name"] not in variant.drop]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")


def run_folder(out: Path, variant: Variant, seed: int | None) -> Path:
    return out / (variant.key if seed is None else f"{variant.key}_seed{seed}")


def scores_of(folder: Path) -> tuple[float, float]:
    """(PSNR, SSIM) of the first condition of an eval folder written by :func:`quick_recipes.evaluate`."""
    row = next(csv.DictReader((folder / "scores.csv").open()))
    return float(row["psnr"]), float(row["ssim"])


def train_and_score(ablation: Ablation, variant: Variant, run: Path, seed: int | None, count: int) -> None:
    recipe = run / "recipe.yaml"
    if not recipe.is_file():
        derived_recipe(ablation.recipe, variant, recipe, seed)
    train_file(recipe, run)
    evaluate(["--config", str(recipe), "--weights", str(run / "final.safetensors"), "--label", variant.key],
             run / "eval", ablation.data + variant.data_suffix, count)


def ablation_table(method: str, ablation: Ablation, out: Path, count: int, seeds: list[int | None],
                   report_only: bool = False) -> list[str]:
    if not report_only:
        if not (out / "bicubic" / "scores.csv").is_file():  # shared by the seeds' processes
            evaluate(["--method", "bicubic"], out / "bicubic", ablation.data, count)
        for variant in ablation.variants:
            for seed in seeds:
                train_and_score(ablation, variant, run_folder(out, variant, seed), seed, count)
    b_psnr, b_ssim = scores_of(out / "bicubic")
    rows = []
    for variant in ablation.variants:
        folders = [run_folder(out, variant, seed) for seed in seeds]
        done = [f for f in folders if (f / "eval" / "scores.csv").is_file()]
        if not done:
            continue
        scores = [scores_of(f / "eval") for f in done]
        seconds = statistics.mean(float((f / "train_seconds.txt").read_text()) for f in done)
        psnrs = [p for p, _ in scores]
        rows.append((variant, seconds, statistics.mean(psnrs), statistics.mean(s for _, s in scores),
                     min(psnrs), max(psnrs), len(done)))
    rank = {v.key: i + 1 for i, (v, *_) in enumerate(sorted(rows, key=lambda r: -r[2]))}
    seeds_text = ", ".join("recipe's" if s is None else str(s) for s in seeds)
    lines = [f"{method} on {ablation.data} ({count} faces), from `configs/{method}/{ablation.recipe}.yaml`, seeds "
             f"{seeds_text} (mean over seeds; spread = min-max PSNR):", "",
             f"| variant | train wall time (mean) | PSNR / SSIM | PSNR spread | seeds | Δ PSNR vs bicubic | rank | "
             f"{ablation.paper_column} |", "|---|---:|---:|---:|---:|---:|---:|---:|",
             f"| bicubic | — | {b_psnr:.2f} / {b_ssim:.4f} | — | — | — | — | {PAPER_BICUBIC[method]} |"]
    for variant, seconds, psnr, ssim, low, high, n in rows:
        lines.append(f"| {variant.label} | {seconds / 60:.1f} min | {psnr:.2f} / {ssim:.4f} | {low:.2f}-{high:.2f} | "
                     f"{n} | {psnr - b_psnr:+.2f} | {rank[variant.key]} | {variant.paper} |")
    return lines + [""]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=list(ABLATIONS), choices=list(ABLATIONS))
    parser.add_argument("--count", type=int, default=100, help="benchmark faces (default: 100)")
    parser.add_argument("--out", type=Path, default=Path("runs/ablations"))
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="recipe seeds (default: the recipe's)")
    parser.add_argument("--report-only", action="store_true", help="read the runs' scores; train nothing")
    args = parser.parse_args()
    seeds = args.seeds or [None]
    lines = []
    for method in args.methods:
        lines += ablation_table(method, ABLATIONS[method], args.out / method, args.count, seeds, args.report_only)
    table = "\n".join(lines)
    (args.out / "quick_ablations.md").write_text(table, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
