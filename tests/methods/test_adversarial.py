"""Adversarial engine: GAN losses, flow losses, G/D steps, the discriminator bank's specs (arch), discriminators
added at a later stage and kept across stages, exact resumption of a GAN stage (and of a checkpoint whose specs
predate arch), plateau schedules and the new recipe keys."""
from __future__ import annotations

import os
import signal

import pytest
import torch
from safetensors.torch import load_file

from facerestore.errors import ConfigError
from facerestore.losses import GANLoss, identity_grid, landmark_loss, lsgan, smoothed_vanilla_gan, tv_loss
from facerestore.methods import build_method
from facerestore.methods.adversarial import Discriminators
from facerestore.models.discriminators import PatchGAN, YunParkDiscriminator
from facerestore.methods.yun_park import YunParkObjective
from facerestore.models.gfrnet import warp
from facerestore.train import Trainer, TrainingInterrupted
from facerestore.train.checkpoint import latest_checkpoint, load_checkpoint
from facerestore.train.config import apply_overrides, validate
from facerestore.train.schedules import Plateau, build_scheduler, observe_plateau
from optimise import optimise


# ------------------------------------------------------------------ losses
def test_lsgan_follows_eq_1_to_3():
    real, fake = torch.tensor([0.5, 1.0]), torch.tensor([0.0, 2.0])
    gan = lsgan()
    assert gan.d_loss(real, fake) == pytest.approx(((0.25 + 0.0) / 2) + (0.0 + 4.0) / 2)
    assert gan.g_loss(fake) == pytest.approx((1.0 + 1.0) / 2)


def test_vanilla_gan_uses_one_sided_smoothed_labels():
    gan = smoothed_vanilla_gan()
    assert (gan.real_label, gan.fake_label) == (0.9, 0.0)
    logits = torch.tensor([0.3, -1.2])
    bce = lambda x, y: -(y * torch.log(torch.sigmoid(x)) + (1 - y) * torch.log(1 - torch.sigmoid(x))).mean()
    assert gan.d_loss(logits, logits) == pytest.approx(float(bce(logits, 0.9) + bce(logits, 0.0)), rel=1e-6)
    assert gan.g_loss(logits) == pytest.approx(float(bce(logits, 0.9)), rel=1e-6)
    with pytest.raises(ConfigError, match="wgan"):
        GANLoss("wgan")


def test_identity_grid_warps_to_the_same_image_and_costs_nothing():
    grid = identity_grid(2, 12, 16)
    image = torch.rand(2, 3, 12, 16)
    assert torch.allclose(warp(image, grid), image, atol=1e-5)
    assert float(tv_loss(grid)) == 0.0
    points = torch.rand(2, 68, 2) * torch.tensor([15.0, 11.0])
    assert float(landmark_loss(grid, points, points)) == pytest.approx(0.0, abs=1e-10)


def test_landmark_loss_is_eq_9_in_normalised_coordinates():
    height, width = 12, 16
    shifted = identity_grid(1, height, width) + torch.tensor([0.2, 0.0])  # samples 0.2 (normalised) to the right
    points = torch.tensor([[[3.0, 4.0], [10.0, 7.5]]])
    guide_points = points + torch.tensor([0.2 * (width - 1) / 2, 0.0])  # the same shift in guide pixels
    assert float(landmark_loss(shifted, points, guide_points)) == pytest.approx(0.0, abs=1e-10)
    assert float(landmark_loss(shifted, points, points)) == pytest.approx(2 * 0.2**2, rel=1e-5)  # Σ over 2 points
    assert float(tv_loss(shifted)) == pytest.approx(0.0, abs=1e-12)  # a constant displacement is smooth
    wavy = shifted.clone()
    wavy[:, :, ::2, 0] += 0.1
    assert float(tv_loss(wavy)) > 0.0


# ---------------------------------------------------------------- G/D steps
def _yun_batch(n: int = 2) -> dict:
    generator = torch.Generator().manual_seed(0)
    rand = lambda *shape: torch.rand(*shape, generator=generator)
    return {"lr": rand(n, 3, 32, 32), "hr": rand(n, 3, 256, 256), "hr_blur": rand(n, 3, 256, 256),
            "face_mask": (rand(n, 1, 256, 256) > 0.5).float()}


def test_discriminator_and_generator_updates_move_their_losses_in_opposite_directions():
    torch.manual_seed(0)
    objective = YunParkObjective(build_method("yun_park", channels=2), Discriminators(), adversarial=["global"],
                                 d_channels=4, vgg_weight=0).train()
    batch = _yun_batch()

    @torch.no_grad()
    def gap() -> float:  # how much higher D_g scores the real pair than the generated one
        out = objective.method.generate(batch)
        condition = out.upscaled
        d = objective.discriminators["global"]
        real = d(torch.cat((condition, batch["hr"] * 2 - 1), 1)).mean()
        return float(real - d(torch.cat((condition, out.sharp), 1)).mean())

    first, first_gap = objective(batch)[1], gap()
    def no_gradient(parameters) -> None:
        assert all(p.grad is None for p in parameters)

    # discriminator only: it learns to tell real from fake
    optimise(lambda: objective(batch)[2], objective.discriminator_parameters(), 6,
             after_backward=lambda: no_gradient(objective.trainable_parameters()))
    after_d = objective(batch)[1]
    assert after_d["d_global"] < first["d_global"] and gap() > first_gap + 0.1
    for p in objective.discriminator_parameters():
        p.grad = None
    objective.pixel_weight = 0.0  # the adversarial term alone
    # generator only: it learns to fool the (fixed) discriminator
    optimise(lambda: objective(batch)[0], objective.trainable_parameters(), 3,
             after_backward=lambda: no_gradient(objective.discriminator_parameters()))
    after_g = objective(batch)[1]
    assert after_g["g_global"] < after_d["g_global"]


