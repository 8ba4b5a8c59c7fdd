"""The training engine: recipes and overrides, exact resumption after SIGINT, NaN stop, checkpoints, stages."""
from __future__ import annotations

import csv
import os
import signal

import pytest
import torch
import yaml
from PIL import Image
from safetensors.torch import load_file

from facerestore.cli import main as cli_main
from facerestore.errors import ConfigError
from facerestore.methods import build_method
from facerestore.train import NonFiniteLossError, Trainer, TrainingInterrupted, load_config
from facerestore.train.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint
from facerestore.train.config import apply_overrides, validate
from facerestore.train.datasets import ResumableBatches
from facerestore.train.schedules import lr_factor
from tiny_method import TinySR, tiny_recipe


def _write(tmp_path, raw) -> str:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def test_overrides_parse_yaml_values_and_index_lists():
    raw = apply_overrides(tiny_recipe(), ["stages.1.iterations=7", "stages.0.optimizer.betas=[0.5, 0.9]",
                                          "train.val_every=3", "stages.0.ema=null"])
    config = validate(raw)
    assert config["stages"][1]["iterations"] == 7
    assert config["stages"][0]["optimizer"]["betas"] == [0.5, 0.9]
    assert config["stages"][0]["optimizer"]["eps"] == 1e-8  # default filled in
    assert config["train"]["val_every"] == 3 and config["stages"][0]["ema"] is None


@pytest.mark.parametrize("change, key", [
    (["train.val_evry=3"], "train.val_evry"),
    (["stages.0.iterations=many"], "stages.0.iterations"),
    (["stages.0.optimizer.lr=fast"], "stages.0.optimizer.lr"),
    (["train.amp=1"], "train.amp"),
    (["stages.5.iterations=1"], "stages.5"),
])
def test_bad_recipe_keys_are_named(tmp_path, change, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")) as info:
        load_config(_write(tmp_path, tiny_recipe()), change)
    assert "recipe.yaml" in str(info.value)


def test_missing_recipe_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml"):
        load_config(tmp_path / "nope.yaml")


def test_lr_schedules_follow_their_formulas():
    step = lr_factor({"type": "multistep", "milestones": [2, 4], "gamma": 0.1, "min_factor": 0.0}, 6)
    assert [step(t) for t in range(6)] == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])
    cosine = lr_factor({"type": "cosine", "milestones": [], "gamma": 1.0, "min_factor": 0.2}, 10)
    assert cosine(0) == pytest.approx(1.0) and cosine(10) == pytest.approx(0.2) and cosine(5) == pytest.approx(0.6)


def test_batches_cover_each_epoch_once_and_shard_the_global_batch():
    single = ResumableBatches(6, 4, seed=1, stage=0, start=0, stop=3)
    positions = [item for batch in single for item in batch]
    assert sorted(i for i, e in positions if e == 0) == list(range(6))
    ranks = [ResumableBatches(6, 2, seed=1, stage=0, start=0, stop=3, rank=r, world_size=2) for r in (0, 1)]
    assert [b0 + b1 for b0, b1 in zip(*ranks)] == list(single)
    resumed = ResumableBatches(6, 4, seed=1, stage=0, start=2, stop=3)
    assert list(resumed) == list(single)[2:]


def _final(out) -> dict:
    return load_file(out / "final.safetensors")


def _interrupt_at(stage: int, iteration: int):
    def hook(trainer, s, t):
        if (s, t) == (stage, iteration):
            os.kill(os.getpid(), signal.SIGINT)
    return hook


def test_interrupted_and_resumed_run_ends_with_identical_weights(tmp_path):
    config = validate(tiny_recipe())
    straight = Trainer(config, tmp_path / "straight")
    straight.run()
    interrupted = Trainer(config, tmp_path / "resumed", hooks=[_interrupt_at(0, 2)])
    with pytest.raises(TrainingInterrupted, match="--resume auto"):
        interrupted.run()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored
    state, _, ema = load_checkpoint(latest_checkpoint(tmp_path / "resumed" / "checkpoints"))
    assert (state["stage"], state["iteration"]) == (0, 3) and ema is not None
    Trainer(config, tmp_path / "resumed", resume="auto").run()
    expected, got = _final(tmp_path / "straight"), _final(tmp_path / "resumed")
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[k], got[k]) for k in expected)
    # stage weights and a differing run: the comparison can fail
    assert (tmp_path / "straight" / "first.safetensors").is_file()
    other = Trainer(validate(apply_overrides(tiny_recipe(), ["seed=4"])), tmp_path / "other")
    other.run()
    assert not torch.equal(_final(tmp_path / "other")["net.weight"], expected["net.weight"])


def test_second_stage_starts_from_first_stage_ema(tmp_path):
    config = validate(apply_overrides(tiny_recipe(), ["stages.1.iterations=0"]))
    Trainer(config, tmp_path).run()
    first, final = load_file(tmp_path / "first.safetensors"), _final(tmp_path)
    assert all(torch.equal(first[k], final[k]) for k in first)
    _, params, ema = load_checkpoint(tmp_path / "checkpoints" / "s0_00000004_state.pt")
    assert torch.equal(ema["net.weight"], first["net.weight"])
    assert not torch.equal(params["net.weight"], first["net.weight"])
    # the written weights load into the method
    method = build_method(TinySR.name, weights=tmp_path / "final.safetensors")
    assert torch.equal(method.net.weight, final["net.weight"])


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    def poison(trainer, stage, iteration):
        if iteration == 3:  # after the checkpoint of iteration 2
            with torch.no_grad():
                trainer.method.net.bias.fill_(float("nan"))
    config = validate(tiny_recipe())
    with pytest.raises(NonFiniteLossError, match=r"iteration 4: loss is nan.*s0_00000002_state\.pt"):
        Trainer(config, tmp_path, hooks=[poison]).run()
    newest = latest_checkpoint(tmp_path / "checkpoints")
    assert newest.name == "s0_00000002_state.pt"
    _, params, _ = load_checkpoint(newest)
    assert all(torch.isfinite(v).all() for v in params.values())


