"""Song et al.'s whole method ``song``: FSGN base image → exemplar-based detail enhancement (§3.2), its
Table 5 ablation switch (base image alone), FSGN weights loading into it, its errors, and ``facerestore
restore --method song --exemplars``. Tiny FSGN (8 channels) and tiny random banks."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from facerestore.cli import main
from facerestore.errors import ConfigError
from facerestore.io import write_image
from facerestore.methods import build_method
from facerestore.models.weights import save_weights_file
from facerestore.methods.song.detail_enhancement import DetailEnhancementConfig, enhance_details
from facerestore.methods.song.exemplar_bank import ExemplarBank, synthetic_bank

SIZE = 24
TINY = dict(patch=6, k=2, radius=1, channels=8)


def _bank(count: int = 5, size: int = SIZE) -> ExemplarBank:
    images = np.random.default_rng(7).integers(0, 256, (count, size, size, 3), dtype=np.uint8)
    return ExemplarBank(images=images, identities=np.arange(count), sources=np.array([f"f{i}" for i in range(count)]))


def _sample(size: int = SIZE) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(3)
    return {"lr_up": torch.rand(2, 3, size, size, generator=gen), "masks": torch.rand(2, 4, size, size, generator=gen)}


@pytest.fixture()
def fsgn_weights(tmp_path):
    fsgn = build_method("fsgn", channels=8).eval()
    with torch.no_grad():
        for parameter in fsgn.parameters():   # a visible base image, not the near-identity of a fresh init
            parameter.add_(0.05 * torch.randn_like(parameter))
    path = tmp_path / "fsgn.safetensors"
    save_weights_file({k: v.contiguous() for k, v in fsgn.state_dict().items()}, path)
    return fsgn, path


def test_song_is_the_fsgn_base_image_enhanced_with_the_bank(fsgn_weights, tmp_path):
    fsgn, path = fsgn_weights
    bank = _bank()
    bank.save(tmp_path / "bank.npz")
    song = build_method("song", weights=path, bank=tmp_path / "bank.npz", **TINY).eval()
    assert song.hr_size == SIZE
    sample = _sample()
    with torch.no_grad():
        base = fsgn(sample)
        got = song(sample)
    config = DetailEnhancementConfig(patch_size=6, num_candidates=2, search_radius=1)
    expected = torch.stack([enhance_details(face, torch.from_numpy(bank.images), config).output for face in base])
    torch.testing.assert_close(got, expected.clamp(0, 1), rtol=0, atol=1e-6)
    assert (got - base).abs().max() > 0.05          # the enhancement did change the base image
    assert got.min() >= 0 and got.max() <= 1


def test_ablation_switch_returns_the_fsgn_base_image(fsgn_weights):
    fsgn, path = fsgn_weights
    song = build_method("song", weights=path, detail_enhancement=False, channels=8).eval()
    sample = _sample()
    with torch.no_grad():
        torch.testing.assert_close(song(sample), fsgn(sample), rtol=0, atol=0)


def test_song_refuses_a_missing_bank_and_mismatched_sizes():
    with pytest.raises(ConfigError, match="bank"):
        build_method("song", channels=8)
    with pytest.raises(ConfigError, match="24x24"):
        build_method("song", bank=_bank(), hr_size=32, channels=8)
    song = build_method("song", bank=_bank(), **TINY).eval()
    with pytest.raises(ConfigError, match="size"), torch.no_grad():
        song(_sample(size=16))
    with pytest.raises(ConfigError, match="num_candidates"), torch.no_grad():
        build_method("song", bank=_bank(count=1), **TINY)(_sample())


def test_restore_cli_runs_song_with_an_exemplar_bank(tmp_path):
    bank = synthetic_bank(6, 128, seed=1, frontal=True)
    bank.save(tmp_path / "bank.npz")
    face = synthetic_bank(1, 128, seed=2).images[0]
    write_image(tmp_path / "face.png", face)
    args = ["restore", "-i", str(tmp_path / "face.png"), "-o", str(tmp_path / "out"), "--method", "song",
            "--aligned", "--allow-untrained"]
    assert main(args + ["--exemplars", str(tmp_path / "bank.npz")]) == 0
    restored = sorted((tmp_path / "out" / "restored_faces").iterdir())
    assert len(restored) == 1
    assert main(args + ["--overwrite"]) == ConfigError.exit_code      # no bank: one clear error


def test_song_restores_rectangular_faces_of_a_rectangular_bank(fsgn_weights):
    # The paper's faces are 320 × 240 (height × width, §4); tiny 24 × 18 stand-ins here.
    fsgn, path = fsgn_weights
    images = np.random.default_rng(8).integers(0, 256, (5, SIZE, 18, 3), dtype=np.uint8)
    bank = ExemplarBank(images=images, identities=np.arange(5), sources=np.array([f"f{i}" for i in range(5)]))
    song = build_method("song", weights=path, bank=bank, **TINY).eval()
    assert song.face_size == (SIZE, 18) and song.hr_size is None     # square-only machinery: free size
    gen = torch.Generator().manual_seed(5)
    sample = {"lr_up": torch.rand(2, 3, SIZE, 18, generator=gen), "masks": torch.rand(2, 4, SIZE, 18, generator=gen)}
    with torch.no_grad():
        base = fsgn(sample)
        got = song(sample)
    config = DetailEnhancementConfig(patch_size=6, num_candidates=2, search_radius=1)
    expected = torch.stack([enhance_details(face, torch.from_numpy(images), config).output for face in base])
    torch.testing.assert_close(got, expected.clamp(0, 1), rtol=0, atol=1e-6)
    assert build_method("song", bank=bank, hr_size=[SIZE, 18], **TINY).face_size == (SIZE, 18)
    with pytest.raises(ConfigError, match="24x18"):
        build_method("song", bank=bank, hr_size=[18, SIZE], **TINY)
    with pytest.raises(ConfigError, match="size"), torch.no_grad():
        song(_sample())                                                # a square face: not the bank's size


def test_fsgn_takes_hr_size_as_one_side_or_height_and_width():
    square = build_method("fsgn", hr_size=128, channels=8)
    assert square.hr_size == 128 and square.face_size == (128, 128)
    portrait = build_method("fsgn", hr_size=[320, 240], channels=8)
    assert portrait.hr_size is None and portrait.face_size == (320, 240)
    with pytest.raises(ConfigError, match="hr_size"):
        build_method("fsgn", hr_size=[320], channels=8)
