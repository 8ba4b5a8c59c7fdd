"""The output folder of ``facerestore restore``: per photo ``restored_imgs/<stem><suffix>.<ext>``, and per face
``cropped_faces/<stem>_NN.png`` (the LR crop the method saw), ``restored_faces/<stem>_NN<suffix>.png``,
``cmp/<stem>_NN.png`` (crop, nearest-neighbour enlarged, beside the restored face) and, for GFRNet,
``warped_guides/<stem>_NN.png``. Every file is written atomically; no existing file is replaced without
``overwrite`` and no input is ever written onto (all targets are checked before the first write). The restored
photo is written last, so its presence means that the photo is done (``restore --skip-existing``)."""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from facerestore.errors import ImageWriteError
from facerestore.io import WRITE_FORMATS, ensure_not_input, write_image
from facerestore.io.atomic import EXISTS_MESSAGE
from facerestore.restore.restorer import RestoreResult

FOLDERS = ("cropped_faces", "restored_faces", "cmp", "restored_imgs", "warped_guides")
EXTENSIONS = ("auto", "png", "jpg")
_NO_ALPHA = frozenset({".jpg", ".jpeg", ".bmp"})
_EIGHT_BIT = frozenset({".jpg", ".jpeg", ".bmp", ".webp"})


def image_extension(source: str | None, ext: str, has_alpha: bool, bit_depth: int) -> str:
    """Extension of the restored photo: ``png`` / ``jpg`` as asked; ``auto`` keeps the input's when it can
    hold the result (alpha, 16-bit), else ``.png``."""
    if ext not in EXTENSIONS:
        raise ImageWriteError(f"unknown output extension {ext!r}; choose one of {', '.join(EXTENSIONS)}")
    if ext != "auto":
        return f".{ext}"
    suffix = Path(source).suffix.lower() if source else ""
    if (suffix not in WRITE_FORMATS or (has_alpha and suffix in _NO_ALPHA)
            or (bit_depth == 16 and suffix in _EIGHT_BIT)):
        return ".png"
    return suffix


def side_by_side(crop: np.ndarray, restored: np.ndarray) -> np.ndarray:
    """The LR crop enlarged (nearest neighbour, so its pixels show) to the restored face's size, beside it."""
    height, width = restored.shape[:2]
    enlarged = cv2.resize(crop, (width, height), interpolation=cv2.INTER_NEAREST).reshape(height, width, -1)
    return np.concatenate([enlarged, restored], axis=1)


def write_result(result: RestoreResult, outdir: str | os.PathLike, stem: str, *, ext: str = "auto",
                 suffix: str = "", overwrite: bool = False, inputs: Iterable[str | os.PathLike] = ()) -> dict:
    """Write ``result`` under ``outdir`` (layout in the module docstring); returns the record of written paths
    (relative to ``outdir``): ``{"image": path, "faces": [{"crop", "restored", "cmp"[, "warped_guide"]}]}``.

    A JPEG cannot hold alpha: it is dropped with a warning appended to ``result.warnings``."""
    outdir = Path(outdir)
    pixels = result.pixels()
    extension = image_extension(result.source, ext, result.image.shape[2] in (2, 4), result.bit_depth)
    if extension in _NO_ALPHA and pixels.shape[2] in (2, 4):
        result.warnings.append(f"alpha channel dropped: {extension} cannot store it (use --ext png)")
        pixels = pixels[..., :-1]
    planned: list[tuple[Path, np.ndarray]] = [(outdir / "restored_imgs" / f"{stem}{suffix}{extension}", pixels)]
    faces = []
    for index, face in enumerate(result.faces):
        name = f"{stem}_{index:02d}"
        files = {"crop": (outdir / "cropped_faces" / f"{name}.png", face.crop),
                 "restored": (outdir / "restored_faces" / f"{name}{suffix}.png", face.restored),
                 "cmp": (outdir / "cmp" / f"{name}.png", side_by_side(face.crop, face.restored))}
        if face.warped_guide is not None:
            files["warped_guide"] = (outdir / "warped_guides" / f"{name}.png", face.warped_guide)
        planned += files.values()
        faces.append({key: path.relative_to(outdir).as_posix() for key, (path, _) in files.items()})
    inputs = list(inputs)
    for path, _ in planned:
        if not overwrite and os.path.lexists(path):
            raise ImageWriteError(EXISTS_MESSAGE, path)
        ensure_not_input(path, inputs)
    for path, image in planned[1:] + planned[:1]:  # the photo last: its presence means the photo is done
        path.parent.mkdir(parents=True, exist_ok=True)
        depth = result.bit_depth if path.suffix == ".png" else None
        write_image(path, image, overwrite=overwrite, bit_depth=depth)
    return {"image": planned[0][0].relative_to(outdir).as_posix(), "faces": faces}
