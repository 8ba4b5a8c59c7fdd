"""GFRNet loss terms against the paper (Li et al. 2018 §3.3): Eq. 10's TV as a sum over pixels, the Eq. 5
VGG-Face perceptual term (on with a local weights file, else listed in ``off_terms``), and the local
discriminator conditioned as the global one."""
from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from facerestore.data import SyntheticFaces
from facerestore.data.sample import collate_samples
from facerestore.errors import ConfigError, WeightsError
from facerestore.losses import identity_grid, tv_loss
from facerestore.methods import build_method
from facerestore.methods.adversarial import Discriminators
from facerestore.methods.gfrnet import NO_VGG_FACE, VGG_FACE_ENV, GFRNetObjective
from facerestore.models.gfrnet import crop_boxes, landmark_boxes
from facerestore.models.vgg_face import build_vgg_face

KEYS = ("lr_up", "guide", "hr", "landmarks", "guide_landmarks")
TINY = 2
OFF = "face-recognition perceptual term (Eq. 5, weight 0.001)"


@pytest.fixture(scope="module")
def batch() -> dict:
    faces = SyntheticFaces(256, 2, seed=5, preset="gfrnet_general", keys=KEYS)
    return collate_samples([faces[0], faces[1]])


@pytest.fixture(scope="module")
def vgg_face_file(tmp_path_factory) -> str:
    """Random weights in the released VGG-Face layout (conv1_1.weight … conv5_3.bias, plus an fc8 to ignore)."""
    torch.manual_seed(1)
    state = dict(build_vgg_face().state_dict())
    state["fc8.weight"] = torch.zeros(2622, 16)
    path = tmp_path_factory.mktemp("vgg_face") / "vgg_face.safetensors"
    save_file(state, path)
    return str(path)


def test_tv_is_eq_10_summed_over_pixels():
    height, width = 12, 16
    wavy = identity_grid(1, height, width).clone()
    wavy[:, :, ::2, 0] += 0.1  # Φ_x jumps by ±0.1 between every two columns: ∇_x Φ_x = ±0.1 everywhere
    assert float(tv_loss(wavy)) == pytest.approx(height * (width - 1) * 0.1**2, rel=1e-4)  # mean: 0.01
    ramp = identity_grid(2, 256, 256) * 0.5  # a smooth contraction: displacement −0.5·u
    step = 0.5 * 2 / 255
    assert float(tv_loss(ramp)) == pytest.approx(2 * 256 * 255 * step**2, rel=1e-4)  # ≈ 2 whatever the size


def test_vgg_face_term_is_on_with_a_weights_file_and_trains_the_generator(batch, vgg_face_file):
    torch.manual_seed(0)
    method = build_method("gfrnet", channels=TINY)
    objective = GFRNetObjective(method, Discriminators(), adversarial=[], landmark_weight=0, tv_weight=0,
                                vgg_face_weights=vgg_face_file).train()
    assert objective.off_terms == {}
    loss, logs, _ = objective(batch)
    assert set(logs) == {"l2", "l_rec"} and torch.isfinite(logs["l_rec"]) and float(logs["l_rec"]) > 0
    assert float(loss.detach()) == pytest.approx(100 * float(logs["l2"]) + 0.001 * float(logs["l_rec"]), rel=1e-5)
    # Eq. 5 by hand: (1 / C H W)·‖ψ(Î) − ψ(I)‖² on relu4_3, ψ reading [0, 1] RGB images.
    with torch.no_grad():
        restored = (method.generate(batch).restored + 1) / 2
        vgg = objective.recognition.vgg
        expected = (vgg.features(restored, ["relu4_3"])["relu4_3"]
                    - vgg.features(batch["hr"], ["relu4_3"])["relu4_3"]).pow(2).mean()
    assert float(logs["l_rec"]) == pytest.approx(float(expected), rel=1e-4)
    # With λ_r,0 = 0 every gradient of the loss is the Eq. 5 term's: it reaches WarpNet and RecNet, not VGG-Face.
    only_rec = GFRNetObjective(method, Discriminators(), adversarial=[], l2_weight=0, landmark_weight=0,
                               tv_weight=0, vgg_face_weights=vgg_face_file).train()
    only_rec(batch)[0].backward()
    for part in (method.net.warpnet, method.net.recnet):
        grads = [p.grad for p in part.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads) and any(float(g.abs().sum()) > 0 for g in grads)
    assert all(p.grad is None for p in only_rec.recognition.parameters())  # VGG-Face stays frozen


def test_vgg_face_term_from_the_environment_and_off_without_weights(batch, vgg_face_file, monkeypatch):
    monkeypatch.delenv(VGG_FACE_ENV, raising=False)
    off = GFRNetObjective(build_method("gfrnet", channels=TINY), Discriminators(), adversarial=[])
    assert off.recognition is None and off.off_terms == {OFF: NO_VGG_FACE}
    assert "l_rec" not in off(batch)[1]
    assert GFRNetObjective(build_method("gfrnet", channels=TINY), Discriminators(), adversarial=[],
                           recognition_weight=0).off_terms == {}
    monkeypatch.setenv(VGG_FACE_ENV, vgg_face_file)
    on = GFRNetObjective(build_method("gfrnet", channels=TINY), Discriminators(), adversarial=[])
    assert on.off_terms == {} and "l_rec" in on(batch)[1]
    with pytest.raises(ConfigError, match="recognition_layer 'conv4'"):  # checked with or without weights
        GFRNetObjective(build_method("gfrnet", channels=TINY), Discriminators(), adversarial=[],
                        recognition_layer="conv4")
    with pytest.raises(WeightsError, match="no such weights file"):
        GFRNetObjective(build_method("gfrnet", channels=TINY), Discriminators(), adversarial=[],
                        vgg_face_weights=vgg_face_file + ".missing")


@pytest.mark.parametrize("options, channels", [({}, 9), ({"use_warpnet": False}, 9),
                                               ({"use_warpnet": False, "use_guide": False}, 6)])
def test_local_discriminator_reads_the_global_condition_on_the_landmark_boxes(batch, options, channels):
    torch.manual_seed(0)
    bank = Discriminators()
    objective = GFRNetObjective(build_method("gfrnet", channels=TINY, **options), bank, d_channels=4)
    assert bank.specs["local"] == bank.specs["global"] == {"in_channels": channels, "channels": 4}
    degraded, guide, hr = (batch[k] * 2 - 1 for k in ("lr_up", "guide", "hr"))
    restored = torch.rand_like(hr) * 2 - 1
    condition = (degraded, guide) if channels == 9 else (degraded,)
    fake, real = objective.local_pair(batch, condition, batch["guide_landmarks"], restored, hr)
    boxes = landmark_boxes(batch["landmarks"])
    expected = [crop_boxes(degraded, boxes)]
    if channels == 9:  # the guide at its own landmarks' box
        expected.append(crop_boxes(guide, landmark_boxes(batch["guide_landmarks"])))
    torch.testing.assert_close(fake, torch.cat((*expected, crop_boxes(restored, boxes)), 1))
    torch.testing.assert_close(real, torch.cat((*expected, crop_boxes(hr, boxes)), 1))
    loss, logs, d_loss = objective(batch)
    assert torch.isfinite(logs["g_local"]) and torch.isfinite(logs["d_local"])
