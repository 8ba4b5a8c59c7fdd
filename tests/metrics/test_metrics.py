"""Metrics against independent references: skimage (Y, PSNR, SSIM), scipy ``sqrtm`` (FID), numpy
``eigh`` (PCA), torchvision's documented Inception-v3 size, dlib on real photos."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import skimage.color
import skimage.data
import torch
import torch.nn.functional as F
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from facerestore.errors import WeightsError
from facerestore.metrics import (
    DlibIdentity,
    PCAIdentity,
    cosine_similarity,
    psnr_y,
    psnr_y_torch,
    rgb_to_y,
    ssim_y,
    ssim_y_torch,
)


def _pair(rng: np.random.Generator, shape=(40, 52, 3), noise=0.05) -> tuple[np.ndarray, np.ndarray]:
    """A smooth-ish image in [0, 1] and a noisy, clipped copy (float32, as read images are)."""
    base = rng.random(shape)
    base = (base + np.roll(base, 1, 0) + np.roll(base, 1, 1)) / 3
    noisy = np.clip(base + rng.normal(0, noise, shape), 0, 1)
    return base.astype(np.float32), noisy.astype(np.float32)


def _skimage_y(image: np.ndarray) -> np.ndarray:
    return skimage.color.rgb2ycbcr(image.astype(np.float64))[..., 0]


def _skimage_ssim(y1: np.ndarray, y2: np.ndarray) -> float:
    return structural_similarity(
        y1, y2, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255.0
    )


# ----------------------------------------------------------------------------- PSNR / SSIM


def test_rgb_to_y_matches_skimage_bt601(rng):
    image = rng.random((9, 7, 3))
    np.testing.assert_allclose(rgb_to_y(image), _skimage_y(image), atol=1e-9)
    batch = torch.from_numpy(image).permute(2, 0, 1)[None]
    np.testing.assert_allclose(rgb_to_y(batch)[0, 0].numpy(), _skimage_y(image), atol=1e-9)


@pytest.mark.parametrize("crop", [0, 4])
def test_psnr_y_matches_skimage(rng, crop):
    pred, gt = _pair(rng)
    y_pred, y_gt = _skimage_y(pred), _skimage_y(gt)
    if crop:
        y_pred, y_gt = y_pred[crop:-crop, crop:-crop], y_gt[crop:-crop, crop:-crop]
    expected = peak_signal_noise_ratio(y_gt, y_pred, data_range=255.0)
    assert abs(psnr_y(pred, gt, crop_border=crop) - expected) < 1e-4


@pytest.mark.parametrize("crop", [0, 4])
def test_ssim_y_matches_skimage_on_valid_region(rng, crop):
    # skimage filters with reflected borders but averages its map without the 5-pixel border,
    # i.e. exactly over the 'valid' region our MATLAB-style SSIM uses: full images compare.
    pred, gt = _pair(rng)
    y_pred, y_gt = _skimage_y(pred), _skimage_y(gt)
    if crop:
        y_pred, y_gt = y_pred[crop:-crop, crop:-crop], y_gt[crop:-crop, crop:-crop]
    expected = _skimage_ssim(y_pred, y_gt)
    assert abs(ssim_y(pred, gt, crop_border=crop) - expected) < 1e-4
    assert expected < 0.99  # the pair is not trivially similar


def test_batched_torch_metrics_match_skimage_per_image(rng):
    pairs = [_pair(rng, noise=sigma) for sigma in (0.02, 0.05, 0.1)]
    pred = torch.from_numpy(np.stack([p for p, _ in pairs])).permute(0, 3, 1, 2)
    gt = torch.from_numpy(np.stack([g for _, g in pairs])).permute(0, 3, 1, 2)
    psnr, ssim = psnr_y_torch(pred, gt, crop_border=2), ssim_y_torch(pred, gt, crop_border=2)
    assert psnr.shape == ssim.shape == (3,)
    for i, (p, g) in enumerate(pairs):
        y_p, y_g = _skimage_y(p)[2:-2, 2:-2], _skimage_y(g)[2:-2, 2:-2]
        assert abs(psnr[i].item() - peak_signal_noise_ratio(y_g, y_p, data_range=255.0)) < 1e-4
        assert abs(ssim[i].item() - _skimage_ssim(y_p, y_g)) < 1e-4
    assert psnr[0] > psnr[1] > psnr[2]


def test_identical_images_give_infinite_psnr_and_unit_ssim(rng):
    image, _ = _pair(rng)
    assert psnr_y(image, image) == float("inf")
    assert ssim_y(image, image) == pytest.approx(1.0, abs=1e-12)


def test_psnr_ssim_reject_bad_shapes_and_tiny_crops(rng):
    pred, gt = _pair(rng, shape=(16, 16, 3))
    with pytest.raises(ValueError, match="one shape"):
        psnr_y(pred, gt[:-1])
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim_y(pred, gt, crop_border=3)
    with pytest.raises(ValueError, match="leaves nothing"):
        psnr_y(pred, gt, crop_border=8)


# ----------------------------------------------------------------------------- identity


@pytest.fixture(scope="module")
def dlib_identity() -> DlibIdentity:
    return DlibIdentity()


ASTRONAUT_FACE = (175, 76, 265, 166)  # dlib's frontal detector box (left, top, right, bottom)


def test_dlib_identity_is_high_for_the_same_face_and_lower_for_other_content(dlib_identity, rng):
    photo = skimage.data.astronaut().astype(np.float32) / 255
    noisy = np.clip(photo + rng.normal(0, 0.03, photo.shape), 0, 1).astype(np.float32)
    reference = dlib_identity.descriptor(photo, ASTRONAUT_FACE)
    assert reference.shape == (128,)
    # dlib's own convention: the same person lies within Euclidean distance 0.6
    assert np.linalg.norm(reference - dlib_identity.descriptor(noisy, ASTRONAUT_FACE)) < 0.6
    same = dlib_identity.similarity(photo, noisy, ASTRONAUT_FACE)
    assert same > 0.99
    # an aligned crop (face box = whole image) describes the same face
    left, top, right, bottom = ASTRONAUT_FACE
    crop = photo[top : bottom + 1, left : right + 1]
    assert cosine_similarity(reference, dlib_identity.descriptor(crop)) > 0.97
    # the same-size box moved 150 px right holds no face: clearly lower
    shifted = dlib_identity.descriptor(photo, (left + 150, top, right + 150, bottom))
    assert cosine_similarity(reference, shifted) < same - 0.05


def test_cosine_similarity_matches_formula(rng):
    a, b = rng.normal(size=10), rng.normal(size=10)
    assert cosine_similarity(a, b) == pytest.approx(a @ b / np.sqrt((a @ a) * (b @ b)))
    assert cosine_similarity(a, np.zeros(10)) == 0.0


def _faces(rng: np.random.Generator, n: int = 30, size: int = 8) -> np.ndarray:
    """N HxWx3 'faces' in [0, 1] varying along a few directions plus small noise."""
    modes = rng.normal(size=(4, size, size, 1)) * 0.1
    weights = rng.normal(size=(n, 4, 1, 1, 1))
    gray = 0.5 + (weights * modes).sum(axis=1) + rng.normal(0, 0.005, (n, size, size, 1))
    return np.clip(np.repeat(gray, 3, axis=-1) * np.array([1.0, 0.9, 0.8]), 0, 1)


def _eigh_reference(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, eigenvalues (descending) and eigenvectors (columns) of the luma covariance."""
    y = _skimage_y(faces).reshape(len(faces), -1)
    mean = y.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(y, rowvar=False))
    return mean, values[::-1], vectors[:, ::-1]