def test_cli_train_writes_config_csv_grid_and_keeps_newest_checkpoints(tmp_path):
    raw = tiny_recipe()
    raw["data"]["val"] = {"source": "synthetic", "size": 128, "count": 2, "split": "test", "preset": "fish_x8",
                          "batch_size": 2}
    raw["train"].update(keep_checkpoints=1, grid_faces=2)
    out = tmp_path / "run"
    assert cli_main(["train", _write(tmp_path, raw), "--out", str(out), "--set", "stages.1.iterations=2"]) == 0
    resolved = yaml.safe_load((out / "config.yaml").read_text())
    assert resolved["stages"][1]["iterations"] == 2 and resolved["stages"][1]["grad_clip"] is None
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["s1_00000002_state.pt"]
    rows = list(csv.DictReader((out / "scalars.csv").open()))
    names = {(r["stage"], r["name"]) for r in rows}
    assert {("first", "loss"), ("first", "l1"), ("second", "l2"), ("second", "val/psnr"),
            ("second", "val/psnr_bicubic"), ("first", "lr")} <= names
    assert len([r for r in rows if r["stage"] == "first" and r["name"] == "loss"]) == 4
    with Image.open(out / "grids" / "second_00000002.png") as grid:  # 2 faces × (LR | bicubic | output | GT)
        assert grid.size == (4 * 128, 2 * 128)
    assert (out / "best_second.safetensors").is_file()


def test_a_new_run_never_writes_over_another_run(tmp_path, capsys):
    recipe = _write(tmp_path, tiny_recipe())
    out = tmp_path / "run"
    assert cli_main(["train", recipe, "--out", str(out), "--set", "stages.1.iterations=1"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    # Without --resume or --overwrite: refused in one line, nothing touched.
    assert cli_main(["train", recipe, "--out", str(out), "--set", "seed=5"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "holds a training run" in err and "--resume auto" in err and "--overwrite" in err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert cli_main(["train", recipe, "--out", str(out), "--resume", "auto", "--overwrite"]) == 2
    assert "give one of them" in capsys.readouterr().err
    # --overwrite: the old run's files are gone before the new run writes (no stale checkpoints, a fresh log).
    (out / "checkpoints" / "s1_00000099_state.pt").write_bytes(b"stale")
    (out / "notes.txt").write_text("the user's own file")
    (out / ".overwritten-dead").mkdir()  # left by an interrupted earlier --overwrite
    assert cli_main(["train", recipe, "--out", str(out), "--set", "stages.1.iterations=1", "--set", "seed=5",
                     "--overwrite"]) == 0
    assert not (out / "checkpoints" / "s1_00000099_state.pt").exists() and not (out / ".overwritten-dead").exists()
    assert (out / "notes.txt").read_text() == "the user's own file"
    assert (out / "train.log").read_text().count("stage first") == 1
    assert (out / "final.safetensors").read_bytes() != before["final.safetensors"]
    assert not list(out.glob(".overwritten-*"))


def test_init_weights_starts_a_run_from_a_weights_file(tmp_path):
    first = tmp_path / "first"
    Trainer(validate(apply_overrides(tiny_recipe(), ["stages.1.iterations=0"])), first).run()
    start = _final(first)
    tuned = validate(apply_overrides(tiny_recipe(), ["stages.0.iterations=0", "stages.1.iterations=0",
                                                     f"init_weights={first / 'final.safetensors'}"]))
    Trainer(tuned, tmp_path / "tuned").run()
    assert all(torch.equal(start[k], _final(tmp_path / "tuned")[k]) for k in start)
    assert "init_weights" in (tmp_path / "tuned" / "train.log").read_text()
    fresh = Trainer(validate(apply_overrides(tiny_recipe(), ["stages.0.iterations=0", "stages.1.iterations=0"])),
                    tmp_path / "fresh")
    fresh.run()
    assert not torch.equal(_final(tmp_path / "fresh")["net.weight"], start["net.weight"])
    bad = validate(apply_overrides(tiny_recipe(), [f"init_weights={tmp_path / 'none.safetensors'}"]))
    with pytest.raises(Exception, match="none.safetensors"):
        Trainer(bad, tmp_path / "bad").run()


def test_a_stage_says_at_its_start_which_loss_terms_are_off(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("FACERESTORE_VGG19_WEIGHTS", raising=False)
    raw = tiny_recipe(iterations=1)
    raw["stages"] = raw["stages"][:1]
    raw["stages"][0]["options"] = {"loss": "l1", "perceptual": {"relu1_1": 1.0}}
    Trainer(validate(raw), tmp_path).run()
    log = (tmp_path / "train.log").read_text()
    assert "stage first: loss term perceptual is OFF (no VGG-19 weights" in log
    assert "loss term perceptual is OFF" in capsys.readouterr().out
