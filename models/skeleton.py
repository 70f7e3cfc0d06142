"""The project's one skeleton definition and the adapters that bring each sensor into it.

Canonical skeleton: 20 joints in Kinect v1 (NUI_SKELETON_POSITION_*) order, metres,
right-handed axes with

* ``y`` up,
* ``x`` toward the subject's **right** when the subject faces the camera
  (the Kinect datasets' convention: joints named *Right* have the larger ``x``),
* ``z`` away from the camera (so a subject facing the camera looks toward ``-z``).

Everything downstream (windows, the encoder, HumanMAC, the bus) speaks this layout only.
This module is numpy-only so that ``pose_frontend`` can use it without torch.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

JOINT_NAMES: tuple[str, ...] = (
    "HipCenter",
    "Spine",
    "ShoulderCenter",
    "Head",
    "ShoulderLeft",
    "ElbowLeft",
    "WristLeft",
    "HandLeft",
    "ShoulderRight",
    "ElbowRight",
    "WristRight",
    "HandRight",
    "HipLeft",
    "KneeLeft",
    "AnkleLeft",
    "FootLeft",
    "HipRight",
    "KneeRight",
    "AnkleRight",
    "FootRight",
)
NUM_JOINTS = len(JOINT_NAMES)
J = {name: i for i, name in enumerate(JOINT_NAMES)}

# Parent of each joint in the kinematic tree (HipCenter is the root).
PARENTS: tuple[int, ...] = (
    -1,  # HipCenter
    0,  # Spine
    1,  # ShoulderCenter
    2,  # Head
    2,  # ShoulderLeft
    4,  # ElbowLeft
    5,  # WristLeft
    6,  # HandLeft
    2,  # ShoulderRight
    8,  # ElbowRight
    9,  # WristRight
    10,  # HandRight
    0,  # HipLeft
    12,  # KneeLeft
    13,  # AnkleLeft
    14,  # FootLeft
    0,  # HipRight
    16,  # KneeRight
    17,  # AnkleRight
    18,  # FootRight
)
BONES: tuple[tuple[int, int], ...] = tuple((p, c) for c, p in enumerate(PARENTS) if p >= 0)

# Left/right joint pairs: used for mirroring and for handedness checks.
LEFT_RIGHT_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (J[name], J[name.replace("Left", "Right")]) for name in JOINT_NAMES if name.endswith("Left")
)

ROOT = J["HipCenter"]
TORSO = (J["HipCenter"], J["ShoulderCenter"])

Layout = Literal["kinect_v1", "kinect_v2", "msr_action3d", "mediapipe33", "smpl24"]
LAYOUT_JOINTS: dict[Layout, int] = {  # every Layout: the CLI offers Layout, the loader reads these
    "kinect_v1": 20,
    "kinect_v2": 25,
    "msr_action3d": 20,
    "mediapipe33": 33,
    "smpl24": 24,
}


def adjacency(self_loops: bool = True) -> np.ndarray:
    """Symmetric (J, J) 0/1 adjacency of the canonical skeleton."""
    a = np.zeros((NUM_JOINTS, NUM_JOINTS), dtype=np.float32)
    for p, c in BONES:
        a[p, c] = a[c, p] = 1.0
    if self_loops:
        a += np.eye(NUM_JOINTS, dtype=np.float32)
    return a


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """Bone lengths of canonical poses: ``(..., 20, 3)`` -> ``(..., 19)`` in the input's units."""
    parents = np.array([p for p, _ in BONES])
    children = np.array([c for _, c in BONES])
    return np.linalg.norm(joints[..., children, :] - joints[..., parents, :], axis=-1)