def test_pca_identity_matches_eigendecomposition_of_the_covariance(rng):
    train, test = _faces(rng), _faces(rng, n=2)
    pca = PCAIdentity.fit(train, n_components=3)
    mean, values, vectors = _eigh_reference(train)
    basis = vectors[:, :3]
    np.testing.assert_allclose(pca.mean, mean, atol=1e-9)
    np.testing.assert_allclose(pca.components.T @ pca.components, basis @ basis.T, atol=1e-8)
    coeffs = (_skimage_y(test).reshape(2, -1) - mean) @ basis
    expected = coeffs[0] @ coeffs[1] / np.linalg.norm(coeffs[0]) / np.linalg.norm(coeffs[1])
    assert pca.similarity(test[0], test[1]) == pytest.approx(expected, abs=1e-9)
    # default: the fewest components reaching 95 % of the variance
    energy = np.cumsum(values) / values.sum()
    assert len(PCAIdentity.fit(train).components) == int(np.argmax(energy >= 0.95)) + 1


def test_pca_identity_is_one_for_itself_and_minus_one_for_the_mirror_about_the_mean(rng):
    train = _faces(rng)
    pca = PCAIdentity.fit(train, n_components=4)
    face = train[3]
    mirrored = 2 * train.mean(axis=0) - face  # luma is affine: its centred luma is negated
    assert pca.similarity(face, face) == pytest.approx(1.0)
    assert pca.similarity(face, mirrored) == pytest.approx(-1.0)


