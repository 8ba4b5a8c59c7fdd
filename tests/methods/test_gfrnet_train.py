"""GFRNet training (Li et al. 2018 §3.3, §4.2): WarpNet pre-training on the flow loss, the end-to-end objective
with its global/local discriminators, the Table 1 ablation recipes."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from facerestore.data import SyntheticFaces
from facerestore.data.sample import collate_samples
from facerestore.errors import ConfigError
from facerestore.methods import build_method
from facerestore.train import load_config
from facerestore.methods.adversarial import Discriminators
from facerestore.methods.gfrnet import GFRNetFlowObjective, GFRNetObjective
from facerestore.methods.objective import build_objective
from optimise import optimise

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
KEYS = ("lr_up", "guide", "hr", "landmarks", "guide_landmarks")
TINY = 2


@pytest.fixture(scope="module")
def batch() -> dict:
    faces = SyntheticFaces(256, 2, seed=3, preset="gfrnet_general", keys=KEYS, flip=0.5)
    return collate_samples([faces[0], faces[1]])


def test_warpnet_pretraining_lowers_the_landmark_loss_and_touches_warpnet_only(batch):
    torch.manual_seed(0)
    method = build_method("gfrnet", channels=TINY)
    # λ_TV = 0.01 as the quick recipe: with Eq. 10's sum and λ_TV = 1 a thin WarpNet first flattens its
    # grid and fits the landmarks only after hundreds of steps (configs/gfrnet/gfrnet_quick.yaml).
    objective = GFRNetFlowObjective(method, tv_weight=0.01).train()
    recnet_before = {k: v.clone() for k, v in method.net.recnet.state_dict().items()}
    first = objective(batch)[1]["l_lm"]
    optimise(lambda: objective(batch)[0], objective.trainable_parameters(), 15, lr=2e-3)
    assert objective(batch)[1]["l_lm"] < 0.5 * first
    assert all(torch.equal(v, method.net.recnet.state_dict()[k]) for k, v in recnet_before.items())
    assert {id(p) for p in objective.trainable_parameters()} == {id(p) for p in method.net.warpnet.parameters()}


def test_end_to_end_objective_terms_and_discriminator_inputs(batch):
    torch.manual_seed(0)
    bank = Discriminators()
    objective = GFRNetObjective(build_method("gfrnet", channels=TINY), bank, d_channels=4).train()
    loss, logs, d_loss = objective(batch)
    assert set(logs) == {"l2", "l_lm", "l_tv", "g_global", "d_global", "g_local", "d_local"}
    expected = (100 * logs["l2"] + 10 * logs["l_lm"] + logs["l_tv"] + logs["g_global"] + 0.5 * logs["g_local"])
    assert float(loss.detach()) == pytest.approx(float(expected), rel=1e-5)
    assert float(d_loss.detach()) == pytest.approx(float(logs["d_global"] + logs["d_local"]), rel=1e-5)
    # Both read concat(I^d, I^g, ·), the local one on the landmark boxes (§3.3, "the same settings").
    assert bank.specs == {"global": {"in_channels": 9, "channels": 4}, "local": {"in_channels": 9, "channels": 4}}
    loss.backward()
    assert all(p.grad is None for p in objective.discriminator_parameters())
    d_loss.backward()
    assert all(p.grad is not None for p in objective.discriminator_parameters())


def test_ablations_change_the_objective(batch):
    no_guide = GFRNetObjective(build_method("gfrnet", channels=TINY, use_warpnet=False, use_guide=False),
                               Discriminators(), d_channels=4)
    assert no_guide.discriminators.specs["global"]["in_channels"] == 6  # concat(I^d, Î): no guide
    assert no_guide.discriminators.specs["local"]["in_channels"] == 6
    logs = no_guide(batch)[1]
    assert "l_lm" not in logs  # −WG: no WarpNet, no flow loss
    no_flow = GFRNetObjective(build_method("gfrnet", channels=TINY), Discriminators(), adversarial=[],
                              landmark_weight=0, tv_weight=0)
    loss, logs, d_loss = no_flow(batch)
    assert d_loss is None and set(logs) == {"l2"} and float(loss.detach()) == pytest.approx(100 * float(logs["l2"]))
    torch.manual_seed(0)
    random = GFRNetFlowObjective(build_method("gfrnet", channels=TINY), random_guide=True)
    torch.manual_seed(0)
    matched = GFRNetFlowObjective(build_method("gfrnet", channels=TINY))
    assert not torch.equal(random(batch)[1]["l_lm"], matched(batch)[1]["l_lm"])  # Ours(R): other guides
    with pytest.raises(ConfigError, match="at least 2"):
        random({k: v[:1] for k, v in batch.items()})
    with pytest.raises(ConfigError, match="WarpNet"):
        GFRNetFlowObjective(build_method("gfrnet", channels=TINY, use_warpnet=False))


@pytest.mark.parametrize("name", ["gfrnet_paper", "gfrnet_quick", "gfrnet_no_flow",
                                  "gfrnet_no_warpnet", "gfrnet_no_guide", "gfrnet_random_guide"])
def test_gfrnet_recipes_validate_and_build(name):
    config = load_config(CONFIGS / "gfrnet" / f"{name}.yaml")
    method = build_method(config["method"]["name"], **{**config["method"]["options"], "channels": TINY})
    bank = Discriminators()
    for stage in config["stages"]:
        build_objective(stage["objective"], method, stage["options"], None, bank)
        assert stage["optimizer"]["betas"][0] == 0.5  # Adam β1 = 0.5 (§4.2)
    paper = load_config(CONFIGS / "gfrnet" / "gfrnet_paper.yaml")
    assert [s["objective"] for s in paper["stages"]] == ["gfrnet_flow", "gfrnet"]
    assert paper["data"]["batch_size"] == 1 and paper["stages"][1]["scheduler"]["type"] == "plateau"


def test_residual_variant_adds_recnet_to_the_degraded_input(batch):
    torch.manual_seed(0)
    method = build_method("gfrnet", channels=TINY, residual=True).eval()
    with torch.no_grad():
        out = method.generate(batch)
        raw = method.net(batch["lr_up"] * 2 - 1, batch["guide"] * 2 - 1)
    assert torch.allclose(out.restored, batch["lr_up"] * 2 - 1 + raw.restored, atol=1e-6)
    assert torch.equal(out.grid, raw.grid)
