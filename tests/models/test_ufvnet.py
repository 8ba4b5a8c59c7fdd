"""UFVNet: Eq. 4 targets, every LR size, the AlexNet regressor, ablations, anchor generators, training."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facerestore.degrade import apply_preset
from facerestore.errors import ConfigError
from facerestore.models import build_model, count_parameters
from facerestore.models.ufvnet import WeightRegressor, anchor_weight_targets, upscale

TORCHVISION_ALEXNET_PARAMS = 61_100_840  # torchvision.models.alexnet(), 1000 classes
SPARNET_LIGHT_ATTN3D_PARAMS = 5_242_211  # official sparnet_light_attn3d.json


@pytest.fixture(scope="module")
def ufvnet():
    torch.manual_seed(0)
    return build_model("ufvnet", anchor_decoders=False).eval()


def _lr(size, batch=1):
    return torch.rand(batch, 3, *((size, size) if isinstance(size, int) else size)) * 2 - 1


@pytest.mark.parametrize("rate, expected", [
    (1 / 8, (1 / 2, 3 / 8, 1 / 8)),      # d = (0, 1/8, 3/8), Σd = 1/2
    (3 / 16, (3 / 7, 3 / 7, 1 / 7)),     # d = (1/16, 1/16, 5/16), Σd = 7/16
    (1 / 16, (5 / 11, 4 / 11, 2 / 11)),  # d = (1/16, 3/16, 7/16), Σd = 11/16
])
def test_eq4_soft_targets_match_hand_computed_values(rate, expected):
    torch.testing.assert_close(anchor_weight_targets(rate), torch.tensor([expected]))


def test_eq4_targets_favour_the_nearest_anchor_and_sum_to_one():
    rates = torch.arange(1, 9) / 16  # the eight CelebA-MR8 rates
    for anchors in [(1 / 8, 1 / 2), (1 / 8, 1 / 4, 1 / 2), (1 / 16, 1 / 8, 1 / 4, 1 / 2)]:
        weights = anchor_weight_targets(rates, anchors)
        torch.testing.assert_close(weights.sum(1), torch.ones(8))
        nearest = (rates[:, None] - torch.tensor(anchors)).abs().argmin(1)
        assert torch.equal(weights.argmax(1), nearest)
    assert torch.equal(anchor_weight_targets(rates, (1 / 4,)), torch.ones(8, 1))


def test_every_lr_size_gives_a_128_face_and_eval_is_deterministic(ufvnet):
    with torch.inference_mode():
        for size in [8, 13, 16, 27, 32, 64, (16, 12)]:
            assert ufvnet(_lr(size)).shape == (1, 3, 128, 128), size
        lr = _lr(16)
        first = ufvnet(lr)
        assert torch.equal(first, ufvnet(lr))
        assert torch.equal(first, ufvnet(upscale(lr)))  # a 128×128 lr_up is taken as is


def test_upscale_is_bicubic_to_128_in_range():
    lr = torch.tensor([[[[-1.0, 1.0], [1.0, -1.0]]]]).repeat(1, 3, 4, 4)  # 8×8 checkerboard, max overshoot
    up = upscale(lr)
    assert up.shape == (1, 3, 128, 128)
    assert up.min() >= -1 and up.max() <= 1
    torch.testing.assert_close(upscale(up), up)


def test_weight_regressor_is_alexnet_with_its_first_pool_fitted_to_128():
    regressor = WeightRegressor(num_anchors=3)
    assert count_parameters(regressor) == TORCHVISION_ALEXNET_PARAMS + 1000 * 3 + 3
    with torch.inference_mode():
        features = regressor.features(_lr(128))
        assert features.shape == (1, 256, 6, 6)  # what AlexNet's classifier sees at 224×224
        assert regressor.eval()(_lr(128, batch=2)).shape == (2, 3)


def test_forward_train_returns_softmax_weights_of_the_regressor(ufvnet):
    with torch.inference_mode():
        out = ufvnet.forward_train(_lr(16, batch=2))
    assert out["sr"].shape == (2, 3, 128, 128)
    assert out["weight_logits"].shape == (2, 3)
    torch.testing.assert_close(out["weights"], torch.softmax(out["weight_logits"], dim=1))


def test_ablation_nw_fixes_every_weight_to_one():
    model = build_model("ufvnet", weighting="none", anchor_decoders=False).eval()
    assert model.regressor is None
    with torch.inference_mode():
        out = model.forward_train(_lr(20))
    assert torch.equal(out["weights"], torch.ones(1, 3)) and out["weight_logits"] is None


def test_ablation_fm_uses_eq4_of_the_input_rate():
    model = build_model("ufvnet", weighting="formula", anchor_decoders=False).eval()
    assert model.regressor is None
    with torch.inference_mode():
        from_size = model.forward_train(_lr(16))["weights"]  # 16 / 128 = 1/8
        given = model.forward_train(_lr(128, batch=2), rate=torch.tensor([1 / 8, 1 / 16]))["weights"]
    torch.testing.assert_close(from_size, torch.tensor([[1 / 2, 3 / 8, 1 / 8]]))
    torch.testing.assert_close(given[1], torch.tensor([5 / 11, 4 / 11, 2 / 11]))


@pytest.mark.parametrize("num_anchors", [1, 2, 4])
def test_one_two_four_srg_variants_run(num_anchors):
    weighting = "none" if num_anchors == 1 else "formula"
    model = build_model("ufvnet", num_anchors=num_anchors, weighting=weighting, anchor_decoders=False).eval()
    assert len(model.encoders) == num_anchors
    with torch.inference_mode():
        out = model.forward_train(_lr(24))
    assert out["sr"].shape == (1, 3, 128, 128) and out["weights"].shape == (1, num_anchors)


def test_invalid_options_raise_config_errors():
    with pytest.raises(ConfigError, match="weighting='none'"):
        build_model("ufvnet", num_anchors=1)
    with pytest.raises(ConfigError, match="num_anchors"):
        build_model("ufvnet", num_anchors=5)
    with pytest.raises(ConfigError, match="weighting"):
        build_model("ufvnet", weighting="uniform")
    with pytest.raises(ConfigError, match="anchor_decoders=False"):
        build_model("ufvnet", weighting="none", anchor_decoders=False).generator(0)


def test_anchor_generators_are_sparnet_light_sharing_the_encoders():
    model = build_model("ufvnet", weighting="none")
    shared = {id(p) for p in model.parameters()}
    for index in range(3):
        generator = model.generator(index)
        assert count_parameters(generator) == SPARNET_LIGHT_ATTN3D_PARAMS
        assert {id(p) for p in generator.parameters()} <= shared
        assert generator.encoder is model.encoders[index] and generator.decoder is model.anchor_decoders[index]
    with torch.inference_mode():
        assert model.generator(1).eval()(_lr(64)).shape == (1, 3, 64, 64)


def test_integrated_training_steps_reduce_eq13_loss():
    model = build_model("ufvnet", anchor_decoders=False).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4)
    lr, hr = _lr(16), _lr(128)
    target = anchor_weight_targets(1 / 8)
    losses = []
    for _ in range(3):
        out = model.forward_train(lr)
        weight_loss = -(target * F.log_softmax(out["weight_logits"], dim=1)).sum(1).mean()  # Eq. 12
        loss = F.l1_loss(out["sr"], hr) + 0.1 * weight_loss  # Eq. 13, α = 0.1
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_width_scales_every_channel_and_residual_starts_from_the_bicubic_input():
    torch.manual_seed(0)
    full, narrow = build_model("sparnet_light_attn3d"), build_model("sparnet_light_attn3d", width=0.25)
    assert count_parameters(full) == SPARNET_LIGHT_ATTN3D_PARAMS  # width 1 is the paper's network
    assert narrow.encoder.out_channels == 32 and narrow.decoder.tail.in_channels == 8
    assert count_parameters(narrow) < count_parameters(full) / 10
    net = build_model("ufvnet", width=0.25, residual=True).eval()
    lr = _lr(16, batch=2)
    with torch.no_grad():
        assert torch.equal(net(lr), upscale(lr))  # zero-initialised tails
        assert torch.equal(net.generator(0)(upscale(lr)), upscale(lr))
    plain = build_model("ufvnet", width=0.25).eval()
    with torch.no_grad():
        assert not torch.allclose(plain(lr), upscale(lr), atol=1e-3)



def test_training_and_test_inputs_are_the_same_matlab_bicubic_upscaling(rng):
    """Train-time ``lr_up`` (the preset's MATLAB bicubic, numpy) equals test-time ``U(lr)`` inside the network."""
    hr = rng.random((128, 128, 3), dtype=np.float32)
    for rate in (1 / 16, 1 / 4, 1 / 2):
        outputs, _ = apply_preset("ufv_multires", hr, 0, scales=(1 / rate,))
        lr = torch.from_numpy(outputs["lr"].transpose(2, 0, 1).copy())[None]
        train_input = torch.from_numpy(outputs["lr_up"].transpose(2, 0, 1).copy())[None] * 2 - 1
        torch.testing.assert_close(upscale(lr * 2 - 1), train_input, atol=2e-6, rtol=0)


def test_space_to_depth_runs_no_layer_at_full_size_and_keeps_the_16x16_latent():
    net = build_model("ufvnet", width=0.25, residual=True, space_to_depth=True).eval()
    sizes = []
    hooks = [m.register_forward_hook(lambda m, i, o: sizes.append(i[0].shape[-1]))
             for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m is not net.regressor.features[0]]
    lr = _lr(32, batch=1)
    with torch.no_grad():
        out = net(lr)
        latent = net.encoders[0](upscale(lr))
    for hook in hooks:
        hook.remove()
    assert out.shape == (1, 3, 128, 128) and max(sizes) == 64 and latent.shape[-1] == 16
    with torch.no_grad():
        assert torch.equal(out, upscale(lr))  # zero-initialised tails: training starts from bicubic
    patch = net.forward_train(upscale(lr)[..., :64, :64], upscaled=True)["sr"]
    assert patch.shape == (1, 3, 64, 64)  # training patches of lr_up are used as they are


def test_stage_one_trains_the_regressor_on_all_eight_rates_whatever_the_data(rng):
    """§III-D: the weight regressor learns every rate 1/16 … 8/16, also for an MR3 training set."""
    from facerestore.degrade.presets import UFV_RATE_SETS
    from facerestore.methods import build_method, build_objective
    from facerestore.methods.ufvnet import down_up

    method = build_method("ufvnet", width=0.0625, residual=True)
    hr = torch.from_numpy(rng.random((8, 3, 128, 128), dtype=np.float32))
    mr3_batch = {"hr": hr, "lr_up": down_up(hr, 0.25), "scale": torch.full((8,), 4.0)}
    objective = build_objective("ufvnet_separate", method, {})
    torch.manual_seed(0)
    seen = set()
    for _ in range(6):
        lr_up, rate = objective.regressor_inputs(mr3_batch)
        assert lr_up.shape == hr.shape
        seen |= {round(float(r), 6) for r in rate}
        first = int(torch.nonzero(rate == rate[0])[0])
        assert torch.allclose(lr_up[first], down_up(hr[first:first + 1], float(rate[0]))[0])
    assert seen - {round(r, 6) for r in UFV_RATE_SETS["MR3"]}  # rates the MR3 data never has
    assert seen <= {round(r, 6) for r in UFV_RATE_SETS["MR8"]}
    data_rates = build_objective("ufvnet_separate", method, {"regressor_rates": None})
    lr_up, rate = data_rates.regressor_inputs(mr3_batch)
    assert lr_up is mr3_batch["lr_up"] and torch.equal(rate, torch.full((8,), 0.25))
    with pytest.raises(ConfigError, match="regressor_rates must be one of"):
        build_objective("ufvnet_separate", method, {"regressor_rates": "MR9"})
