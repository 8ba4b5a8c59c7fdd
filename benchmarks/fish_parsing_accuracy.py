"""FishFSRNet Table IV: ParsingNet's face parsing accuracy at ×4, ×8 and ×16
(:func:`facerestore.metrics.parsing.skin_accuracy`) on held-out synthetic faces and, when fetched, on the real
validation faces (their parsing from the 68 landmarks of the aligned crops).

    OMP_NUM_THREADS=1 python benchmarks/fish_parsing_accuracy.py --weights x4=FISH_X4.safetensors \
        --weights x8=FISH_X8.safetensors --weights x16=FISH_X16.safetensors [--count 100]

A factor without weights is scored with an untrained ParsingNet (said in the table): a floor, not a result.
The paper's numbers (CelebA / Helen): ×4 0.9763 / 0.9520, ×8 0.9671 / 0.9228, ×16 0.9564 / 0.8672.
"""
from __future__ import annotations

import argparse
import sys

import torch

from facerestore.data import FolderFaces, SyntheticFaces
from facerestore.data.real_val import aligned_folder
from facerestore.data.sample import collate_samples
from facerestore.methods import build_method
from facerestore.metrics.parsing import skin_accuracy

FACTORS = (4, 8, 16)
PAPER = {4: "0.9763 / 0.9520", 8: "0.9671 / 0.9228", 16: "0.9564 / 0.8672"}


@torch.inference_mode()
def accuracy(method, faces, count: int) -> float:
    scores = []
    for first in range(0, count, 8):
        batch = collate_samples([faces[i] for i in range(first, min(count, first + 8))])
        scores += skin_accuracy(method.predict_parsing(batch["lr"]), batch["parsing_skin"]).tolist()
    return sum(scores) / len(scores)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", action="append", default=[], metavar="xN=FILE", help="FishFSRNet weights")
    parser.add_argument("--count", type=int, default=100, help="synthetic test faces (default 100)")
    args = parser.parse_args()
    files = dict(item.split("=", 1) for item in args.weights)
    real = aligned_folder(128)
    print("| factor | weights | synthetic | real validation faces | paper (CelebA / Helen) |")
    print("|---|---|---:|---:|---:|")
    for factor in FACTORS:
        path = files.get(f"x{factor}")
        method = (build_method(weights=path) if path else build_method("fishfsrnet", scale=factor)).eval()
        keys = ("lr", "parsing_skin")
        synthetic = SyntheticFaces(128, args.count, 0, f"fish_x{factor}", keys, split="test")
        real_score = "—"
        if real.is_dir():
            folder = FolderFaces(real, 128, f"fish_x{factor}", keys)
            real_score = f"{accuracy(method, folder, len(folder)):.4f}"
        print(f"| x{factor} | {path or 'untrained (floor)'} | {accuracy(method, synthetic, args.count):.4f} | "
              f"{real_score} | {PAPER[factor]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