def test_pca_identity_save_load_round_trip_and_errors(rng, tmp_path):
    train = _faces(rng)
    pca = PCAIdentity.fit(train, n_components=3)
    path = tmp_path / "pca.npz"
    pca.save(path)
    loaded = PCAIdentity.load(path)
    np.testing.assert_array_equal(loaded.components, pca.components)
    np.testing.assert_array_equal(loaded.mean, pca.mean)
    assert loaded.shape == (8, 8)
    assert loaded.similarity(train[0], train[1]) == pca.similarity(train[0], train[1])
    assert [p.name for p in tmp_path.iterdir()] == ["pca.npz"]  # no temporary file left
    with pytest.raises(WeightsError, match="missing.npz"):
        PCAIdentity.load(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(WeightsError, match="bad.npz"):
        PCAIdentity.load(tmp_path / "bad.npz")
    with pytest.raises(ValueError, match="size"):
        pca.similarity(train[0][:4], train[1][:4])


# ----------------------------------------------------------------------------- FID


def _scipy_frechet(mu1, sigma1, mu2, sigma2) -> float:
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(sigma1 + sigma2 - 2 * covmean))


def test_frechet_distance_matches_scipy_sqrtm(rng):
    from facerestore.metrics.fid import feature_statistics, frechet_distance

    a = rng.normal(size=(60, 12))
    b = rng.normal(size=(50, 12)) @ rng.normal(size=(12, 12)) * 0.5 + 0.3
    stats_a, stats_b = feature_statistics(a), feature_statistics(b)
    np.testing.assert_allclose(stats_a[1], np.cov(a.T))
    expected = _scipy_frechet(*stats_a, *stats_b)
    assert frechet_distance(*stats_a, *stats_b) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(*stats_a, *stats_a) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_closed_form_in_one_dimension():
    from facerestore.metrics.fid import frechet_distance

    # N(1, 4) vs N(-2, 9): (1 + 2)^2 + (2 - 3)^2 = 10
    assert frechet_distance([1.0], [[4.0]], [-2.0], [[9.0]]) == pytest.approx(10.0)


def test_frechet_distance_handles_singular_covariances(rng):
    from facerestore.metrics.fid import feature_statistics, frechet_distance

    few_a, few_b = rng.normal(size=(5, 10)), rng.normal(size=(6, 10))  # N < D: rank-deficient
    stats_a, stats_b = feature_statistics(few_a), feature_statistics(few_b)
    value = frechet_distance(*stats_a, *stats_b)
    assert np.isfinite(value)
    assert value == pytest.approx(_scipy_frechet(*stats_a, *stats_b), rel=1e-4)


