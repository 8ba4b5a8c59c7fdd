"""Every stage's validation measures what that stage trains (UFVNet stage 1: its anchor generators and the
weight regressor, not the untouched test-time network), and a stage whose validation never improves says so."""
from __future__ import annotations

import csv

import numpy as np

from facerestore.train import Trainer
from facerestore.train.config import apply_overrides, validate
from tiny_method import tiny_recipe

VAL = {"source": "synthetic", "size": 128, "count": 2, "split": "test", "preset": "fish_x4", "batch_size": 2}


def _values(out, stage: str) -> dict[str, list[float]]:
    rows = list(csv.DictReader((out / "scalars.csv").open()))
    values: dict[str, list[float]] = {}
    for row in rows:
        if row["stage"] == stage and row["name"].startswith("val/"):
            values.setdefault(row["name"], []).append(float(row["value"]))
    return values


def test_ufvnet_stage_one_validation_scores_the_anchor_generators_and_moves(tmp_path):
    config = validate({
        "name": "tiny_ufvnet", "seed": 0,
        "method": {"name": "ufvnet", "options": {"width": 0.0625, "residual": True, "space_to_depth": True}},
        "data": {"batch_size": 2, "train": {"source": "synthetic", "size": 128, "count": 4, "preset": "ufv_multires",
                                            "cache": True, "crop": 64}, "val": VAL},
        "train": {"val_every": 2, "save_every": 100, "log_every": 1, "progress": False},
        "stages": [{"name": "separate", "objective": "ufvnet_separate", "iterations": 6,
                    "optimizer": {"type": "adam", "lr": 2e-3}}]})
    Trainer(config, tmp_path).run()
    values = _values(tmp_path, "separate")
    assert {"val/psnr", "val/weight_error", "val/psnr_anchor0", "val/psnr_anchor2",
            "val/psnr_bicubic_anchor1"} <= set(values) and "val/ssim" not in values
    assert len(values["val/psnr"]) == 3  # at 2, 4 and the end
    assert len(set(values["val/psnr"])) == 3 and len(set(values["val/weight_error"])) == 3  # it moves
    np.testing.assert_allclose(values["val/psnr"], np.mean([values[f"val/psnr_anchor{k}"] for k in range(3)], axis=0),
                               rtol=1e-6)
    assert all(0.0 <= v <= 1.0 for v in values["val/weight_error"])
    # residual generators start from their bicubic input: the anchor scores stay near that baseline
    assert abs(values["val/psnr_anchor0"][0] - values["val/psnr_bicubic_anchor0"][0]) < 1.0


def test_a_stage_whose_validation_never_improves_is_a_warning(tmp_path):
    raw = apply_overrides(tiny_recipe(), ["stages.0.optimizer.lr=0.0", "stages.1.iterations=0"])
    raw["data"]["val"] = {**VAL, "preset": "fish_x8"}
    raw["train"]["val_every"] = 1
    trainer = Trainer(validate(raw), tmp_path)
    trainer.run()
    assert len(trainer.warnings) == 1 and "stage first: the validation PSNR never improved" in trainer.warnings[0]
    log = (tmp_path / "train.log").read_text()
    assert "WARNING stage first: the validation PSNR never improved" in log
    assert "final weights" in log and "warning: stage first" in log.split("final weights")[1]

    moving = apply_overrides(tiny_recipe(), ["stages.1.iterations=0"])
    moving["data"]["val"] = {**VAL, "preset": "fish_x8"}
    moving["train"]["val_every"] = 1
    learner = Trainer(validate(moving), tmp_path / "moving")
    learner.run()
    assert learner.warnings == []