def with_bone_lengths(joints: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Poses ``(..., 20, 3)`` rebuilt from the root outwards with each bone's direction kept and its
    length set to ``lengths`` ``(..., 19)`` (broadcast against the poses' leading axes)."""
    out = np.array(joints, copy=True)
    lengths = np.asarray(lengths)
    for b, (p, c) in enumerate(BONES):  # BONES lists every parent before its children
        d = joints[..., c, :] - joints[..., p, :]
        norm = np.linalg.norm(d, axis=-1, keepdims=True)
        out[..., c, :] = out[..., p, :] + d / np.maximum(norm, 1e-9) * lengths[..., b, None]
    return out


def torso_length(joints: np.ndarray) -> np.ndarray:
    """HipCenter -> ShoulderCenter distance: ``(..., 20, 3)`` -> ``(...)``."""
    d = joints[..., TORSO[1], :] - joints[..., TORSO[0], :]
    return np.sqrt(np.einsum("...i,...i->...", d, d))  # norm over xyz; np.linalg.norm is 2x slower here


def mirror(joints: np.ndarray) -> np.ndarray:
    """Left/right mirror image of canonical poses (x negated, left and right joints swapped)."""
    out = joints.copy()
    out[..., 0] = -out[..., 0]
    for left, right in LEFT_RIGHT_PAIRS:
        out[..., [left, right], :] = out[..., [right, left], :]
    return out


# --- adapters -----------------------------------------------------------------------------------

# MSR Action3D order (0-based) feeding each canonical joint.
_MSR_TO_CANONICAL = np.array([6, 3, 2, 19, 0, 7, 9, 11, 1, 8, 10, 12, 4, 13, 15, 17, 5, 14, 16, 18])

# SMPL 24 order (0-based) feeding each canonical joint. SMPL's neck (12) sits at the base of the
# neck, which is where Kinect v1 puts ShoulderCenter.
_SMPL_TO_CANONICAL = np.array([0, 3, 12, 15, 16, 18, 20, 22, 17, 19, 21, 23, 1, 4, 7, 10, 2, 5, 8, 11])

# MediaPipe Pose landmark indices.
_MP = {
    "l_ear": 7,
    "r_ear": 8,
    "l_shoulder": 11,
    "r_shoulder": 12,
    "l_elbow": 13,
    "r_elbow": 14,
    "l_wrist": 15,
    "r_wrist": 16,
    "l_pinky": 17,
    "r_pinky": 18,
    "l_index": 19,
    "r_index": 20,
    "l_hip": 23,
    "r_hip": 24,
    "l_knee": 25,
    "r_knee": 26,
    "l_ankle": 27,
    "r_ankle": 28,
    "l_foot": 31,
    "r_foot": 32,
}
# Kinect v1 places HipCenter above the line between the hips and Spine a little above HipCenter.
# Fractions measured on Kinder-Gator (median over 194k frames): HipCenter sits 0.15 of the way from
# the hip midpoint to the shoulder midpoint; Spine sits 0.19 of the way from HipCenter to
# ShoulderCenter.
HIP_CENTER_LIFT = 0.15
SPINE_FRACTION = 0.19


def _check_shape(joints: np.ndarray, layout: Layout) -> np.ndarray:
    arr = np.asarray(joints, dtype=np.float32)
    n = LAYOUT_JOINTS[layout]
    if arr.ndim < 2 or arr.shape[-2:] != (n, 3):
        raise ValueError(f"{layout} skeletons must have shape (..., {n}, 3); got {arr.shape}")
    return arr


def from_kinect_v1(joints: np.ndarray) -> np.ndarray:
    """Kinect v1 / Kinder-Gator / UTKinect camera space is already canonical (copied, float32)."""
    return _check_shape(joints, "kinect_v1").copy()


# Kinect v2 (NTU RGB+D) has v1's joints at v1's indices but for ShoulderCenter, which is its
# SpineShoulder (20), not its Neck (2); its hand tips and thumbs (21-24) have no v1 joint.
_KINECT_V2_TO_CANONICAL = [0, 1, 20, 3, *range(4, 20)]


def from_kinect_v2(joints: np.ndarray) -> np.ndarray:
    """Kinect v2 camera space (25 joints, the same axes as v1) -> canonical."""
    return _check_shape(joints, "kinect_v2")[..., _KINECT_V2_TO_CANONICAL, :].copy()


def from_msr_action3d(joints: np.ndarray) -> np.ndarray:
    """MSR Action3D real-world skeletons (its own joint order, y up, right at larger x)."""
    return _check_shape(joints, "msr_action3d")[..., _MSR_TO_CANONICAL, :].copy()


def from_smpl24(joints: np.ndarray) -> np.ndarray:
    """SMPL 24-joint positions (SMPL body frame: y up, x toward the body's left, z forward).

    The joint mapping follows the SMPL kinematic tree; the axis convention is SMPL's own and could
    not be checked on real data here (HumanAct12 is not available), so a source with other axes must
    be rotated into SMPL's frame first.
    """
    arr = _check_shape(joints, "smpl24")[..., _SMPL_TO_CANONICAL, :].copy()
    arr[..., 0] = -arr[..., 0]  # SMPL +x is the body's left; canonical +x is its right
    arr[..., 2] = -arr[..., 2]  # SMPL +z is forward; canonical forward is -z
    return arr


def from_mediapipe33(landmarks: np.ndarray) -> np.ndarray:
    """MediaPipe Pose world landmarks -> canonical.

    MediaPipe world landmarks are metres, hip-centred, ``x`` toward image right (the subject's
    left when facing the camera), ``y`` down, ``z`` away from the camera. Canonical is ``(-x, -y, z)``
    (two flips keep the frame right-handed). Joints MediaPipe lacks are synthesised: HipCenter and
    Spine on the hip-to-shoulder line (Kinect v1 proportions), ShoulderCenter between the shoulders,
    Head between the ears, each Hand between the index and pinky knuckles.
    """
    mp = _check_shape(landmarks, "mediapipe33")
    p = np.empty(mp.shape[:-2] + (NUM_JOINTS, 3), dtype=np.float32)

    def lm(name: str) -> np.ndarray:
        return mp[..., _MP[name], :]

    p[..., J["Head"], :] = 0.5 * (lm("l_ear") + lm("r_ear"))
    for side, s in (("Left", "l"), ("Right", "r")):
        p[..., J[f"Shoulder{side}"], :] = lm(f"{s}_shoulder")
        p[..., J[f"Elbow{side}"], :] = lm(f"{s}_elbow")
        p[..., J[f"Wrist{side}"], :] = lm(f"{s}_wrist")
        p[..., J[f"Hand{side}"], :] = 0.5 * (lm(f"{s}_index") + lm(f"{s}_pinky"))
        p[..., J[f"Hip{side}"], :] = lm(f"{s}_hip")
        p[..., J[f"Knee{side}"], :] = lm(f"{s}_knee")
        p[..., J[f"Ankle{side}"], :] = lm(f"{s}_ankle")
        p[..., J[f"Foot{side}"], :] = lm(f"{s}_foot")
    rebuild_trunk(p)
    p[..., 0] *= -1.0
    p[..., 1] *= -1.0
    return p


def rebuild_trunk(p: np.ndarray) -> np.ndarray:
    """Set HipCenter, Spine and ShoulderCenter of ``(..., 20, 3)`` in place from the hips and
    shoulders, as a skeleton from MediaPipe (which has no such points) gets them; returns ``p``."""
    mid_hip = 0.5 * (p[..., J["HipLeft"], :] + p[..., J["HipRight"], :])
    mid_shoulder = 0.5 * (p[..., J["ShoulderLeft"], :] + p[..., J["ShoulderRight"], :])
    hip_center = mid_hip + HIP_CENTER_LIFT * (mid_shoulder - mid_hip)
    p[..., J["HipCenter"], :] = hip_center
    p[..., J["Spine"], :] = hip_center + SPINE_FRACTION * (mid_shoulder - hip_center)
    p[..., J["ShoulderCenter"], :] = mid_shoulder
    return p


def mediapipe_visibility(visibility: np.ndarray) -> np.ndarray:
    """Per-landmark visibility ``(..., 33)`` -> per-canonical-joint visibility ``(..., 20)``.

    A synthesised joint is as visible as the least visible landmark it is built from.
    """
    v = np.asarray(visibility, dtype=np.float32)
    if v.shape[-1] != 33:
        raise ValueError(f"MediaPipe visibility must have 33 entries per frame; got {v.shape}")
    sources: dict[str, tuple[str, ...]] = {
        "HipCenter": ("l_hip", "r_hip", "l_shoulder", "r_shoulder"),
        "Spine": ("l_hip", "r_hip", "l_shoulder", "r_shoulder"),
        "ShoulderCenter": ("l_shoulder", "r_shoulder"),
        "Head": ("l_ear", "r_ear"),
    }
    for side, s in (("Left", "l"), ("Right", "r")):
        for part in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "foot"):
            sources[f"{part.capitalize()}{side}"] = (f"{s}_{part}",)
        sources[f"Hand{side}"] = (f"{s}_index", f"{s}_pinky")
    out = np.empty(v.shape[:-1] + (NUM_JOINTS,), dtype=np.float32)
    for name, lms in sources.items():
        out[..., J[name]] = np.min(np.stack([v[..., _MP[m]] for m in lms], axis=-1), axis=-1)
    return out


_ADAPTERS = {
    "kinect_v1": from_kinect_v1,
    "kinect_v2": from_kinect_v2,
    "msr_action3d": from_msr_action3d,
    "mediapipe33": from_mediapipe33,
    "smpl24": from_smpl24,
}


def to_canonical(joints: np.ndarray, layout: Layout) -> np.ndarray:
    """Convert ``(..., N, 3)`` joints of a named layout to canonical ``(..., 20, 3)`` float32."""
    try:
        adapter = _ADAPTERS[layout]
    except KeyError:
        raise ValueError(f"unknown joint layout {layout!r}; known: {sorted(_ADAPTERS)}") from None
    return adapter(joints)
