"""Lighting: a Lambert + Blinn-Phong model on the normals of a smooth height field of the outlines.

The height field (head, face, nose, eye sockets, lips) is built from blurred outline masks at a quarter
of the internal size; its normals give a wrapped Lambert diffuse term with cavity occlusion and a cast
shadow of the jaw on the neck, and a Blinn-Phong specular term on the face, both upsampled to the
internal size.
"""
from __future__ import annotations

import cv2
import numpy as np

from .geometry import FaceGeometry
from .identity import Scene
from .outlines import Outlines
from .raster import fill_mask


def shading(out: Outlines, geo: FaceGeometry, scene: Scene, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Diffuse (wrapped Lambert + cavity occlusion) and specular maps from a height field at size/4."""
    n = size // 4
    f = 0.5  # output pixels -> quarter-internal pixels
    a = geo.scale * f                       # one face unit in height-field pixels

    def blob(polys, sigma):
        m = fill_mask((n, n), polys, factor=f)
        return cv2.GaussianBlur(m, (0, 0), max(sigma * a, 0.5))

    head = [out.hair, out.face, *out.ears, geo.neck]
    face = blob([out.face], 0.25)
    height = a * (0.8 * blob(head, 0.35) + 0.9 * face + 0.3 * blob([out.nose], 0.09)
                  - 0.12 * blob(list(out.eyes), 0.12) + 0.06 * blob([out.upper_lip, out.lower_lip], 0.05))
    gx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=3) / 8
    inv = 1 / np.sqrt(gx * gx + gy * gy + 1)
    lx, ly, lz = scene.light_dir
    ndl = (-gx * lx - gy * ly + lz) * inv
    diffuse = np.clip((ndl + 0.3) / 1.3, 0, 1)
    cavity = np.clip(cv2.GaussianBlur(height, (0, 0), 0.1 * a + 0.5) - height, 0, None) / a
    face_mask = fill_mask((n, n), [out.face], factor=f)
    neck_only = np.clip(fill_mask((n, n), [geo.neck], factor=f) - face_mask, 0, 1)
    shadow = cv2.GaussianBlur(np.roll(face_mask, int(0.2 * a) + 1, axis=0), (0, 0), 0.1 * a + 0.5) * neck_only
    shade = (scene.ambient + scene.light_intensity * diffuse) * (1 - 2.0 * cavity) * (1 - 0.55 * shadow)
    h = np.array([lx, ly, lz + 1.0])
    h /= np.linalg.norm(h)
    ndh = np.clip((-gx * h[0] - gy * h[1] + h[2]) * inv, 0, 1)
    spec = 0.12 * scene.light_intensity * face * ndh ** 24
    up = (size, size)
    return (cv2.resize(shade.astype(np.float32), up, interpolation=cv2.INTER_LINEAR),
            cv2.resize(spec.astype(np.float32), up, interpolation=cv2.INTER_LINEAR))
