"""A tiny registered method and recipe for the engine tests (and the torchrun worker of test_ddp.py):
nearest ×8 upsampling of ``lr`` followed by one 3×3 conv, trained on 4 cached synthetic faces."""
from __future__ import annotations

import sys
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from facerestore.methods import METHODS, Method, register_method


class TinySR(Method):
    name = "tiny_sr_test"
    requires = frozenset({"lr"})

    def __init__(self):
        super().__init__(hr_size=128, scale=8)
        self.net = nn.Conv2d(3, 3, 3, padding=1)

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.net(F.interpolate(sample["lr"], scale_factor=8, mode="nearest"))


if TinySR.name not in METHODS:
    register_method(TinySR)


def tiny_recipe(**stage_changes) -> dict:
    """Raw recipe: two stages (L1 then L2) of a few iterations on 4 synthetic faces."""
    stage = {"objective": "pixel", "iterations": 4, "optimizer": {"type": "adam", "lr": 1e-2}, **stage_changes}
    return {
        "name": "tiny",
        "seed": 3,
        "method": {"name": TinySR.name},
        "data": {"batch_size": 2, "train": {"source": "synthetic", "size": 128, "count": 4, "preset": "fish_x8",
                                              "flip": 0.5, "cache": True}},
        "train": {"save_every": 2, "log_every": 1, "progress": False},
        "stages": [{**stage, "name": "first", "options": {"loss": "l1"}, "ema": 0.9},
                   {**stage, "name": "second", "options": {"loss": "l2"}}],
    }


if __name__ == "__main__":  # torchrun worker: python tiny_method.py RECIPE.yaml OUT
    from facerestore.train import Trainer, load_config

    torch.set_num_threads(1)
    Trainer(load_config(sys.argv[1]), sys.argv[2]).run()
