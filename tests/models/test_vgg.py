"""VGG-19 weights in torchvision's file layouts (models/vgg.py load_vgg19): the whole-model state dict with its
classifier (.safetensors and a torch.save .pth read with weights_only=True), the features-only state dict, and
the files it refuses with a message naming them."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from facerestore.errors import WeightsError
from facerestore.models.vgg import VGG19Features, load_vgg19
from facerestore.models.weights import save_weights_file

# torchvision.models.vgg19's classifier: Linear 25088→4096, ReLU, Dropout, Linear 4096→4096, ReLU, Dropout,
# Linear 4096→1000 (123,642,856 parameters, 494 MB in fp32). The tests keep its names with the input widths
# shrunk: load_vgg19 drops classifier.* by name, before any shape is looked at.
CLASSIFIER = {"classifier.0.weight": (4096, 25), "classifier.0.bias": (4096,), "classifier.3.weight": (4096, 4),
              "classifier.3.bias": (4096,), "classifier.6.weight": (1000, 4), "classifier.6.bias": (1000,)}


def torchvision_vgg19_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights under torchvision's vgg19 state-dict names: features.0.weight … features.34.bias, then
    the classifier."""
    torch.manual_seed(seed)
    features = VGG19Features().state_dict()
    for value in features.values():
        value.normal_(0, 0.05)
    return {**features, **{name: torch.randn(shape) for name, shape in CLASSIFIER.items()}}


@pytest.fixture(scope="module")
def weights() -> dict[str, torch.Tensor]:
    return torchvision_vgg19_state_dict()


def _assert_loaded(model: nn.Module, weights: dict[str, torch.Tensor]) -> None:
    state = model.state_dict()
    assert set(state) == {k for k in weights if k.startswith("features.")} and len(state) == 32
    assert all(torch.equal(state[k], weights[k]) for k in state)
    assert not model.training and not any(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_the_whole_torchvision_state_dict_loads_and_its_classifier_is_ignored(tmp_path, weights, suffix):
    path = tmp_path / f"vgg19{suffix}"
    if suffix == ".pth":
        torch.save(weights, path)  # what torchvision's vgg19-dcbb9e9d.pth holds (an OrderedDict of tensors)
        assert set(torch.load(path, weights_only=True)) == set(weights)
    else:
        save_weights_file(weights, path)
    _assert_loaded(load_vgg19(path), weights)


def test_a_features_only_state_dict_and_nested_or_dataparallel_files_load(tmp_path, weights):
    features = {k.removeprefix("features."): v for k, v in weights.items() if k.startswith("features.")}
    torch.save(features, tmp_path / "features.pth")  # torchvision.models.vgg19().features.state_dict()
    _assert_loaded(load_vgg19(tmp_path / "features.pth"), weights)
    torch.save({"state_dict": {f"module.{k}": v for k, v in weights.items()}}, tmp_path / "nested.pth")
    _assert_loaded(load_vgg19(tmp_path / "nested.pth"), weights)


def test_other_files_are_refused_naming_them(tmp_path, weights):
    bn = {**weights, "features.1.running_mean": torch.zeros(64)}  # vgg19_bn has BatchNorm statistics
    save_weights_file(bn, tmp_path / "vgg19_bn.safetensors")
    with pytest.raises(WeightsError, match="vgg19_bn.safetensors.*vgg19_bn file"):
        load_vgg19(tmp_path / "vgg19_bn.safetensors")
    wrong = {**weights, "features.0.weight": torch.zeros(64, 3, 5, 5)}
    save_weights_file(wrong, tmp_path / "wrong.safetensors")
    with pytest.raises(WeightsError, match=r"wrong.safetensors.*features\.0\.weight has shape \(64, 3, 5, 5\)"):
        load_vgg19(tmp_path / "wrong.safetensors")
    short = {k: v for k, v in weights.items() if k != "features.34.bias"}
    save_weights_file(short, tmp_path / "short.safetensors")
    with pytest.raises(WeightsError, match=r"short.safetensors.*missing \['features\.34\.bias'\]"):
        load_vgg19(tmp_path / "short.safetensors")
    torch.save(nn.Linear(2, 2), tmp_path / "module.pth")  # a pickled module, not a state dict
    with pytest.raises(WeightsError, match="module.pth.*tensors-only"):
        load_vgg19(tmp_path / "module.pth")
