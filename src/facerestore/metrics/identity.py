"""Identity similarity between a restored face and its ground truth.

Two measures:

* :class:`DlibIdentity` — cosine between the 128-D descriptors of dlib's face recognition ResNet
  (``dlib_face_recognition_resnet_model_v1.dat``), the face chip aligned by dlib's 5-point shape
  predictor. The face rectangle is the whole image (aligned crops) unless a box is given.
* :class:`PCAIdentity` — Song et al. §4.2 ("identity similarity [4]"): a PCA projection matrix built
  from the ground-truth HR training images projects the result and its ground truth, and the
  cosine of the two projections is the score. The paper does not say which pixels, how many
  components or whether the mean is removed; following their reference [4] (Delac et al., PCA on
  FERET: eigenfaces of grey-level images, cosine in the mean-centred face space) we use the luma
  channel (:func:`facerestore.metrics.psnr_ssim.rgb_to_y`), subtract the training mean, and keep by
  default the leading components that explain 95 % of the training variance.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from facerestore.errors import WeightsError
from facerestore.face.dlib_models import FACE_RECOGNITION_RESNET, SHAPE_PREDICTOR_5, dlib_model_path
from facerestore.io.atomic import write_bytes_atomic
from facerestore.metrics.psnr_ssim import rgb_to_y

Box = tuple[int, int, int, int]


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of the angle between two vectors (0 when either is the zero vector)."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norm) if norm > 0 else 0.0


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """HxWx3 RGB, float in [0, 1] or uint8, as the contiguous uint8 array dlib takes."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {image.shape}")
    if image.dtype != np.uint8:
        image = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image)


class DlibIdentity:
    """dlib face descriptors and their cosine similarity.

    ``padding`` is the chip margin of ``compute_face_descriptor`` (dlib's default 0.25);
    ``num_jitters`` > 0 averages descriptors of randomly jittered chips (dlib's option).
    """

    def __init__(self, padding: float = 0.25, num_jitters: int = 0):
        import dlib  # imported here: only this metric needs it

        self._dlib = dlib
        self._shape_predictor = dlib.shape_predictor(str(dlib_model_path(SHAPE_PREDICTOR_5)))
        self._recognizer = dlib.face_recognition_model_v1(str(dlib_model_path(FACE_RECOGNITION_RESNET)))
        self.padding = padding
        self.num_jitters = num_jitters

    def descriptor(self, image: np.ndarray, box: Box | None = None) -> np.ndarray:
        """128-D descriptor of the face in ``box`` = (left, top, right, bottom) pixels, inclusive;
        the whole image when ``box`` is None. ``image``: HxWx3 RGB float in [0, 1] or uint8."""
        pixels = _to_uint8(image)
        if box is None:
            box = (0, 0, pixels.shape[1] - 1, pixels.shape[0] - 1)
        rect = self._dlib.rectangle(*(int(v) for v in box))
        shape = self._shape_predictor(pixels, rect)
        vector = self._recognizer.compute_face_descriptor(pixels, shape, self.num_jitters, self.padding)
        return np.asarray(vector, dtype=np.float64)

    def similarity(self, pred: np.ndarray, gt: np.ndarray, box: Box | None = None) -> float:
        """Cosine between the descriptors of ``pred`` and ``gt`` (same face box in both)."""
        return cosine_similarity(self.descriptor(pred, box), self.descriptor(gt, box))


class PCAIdentity:
    """Song et al. §4.2 PCA identity similarity; fit with :meth:`fit`, persisted as ``.npz``.

    ``mean``: D luma values of the training mean face; ``components``: K x D orthonormal rows;
    ``shape``: the (H, W) every face must have.
    """

    def __init__(self, mean: np.ndarray, components: np.ndarray, shape: tuple[int, int]):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.components = np.asarray(components, dtype=np.float64)
        self.shape = (int(shape[0]), int(shape[1]))
        size = self.shape[0] * self.shape[1]
        if self.components.ndim != 2 or not self.components.shape[1] == self.mean.size == size:
            raise ValueError(
                f"inconsistent PCA: mean {self.mean.shape}, components {self.components.shape}, shape {self.shape}"
            )

    def _vectors(self, faces: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """N x D luma vectors of N HxWx3 faces in [0, 1] of this PCA's size."""
        faces = np.asarray(faces, dtype=np.float64)
        if faces.ndim == 3:
            faces = faces[None]
        if faces.ndim != 4 or faces.shape[1:] != (*self.shape, 3):
            raise ValueError(f"expected HxWx3 face(s) of size {self.shape}, got shape {faces.shape}")
        return rgb_to_y(faces).reshape(len(faces), -1)

    @classmethod
    def fit(
        cls, faces: np.ndarray | Sequence[np.ndarray], n_components: int | None = None, energy: float = 0.95
    ) -> "PCAIdentity":
        """Fit on N >= 2 HR training faces (HxWx3, [0, 1], one size). ``n_components`` fixed, or
        the fewest components whose variance reaches ``energy`` of the total."""
        faces = np.asarray(faces, dtype=np.float64)
        if faces.ndim != 4 or faces.shape[-1] != 3 or len(faces) < 2:
            raise ValueError(f"expected N >= 2 HxWx3 faces, got shape {faces.shape}")
        shape = faces.shape[1:3]
        vectors = rgb_to_y(faces).reshape(len(faces), -1)
        mean = vectors.mean(axis=0)
        _, singular, rows = np.linalg.svd(vectors - mean, full_matrices=False)
        rank = int((singular > singular[0] * 1e-10).sum()) if singular[0] > 0 else 0
        if rank == 0:
            raise ValueError("the training faces are all identical: no principal component")
        if n_components is None:
            variance = singular[:rank] ** 2
            n_components = int(np.searchsorted(np.cumsum(variance) / variance.sum(), energy) + 1)
        return cls(mean, rows[: min(n_components, rank)], shape)

    def project(self, faces: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """N x K coefficients of faces (one HxWx3 face or N of them) in the PCA basis."""
        return (self._vectors(faces) - self.mean) @ self.components.T

    def similarity(self, pred: np.ndarray, gt: np.ndarray) -> float:
        """Cosine between the projections of ``pred`` and ``gt`` (HxWx3 faces in [0, 1])."""
        coefficients = self.project(np.stack([pred, gt]))
        return cosine_similarity(coefficients[0], coefficients[1])

    def save(self, path: str | os.PathLike) -> None:
        """Write ``mean``, ``components`` and ``shape`` to an ``.npz`` file atomically."""
        buffer = io.BytesIO()
        np.savez(buffer, mean=self.mean, components=self.components, shape=np.asarray(self.shape))
        write_bytes_atomic(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PCAIdentity":
        """Read a PCA written by :meth:`save`; :class:`WeightsError` naming ``path`` otherwise."""
        if not Path(path).is_file():
            raise WeightsError("PCA identity file not found (fit one with PCAIdentity.fit(...).save(path))", path)
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(data["mean"], data["components"], tuple(data["shape"]))
        except (OSError, ValueError, KeyError) as error:
            raise WeightsError(f"not a PCA identity .npz file ({error})", path) from None