@pytest.fixture(scope="module")
def inception():
    """Random-init FID Inception whose BN statistics are calibrated on one random batch, so that
    eval-mode features are of order one instead of vanishing through 94 layers."""
    from facerestore.models.inception import FIDInceptionV3

    torch.manual_seed(0)
    network = FIDInceptionV3()
    for module in network.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # running statistics = those of the calibration batch
    with torch.no_grad():
        network(torch.rand(4, 3, 299, 299))
    return network.eval()


def test_inception_matches_torchvision_layout(inception):
    state = inception.state_dict()
    # torchvision documents 27,161,264 parameters for inception_v3; without its auxiliary head
    # (1x1 768->128 + BN, 5x5 128->768 + BN, fc 768->1000: 3,326,696) and its fc 2048->1000
    # (2,049,000) the FID feature network keeps 21,785,568 in 94 conv + BN layers.
    assert sum(p.numel() for p in inception.parameters()) == 27_161_264 - 3_326_696 - 2_049_000
    assert sum(key.endswith(".conv.weight") for key in state) == 94
    assert len(state) == 94 * 6  # conv.weight + bn.{weight,bias,running_mean,running_var,num_batches_tracked}
    assert state["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)
    assert state["Mixed_6e.branch7x7dbl_5.conv.weight"].shape == (192, 192, 1, 7)
    assert state["Mixed_7c.branch3x3dbl_3b.conv.weight"].shape == (384, 384, 3, 1)
    assert state["Mixed_7c.branch_pool.bn.running_var"].shape == (192,)
    assert inception.Conv2d_1a_3x3.bn.eps == 0.001


def test_inception_gives_2048_features_for_299_and_other_sizes(inception):
    images = torch.rand(2, 3, 299, 299)
    with torch.no_grad():
        features = inception(images)
        assert features.shape == (2, 2048) and torch.isfinite(features).all()
        assert features.abs().mean() > 1e-2
        small = torch.rand(1, 3, 64, 80)
        resized = F.interpolate(small, size=(299, 299), mode="bilinear", align_corners=False)
        torch.testing.assert_close(inception(small), inception(resized))


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_inception_weights_round_trip(inception, tmp_path, suffix):
    from safetensors.torch import save_file

    from facerestore.metrics.fid import load_inception

    state = {key: value.clone() for key, value in inception.state_dict().items()}
    for key, value in state.items():  # make BN statistics non-trivial so that loading shows
        if key.endswith("running_var"):
            value.uniform_(0.5, 2.0)
    state["fc.weight"], state["fc.bias"] = torch.zeros(1008, 2048), torch.zeros(1008)  # dropped on load
    path = tmp_path / f"inception{suffix}"
    torch.save(state, path) if suffix == ".pth" else save_file(state, str(path))
    loaded = load_inception(path)
    assert not loaded.training
    for key, value in loaded.state_dict().items():
        torch.testing.assert_close(value, state[key])


def test_inception_weights_errors_name_the_file(tmp_path, monkeypatch):
    from facerestore.metrics.fid import WEIGHTS_ENV, load_inception

    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    with pytest.raises(WeightsError, match=WEIGHTS_ENV):
        load_inception()
    missing = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    with pytest.raises(WeightsError, match="pt_inception-2015-12-05-6726825d.pth") as error:
        load_inception(missing)
    assert error.value.path == str(missing)
    monkeypatch.setenv(WEIGHTS_ENV, str(missing))
    with pytest.raises(WeightsError, match=str(missing)):
        load_inception()
    wrong = tmp_path / "imagenet.pth"
    torch.save({"fc.weight": torch.zeros(1000, 2048)}, wrong)
    with pytest.raises(WeightsError, match="not the FID Inception weights"):
        load_inception(wrong)
    partial = tmp_path / "partial.pth"
    torch.save({"Conv2d_1a_3x3.conv.weight": torch.zeros(32, 3, 3, 3)}, partial)
    with pytest.raises(WeightsError, match="partial.pth.*missing"):
        load_inception(partial)


def test_compute_fid_from_weights_file(inception, tmp_path, rng):
    from facerestore.metrics.fid import InceptionFeatures, compute_fid

    path = tmp_path / "inception.pth"
    torch.save(inception.state_dict(), path)
    extractor = InceptionFeatures(weights=path, batch_size=2)
    images = [rng.random((h, w, 3)).astype(np.float32) for h, w in [(40, 40), (64, 48), (50, 50)]]
    features = extractor(images)
    assert features.shape == (3, 2048)
    with torch.no_grad():
        expected = np.concatenate(
            [inception(torch.from_numpy(im).permute(2, 0, 1)[None]).double().numpy() for im in images]
        )
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-6)
    assert features.std(axis=0).mean() > 1e-3  # distinct images give distinct features
    # Reference for N = 3 < D: with S_i = A_i A_i^T (A_i = centred features^T / sqrt(N - 1)),
    # tr((S1 S2)^(1/2)) is the nuclear norm of A2^T A1: no 2048x2048 matrix function needed.
    others = torch.rand(3, 3, 32, 32)
    features_b = extractor(others)
    a1 = (features - features.mean(0)).T / np.sqrt(2)
    a2 = (features_b - features_b.mean(0)).T / np.sqrt(2)
    diff = features.mean(0) - features_b.mean(0)
    expected_fid = diff @ diff + (a1**2).sum() + (a2**2).sum() - 2 * np.linalg.norm(a2.T @ a1, ord="nuc")
    assert compute_fid(images, others, extractor) == pytest.approx(expected_fid, rel=1e-6)