def _gan_recipe() -> dict:
    """Yun & Park at width 2: a G + global D stage, then the local D joins (its own d_optimizer)."""
    stage = {"objective": "yun_park", "iterations": 3, "optimizer": {"lr": 1e-3, "betas": [0.5, 0.999]}}
    return {
        "name": "gan", "seed": 5,
        "method": {"name": "yun_park", "options": {"channels": 2}},
        "data": {"batch_size": 2, "train": {"source": "synthetic", "size": 256, "count": 3, "preset": "yun_x8",
                                              "flip": 0.5, "cache": True}},
        "train": {"save_every": 1, "log_every": 1, "progress": False, "keep_checkpoints": 10},
        "stages": [
            {**stage, "name": "global", "options": {"adversarial": ["global"], "d_channels": 4, "vgg_weight": 0}},
            {**stage, "name": "both", "options": {"adversarial": ["global", "local"], "d_channels": 4,
                                                  "vgg_weight": 0},
             "d_optimizer": {"lr": 2e-3}},
        ],
    }


def _disc(out, stage: int, iteration: int) -> dict:
    return load_file(out / "checkpoints" / f"s{stage}_{iteration:08d}_disc.safetensors")


def _tracked(weights: dict, name: str) -> int:
    """Batches seen by the first BatchNorm of discriminator ``name`` (3 per iteration: G term, real, fake)."""
    return int(weights[f"{name}.layers.3.num_batches_tracked"])


def test_gan_stages_keep_their_discriminators_and_resume_exactly(tmp_path):
    config = validate(_gan_recipe())
    assert config["stages"][1]["d_optimizer"]["betas"] == [0.5, 0.999]  # unset keys: the stage's optimizer
    assert config["stages"][1]["d_optimizer"]["lr"] == 2e-3
    straight = tmp_path / "straight"
    Trainer(config, straight).run()
    first, second = _disc(straight, 0, 3), _disc(straight, 1, 3)
    assert {k.split(".")[0] for k in first} == {"global"}  # the local D joins at stage 2...
    assert {k.split(".")[0] for k in second} == {"global", "local"}
    # ...while D_g goes on training (a rebuilt D_g would count 9 again)
    assert (_tracked(first, "global"), _tracked(second, "global"), _tracked(second, "local")) == (9, 18, 9)
    state, _, _ = load_checkpoint(straight / "checkpoints" / "s1_00000003_state.pt")
    assert state["discriminator_specs"] == {"global": {"arch": "yun_park", "in_channels": 6, "channels": 4},
                                            "local": {"arch": "yun_park", "in_channels": 3, "channels": 4}}
    assert state["d_optimizer"]["param_groups"][0]["lr"] == 2e-3

    def interrupt(trainer, stage, iteration):
        if (stage, iteration) == (1, 1):
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainingInterrupted):
        Trainer(config, tmp_path / "resumed", hooks=[interrupt]).run()
    state, _, _ = load_checkpoint(latest_checkpoint(tmp_path / "resumed" / "checkpoints"))
    assert (state["stage"], state["iteration"]) == (1, 2) and "d_optimizer" in state
    Trainer(config, tmp_path / "resumed", resume="auto").run()
    for load in (lambda out: load_file(out / "final.safetensors"), lambda out: _disc(out, 1, 3)):
        expected, got = load(straight), load(tmp_path / "resumed")
        assert expected.keys() == got.keys() and all(torch.equal(expected[k], got[k]) for k in expected)


def test_the_bank_builds_a_spec_s_arch_and_a_spec_without_one_is_a_patchgan():
    bank = Discriminators()
    gfrnet_style = {"in_channels": 9, "channels": 4}  # GFRNet's specs, and pre-arch checkpoints, name no arch
    assert isinstance(bank.ensure("global", gfrnet_style), PatchGAN)
    assert bank.ensure("global", {"arch": "patchgan", **gfrnet_style}) is bank["global"]  # the same network
    assert bank.specs == {"global": gfrnet_style}  # stored as given: GFRNet's checkpoints are unchanged
    with pytest.raises(ConfigError, match="exists with .*a spec without arch is a PatchGAN.*d_arch: patchgan"):
        bank.ensure("global", {"arch": "yun_park", **gfrnet_style})
    with pytest.raises(ConfigError, match="exists with") as error:
        bank.ensure("global", {"in_channels": 9, "channels": 8})  # another width: no arch hint
    assert "without arch" not in str(error.value)
    assert isinstance(bank.ensure("local", {"arch": "yun_park", "in_channels": 3, "channels": 2}), YunParkDiscriminator)
    with pytest.raises(ConfigError, match="arch must be one of \\['patchgan', 'yun_park'\\], got 'dcgan'"):
        bank.ensure("other", {"arch": "dcgan"})


