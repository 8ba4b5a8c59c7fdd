"""Yun & Park training (§3.3–4): the objective's terms (Eq. 1–5), its §3.3 discriminators (PatchGAN as an option),
L_vgg on local torchvision VGG-19 weights, Model 1's bicubic input, the recipes of Table 2 (Model 1/2/3/full,
w/ N) with the paper's optimiser and staged discriminators."""
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
from facerestore.models.discriminators import PatchGAN, YunParkDiscriminator
from facerestore.models.vgg import VGG19Features
from facerestore.models.weights import save_weights_file
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


def test_discriminators_are_the_seven_convolution_form_of_3_3_unless_patchgan_is_asked(batch):
    method = build_method("yun_park", channels=2)
    paper = YunParkObjective(method, Discriminators(), d_channels=4, vgg_weight=0)
    assert {name: type(d) for name, d in paper.discriminators.items()} == \
        {"global": YunParkDiscriminator, "local": YunParkDiscriminator}
    assert paper.discriminators.specs == {"global": {"arch": "yun_park", "in_channels": 6, "channels": 4},
                                          "local": {"arch": "yun_park", "in_channels": 3, "channels": 4}}
    out = method.generate(batch)
    assert paper.discriminators["global"](torch.cat((out.upscaled, out.sharp), 1)).shape == (2, 1)  # one score
    patch = YunParkObjective(method, Discriminators(), d_channels=4, vgg_weight=0, d_arch="patchgan")
    assert all(isinstance(d, PatchGAN) for d in patch.discriminators.values())
    assert patch.discriminators["local"](out.sharp).shape == (2, 1, 30, 30)
    with pytest.raises(ConfigError, match="d_arch must be yun_park or patchgan, got 'dcgan'"):
        YunParkObjective(method, Discriminators(), d_arch="dcgan")


def _torchvision_vgg19(path: Path) -> None:
    """Random weights under torchvision's vgg19 state-dict names at ``path`` (.safetensors, or torch.save: .pth,
    read back with weights_only=True): features.0.weight … features.34.bias and the classifier's six tensors
    (their widths shrunk: they are dropped by name; tests/models/test_vgg.py has the loader's cases)."""
    torch.manual_seed(1)
    weights = dict(VGG19Features().state_dict())
    for index, rows in ((0, 4096), (3, 4096), (6, 1000)):
        weights[f"classifier.{index}.weight"], weights[f"classifier.{index}.bias"] = torch.rand(rows, 2), torch.rand(rows)
    if path.suffix == ".safetensors":
        save_weights_file(weights, path)
    else:
        torch.save(weights, path)


def test_paper_recipe_s_l_vgg_is_on_finite_and_trains_with_a_torchvision_vgg19_file(batch, tmp_path):
    config = load_config(CONFIGS / "yun_park" / "yun_park_paper.yaml")
    stage = config["stages"][0]
    assert config["vgg19_weights"] is None  # the recipe's default: L_vgg off ...
    torch.manual_seed(0)
    method = build_method("yun_park", channels=2)
    build = lambda options, weights: build_objective(stage["objective"], method, {**stage["options"], **options},
                                                     weights, Discriminators())
    off = build({"d_channels": 2}, None)
    assert off.perceptual is None and off.off_terms == {"L_vgg (Eq. 5)": NO_VGG19}
    # ... and on with a file in either format (the adversarial term left out here)
    objectives = {}
    for suffix in (".safetensors", ".pth"):
        _torchvision_vgg19(tmp_path / f"vgg19{suffix}")
        objectives[suffix] = build({"adversarial": []}, str(tmp_path / f"vgg19{suffix}")).train()
        assert objectives[suffix].perceptual is not None and objectives[suffix].off_terms == {}
        assert objectives[suffix].vgg_weight == 10  # λ2 of Eq. 6
    pth, safetensors = (objectives[k].perceptual.vgg.state_dict() for k in (".pth", ".safetensors"))
    assert pth.keys() == safetensors.keys() and all(torch.equal(pth[k], safetensors[k]) for k in pth)
    objective = objectives[".pth"]
    objective.pixel_weight = 0.0  # L_vgg alone: finite, and its gradient reaches the generator
    loss, logs, _ = objective(batch)
    assert torch.isfinite(logs["l_vgg"]) and float(logs["l_vgg"]) > 0
    assert float(loss.detach()) == pytest.approx(10 * float(logs["l_vgg"]), rel=1e-5)
    loss.backward()
    grads = [p.grad for p in method.net.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads) and sum(g.abs().sum() for g in grads) > 0
    assert not any(p.requires_grad for p in objective.perceptual.vgg.parameters())  # VGG-19 stays frozen


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


@pytest.mark.parametrize("name, upscaler, stages, discriminator", [
    ("yun_park_paper", True, [["global"], ["global", "local"]], YunParkDiscriminator),
    ("yun_park_quick", True, [[], ["global"], ["global", "local"], []], PatchGAN),  # + bn_settle; CPU-sized
    ("yun_park_model1", False, [["global"], ["global", "local"]], YunParkDiscriminator),
    ("yun_park_model2", True, [[]], None),
    ("yun_park_model3", True, [["global"]], YunParkDiscriminator),
    ("yun_park_noise", True, [["global"], ["global", "local"]], YunParkDiscriminator),
])
def test_yun_park_recipes_validate_and_build(name, upscaler, stages, discriminator):
    config = load_config(CONFIGS / "yun_park" / f"{name}.yaml")
    options = {**config["method"]["options"], "channels": 2}
    method = build_method(config["method"]["name"], **options)
    assert (method.net.upscaler is not None) == upscaler
    bank = Discriminators()
    used = [build_objective(s["objective"], method, {**s["options"], "d_channels": 2}, None, bank).used
            for s in config["stages"]]
    assert used == stages
    assert {type(d) for d in bank.values()} == ({discriminator} if discriminator else set())
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
