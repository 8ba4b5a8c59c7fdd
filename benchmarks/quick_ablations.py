"""Quick-scale ablations: GFRNet Table 1 (Li et al. 2018 §4.5) and Yun & Park Table 2 (Model 1/2/3, w/ N, full),
one Markdown table each.

    OMP_NUM_THREADS=1 python benchmarks/quick_ablations.py [--methods gfrnet yun_park] [--count 100]
                                                           [--out runs/ablations]

Every variant is its paper's ablation applied to the quick recipe (``configs/gfrnet/gfrnet_quick.yaml``,
``configs/yun_park/yun_park_quick.yaml``): ``--set``-style overrides (:func:`facerestore.train.config.apply_overrides`)
and, for the variants without the flow loss or without WarpNet, the WarpNet pre-training stage dropped (as the
paper-scale ``configs/gfrnet_no_*.yaml`` do). The derived recipe is written to ``OUT/<method>/<variant>/
recipe.yaml``, trained with ``facerestore train`` (wall time measured) and evaluated with ``facerestore eval``
on the method's synthetic benchmark, as is bicubic. A variant whose ``final.safetensors`` and
``train_seconds.txt`` exist is not trained again. Output: ``OUT/quick_ablations.md``, printed as well.

The paper columns are the papers' own numbers on real faces (GFRNet: Table 1, VggFace2 ×8; Yun & Park:
Table 2), given for their ordering only.
"""
from __future__ import annotations

import argparse
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


def derived_recipe(recipe: str, variant: Variant, path: Path) -> None:
    """The quick recipe with the variant's overrides and without its dropped stages, written to ``path``."""
    raw = apply_overrides(read_recipe(recipe_file(recipe)), variant.overrides)
    raw["name"] = f"{recipe}_{variant.key}"
    raw["stages"] = [stage for stage in raw["stages"] if stage["name"] not in variant.drop]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")


def ablation_table(method: str, ablation: Ablation, out: Path, count: int) -> list[str]:
    bicubic = evaluate(["--method", "bicubic"], out / "bicubic", ablation.data, count)
    (condition, (b_psnr, b_ssim)), = bicubic.items()
    rows = []
    for variant in ablation.variants:
        run = out / variant.key
        recipe = run / "recipe.yaml"
        if not recipe.is_file():
            derived_recipe(ablation.recipe, variant, recipe)
        seconds = train_file(recipe, run)
        scores = evaluate(["--config", str(recipe), "--weights", str(run / "final.safetensors"), "--label",
                           variant.key], run / "eval", ablation.data + variant.data_suffix, count)
        rows.append((variant, seconds, *next(iter(scores.values()))))
    rank = {v.key: i + 1 for i, (v, *_) in enumerate(sorted(rows, key=lambda r: -r[2]))}
    lines = [f"{method} on {ablation.data} ({condition}, {count} faces), from `configs/{ablation.recipe}.yaml`:", "",
             f"| variant | train wall time | PSNR / SSIM | Δ PSNR vs bicubic | rank (PSNR) | "
             f"{ablation.paper_column} |", "|---|---:|---:|---:|---:|---:|",
             f"| bicubic | — | {b_psnr:.2f} / {b_ssim:.4f} | — | — | {PAPER_BICUBIC[method]} |"]
    for variant, seconds, psnr, ssim in rows:
        lines.append(f"| {variant.label} | {seconds / 60:.1f} min | {psnr:.2f} / {ssim:.4f} | {psnr - b_psnr:+.2f} "
                     f"| {rank[variant.key]} | {variant.paper} |")
    return lines + [""]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=list(ABLATIONS), choices=list(ABLATIONS))
    parser.add_argument("--count", type=int, default=100, help="benchmark faces (default: 100)")
    parser.add_argument("--out", type=Path, default=Path("runs/ablations"))
    args = parser.parse_args()
    lines = []
    for method in args.methods:
        lines += ablation_table(method, ABLATIONS[method], args.out / method, args.count)
    table = "\n".join(lines)
    (args.out / "quick_ablations.md").write_text(table, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