# ----------------------------------------------------------------------------- folders + CLI


def _write_pair_folders(root, rng) -> tuple:
    """pred/ and gt/ with two stem-paired 8-bit images ('b' has a BMP ground truth), returning the
    folders and the uint8 (pred, gt) arrays written."""
    from facerestore.io import write_image

    pred_dir, gt_dir = root / "pred", root / "gt"
    pred_dir.mkdir()
    gt_dir.mkdir()
    arrays = {}
    for stem, suffix in (("a", ".png"), ("b", ".bmp")):
        gt = (rng.random((24, 28, 3)) * 255).astype(np.uint8)
        pred = np.clip(gt + rng.normal(0, 8, gt.shape), 0, 255).astype(np.uint8)
        write_image(pred_dir / f"{stem}.png", pred)
        write_image(gt_dir / f"{stem}{suffix}", gt)
        arrays[stem] = (pred, gt)
    return pred_dir, gt_dir, arrays


def _read_csv(path) -> list[dict]:
    import csv

    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def test_metrics_cli_writes_mean_table_and_csv(tmp_path, rng, capsys):
    from facerestore.cli import main

    pred_dir, gt_dir, arrays = _write_pair_folders(tmp_path, rng)
    csv_path = tmp_path / "scores.csv"
    code = main(["metrics", "--pred", str(pred_dir), "--gt", str(gt_dir), "--crop", "2", "--csv", str(csv_path)])
    assert code == 0
    rows = _read_csv(csv_path)
    assert [row["name"] for row in rows] == ["a", "b", "mean"]
    assert list(rows[0]) == ["name", "psnr", "ssim"]
    expected = []
    for stem in ("a", "b"):
        y_pred, y_gt = (_skimage_y(image / 255.0)[2:-2, 2:-2] for image in arrays[stem])
        expected.append((peak_signal_noise_ratio(y_gt, y_pred, data_range=255.0), _skimage_ssim(y_pred, y_gt)))
    for row, (psnr, ssim) in zip(rows, expected):
        assert float(row["psnr"]) == pytest.approx(psnr, abs=1e-4)
        assert float(row["ssim"]) == pytest.approx(ssim, abs=1e-4)
    mean_psnr = np.mean([psnr for psnr, _ in expected])
    assert float(rows[2]["psnr"]) == pytest.approx(mean_psnr, abs=1e-4)
    out = capsys.readouterr().out
    assert "PSNR (dB)" in out and f"{mean_psnr:.4f}" in out
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # atomic: no temp left

    before = csv_path.read_bytes()
    assert main(["metrics", "--pred", str(pred_dir), "--gt", str(gt_dir), "--csv", str(csv_path)]) != 0
    assert "--overwrite" in capsys.readouterr().err and csv_path.read_bytes() == before
    assert main(["metrics", "--pred", str(pred_dir), "--gt", str(gt_dir), "--csv", str(csv_path), "--overwrite"]) == 0


