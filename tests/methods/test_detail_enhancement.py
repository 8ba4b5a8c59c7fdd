"""Song et al. §3.2 detail enhancement: the vectorised torch code against a straightforward per-pixel
reference (loops over pixels, exemplars and offsets, Eq. 1 / Eq. 5 / Eq. 6 / He et al.'s guided filter
written out), the exemplar bank and its CLI, and the improvement of a blurred synthetic face."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from numpy.lib.stride_tricks import sliding_window_view

from facerestore.cli import main
from facerestore.errors import ConfigError, ImageReadError, ImageWriteError
from skimage.metrics import peak_signal_noise_ratio as psnr
from facerestore.methods.song import exemplar
from facerestore.methods.song.detail_enhancement import DetailEnhancementConfig, enhance_details
from facerestore.methods.song.exemplar import STD_FLOOR, luma, match_patches, reflect_pad
from facerestore.methods.song.exemplar_bank import ExemplarBank, bank_from_folder, synthetic_bank
from facerestore.methods.song.guided_filter import Workspace, box_sum, guided_filter, window_sum

LUMA = np.array([0.299, 0.587, 0.114])


# ---------------------------------------------------------------- per-pixel reference (float64 numpy)

def _reference_distance(b: np.ndarray, e: np.ndarray, alpha: float) -> float:
    """Eq. 1 for two flattened patches: α(1 − NCC) + (1 − α)·mean|b − e|."""
    sb = np.sqrt(max(b.var(), STD_FLOOR ** 2))
    se = np.sqrt(max(e.var(), STD_FLOOR ** 2))
    ncc = ((b - b.mean()) * (e - e.mean())).mean() / (sb * se)
    return alpha * (1 - ncc) + (1 - alpha) * np.abs(b - e).mean()


def _reference_guided(p: np.ndarray, guide: np.ndarray, r: int, eps: float) -> np.ndarray:
    """He et al. 2010 Algorithm 1 with explicit clipped windows, one grey channel."""
    h, w = p.shape
    a, b = np.zeros_like(p), np.zeros_like(p)
    win = lambda y, x: (slice(max(y - r, 0), y + r + 1), slice(max(x - r, 0), x + r + 1))  # noqa: E731
    for y in range(h):
        for x in range(w):
            gi, pi = guide[win(y, x)], p[win(y, x)]
            a[y, x] = ((gi * pi).mean() - gi.mean() * pi.mean()) / (gi.var() + eps)
            b[y, x] = pi.mean() - a[y, x] * gi.mean()
    out = np.zeros_like(p)
    for y in range(h):
        for x in range(w):
            out[y, x] = a[win(y, x)].mean() * guide[y, x] + b[win(y, x)].mean()
    return out


def _reference_enhance(base: np.ndarray, exemplars: np.ndarray, cfg: DetailEnhancementConfig):
    """Algorithm 1 lines 5–12 pixel by pixel. base (3, H, W), exemplars (N, H, W, 3) in [0, 1]."""
    _, h, w = base.shape
    size, r, k = cfg.patch_size, cfg.search_radius, cfg.num_candidates
    lo, hi = size // 2, size - 1 - size // 2
    base_y = np.pad(np.tensordot(LUMA, base, 1), ((lo, hi), (lo, hi)), mode="reflect")
    ex_rgb = np.pad(exemplars, ((0, 0), (lo + r, hi + r), (lo + r, hi + r), (0, 0)), mode="reflect")
    ex_y = ex_rgb @ LUMA
    acc = np.zeros((h + size - 1, w + size - 1, 3))
    cover = np.zeros((h + size - 1, w + size - 1))
    chosen = {}
    for y in range(h):
        for x in range(w):
            b = base_y[y:y + size, x:x + size].ravel()
            candidates = []
            for n in range(len(exemplars)):
                best = (np.inf, 0, 0)
                for dy in range(-r, r + 1):
                    for dx in range(-r, r + 1):
                        e = ex_y[n, y + r + dy:y + r + dy + size, x + r + dx:x + r + dx + size].ravel()
                        d = _reference_distance(b, e, cfg.alpha)
                        if d < best[0]:
                            best = (d, dy, dx)
                candidates.append((best[0], n, best[1], best[2]))
            top = sorted(candidates)[:k]
            chosen[y, x] = {n for _, n, _, _ in top}
            spots = [(slice(y + r + dy, y + r + dy + size), slice(x + r + dx, x + r + dx + size))
                     for _, n, dy, dx in top]
            hmat = np.stack([ex_y[n][s].ravel() for (_, n, _, _), s in zip(top, spots)], axis=1)
            coef = np.linalg.solve(hmat.T @ hmat + cfg.lam * np.eye(k), hmat.T @ b)          # Eq. 5
            patch = sum(c * ex_rgb[n][s] for c, (_, n, _, _), s in zip(coef, top, spots))  # Eq. 6
            acc[y:y + size, x:x + size] += patch
            cover[y:y + size, x:x + size] += 1
    regression = (acc / cover[..., None])[lo:lo + h, lo:lo + w].transpose(2, 0, 1)
    gr, eps = cfg.guide_radius, cfg.guide_eps
    smooth_base = np.stack([_reference_guided(base[c], regression[c], gr, eps) for c in range(3)])
    smooth_reg = np.stack([_reference_guided(regression[c], regression[c], gr, eps) for c in range(3)])
    return smooth_base + regression - smooth_reg, regression, chosen


# ---------------------------------------------------------------- building blocks

def test_box_sum_matches_sliding_window_sums(rng):
    x = rng.random((2, 13, 17))
    for h, w in [(1, 1), (5, 3), (13, 17), (20 - 9, 6)]:
        expected = sliding_window_view(x, (h, w), axis=(1, 2)).sum(axis=(-2, -1))
        np.testing.assert_allclose(box_sum(torch.from_numpy(x), h, w).numpy(), expected, atol=1e-12)


def test_window_sums_in_a_reused_workspace_match_sliding_window_sums(rng):
    work = Workspace()
    for shape in [(2, 13, 17), (3, 40, 9)]:            # the second call reuses (and grows) the buffers
        x = torch.from_numpy(rng.random(shape))
        for size in range(1, 10):
            for dim in (-1, -2):
                expected = sliding_window_view(x.numpy(), size, axis=dim).sum(axis=-1)
                got = window_sum(x, size, dim, workspace=work, tag="t")
                np.testing.assert_allclose(got.numpy(), expected, atol=1e-12)
        out = torch.empty(shape[0], shape[1] - 7, shape[2] - 4, dtype=x.dtype)
        assert box_sum(x, 8, 5, out=out, workspace=work) is out
        expected = sliding_window_view(x.numpy(), (8, 5), axis=(1, 2)).sum(axis=(-2, -1))
        np.testing.assert_allclose(out.numpy(), expected, atol=1e-12)


def test_reflect_pad_matches_numpy_including_pads_wider_than_the_image(rng):
    x = rng.random((4, 5))
    for before, after in [(0, 0), (2, 1), (7, 9)]:
        expected = np.pad(x, ((before, after), (before, after)), mode="reflect")
        np.testing.assert_array_equal(reflect_pad(torch.from_numpy(x), before, after).numpy(), expected)


def test_guided_filter_matches_he_et_al_written_out(rng):
    p, guide = rng.random((2, 11, 9)), rng.random((2, 11, 9))
    got = guided_filter(torch.from_numpy(p), torch.from_numpy(guide), 2, 0.01).numpy()
    for c in range(2):
        np.testing.assert_allclose(got[c], _reference_guided(p[c], guide[c], 2, 0.01), atol=1e-12)


# ---------------------------------------------------------------- the whole algorithm vs the reference

@pytest.mark.parametrize("cfg", [
    DetailEnhancementConfig(patch_size=4, num_candidates=3, search_radius=1, guide_radius=1, guide_eps=1e-2),
    DetailEnhancementConfig(patch_size=6, num_candidates=2, search_radius=2, alpha=0.3, ridge_lambda=0.5,
                            guide_radius=2, guide_eps=1e-3),
])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])  # float32 on the CPU: the numba kernels
def test_enhancement_equals_per_pixel_reference(rng, cfg, dtype):
    # Even patch sizes: with an odd size, reflect padding makes border patches mirror-symmetric, so two
    # offsets tie exactly in Eq. 1 and rounding, not the algorithm, decides which one wins.
    h, w, n = 9, 8, 5
    # Smooth-ish faces stand-ins: random fields plus a shared gradient, so NCC and SAD both matter.
    ramp = np.linspace(0, 0.5, w)[None, :] + np.linspace(0, 0.3, h)[:, None]
    base = np.clip(0.3 * rng.random((3, h, w)) + ramp, 0, 1)
    exemplars = np.clip(0.4 * rng.random((n, h, w, 3)) + ramp[None, :, :, None], 0, 1)
    expected, expected_r, chosen = _reference_enhance(base, exemplars, cfg)
    got = enhance_details(torch.from_numpy(base).to(dtype), torch.from_numpy(exemplars), cfg)
    np.testing.assert_allclose(got.regression.numpy(), expected_r, atol=1e-5)
    np.testing.assert_allclose(got.output.numpy(), expected, atol=1e-5)
    matches = match_patches(luma(torch.from_numpy(base).to(dtype).permute(1, 2, 0)), torch.from_numpy(exemplars),
                            patch=cfg.patch_size, radius=cfg.search_radius, k=cfg.num_candidates,
                            alpha=cfg.alpha)
    assert all(set(matches.exemplar[:, y, x].tolist()) == chosen[y, x] for y, x in chosen)


@pytest.mark.parametrize("patch,radius,k", [(6, 2, 3), (4, 1, 1), (20, 0, 4)])  # even: no mirror ties
def test_fused_cpu_search_finds_the_matches_of_the_torch_search(rng, patch, radius, k):
    # 40 rows: two bands of the kernel (BAND_ROWS = 32), the second one short.
    base_y = torch.from_numpy(rng.random((40, 27), dtype=np.float32))
    pixels = torch.from_numpy(rng.integers(0, 256, (7, 40, 27, 3), dtype=np.uint8))
    base_pad = reflect_pad(base_y, patch // 2, patch - 1 - patch // 2)
    weights = exemplar.base_weights(base_pad, patch, 0.5)
    fused = exemplar._fused_search(base_pad, weights, pixels, patch, radius, k, 0.5)
    reference = exemplar._torch_search(base_pad.double(), tuple(w.double() for w in weights), pixels, patch, radius,
                                       k, 0.5)
    assert all(torch.equal(a, b) for a, b in zip(fused, reference))


def test_kernel_gather_reads_the_patches_of_the_padded_view(rng):
    pixels = torch.from_numpy(rng.integers(0, 256, (5, 12, 9, 3), dtype=np.uint8))
    k, patch, radius = 2, 4, 2
    exemplar_index = torch.from_numpy(rng.integers(0, 5, (k, 12, 9)))
    dy, dx = (torch.from_numpy(rng.integers(-radius, radius + 1, (k, 12, 9))) for _ in range(2))
    matches = exemplar.Matches(exemplar_index, dy, dx)
    kernel = exemplar._kernel_gather(pixels, matches, patch, radius)
    strided = exemplar._strided_gather(pixels, matches, patch, radius)
    for rows in [(0, 3), (3, 12)]:
        assert torch.equal(kernel(*rows), strided(*rows))


def test_chunking_of_exemplars_pixels_and_top_k_merges_does_not_change_the_result(rng, monkeypatch):
    cfg = DetailEnhancementConfig(patch_size=6, num_candidates=3, search_radius=1)
    pixels = torch.from_numpy(rng.integers(0, 256, (9, 24, 20, 3), dtype=np.uint8))
    base = torch.from_numpy(rng.random((3, 24, 20)))
    whole = enhance_details(base, pixels, cfg)           # one exemplar chunk, one regression chunk
    monkeypatch.setattr(exemplar, "_PLANE_ELEMENTS", 1)   # one exemplar per chunk
    monkeypatch.setattr(exemplar, "_MERGE_ROWS", 2)       # a top-K merge every few exemplars
    monkeypatch.setattr(exemplar, "_REGRESSION_PIXELS", 1)  # one image row per regression chunk
    chunked = enhance_details(base, pixels, cfg)
    np.testing.assert_allclose(chunked.output.numpy(), whole.output.numpy(), atol=1e-10)


def test_uint8_exemplars_give_the_same_result_as_their_float_values(rng):
    cfg = DetailEnhancementConfig(patch_size=4, num_candidates=2, search_radius=1, guide_radius=1)
    pixels = rng.integers(0, 256, (4, 10, 10, 3), dtype=np.uint8)
    base = torch.from_numpy(rng.random((3, 10, 10)))
    from_uint8 = enhance_details(base, torch.from_numpy(pixels), cfg).output
    from_float = enhance_details(base, torch.from_numpy(pixels / 255.0), cfg).output
    np.testing.assert_allclose(from_uint8.numpy(), from_float.numpy(), atol=1e-10)


def test_float32_agrees_with_float64(rng):
    cfg = DetailEnhancementConfig(patch_size=6, num_candidates=3, search_radius=1)
    pixels = torch.from_numpy(rng.integers(0, 256, (6, 24, 20, 3), dtype=np.uint8))
    base = torch.from_numpy(rng.random((3, 24, 20)))
    single = enhance_details(base.float(), pixels, cfg).output.double()
    double = enhance_details(base, pixels, cfg).output
    assert (single - double).abs().max() < 1e-4


def test_invalid_inputs_raise_config_errors(rng):
    base = torch.rand(3, 8, 8)
    with pytest.raises(ConfigError, match="exemplars"):
        enhance_details(base, torch.zeros(5, 8, 9, 3, dtype=torch.uint8))
    with pytest.raises(ConfigError, match="num_candidates"):
        enhance_details(base, torch.zeros(2, 8, 8, 3, dtype=torch.uint8),
                        DetailEnhancementConfig(patch_size=4, num_candidates=3))
    with pytest.raises(ConfigError, match="alpha"):
        DetailEnhancementConfig(alpha=1.5)


# ---------------------------------------------------------------- exemplar banks

def test_exemplars_exclude_the_inputs_identity():
    images = np.arange(4 * 2 * 2 * 3, dtype=np.uint8).reshape(4, 2, 2, 3)
    bank = ExemplarBank(images=images, identities=np.array([0, 1, 0, 2]), sources=np.array(list("abcd")))
    kept = bank.exemplars(exclude_identity=0).numpy()
    np.testing.assert_array_equal(kept, images[[1, 3]])
    assert len(bank.exemplars()) == 4


def test_bank_from_folder_records_person_folders_and_rejects_mixed_sizes(tmp_path):
    from facerestore.io import write_image
    faces = np.random.default_rng(0).integers(0, 256, (3, 6, 5, 3), dtype=np.uint8)
    for (person, name), face in zip([("ann", "1"), ("ann", "2"), ("bob", "1")], faces):
        (tmp_path / person).mkdir(exist_ok=True)
        write_image(tmp_path / person / f"{name}.png", face)
    bank = bank_from_folder(tmp_path)
    np.testing.assert_array_equal(bank.images, faces)
    assert bank.identities.tolist() == [0, 0, 1]
    assert bank.sources.tolist() == ["ann/1.png", "ann/2.png", "bob/1.png"]
    write_image(tmp_path / "bob" / "2.png", np.zeros((7, 5, 3), np.uint8))
    with pytest.raises(ImageReadError, match="2.png"):
        bank_from_folder(tmp_path)


def test_cli_builds_a_synthetic_bank_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "bank.npz"
    assert main(["exemplars", "build", "--synthetic", "3", "--size", "128", "--seed", "5", "-o", str(out)]) == 0
    bank = ExemplarBank.load(out)
    expected = synthetic_bank(3, 128, seed=5)
    np.testing.assert_array_equal(bank.images, expected.images)
    assert bank.identities.tolist() == [0, 1, 2]
    assert main(["exemplars", "build", "--synthetic", "3", "-o", str(out)]) == ImageWriteError.exit_code
    assert "exists" in capsys.readouterr().err
    (tmp_path / "junk.npz").write_bytes(b"not a bank")
    with pytest.raises(ConfigError, match="junk.npz"):
        ExemplarBank.load(tmp_path / "junk.npz")


# ---------------------------------------------------------------- it helps: blurred synthetic face

def test_enhancement_brings_blurred_faces_closer_to_their_ground_truth():
    import cv2
    bank = synthetic_bank(44, 128, seed=3, frontal=True)
    for index in (0, 2):
        truth = bank.images[index] / 255.0                       # the bank holds this very face
        blurred = cv2.GaussianBlur(truth, (0, 0), 1.5)           # stand-in for the FSGN base image
        exemplars = bank.exemplars(exclude_identity=int(bank.identities[index]))
        assert len(exemplars) == 43
        out = enhance_details(torch.from_numpy(blurred).permute(2, 0, 1), exemplars).output
        restored = out.clamp(0, 1).permute(1, 2, 0).numpy()
        gain = psnr(truth, restored, data_range=1) - psnr(truth, blurred, data_range=1)
        assert gain > 0.1, (index, gain)
