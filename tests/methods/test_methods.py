"""Methods bind networks to sample keys and value ranges: every registered method restores a batch."""
from __future__ import annotations

import pytest
import torch

from facerestore.degrade import imresize_torch
from facerestore.errors import ConfigError, WeightsError
from facerestore.methods import METHODS, build_method
from facerestore.models.weights import save_weights_file

# name -> (options, HR size, LR size) kept small where the network allows it.
CASES = {
    "bicubic": ({"scale": 4}, 32, 8),
    "srcnn": ({}, 32, 8),
    "vdsr": ({"depth": 3, "channels": 8}, 32, 8),
    "srresnet": ({"scale": 4, "num_blocks": 1, "channels": 8}, 32, 8),
    "edsr": ({"scale": 4, "num_blocks": 1, "channels": 8}, 32, 8),
    "sparnet": ({"variant": "sparnet_light_attn3d"}, 128, 32),
    "fsgn": ({}, 32, 8),
    "song": ({"detail_enhancement": False}, 32, 8),   # with its exemplar bank: tests/methods/test_song_method.py
    "fishfsrnet": ({"scale": 4}, 128, 32),
    "ufvnet": ({}, 128, 13),
    "gfrnet": ({}, 256, 64),
    "yun_park": ({}, 256, 32),
}


def _sample(hr_size: int, lr_size: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    hr = torch.rand(1, 3, hr_size, hr_size, generator=g)
    lr = imresize_torch(hr, size=(lr_size, lr_size)).clamp(0, 1)
    return {"hr": hr, "lr": lr, "lr_up": imresize_torch(lr, size=(hr_size, hr_size)).clamp(0, 1),
            "masks": (torch.rand(1, 4, hr_size, hr_size, generator=g) > 0.5).float(),
            "guide": torch.rand(1, 3, hr_size, hr_size, generator=g)}


def test_every_method_of_the_package_is_covered():
    # Test modules may register methods of their own (tests/fixtures/tiny_method.py): only the package's count here.
    ours = {name for name, cls in METHODS.items() if cls.__module__.startswith("facerestore.")}
    assert ours == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_method_restores_to_hr_size_in_unit_range(name):
    options, hr_size, lr_size = CASES[name]
    method = build_method(name, **options).eval()
    with torch.inference_mode():
        out = method(_sample(hr_size, lr_size))
    assert out.shape == (1, 3, hr_size, hr_size)
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_missing_sample_key_is_a_clear_error():
    with pytest.raises(ConfigError, match="masks"):
        build_method("fsgn")({"lr_up": torch.rand(1, 3, 16, 16)})


def test_unknown_method_and_bad_option():
    with pytest.raises(ConfigError, match="unknown method"):
        build_method("nope")
    with pytest.raises(ConfigError, match="srcnn"):
        build_method("srcnn", colour=True)


def test_weights_round_trip_and_mismatch(tmp_path):
    method = build_method("srresnet", scale=2, num_blocks=1, channels=8)
    path = save_weights_file(method.state_dict(), tmp_path / "w.safetensors")
    loaded = build_method("srresnet", weights=path, scale=2, num_blocks=1, channels=8)
    for key, value in method.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    with pytest.raises(WeightsError, match="w.safetensors"):
        build_method("srresnet", weights=path, scale=2, num_blocks=2, channels=8)
    with pytest.raises(WeightsError, match="missing.safetensors"):
        build_method("srresnet", weights=tmp_path / "missing.safetensors")
    with pytest.raises(WeightsError, match="exists"):
        save_weights_file(method.state_dict(), path)


def test_bicubic_kernels_matlab_by_default_and_pytorch_as_the_other_row():
    import torch.nn.functional as F

    from facerestore.degrade import imresize_torch
    from facerestore.errors import ConfigError
    from facerestore.methods import build_method

    lr = torch.rand(1, 3, 16, 16)
    matlab = build_method("bicubic", scale=4)({"lr": lr})
    assert torch.allclose(matlab, imresize_torch(lr, scale=4).clamp(0, 1))
    other = build_method("bicubic", scale=4, kernel="pytorch")({"lr": lr})
    assert torch.allclose(other, F.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False).clamp(0, 1))
    assert other.shape == matlab.shape and not torch.allclose(other, matlab, atol=1e-3)  # a = -0.75 vs -0.5
    with_hr = build_method("bicubic", kernel="pytorch")({"lr": lr, "hr": torch.zeros(1, 3, 128, 128)})
    assert with_hr.shape[-2:] == (128, 128)
    import pytest
    with pytest.raises(ConfigError, match="bicubic kernel must be one of matlab, pytorch"):
        build_method("bicubic", kernel="lanczos")
