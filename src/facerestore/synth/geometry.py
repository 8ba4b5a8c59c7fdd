"""3-D face geometry: a parametric 68-point template plus the extra contours the renderer needs
(hairline, ears, neck, clothes, eyeballs, glasses), posed and projected with a pinhole camera.

Face units (see identity.py): x right, y down, z towards the camera, origin between the eye centres,
half the face width = 1. The projection puts a frontal face the way an aligned crop (FFHQ/CelebA style)
would: eye midpoint at ~40 % height, face width ~60 % of the image.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .identity import Expression, Identity, Pose, Scene

_CAMERA_DISTANCE = 12.0          # face units (~85 cm): mild perspective
_PIVOT = np.array([0.0, 0.3, -1.0])  # head rotation centre (top of the neck)
_UNITS_TO_IMAGE = 0.30           # image sizes per face unit (face width 2 units -> 60 %)
_ANCHOR = (0.5, 0.555)           # image position of the mean of eye midpoint and mouth centre
_EYEBALL_RADIUS = 0.17
IRIS_RADIUS = 0.105


def _surface_z(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Depth of the forehead/cheek surface: a rounded front falling off towards the sides and top."""
    return 0.06 - 0.55 * x ** 2 - 0.3 * np.clip(-y - 0.3, 0, None) ** 2


def _jaw(ident: Identity, expr: Expression) -> np.ndarray:
    a = np.linspace(0, np.pi, 17)
    p = 2.0 / ident.jaw_power
    c, s = np.cos(a), np.sin(a)
    chin = ident.chin + 0.22 * expr.mouth_open
    t = np.abs(s) ** p
    y = ident.jaw_top + (chin - ident.jaw_top) * t
    x = -np.sign(c) * np.abs(c) ** p * (1 - ident.jaw_taper * t ** 2) * (1 + 0.03 * expr.smile * (1 - t))
    z = 0.08 - 0.92 * np.abs(c) ** 1.5
    return np.stack([x, y, z], 1)


def _brows(ident: Identity, expr: Expression) -> np.ndarray:
    t = np.linspace(0, 1, 5)  # outer -> inner
    x = 0.8 - 0.62 * t
    y = -ident.brow_height - 0.09 * expr.brow_raise - ident.brow_arch * np.sin(np.pi * (1 - t) ** 0.8) + 0.04 * (t - 0.5)
    right = np.stack([-x, y, _surface_z(x, y) + 0.04], 1)
    left = right[::-1] * np.array([-1, 1, 1])
    return np.concatenate([right, left])


def _nose(ident: Identity) -> np.ndarray:
    ny, nw, nd = ident.nose_y, ident.nose_width, ident.nose_depth
    bridge_y = np.linspace(-0.02, ny - 0.1, 4)
    bridge = np.stack([np.zeros(4), bridge_y, 0.1 + (nd - 0.1) * np.linspace(0, 1, 4) ** 1.3], 1)
    lower = np.array([[-0.72 * nw, ny - 0.04, 0.2], [-0.38 * nw, ny - 0.005, 0.27], [0, ny, 0.3],
                      [0.38 * nw, ny - 0.005, 0.27], [0.72 * nw, ny - 0.04, 0.2]])
    return np.concatenate([bridge, lower])


def _eye(ident: Identity, expr: Expression, side: int) -> np.ndarray:
    """Six contour points of one eye in iBUG order; side -1 = subject's right (image left)."""
    u = np.array([1.0, 2 / 3, 1 / 3, 0.0, 1 / 3, 2 / 3])  # 0 = inner corner, 1 = outer corner
    upper = np.array([False, True, True, False, False, False])
    cx, w, h = side * ident.eye_x, ident.eye_width, ident.eye_height
    x = cx + side * (u - 0.5) * w
    line = -ident.eye_tilt * (u - 0.5) * w
    lower = line + (0.35 * h - 0.1 * h * expr.smile) * np.sin(np.pi * u) ** 0.9
    y = np.where(upper, lower - expr.eye_open * 1.35 * h * np.sin(np.pi * u) ** 0.7, lower)
    z = -0.03 - 0.14 * u + np.where(upper, 0.04, 0.02)
    pts = np.stack([x, y, z], 1)
    return pts if side < 0 else pts[[3, 2, 1, 0, 5, 4]]  # left eye starts at its inner corner