def test_metrics_cli_names_missing_and_unreadable_files(tmp_path, rng, capsys):
    from facerestore.cli import main
    from facerestore.io import write_image

    pred_dir, gt_dir, _ = _write_pair_folders(tmp_path, rng)
    (pred_dir / "orphan.png").write_bytes((pred_dir / "a.png").read_bytes())
    (gt_dir / "b.bmp").write_bytes(b"BM broken")
    write_image(pred_dir / "c.png", np.zeros((24, 28, 3), np.uint8))
    write_image(gt_dir / "c.png", np.zeros((24, 30, 3), np.uint8))
    csv_path = tmp_path / "scores.csv"
    code = main(["metrics", "--pred", str(pred_dir), "--gt", str(gt_dir), "--csv", str(csv_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert "orphan.png" in err and "no ground truth" in err
    assert "b.bmp" in err
    assert "c.png: size 28x24 differs" in err
    assert [row["name"] for row in _read_csv(csv_path)] == ["a", "mean"]


def test_metrics_cli_pca_identity(tmp_path, rng, capsys):
    from facerestore.cli import main
    from facerestore.metrics.folders import load_rgb

    pred_dir, gt_dir, _ = _write_pair_folders(tmp_path, rng)
    pca = PCAIdentity.fit(rng.random((12, 24, 28, 3)), n_components=5)
    pca_path = tmp_path / "pca.npz"
    pca.save(pca_path)
    csv_path = tmp_path / "scores.csv"
    args = ["metrics", "--pred", str(pred_dir), "--gt", str(gt_dir), "--csv", str(csv_path), "--identity", "pca"]
    assert main(args) == 2  # --pca missing: a ConfigError
    assert "--pca FILE" in capsys.readouterr().err
    assert main(args + ["--pca", str(tmp_path / "none.npz")]) == 2
    assert "none.npz" in capsys.readouterr().err
    assert main(args + ["--pca", str(pca_path)]) == 0
    rows = _read_csv(csv_path)
    expected = pca.similarity(load_rgb(pred_dir / "a.png"), load_rgb(gt_dir / "a.png"))
    assert float(rows[0]["identity"]) == pytest.approx(expected, abs=1e-6)
    assert "identity (pca)" in capsys.readouterr().out


def test_metrics_cli_dlib_identity_on_aligned_crops(tmp_path, rng):
    from facerestore.cli import main
    from facerestore.io import write_image

    left, top, right, bottom = ASTRONAUT_FACE
    face = skimage.data.astronaut()[top - 20 : bottom + 21, left - 20 : right + 21]
    noisy = np.clip(face + rng.normal(0, 6, face.shape), 0, 255).astype(np.uint8)
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt").mkdir()
    write_image(tmp_path / "pred" / "face.png", noisy)
    write_image(tmp_path / "gt" / "face.png", face)
    csv_path = tmp_path / "scores.csv"
    code = main(["metrics", "--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt"), "--identity", "dlib",
                 "--csv", str(csv_path)])
    assert code == 0
    assert float(_read_csv(csv_path)[0]["identity"]) > 0.97


def test_skin_accuracy_counts_the_pixels_whose_skin_label_is_right():
    from facerestore.metrics.parsing import skin_accuracy

    target = torch.zeros(2, 3, 4, 4)
    target[:, :, :2] = 1.0  # the top half is skin
    predicted = target.clone()
    predicted[0, :, 0, 0] = 0.2  # one pixel of 16 wrong
    predicted[1] = 0.6  # everything called skin: half right
    assert skin_accuracy(predicted, target).tolist() == [15 / 16, 0.5]
    with pytest.raises(ValueError, match="differ in shape"):
        skin_accuracy(predicted[:, :, :2], target)
