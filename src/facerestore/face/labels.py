"""Conventions shared by every module that touches faces.

Landmarks: 68 points in iBUG 300-W order, float (x, y) pixel coordinates where pixel centres are at
integer positions. Left/right are the *subject's*, as in 300-W (points 36-41 are the subject's right
eye, which appears on the image's left in a frontal face).
Parsing labels: one multi-class map, int64 HxW.
"""
from __future__ import annotations

# Landmark index groups (iBUG 300-W, 0-based).
JAW = tuple(range(0, 17))
RIGHT_BROW = tuple(range(17, 22))
LEFT_BROW = tuple(range(22, 27))
NOSE_BRIDGE = tuple(range(27, 31))
NOSE_LOWER = tuple(range(31, 36))
NOSE = NOSE_BRIDGE + NOSE_LOWER
RIGHT_EYE = tuple(range(36, 42))
LEFT_EYE = tuple(range(42, 48))
OUTER_MOUTH = tuple(range(48, 60))
INNER_MOUTH = tuple(range(60, 68))
MOUTH = OUTER_MOUTH + INNER_MOUTH
NUM_LANDMARKS = 68

# Multi-class parsing labels.
BACKGROUND = 0
SKIN = 1
RIGHT_BROW_LABEL = 2
LEFT_BROW_LABEL = 3
RIGHT_EYE_LABEL = 4
LEFT_EYE_LABEL = 5
NOSE_LABEL = 6
UPPER_LIP = 7
INNER_MOUTH_LABEL = 8
LOWER_LIP = 9
HAIR = 10
PARSING_NAMES = (
    "background", "skin", "right_brow", "left_brow", "right_eye", "left_eye",
    "nose", "upper_lip", "inner_mouth", "lower_lip", "hair",
)
NUM_PARSING_LABELS = len(PARSING_NAMES)

# Horizontal flip: point i of a mirrored face is point MIRROR_68[i] of the original (x -> W - 1 - x);
# parsing label l of a mirrored map is MIRROR_LABELS[l] (right/left brows and eyes swap).
MIRROR_68 = (tuple(range(16, -1, -1)) + tuple(range(26, 16, -1)) + NOSE_BRIDGE + tuple(range(35, 30, -1))
             + (45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40)
             + (54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55) + (64, 63, 62, 61, 60, 67, 66, 65))
MIRROR_LABELS = (BACKGROUND, SKIN, LEFT_BROW_LABEL, RIGHT_BROW_LABEL, LEFT_EYE_LABEL, RIGHT_EYE_LABEL,
                 NOSE_LABEL, UPPER_LIP, INNER_MOUTH_LABEL, LOWER_LIP, HAIR)
