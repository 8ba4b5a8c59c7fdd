"""Exemplar banks for Song et al.'s detail enhancement (§3.2.1): aligned HR faces plus who they show.

The paper uses the 2,184 Multi-PIE training faces as exemplars and requires exemplars of subjects other
than the input's (§3.2.1, §4). A bank stores the faces as uint8 RGB (N, H, W, 3), one identity per
face, and the source of each face; ``exemplars(exclude_identity=...)`` drops the input's person.
Saved as an uncompressed ``.npz`` (arrays ``images``, ``identities``, ``sources``; no pickles).
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from facerestore.errors import ConfigError, ImageReadError, ImageWriteError
from facerestore.io import READ_EXTENSIONS, from_float, read_image, split_alpha, to_float
from facerestore.io.atomic import EXISTS_MESSAGE, write_bytes_atomic
from facerestore.synth import Expression, Pose, identity_of, render_face


@dataclass(frozen=True)
class ExemplarBank:
    """``images`` (N, H, W, 3) uint8 RGB aligned faces; ``identities`` (N,) int64; ``sources`` (N,) str."""

    images: np.ndarray
    identities: np.ndarray
    sources: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.images.dtype != np.uint8 or self.images.ndim != 4 or self.images.shape[-1] != 3:
            raise ConfigError(f"bank images must be uint8 (N, H, W, 3), got {self.images.dtype} "
                              f"{self.images.shape}", "exemplar_bank.images")
        if self.identities.shape != (n,) or self.sources.shape != (n,):
            raise ConfigError(f"{n} images but {self.identities.shape} identities and {self.sources.shape} "
                              "sources", "exemplar_bank")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of every face."""
        return int(self.images.shape[1]), int(self.images.shape[2])

    def exemplars(self, exclude_identity: int | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
        """The faces as a uint8 tensor (N', H, W, 3), without those of ``exclude_identity``."""
        keep = np.ones(len(self), bool) if exclude_identity is None else self.identities != exclude_identity
        return torch.from_numpy(np.ascontiguousarray(self.images[keep])).to(device)

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> None:
        """Write the bank atomically (a temporary file renamed into place)."""
        path = Path(path)
        if path.suffix != ".npz":
            raise ImageWriteError("an exemplar bank file must end in .npz", path)
        if path.exists() and not overwrite:
            raise ImageWriteError(EXISTS_MESSAGE, path)
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez(buffer, images=self.images, identities=self.identities, sources=self.sources.astype(str))
        write_bytes_atomic(path, buffer.getvalue(), overwrite=overwrite, error=ImageWriteError)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ExemplarBank:
        """Read a bank written by :meth:`save`."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(images=data["images"], identities=data["identities"].astype(np.int64),
                           sources=data["sources"])
        except FileNotFoundError as error:
            raise ConfigError("no such exemplar bank file", path) from error
        except (OSError, ValueError, KeyError) as error:
            raise ConfigError(f"not an exemplar bank (.npz with images, identities, sources): {error}",
                              path) from error


def bank_from_folder(folder: str | os.PathLike) -> ExemplarBank:
    """Bank of every image under ``folder`` (recursively, sorted), all aligned faces of one size.

    The identity of a face is its sub-folder (``DIR/<person>/photo.png``), or its file name without
    extension when it sits directly in ``folder``; identities are numbered in sorted order.
    Alpha is dropped, grey images are repeated to RGB, 16-bit images are rounded to 8 bits.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageReadError("no such folder", folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in READ_EXTENSIONS and p.is_file())
    if not files:
        raise ImageReadError(f"no image files ({', '.join(sorted(READ_EXTENSIONS))}) in the folder", folder)
    images, people = [], []
    for path in files:
        colour, _ = split_alpha(to_float(read_image(path)[0]))
        if colour.shape[-1] == 1:
            colour = np.repeat(colour, 3, axis=-1)
        if images and colour.shape != images[0].shape:
            raise ImageReadError(f"size {colour.shape[1]}x{colour.shape[0]} differs from the first face's "
                                 f"{images[0].shape[1]}x{images[0].shape[0]}; a bank needs aligned faces of "
                                 "one size", path)
        images.append(from_float(colour, 8))
        relative = path.relative_to(folder)
        people.append(relative.parts[0] if len(relative.parts) > 1 else relative.stem)
    names = sorted(set(people))
    return ExemplarBank(images=np.stack(images),
                        identities=np.array([names.index(p) for p in people], np.int64),
                        sources=np.array([p.relative_to(folder).as_posix() for p in files]))


def synthetic_bank(count: int, size: int = 128, seed: int = 0, num_identities: int | None = None,
                   frontal: bool = False, frame: tuple[int, int] | None = None) -> ExemplarBank:
    """Bank of ``count`` faces of the synthetic renderer (facerestore.synth), set ``seed``.

    Face i shows identity i (every face a new person) or, with ``num_identities``, the identity drawn
    by ``identity_of(seed, i, num_identities)``. ``frontal``: frontal pose and neutral expression, like
    the Multi-PIE frontal faces the paper uses (§4), so patches at one position correspond. ``frame``:
    (height, width) faces cut from the ``size`` renders as the data's ``frame`` option cuts them
    (:func:`facerestore.data.sample.frame_face`; Song §4's 320 × 240: ``size=512, frame=(320, 240)``).
    """
    from facerestore.data.sample import frame_face

    if count < 1:
        raise ConfigError(f"need at least one face, got {count}", "exemplars.synthetic")
    images, identities = [], []
    for index in range(count):
        person = index if num_identities is None else identity_of(seed, index, num_identities)
        face = render_face(seed, index, size, identity=person, pose=Pose() if frontal else None,
                           expression=Expression() if frontal else None)
        image = face.image if frame is None else frame_face(face.image, face.landmarks, None, frame)[0]
        images.append(from_float(image, 8))
        identities.append(face.identity)
    return ExemplarBank(images=np.stack(images), identities=np.array(identities, np.int64),
                        sources=np.array([f"synth:{seed}:{i}" for i in range(count)]))
