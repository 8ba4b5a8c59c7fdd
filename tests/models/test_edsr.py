"""EDSR-baseline yardstick (Lim et al. 2017 §3): size, shapes, bicubic start, recipes, a tiny engine run."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from facerestore.degrade import imresize_torch
from facerestore.methods import build_method
from facerestore.models import build_model, count_parameters
from facerestore.train import Trainer, load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_default_parameter_count():
    # C = 48, B = 8, ×4; a 3×3 conv a→b has 9ab + b parameters.
    # head 3→48: 1,344; 8 blocks × 2 convs 48→48: 16 × 20,784 = 332,544; body conv: 20,784;
    # upsampler 2 × (48→192): 2 × 83,136 = 166,272; tail 48→3: 1,299. Total 522,243.
    assert count_parameters(build_model("edsr")) == 522_243


@pytest.mark.parametrize("scale", [2, 3, 4, 8])
def test_output_is_scale_times_the_input(scale):
    net = build_model("edsr", scale=scale, channels=8, num_blocks=1).eval()
    with torch.no_grad():
        assert net(torch.rand(2, 3, 5, 7)).shape == (2, 3, 5 * scale, 7 * scale)


def test_scale_must_be_three_or_a_power_of_two():
    with pytest.raises(ValueError, match="scale 6"):
        build_model("edsr", scale=6)


def test_untrained_network_is_matlab_bicubic():
    torch.manual_seed(0)
    method = build_method("edsr", scale=4).eval()
    lr = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(method.net(lr), imresize_torch(lr, scale=4))
        assert torch.equal(method({"lr": lr}), build_method("bicubic", scale=4)({"lr": lr}))


@pytest.mark.parametrize("scale, crop", [(4, 96), (8, None)])
def test_recipes_validate(scale, crop):
    config = load_config(CONFIGS / "edsr" / f"edsr_x{scale}_quick.yaml")
    assert config["method"] == {"name": "edsr", "options": {"scale": scale}}
    assert config["data"]["batch_size"] == 16 and config["data"]["train"].get("crop") == crop
    assert config["data"]["train"]["preset"] == config["data"]["val"]["preset"] == f"fish_x{scale}"
    (stage,) = config["stages"]
    assert stage["options"] == {"loss": "l1"} and stage["iterations"] == 1500
    assert stage["optimizer"]["lr"] == 2e-4 and stage["optimizer"]["betas"] == [0.9, 0.999]
    assert config["train"]["keep_checkpoints"] * config["train"]["save_every"] >= stage["iterations"]


def test_tiny_x4_run_through_the_engine(tmp_path):
    overrides = ["data.train.count=2", "data.batch_size=2", "data.val.count=1", "stages.0.iterations=3",
                 "train.save_every=3", "train.val_every=0", "train.log_every=1", "train.progress=false",
                 "method.options.channels=8", "method.options.num_blocks=1"]
    config = load_config(CONFIGS / "edsr" / "edsr_x4_quick.yaml", overrides)
    final = Trainer(config, tmp_path).run()
    method = build_method("edsr", weights=final, scale=4, channels=8, num_blocks=1)
    assert method.net.tail.weight.abs().sum() > 0  # the zero tail has moved off bicubic
    assert (tmp_path / "checkpoints" / "s0_00000003_state.pt").is_file()
