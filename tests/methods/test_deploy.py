"""Shipped weights (``facerestore.methods.deploy``): the test-time method only, fp16, and int8 rows for large
matrices, each loading back as float32 into the same method."""
from __future__ import annotations

import torch
from safetensors import safe_open

from facerestore.methods import build_method
from facerestore.methods import deploy
from facerestore.methods.metadata import WeightsInfo, read_weights_info
from facerestore.models.weights import INT8_SCALE, dequantize_rows, load_weights_file, quantize_rows

TINY = {"width": 0.0625, "residual": True, "space_to_depth": True}


def test_int8_rows_round_trip_within_half_a_step():
    torch.manual_seed(0)
    weight = torch.randn(7, 5, 3, 3) * torch.linspace(0.01, 3.0, 7)[:, None, None, None]
    quantized, scale = quantize_rows(weight)
    assert quantized.dtype == torch.int8 and scale.shape == (7,)
    back = dequantize_rows({"w": quantized, "w" + INT8_SCALE: scale, "b": torch.ones(3)})
    assert set(back) == {"w", "b"} and back["w"].dtype == torch.float32
    assert ((back["w"] - weight).abs() <= scale.reshape(-1, 1, 1, 1) / 2 + 1e-7).all()
    assert (quantized.reshape(7, -1).abs().amax(dim=1) == 127).all()  # every row uses its full range


def test_every_storage_loads_back_into_the_method_and_int8_is_smallest(tmp_path, monkeypatch):
    monkeypatch.setattr(deploy, "INT8_MIN_ELEMENTS", 4096)  # the tiny network's largest matrices
    torch.manual_seed(0)
    trained = build_method("ufvnet", **TINY).eval()
    method = deploy.inference_method(trained)
    with torch.no_grad():
        for parameter in method.parameters():  # as after training: the zero-initialised tails are not zero
            parameter.add_(0.02 * torch.randn_like(parameter))
    info = WeightsInfo("ufvnet", dict(TINY), recipe="tiny", hr_size=128)
    lr = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        expected = method({"lr": lr})
    sizes = {}
    for storage in deploy.STORAGES:
        path = deploy.save_method(method, info, tmp_path / f"{storage}.safetensors", storage=storage)
        sizes[storage] = path.stat().st_size
        loaded = build_method(weights=path).eval()
        assert read_weights_info(path).options == method.options
        assert all(v.dtype != torch.int8 for v in load_weights_file(path).values())
        copy = deploy.stored_copy(method, storage)
        assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), copy.state_dict().values()))
        with torch.no_grad():
            difference = float((loaded({"lr": lr}) - expected).abs().max())
        assert difference == 0.0 if storage == "fp32" else 0.0 < difference < 0.05
    assert sizes["fp16+int8"] < sizes["fp16"] < sizes["fp32"]
    with safe_open(tmp_path / "fp16+int8.safetensors", framework="pt") as handle:
        stored = {key: handle.get_tensor(key).dtype for key in handle.keys()}
    assert torch.int8 in stored.values() and any(k.endswith(INT8_SCALE) for k in stored)
    assert 0 < sizes["fp16"] - deploy.stored_bytes(method, "fp16") < 0.1 * sizes["fp16"]  # the header
