"""Song et al.'s detail enhancement on the synthetic benchmarks: Table 5 (BLD+M vs BLD+M+DE) and the sweeps of
Table 2 (patch size P) and Table 3 (number of candidates K), and of the search radius r.

For each run folder (an FSGN training run: its recipe's method options and ``final.safetensors``), the
benchmark of its preset (``synthetic-song-sr`` for ``song_sr``, ``synthetic-song-deblur`` for ``song_deblur``)
is restored by the registry method ``song`` with ``detail_enhancement`` off and on (the ``facerestore eval``
runner: PSNR / SSIM on Y over ``--count`` faces). The sweeps reuse the FSGN base images of the first
``--sweep-count`` faces and vary one option of :class:`DetailEnhancementConfig` (the others at their defaults).
The bank must show other people than the test faces (the test split's renderer seed differs from any
``--synthetic`` bank seed; the paper uses its training faces as exemplars, §4), and faces of the run's size: a
run of the paper recipes (320×240 faces, ``preset_options.frame``) is scored on the benchmark's faces framed alike
and needs a 320×240 bank (``synthetic_bank(200, 512, seed=0, frame=(320, 240))``, saved with ``.save``).

    .venv/bin/facerestore exemplars build --synthetic 200 --seed 0 -o bank.npz
    .venv/bin/python benchmarks/sweep_detail_enhancement.py --bank bank.npz \
        --runs runs/fsgn_sr_quick runs/fsgn_deblur_quick --count 20 --sweep-count 5
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import torch

from facerestore.data.sample import collate_samples
from facerestore.evaluate import BENCHMARKS, evaluate
from facerestore.evaluate.benchmark import EvalData
from facerestore.methods import build_method
from facerestore.metrics import psnr_y_torch, ssim_y_torch
from facerestore.methods.song.detail_enhancement import DetailEnhancementConfig, enhance_details
from facerestore.methods.song.exemplar_bank import ExemplarBank
from facerestore.train import load_config

DATA = {"song_sr": "synthetic-song-sr", "song_deblur": "synthetic-song-deblur"}
PATCH_SIZES = (10, 15, 20, 25)      # Table 2 (the paper also has 30)
CANDIDATES = (3, 4, 5, 6, 7)        # Table 3: K = 3 … 7
RADII = (0, 1, 2, 3)                # the search window (2r+1)², which the paper does not give


def _song(run: Path, bank: ExemplarBank, enhance: bool):
    recipe = load_config(run / "config.yaml")
    return build_method("song", weights=run / "final.safetensors", bank=bank, detail_enhancement=enhance,
                        **recipe["method"]["options"])


def _preset(run: Path) -> str:
    return load_config(run / "config.yaml")["data"]["train"]["preset"]


def _data(run: Path, count: int) -> EvalData:
    """The benchmark of the run's preset, at the run's face size: a recipe with ``preset_options.frame`` (the
    paper's 320×240, fsgn_sr.yaml / fsgn_deblur.yaml) gets the benchmark's test faces rendered at its ``size`` and
    framed alike (the benchmarks themselves are 128×128)."""
    train = load_config(run / "config.yaml")["data"]["train"]
    data = BENCHMARKS[DATA[train["preset"]]].with_count(count)
    frame = (train.get("preset_options") or {}).get("frame")
    if frame is None:
        return data
    conditions = tuple(dataclasses.replace(c, options={**c.options, "frame": list(frame)}) for c in data.conditions)
    return dataclasses.replace(data, name=f"{data.name}-{frame[0]}x{frame[1]}", size=int(train["size"]),
                               conditions=conditions)


def _scores(images: torch.Tensor, truth: torch.Tensor) -> tuple[float, float]:
    return psnr_y_torch(images, truth).mean().item(), ssim_y_torch(images, truth).mean().item()


def _sweep(base: torch.Tensor, truth: torch.Tensor, exemplars: torch.Tensor, field: str, values) -> list[str]:
    rows = [f"| {field} | PSNR | SSIM | ΔPSNR vs base |", "|---|---|---|---|"]
    base_psnr, _ = _scores(base, truth)
    for value in values:
        config = dataclasses.replace(DetailEnhancementConfig(), **{field: value})
        out = torch.stack([enhance_details(face, exemplars, config).output for face in base]).clamp(0, 1)
        psnr, ssim = _scores(out, truth)
        rows.append(f"| {value} | {psnr:.2f} | {ssim:.4f} | {psnr - base_psnr:+.2f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", type=Path, required=True,
                        help="FSGN run folders (config.yaml, final.safetensors)")
    parser.add_argument("--bank", type=Path, required=True,
                        help="exemplar bank .npz (other people than the test faces)")
    parser.add_argument("--count", type=int, default=20, help="test faces of the Table 5 rows")
    parser.add_argument("--sweep-count", type=int, default=5, help="test faces of the sweeps (the first ones)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bank = ExemplarBank.load(args.bank)
    exemplars = torch.from_numpy(bank.images)
    print(f"bank {args.bank}: {len(bank)} faces; torch {torch.__version__}, {args.threads} thread(s)")
    for run in args.runs:
        preset = _preset(run)
        data = _data(run, args.count)
        print(f"\n## {run} ({preset}, {data.name})\n\n| row | faces | PSNR | SSIM | seconds |\n|---|---|---|---|---|")
        for label, enhance in (("BLD+M (FSGN base)", False), ("BLD+M+DE (song)", True)):
            start = time.perf_counter()
            score = evaluate(_song(run, bank, enhance), data, label=label).scores[0]
            print(f"| {label} | {score.count} | {score.psnr:.2f} | {score.ssim:.4f} | "
                  f"{time.perf_counter() - start:.0f} |")
        sys.stdout.flush()
        fsgn = _song(run, bank, enhance=False).eval()
        dataset = data.dataset(data.conditions[0], fsgn.requires | {"hr"})
        batch = collate_samples([dataset[i] for i in range(min(args.sweep_count, len(dataset)))])
        with torch.inference_mode():
            base = fsgn(batch)
        base_psnr, base_ssim = _scores(base, batch["hr"])
        print(f"\nSweeps on the first {len(base)} faces (FSGN base: PSNR {base_psnr:.2f}, SSIM {base_ssim:.4f}):\n")
        for field, values in (("patch_size", PATCH_SIZES), ("num_candidates", CANDIDATES),
                              ("search_radius", RADII)):
            print("\n".join(_sweep(base, batch["hr"], exemplars, field, values)) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