def _mouth(ident: Identity, expr: Expression) -> np.ndarray:
    mw = ident.mouth_width * (1 + 0.15 * expr.smile)
    my, ul, ll = ident.mouth_y, ident.upper_lip, ident.lower_lip
    corner_y = my - 0.09 * expr.smile
    gap = 0.3 * expr.mouth_open + 0.03 * expr.smile
    ox = np.array([-1, -0.6, -0.25, 0, 0.25, 0.6, 1, 0.6, 0.25, 0, -0.25, -0.6]) * mw
    bow = np.array([0, 0.78, 1.0, 0.86, 1.0, 0.78, 0])
    oy_up = my - ul * bow + (corner_y - my) * (np.abs(ox[:7]) / mw) ** 2
    lip_low = np.array([0.78, 0.96, 1.0, 0.96, 0.78])
    oy_low = my + gap + ll * lip_low + (corner_y - my) * (np.abs(ox[7:]) / mw) ** 2
    ix = np.array([-0.88, -0.3, 0, 0.3, 0.88, 0.3, 0, -0.3]) * mw
    curve = (corner_y - my) * (np.abs(ix) / mw) ** 2
    iy = my + curve + np.array([0, -0.01, -0.012, -0.01, 0, 1, 1, 1]) * gap
    iy[[0, 4]] += 0.5 * gap * 0.2
    x = np.concatenate([ox, ix])
    y = np.concatenate([oy_up, oy_low, iy])
    z = 0.1 + 0.2 * (1 - (x / mw) ** 2) - np.concatenate([np.zeros(12), 0.03 * np.ones(8)])
    return np.stack([x, y, z], 1)


def landmarks_3d(ident: Identity, expr: Expression) -> np.ndarray:
    """The 68 iBUG points (68, 3) in face units for this identity and expression."""
    eyes = np.concatenate([_eye(ident, expr, -1), _eye(ident, expr, 1)])
    return np.concatenate([_jaw(ident, expr), _brows(ident, expr), _nose(ident), eyes, _mouth(ident, expr)])


def _hairline(ident: Identity) -> np.ndarray:
    """Face outline above the jaw: left temple up over the hairline to the right temple (image order)."""
    x = np.linspace(-0.97, 0.97, 21)
    temple_y = -0.3
    y = ident.hairline + (temple_y - ident.hairline) * np.abs(x / 0.97) ** 3.5
    y = y - ident.hairline_recess * np.exp(-((np.abs(x) - 0.55) / 0.18) ** 2)
    return np.stack([x, y, _surface_z(x, y) * (1 - 0.1 * np.abs(x))], 1)


def _ear(ident: Identity, side: int) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    s = ident.ear_size
    return np.stack([side * (0.98 + 0.1 * s * (1 + np.cos(t))), 0.22 + 0.3 * s * np.sin(t),
                     -0.95 + 0.14 * s * np.cos(t)], 1)


def _glasses(ident: Identity) -> np.ndarray:
    """Rims (2 x 24 points), bridge (2) and temple ends (2)."""
    t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    power = 2.0 if ident.glasses == 1 else 5.0
    c, s = np.cos(t), np.sin(t)
    ex, ey = np.sign(c) * np.abs(c) ** (2 / power), np.sign(s) * np.abs(s) ** (2 / power)
    rims = []
    for side in (-1, 1):
        cx = side * ident.eye_x
        rims.append(np.stack([cx + 0.27 * ex, 0.03 + 0.19 * ey, np.full_like(t, 0.3)], 1))
    extra = np.array([[-ident.eye_x + 0.27, -0.02, 0.3], [ident.eye_x - 0.27, -0.02, 0.3],
                      [-1.0, -0.03, -0.7], [1.0, -0.03, -0.7]])
    return np.concatenate(rims + [extra])


def _body() -> tuple[np.ndarray, np.ndarray]:
    """Neck (4 points) and clothes outline (9 points)."""
    neck = np.array([[-0.6, 0.8, -0.6], [-0.66, 4.0, -0.6], [0.66, 4.0, -0.6], [0.6, 0.8, -0.6]])
    clothes = np.array([[-3.5, 5.0, -0.8], [-3.0, 2.7, -0.8], [-0.7, 2.15, -0.7], [-0.35, 2.5, -0.5],
                        [0.0, 2.62, -0.45], [0.35, 2.5, -0.5], [0.7, 2.15, -0.7], [3.0, 2.7, -0.8],
                        [3.5, 5.0, -0.8]])
    return neck, clothes


