"""Per-face scores of a batch of restored faces against their ground truths: the one metric loop of evaluation
runs (:mod:`facerestore.evaluate.runner`) and training validation (:mod:`facerestore.train.validate`)."""
from __future__ import annotations

import numpy as np
import torch

from facerestore.metrics.identity import DlibIdentity, PCAIdentity, cosine_similarity
from facerestore.metrics.psnr_ssim import psnr_y_torch, ssim_y_torch


class IdentityScorer:
    """Cosine of the identity embeddings (dlib descriptors or Song's PCA projection) of output and ground
    truth; the ground truth's embedding is computed once per face and reused across conditions."""

    def __init__(self, measure: DlibIdentity | PCAIdentity):
        self.embed = measure.descriptor if isinstance(measure, DlibIdentity) else lambda im: measure.project(im)[0]
        self.name = "dlib" if isinstance(measure, DlibIdentity) else "pca"
        self._truth: dict[int, np.ndarray] = {}

    def __call__(self, index: int, output: np.ndarray, truth: np.ndarray) -> float:
        if index not in self._truth:
            self._truth[index] = self.embed(truth)
        return cosine_similarity(self.embed(output), self._truth[index])


def _hwc(batch: torch.Tensor) -> np.ndarray:
    return batch.permute(0, 2, 3, 1).cpu().numpy().astype(np.float32)


def face_scores(output: torch.Tensor, hr: torch.Tensor, crop_border: int = 0, identity: IdentityScorer | None = None,
                first: int = 0) -> dict[str, list[float]]:
    """Per-face PSNR and SSIM on Y (and ``identity`` similarity when a scorer is given; faces are numbered from
    ``first`` for its cache) of a batch of outputs against their ground truths: the one metric loop of
    evaluation runs and training validation."""
    scores = {"psnr": psnr_y_torch(output, hr, crop_border).tolist(),
              "ssim": ssim_y_torch(output, hr, crop_border).tolist()}
    if identity is not None:
        scores["identity"] = [identity(first + j, out, gt) for j, (out, gt) in enumerate(zip(_hwc(output), _hwc(hr)))]
    return scores
