"""Yun & Park (§3.2 generator, §3.3 discriminators — the seven-convolution form and the PatchGAN option — §4.5
"w/ N" noise): counts, shapes, the two decoders, exportable noise, a training step."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from facerestore.errors import ConfigError
from facerestore.models import build_model, count_parameters
from facerestore.models.inference import prepare_for_inference


@pytest.fixture(scope="module")
def generator() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("yun_park").eval()


@pytest.fixture(scope="module")
def noisy_generator() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("yun_park", noise=True).eval()


def _lr(batch: int = 1, size: int = 32) -> torch.Tensor:
    return torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(1)) * 2 - 1


@pytest.fixture(scope="module")
def base_output(generator):
    with torch.inference_mode():
        return generator(_lr())


def test_parameter_counts_match_the_paper():
    with torch.device("meta"):
        generator = build_model("yun_park")
        model1 = build_model("yun_park", upscaler=False)
        global_d = build_model("yun_park_discriminator", in_channels=6)
        local_d = build_model("yun_park_discriminator", in_channels=3)
        global_patch = build_model("patchgan", in_channels=6)
        local_patch = build_model("patchgan", in_channels=3)
    assert count_parameters(generator) == 58_295_494
    assert count_parameters(generator.upscaler) == 459_648
    assert count_parameters(model1) == 58_295_494 - 459_648
    # §3.3's seven-convolution discriminators (the layer widths are our choice: the paper gives no count)
    assert count_parameters(global_d) == 11_161_281
    assert count_parameters(local_d) == 11_158_209
    assert count_parameters(global_patch) == 2_769_601  # d_arch: patchgan
    assert count_parameters(local_patch) == 2_766_529


def test_generator_outputs_and_eval_determinism(generator, base_output):
    with torch.inference_mode():
        first = generator(_lr())
    second = base_output
    for name in ("sharp", "blurred", "upscaled"):
        assert getattr(first, name).shape == (1, 3, 256, 256)
        assert torch.equal(getattr(first, name), getattr(second, name))
    assert first.sharp.abs().max() <= 1 and first.blurred.abs().max() <= 1


def test_model1_takes_the_bicubic_upsampled_face():
    torch.manual_seed(0)
    model = build_model("yun_park", upscaler=False).eval()
    lr_up = _lr(size=256)
    with torch.inference_mode():
        out = model(lr_up)
    assert out.sharp.shape == out.blurred.shape == (1, 3, 256, 256)
    assert out.upscaled is lr_up


def test_upper_decoder_feeds_its_128px_feature_to_the_sharp_output(generator, base_output):
    """§3.2: the lower decoder ends with I_f of the upper decoder; the upper's last layer only makes Î_HRB."""
    lr, base = _lr(), base_output
    with torch.inference_mode():
        last = generator.blur_decoder[-1].conv.weight
        last.add_(0.5)
        after_last = generator(lr)
        last.sub_(0.5)
        feature = generator.blur_decoder[-2].conv.weight
        feature.add_(0.5)
        after_feature = generator(lr)
        feature.sub_(0.5)
    assert torch.equal(after_last.sharp, base.sharp) and not torch.equal(after_last.blurred, base.blurred)
    assert not torch.equal(after_feature.sharp, base.sharp)


def test_noise_maps_follow_every_feature_convolution(noisy_generator):
    noise = noisy_generator.sample_noise(_lr(batch=2))
    upscaler = [32, 64, 128, 256]
    encoder = [128, 64, 32, 16, 8, 4, 2, 1]
    upper = [32, 64, 128]
    lower = [2, 4, 8, 16, 32, 64, 128]
    assert [n.shape for n in noise] == [(2, 1, s, s) for s in upscaler + encoder + upper + lower]
    assert noisy_generator.noise_sizes(32, 32) == [(s, s) for s in upscaler + encoder + upper + lower]


def test_noise_is_an_input_so_the_exported_generator_varies_with_it(noisy_generator):
    lr = _lr()
    noise_a = noisy_generator.sample_noise(lr, generator=torch.Generator().manual_seed(2))
    noise_b = noisy_generator.sample_noise(lr, generator=torch.Generator().manual_seed(3))
    exported = torch.export.export(noisy_generator, (lr, noise_a)).module()
    with torch.no_grad():
        eager_a = noisy_generator(lr, noise_a)
        exported_a = exported(lr, noise_a)
        exported_b = exported(lr, noise_b)
    torch.testing.assert_close(exported_a.sharp, eager_a.sharp)  # same noise, same output: no RNG inside
    torch.testing.assert_close(exported_a.blurred, eager_a.blurred)
    assert (exported_b.sharp - eager_a.sharp).abs().mean() > 1e-3  # the noise is not baked into the graph


def test_batchnorm_folding_keeps_the_noisy_output(noisy_generator):
    """Noise is added after BatchNorm, so folding BatchNorm into the convolutions stays exact."""
    model = copy.deepcopy(noisy_generator)
    g = torch.Generator().manual_seed(5)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    lr = _lr()
    noise = model.sample_noise(lr, generator=torch.Generator().manual_seed(6))
    with torch.inference_mode():
        expected = model(lr, noise)
        prepare_for_inference(model)
        folded = model(lr, noise)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    torch.testing.assert_close(folded.sharp, expected.sharp, rtol=0, atol=1e-5)
    torch.testing.assert_close(folded.blurred, expected.blurred, rtol=0, atol=1e-5)


def test_noise_for_a_noiseless_generator_is_a_config_error(generator, noisy_generator):
    noise = noisy_generator.sample_noise(_lr())
    with pytest.raises(ConfigError, match="noise=False"):
        generator(_lr(), noise)


def test_generator_training_steps_reduce_the_loss():
    torch.manual_seed(0)
    model = build_model("yun_park")
    lr = _lr(batch=2)  # the 1×1 innermost BatchNorm needs batches of at least 2
    hr, hr_blur = torch.rand(2, 2, 3, 256, 256, generator=torch.Generator().manual_seed(4)) * 2 - 1
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4, betas=(0.5, 0.999))  # §4
    losses = []
    for _ in range(2):
        out = model(lr)
        loss = (out.sharp - hr).abs().mean() + (out.blurred - hr_blur).abs().mean()  # Eq. 4 without mask
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert all(p.grad is not None for p in model.upscaler.parameters())


def test_patchgan_scores_are_30x30_and_unbounded():
    d = build_model("patchgan", in_channels=6).eval()
    with torch.no_grad():
        d.layers[-1].bias.fill_(5.0)  # a sigmoid output could never exceed 1
        scores = d(torch.rand(2, 6, 256, 256) * 2 - 1)
    assert scores.shape == (2, 1, 30, 30)
    assert scores.min() > 1