def rotation(pose: Pose) -> np.ndarray:
    """Camera-from-face rotation R = Rz(roll) Ry(yaw) Rx(pitch) (degrees, image axes y down)."""
    y, p, r = np.radians([pose.yaw, pose.pitch, pose.roll])
    rx = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


@dataclass(frozen=True)
class FaceGeometry:
    """Projected geometry in output-image pixel coordinates (pixel centres at integers).

    landmarks (68, 2); hairline (21, 2); ears (2, 16, 2); neck (4, 2); clothes (9, 2); glasses (52, 2);
    skull: (centre (2,), 2x2 matrix Q) of the hair ellipse {p: (p-c)^T Q (p-c) <= 1};
    irises (2, 2) centres, iris_axes (2, 2, 2) rows = ellipse semi-axis vectors; scale px per face unit;
    depth (68,) camera-space z of the landmarks (larger = nearer).
    """

    landmarks: np.ndarray
    hairline: np.ndarray
    ears: np.ndarray
    neck: np.ndarray
    clothes: np.ndarray
    glasses: np.ndarray
    skull_centre: np.ndarray
    skull_q: np.ndarray
    irises: np.ndarray
    iris_axes: np.ndarray
    scale: float
    depth: np.ndarray


def project_face(ident: Identity, scene: Scene, size: int) -> FaceGeometry:
    """Pose the 3-D face of ``ident`` for ``scene`` and project it into a ``size`` x ``size`` image."""
    rot = rotation(scene.pose)
    lm3 = landmarks_3d(ident, scene.expression)
    neck, clothes = _body()
    eyeballs = np.array([[-ident.eye_x, 0.01, -0.03 - _EYEBALL_RADIUS], [ident.eye_x, 0.01, -0.03 - _EYEBALL_RADIUS]])
    gaze_cam = np.array([scene.gaze[0], scene.gaze[1], 1.0])
    gaze_cam /= np.linalg.norm(gaze_cam)
    irises3 = eyeballs + _EYEBALL_RADIUS * (rot.T @ gaze_cam)
    skull_c = np.array([[0.0, -0.38, -0.85]])
    parts = [lm3, _hairline(ident), _ear(ident, -1), _ear(ident, 1), neck, clothes, _glasses(ident), irises3, skull_c]
    pts = np.concatenate(parts)
    cam = (pts - _PIVOT) @ rot.T + _PIVOT
    persp = _CAMERA_DISTANCE / (_CAMERA_DISTANCE - cam[:, 2])
    scale = _UNITS_TO_IMAGE * size * ident.scale * scene.framing[0]
    xy = cam[:, :2] * persp[:, None] * scale
    eye_mid = xy[36:48].mean(0)
    mouth = xy[[48, 54]].mean(0)
    anchor = np.array([_ANCHOR[0] + scene.framing[1], _ANCHOR[1] + scene.framing[2]]) * size - 0.5
    xy = xy + (anchor - (eye_mid + mouth) / 2)
    splits = np.cumsum([len(p) for p in parts])[:-1]
    lm, hairline, ear_r, ear_l, neck2, clothes2, glasses2, irises, skull = np.split(xy, splits)
    # Skull: ellipsoid silhouette under orthographic projection (Schur complement of the rotated quadric).
    radii = np.array([1.2, 1.22, 1.3]) * ident.hair_volume
    m = rot @ np.diag(1 / radii ** 2) @ rot.T
    q = m[:2, :2] - np.outer(m[:2, 2], m[2, :2]) / m[2, 2]
    q = q / (scale * persp[-1]) ** 2
    # Iris ellipse: radius along the view direction foreshortened by the gaze's z component.
    r_px = IRIS_RADIUS * scale * persp[-3:-1]
    axes = []
    for k in range(2):
        g = rot @ (irises3[k] - eyeballs[k])
        g /= np.linalg.norm(g)
        d = g[:2] / (np.linalg.norm(g[:2]) + 1e-9)
        axes.append([d * r_px[k] * abs(g[2]), np.array([-d[1], d[0]]) * r_px[k]])
    return FaceGeometry(landmarks=lm.astype(np.float32), hairline=hairline, ears=np.stack([ear_r, ear_l]),
                        neck=neck2, clothes=clothes2, glasses=glasses2, skull_centre=skull[0], skull_q=q,
                        irises=irises, iris_axes=np.array(axes), scale=float(scale), depth=cam[:68, 2])
