"""Yun & Park training (§3.3–4): the objective's terms (Eq. 1–5), Model 1's bicubic input, the recipes of
Table 2 (Model 1/2/3/full, w/ N) with the paper's optimiser and staged discriminators."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from facerestore.data import SyntheticFaces
from facerestore.data.sample import collate_samples
from facerestore.errors import ConfigError, WeightsError
from facerestore.losses import NO_VGG19
from facerestore.methods import build_method
from facerestore.methods.adversarial import Discriminators
from facerestore.methods.objective import build_objective
from facerestore.methods.yun_park import YunParkObjective
from facerestore.train import load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.fixture(scope="module")
def batch() -> dict:
    faces = SyntheticFaces(256, 2, seed=1, preset="yun_x8", keys=("lr", "hr", "hr_blur", "face_mask"))
    return collate_samples([faces[0], faces[1]])


def test_objective_is_gan_plus_100_pixel_with_eq_4_terms(batch):
    torch.manual_seed(0)
    method = build_method("yun_park", channels=2)
    objective = YunParkObjective(method, Discriminators(), d_channels=4, vgg_weight=0).train()
    loss, logs, d_loss = objective(batch)
    out = method.generate(batch)
    hr, mask = batch["hr"] * 2 - 1, batch["face_mask"]
    masked = ((out.sharp + 1) / 2 * mask) * 2 - 1
    eq4 = ((masked - ((batch["hr"] * mask) * 2 - 1)).abs().mean() + (out.sharp - hr).abs().mean()
           + (out.blurred - (batch["hr_blur"] * 2 - 1)).abs().mean())
    assert float(logs["l_pix"]) == pytest.approx(float(eq4.detach()), rel=1e-5)
    assert float(loss.detach()) == pytest.approx(float(100 * logs["l_pix"] + logs["g_global"] + logs["g_local"]), rel=1e-5)
    assert float(d_loss.detach()) == pytest.approx(float(logs["d_global"] + logs["d_local"]), rel=1e-5)
    assert objective.discriminators.specs["global"]["in_channels"] == 6  # concat(I_LRf, HR)


def test_perceptual_term_needs_local_weights(batch, tmp_path):
    objective = YunParkObjective(build_method("yun_park", channels=2), Discriminators(), adversarial=[])
    assert objective.perceptual is None and objective.off_terms == {"L_vgg (Eq. 5)": NO_VGG19}
    with pytest.raises(WeightsError, match="missing.safetensors"):
        YunParkObjective(build_method("yun_park", channels=2), Discriminators(), adversarial=[],
                         vgg19_weights=str(tmp_path / "missing.safetensors"))


def test_model_1_reads_the_bicubic_upsampled_face(batch):
    method = build_method("yun_park", channels=2, upscaler=False).eval()
    out = method.generate(batch)
    assert out.upscaled.shape == (2, 3, 256, 256) and method(batch).shape == (2, 3, 256, 256)


def test_noise_variant_draws_new_details_each_call(batch):
    method = build_method("yun_park", channels=2, noise=True).eval()
    torch.manual_seed(0)
    first = method(batch)
    assert not torch.equal(first, method(batch))
    torch.manual_seed(0)
    assert torch.equal(first, method(batch))


@pytest.mark.parametrize("name, upscaler, stages", [
    ("yun_park_paper", True, [["global"], ["global", "local"]]),
    ("yun_park_quick", True, [[], ["global"], ["global", "local"], []]),  # + bn_settle
    ("yun_park_model1", False, [["global"], ["global", "local"]]),
    ("yun_park_model2", True, [[]]),
    ("yun_park_model3", True, [["global"]]),
    ("yun_park_noise", True, [["global"], ["global", "local"]]),
])
def test_yun_park_recipes_validate_and_build(name, upscaler, stages):
    config = load_config(CONFIGS / "yun_park" / f"{name}.yaml")
    options = {**config["method"]["options"], "channels": 2}
    method = build_method(config["method"]["name"], **options)
    assert (method.net.upscaler is not None) == upscaler
    bank = Discriminators()
    used = [build_objective(s["objective"], method, s["options"], None, bank).used for s in config["stages"]]
    assert used == stages
    for stage in config["stages"]:
        assert stage["optimizer"]["betas"] == [0.5, 0.999] and stage["d_optimizer"]["betas"] == [0.5, 0.999]
    if name == "yun_park_paper":
        assert config["data"]["batch_size"] == 64 and config["stages"][0]["optimizer"]["lr"] == 2e-4
        assert all(s["options"].get("pixel_weight", 100) == 100 and s["options"].get("vgg_weight", 10) == 10
                   for s in config["stages"])


def test_unknown_discriminator_name_is_a_config_error():
    with pytest.raises(ConfigError, match="middle"):
        YunParkObjective(build_method("yun_park", channels=2), Discriminators(), adversarial=["middle"])


def test_residual_variant_adds_the_generator_outputs_to_bicubic(batch):
    from facerestore.degrade import imresize_torch

    torch.manual_seed(0)
    method = build_method("yun_park", channels=2, residual=True).eval()
    with torch.no_grad():
        out, raw = method.generate(batch), method.net(batch["lr"] * 2 - 1)
    bicubic = imresize_torch(batch["lr"], size=(256, 256)) * 2 - 1
    assert torch.allclose(out.sharp, bicubic + raw.sharp, atol=1e-6)
    assert torch.allclose(out.blurred, bicubic + raw.blurred, atol=1e-6)
