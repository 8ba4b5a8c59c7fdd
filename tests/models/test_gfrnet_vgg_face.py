"""VGG-Face (Parkhi et al. 2015), the face-recognition network of GFRNet's perceptual term (Li et al. 2018
§3.3, Eq. 5): the released layout (Caffe layer names, fc6–fc8 ignored), the BGR mean-subtracted input, loading
from safetensors and tensors-only .pth files."""
from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from facerestore.errors import WeightsError
from facerestore.models import build_model, count_parameters
from facerestore.models.vgg_face import MEAN_RGB, layer_names, load_vgg_face

CONVS = [f"conv{b}_{i}" for b, n in enumerate((2, 2, 3, 3, 3), start=1) for i in range(1, n + 1)]


def released_layout(generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Random tensors named and shaped as the released model's state dict, classifier included."""
    g = generator or torch.Generator().manual_seed(0)
    widths = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    state, previous = {}, 3
    for name, width in zip(CONVS, widths):
        state[f"{name}.weight"] = torch.randn(width, previous, 3, 3, generator=g) * (2 / (9 * previous)) ** 0.5
        state[f"{name}.bias"] = torch.randn(width, generator=g) * 0.01
        previous = width
    state.update({"fc6.weight": torch.zeros(8, 2), "fc6.bias": torch.zeros(8), "fc8.weight": torch.zeros(3, 8)})
    return state


def test_layout_is_the_released_thirteen_convolutions():
    model = build_model("vgg_face")
    assert list(model.state_dict()) == [f"{name}.{p}" for name in CONVS for p in ("weight", "bias")]
    assert count_parameters(model) == 14_714_688  # VGG-16's convolutions
    assert layer_names()[-3:] == ["conv5_3", "relu5_3", "pool5"] and len(layer_names()) == 13 * 2 + 5
    assert model(torch.rand(1, 3, 64, 64)).shape == (1, 512, 2, 2)  # pool5


def test_input_is_bgr_on_0_255_minus_the_released_mean():
    model = build_model("vgg_face")
    mean_face = torch.tensor(MEAN_RGB).view(1, 3, 1, 1).expand(1, 3, 4, 4) / 255
    assert torch.allclose(model.preprocess(mean_face), torch.zeros(1, 3, 4, 4), atol=1e-4)
    red = torch.zeros(1, 3, 1, 1)
    red[:, 0] = 1.0
    bgr = model.preprocess(red).flatten()
    expected = torch.tensor([-93.5940, -104.7624, 255 - 129.1863])  # B, G, R
    torch.testing.assert_close(bgr, expected)


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_released_layout_loads_as_is_and_reproduces_a_plain_vgg16(tmp_path, suffix):
    state = released_layout()
    path = tmp_path / f"vgg_face{suffix}"
    save_file(state, path) if suffix == ".safetensors" else torch.save(state, path)
    model = load_vgg_face(path)
    assert not any(p.requires_grad for p in model.parameters()) and not model.training
    # Reference: the same convolutions written out as a torch.nn VGG-16 on the BGR, mean-subtracted input.
    layers, previous = [], 3
    for name in CONVS:
        conv = torch.nn.Conv2d(previous, state[f"{name}.weight"].shape[0], 3, padding=1)
        conv.load_state_dict({"weight": state[f"{name}.weight"], "bias": state[f"{name}.bias"]})
        layers += [conv, torch.nn.ReLU()]
        if name in ("conv1_2", "conv2_2", "conv3_3", "conv4_3", "conv5_3"):
            layers.append(torch.nn.MaxPool2d(2, 2))
        previous = conv.out_channels
    reference = torch.nn.Sequential(*layers)
    image = torch.rand(2, 3, 32, 32)
    caffe_input = (image * 255 - torch.tensor(MEAN_RGB).view(1, 3, 1, 1))[:, [2, 1, 0]]
    with torch.no_grad():
        torch.testing.assert_close(model(image), reference(caffe_input), rtol=1e-4, atol=1e-4)
        relu4_3 = model.features(image, ["relu4_3"])["relu4_3"]
        torch.testing.assert_close(relu4_3, reference[:23](caffe_input), rtol=1e-4, atol=1e-4)


def test_a_file_of_another_layout_is_refused_naming_the_tensors(tmp_path):
    state = released_layout()
    del state["conv5_3.bias"]
    state["features.0.weight"] = torch.zeros(64, 3, 3, 3)  # torchvision's VGG names are not this layout
    save_file(state, tmp_path / "other.safetensors")
    with pytest.raises(WeightsError, match=r"missing: conv5_3\.bias.*unexpected: features\.0\.weight"):
        load_vgg_face(tmp_path / "other.safetensors")
    with pytest.raises(WeightsError, match="no such weights file"):
        load_vgg_face(tmp_path / "absent.safetensors")
