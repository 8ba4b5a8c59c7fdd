"""facerestore's MATLAB-style resize and Y-channel PSNR / SSIM against the committed table of reference values
(``tests/fixtures/reference_values.json``, made by ``tests/fixtures/make_reference_values.py`` from a float64
transcription of MATLAB's imresize and from scikit-image), each within its metric's tolerance."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from make_reference_values import astronaut_pair, camera

from facerestore.degrade.resize import imresize, imresize_torch
from facerestore.metrics import psnr_y, psnr_y_torch, ssim_y, ssim_y_torch

TABLE = json.loads((Path(__file__).parent / "fixtures" / "reference_values.json").read_text(encoding="utf-8"))
TOLERANCE = TABLE["tolerances"]
IMAGES = {"camera[200:216, 220:236] / 255": lambda: camera(200, 220, 16, 16),
          "camera[200:204, 220:225] / 255": lambda: camera(200, 220, 4, 5)}


@pytest.mark.parametrize("entry", TABLE["imresize"], ids=lambda e: f"x{e['scale']}")
def test_imresize_matches_the_reference_table(entry):
    image = IMAGES[entry["image"]]().astype(np.float32)
    expected = np.array(entry["expected"])
    np.testing.assert_allclose(imresize(image, scale=entry["scale"]), expected, atol=TOLERANCE["imresize"])
    batch = torch.from_numpy(image)[None, None]
    np.testing.assert_allclose(imresize_torch(batch, scale=entry["scale"])[0, 0].numpy(), expected,
                               atol=TOLERANCE["imresize"])


@pytest.mark.parametrize("metric", ["psnr_y", "ssim_y"])
def test_metrics_match_the_reference_table(metric):
    pred, gt = astronaut_pair()
    ours = {"psnr_y": (psnr_y, psnr_y_torch), "ssim_y": (ssim_y, ssim_y_torch)}[metric]
    to_batch = lambda a: torch.from_numpy(a).permute(2, 0, 1)[None]  # noqa: E731
    for entry in TABLE[metric]:
        numpy_value = ours[0](pred, gt, crop_border=entry["crop"])
        torch_value = float(ours[1](to_batch(pred), to_batch(gt), entry["crop"])[0])
        assert numpy_value == pytest.approx(entry["value"], abs=TOLERANCE[metric])
        assert torch_value == pytest.approx(entry["value"], abs=TOLERANCE[metric])
