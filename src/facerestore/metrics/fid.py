"""Fréchet Inception Distance (Heusel et al. 2017) with the FID Inception-v3 features.

``FID = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))`` between Gaussians fitted to the 2048-D
pool features of two image sets. Weights are read only from a local file (the argument, else the
environment variable ``FACERESTORE_INCEPTION_WEIGHTS``), e.g. pytorch-fid's
``pt_inception-2015-12-05-6726825d.pth``; nothing is downloaded.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from facerestore.errors import WeightsError
from facerestore.models.inception import FEATURE_DIM, INPUT_SIZE, FIDInceptionV3

WEIGHTS_ENV = "FACERESTORE_INCEPTION_WEIGHTS"
_FID_CLASSES = 1008  # the TF graph's classifier, whose fc.* tensors the weights file carries


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (means D, covariances DxD).

    ``tr((S1 S2)^(1/2))`` is computed without a general matrix square root: with ``S1 = A A^T``
    (``A`` from the eigendecomposition of ``S1``, eigenvalues below 1e-12 of the largest dropped),
    ``S1 S2`` has the nonzero spectrum of the small symmetric PSD matrix ``A^T S2 A``, whose
    eigenvalues' square roots are summed. No imaginary parts to discard and no diagonal offset
    for singular covariances (N < D features), unlike ``scipy.linalg.sqrtm``.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    dim = mu1.shape[0]
    if mu1.shape != mu2.shape or sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
        raise ValueError(
            f"inconsistent shapes: mu {mu1.shape} / {mu2.shape}, sigma {sigma1.shape} / {sigma2.shape}"
        )
    values, vectors = np.linalg.eigh(sigma1)
    keep = values > max(values[-1], 0.0) * 1e-12
    factor = vectors[:, keep] * np.sqrt(values[keep])
    inner = factor.T @ sigma2 @ factor
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0.0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * cross)


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D) and unbiased covariance (DxD) of N >= 2 feature rows (NxD)."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"expected N >= 2 feature rows, got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _weights_path(weights: str | os.PathLike | None) -> Path:
    if weights is None:
        weights = os.environ.get(WEIGHTS_ENV)
    if not weights:
        raise WeightsError(
            f"no FID Inception weights given: pass a local file (e.g. pytorch-fid's "
            f"pt_inception-2015-12-05-6726825d.pth) or set {WEIGHTS_ENV}; nothing is downloaded"
        )
    path = Path(weights)
    if not path.is_file():
        raise WeightsError(f"FID Inception weights file not found (set {WEIGHTS_ENV} or pass the path)", path)
    return path


def load_inception(weights: str | os.PathLike | None = None) -> FIDInceptionV3:
    """FID Inception-v3 in eval mode with weights from ``weights`` (``.pth`` or ``.safetensors``),
    else from ``$FACERESTORE_INCEPTION_WEIGHTS``. The file's 1008-way ``fc.*`` head is dropped;
    missing ``num_batches_tracked`` counters are allowed; anything else must match exactly."""
    path = _weights_path(weights)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch/safetensors raise many types for a bad file
        raise WeightsError(f"cannot read FID Inception weights ({error})", path) from None
    if not isinstance(state, dict):
        raise WeightsError("FID Inception weights file does not hold a state dict", path)
    classifier = state.get("fc.weight")
    if classifier is not None and classifier.shape[0] != _FID_CLASSES:
        raise WeightsError(
            f"classifier has {classifier.shape[0]} classes, not the FID graph's {_FID_CLASSES}: "
            "these are not the FID Inception weights (torchvision's ImageNet weights give different FIDs)",
            path,
        )
    state = {key: value for key, value in state.items() if not key.startswith("fc.")}
    network = FIDInceptionV3()
    try:
        result = network.load_state_dict(state, strict=False)
    except RuntimeError as error:  # shape mismatches
        raise WeightsError(f"FID Inception weights do not fit the network ({error})", path) from None
    missing = [key for key in result.missing_keys if not key.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise WeightsError(
            f"FID Inception weights do not fit the network: missing {missing[:5]}, "
            f"unexpected {result.unexpected_keys[:5]}",
            path,
        )
    return network.eval()


class InceptionFeatures:
    """2048-D FID features of RGB images in [0, 1], computed in batches without gradients."""

    def __init__(self, weights: str | os.PathLike | None = None, batch_size: int = 32, device: str = "cpu"):
        self.network = load_inception(weights).to(device)
        self.batch_size = batch_size
        self.device = device

    def _batches(self, images: torch.Tensor | Iterable[np.ndarray]) -> Iterable[torch.Tensor]:
        """Nx3xHxW batches; HxWx3 arrays (any sizes) are resized to 299x299 one by one."""
        if isinstance(images, torch.Tensor):
            yield from images.split(self.batch_size)
            return
        pending: list[torch.Tensor] = []
        for image in images:
            tensor = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
            pending.append(F.interpolate(tensor, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False))
            if len(pending) == self.batch_size:
                yield torch.cat(pending)
                pending = []
        if pending:
            yield torch.cat(pending)

    @torch.inference_mode()
    def __call__(self, images: torch.Tensor | Iterable[np.ndarray]) -> np.ndarray:
        """Nx2048 float64 features of an Nx3xHxW tensor or an iterable of HxWx3 arrays."""
        rows = [self.network(batch.to(self.device, torch.float32)).double().cpu().numpy()
                for batch in self._batches(images)]
        return np.concatenate(rows) if rows else np.zeros((0, FEATURE_DIM))


def compute_fid(
    images_a: torch.Tensor | Sequence[np.ndarray],
    images_b: torch.Tensor | Sequence[np.ndarray],
    features: InceptionFeatures,
) -> float:
    """FID between two image sets (each N >= 2 images, RGB in [0, 1]) with the given extractor."""
    return frechet_distance(*feature_statistics(features(images_a)), *feature_statistics(features(images_b)))