def test_a_checkpoint_whose_specs_predate_arch_resumes_as_patchgans(tmp_path):
    raw = apply_overrides(_gan_recipe(), ["stages.0.options.d_arch=patchgan", "stages.1.options.d_arch=patchgan"])
    config = validate(raw)

    def interrupt(trainer, stage, iteration):
        if (stage, iteration) == (1, 1):
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainingInterrupted):
        Trainer(config, tmp_path, hooks=[interrupt]).run()
    path = latest_checkpoint(tmp_path / "checkpoints")
    state = torch.load(path, weights_only=True)  # rewrite it as a checkpoint from before specs had arch
    state["discriminator_specs"] = {name: {k: v for k, v in spec.items() if k != "arch"}
                                    for name, spec in state["discriminator_specs"].items()}
    torch.save(state, path)
    with pytest.raises(ConfigError, match="a spec without arch is a PatchGAN"):  # the default arch is not it
        Trainer(validate(_gan_recipe()), tmp_path, resume=str(path)).run()
    trainer = Trainer(config, tmp_path, resume=str(path))
    trainer.run()
    assert {name: type(d) for name, d in trainer.discriminators.items()} == {"global": PatchGAN, "local": PatchGAN}
    assert _tracked(_disc(tmp_path, 1, 3), "global") == 18  # the checkpoint's D_g went on training


# ------------------------------------------------------------------ plateau
def test_plateau_decays_on_non_decreasing_validation_loss_and_round_trips():
    spec = {"type": "plateau", "gamma": 0.1, "min_factor": 0.01, "patience": 0, "threshold": 0.0,
            "milestones": [], "monitor": "val/mse"}
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=2e-4)
    scheduler = build_scheduler(spec, optimizer, total=10)
    for value in (1.0, 0.9, 0.95):  # GFRNet §4.2: 2e-4 until the loss stops decreasing
        observe_plateau(scheduler, value)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(2e-5)
    for value in (0.8, 0.85, 0.9, 0.9):  # 2e-6, then no lower than min_factor
        observe_plateau(scheduler, value)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(2e-6)
    restored = build_scheduler(spec, torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=2e-4), 10)
    restored.load_state_dict(scheduler.state_dict())
    plateau: Plateau = restored.lr_lambdas[0]
    assert (plateau.factor, plateau.best) == (pytest.approx(0.01), 0.8)


def test_plateau_schedule_runs_from_validation(tmp_path):
    raw = _gan_recipe()
    raw["stages"] = raw["stages"][:1]
    raw["stages"][0].update(iterations=3, scheduler={"type": "plateau", "gamma": 0.5, "patience": 0,
                                                     "threshold": 0.5, "min_factor": 0.1})
    raw["data"]["val"] = {"source": "synthetic", "size": 256, "count": 1, "split": "test", "preset": "yun_x8"}
    raw["train"]["val_every"] = 1
    Trainer(validate(raw), tmp_path).run()
    state, _, _ = load_checkpoint(tmp_path / "checkpoints" / "s0_00000003_state.pt")
    # threshold 0.5: no validation improves by half, so the first sets best and the second halves the lr
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(5e-4)
    assert state["d_optimizer"]["param_groups"][0]["lr"] == pytest.approx(5e-4)


# ------------------------------------------------------------------- config
@pytest.mark.parametrize("change, message", [
    (["stages.0.d_optimizer.lrr=1"], r"stages\.0\.d_optimizer\.lrr"),
    (["stages.0.d_scheduler.type=plateau"], r"stages\.0\.d_scheduler: a plateau schedule needs data\.val"),
    (["stages.0.scheduler.monitor=val/psnr"], r"stages\.0\.scheduler\.monitor"),
])
def test_bad_adversarial_recipe_keys_are_named(change, message):
    raw = _gan_recipe()
    if "monitor" in change[0]:
        raw["data"]["val"] = {"source": "synthetic", "size": 256, "count": 1, "preset": "yun_x8"}
        change = change + ["stages.0.scheduler.type=plateau"]
    with pytest.raises(ConfigError, match=message):
        validate(apply_overrides(raw, change))


def test_bad_objective_options_and_conflicting_discriminators_are_config_errors(tmp_path):
    raw = apply_overrides(_gan_recipe(), ["stages.0.options.adversarial=[middle]"])
    with pytest.raises(ConfigError, match="middle"):
        Trainer(validate(raw), tmp_path / "a").run()
    raw = apply_overrides(_gan_recipe(), ["stages.1.options.d_channels=8", "stages.0.iterations=1"])
    with pytest.raises(ConfigError, match="discriminator 'global' exists"):
        Trainer(validate(raw), tmp_path / "b").run()
