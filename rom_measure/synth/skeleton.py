"""Anatomical posing and linear-blend skinning of the body.

Every joint has anatomical axes fixed to its parent segment, which in the neutral
standing posture coincide with the body frame (x = subject's left, y = up,
z = forward). A joint's local rotation is ``Rx(flexion) @ Rz(abduction) @ Ry(rotation)``
(signs chosen per joint so that the named movement is positive, see
:data:`JOINTS`), and a segment's orientation is its parent's orientation times its
local rotation, applied about the joint centre (the bone head).

The mesh's rest pose (an A-pose with the legs apart) is first brought to the neutral
standing posture by fixed per-bone corrections (thighs and shanks vertical, arms
hanging at the sides); neutral is the zero of every angle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from rom_measure.synth.body import BodyModel

__all__ = [
    "JOINTS",
    "JointAngles",
    "Pose",
    "PosedBody",
    "bone_transforms",
    "local_rotation",
    "neutral_corrections",
    "pose_body",
    "rotation_about",
    "rotation_x",
    "rotation_y",
    "rotation_z",
]


def rotation_x(deg: float) -> np.ndarray:
    """Right-handed rotation about the x axis by ``deg`` degrees."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rotation_y(deg: float) -> np.ndarray:
    """Right-handed rotation about the y axis by ``deg`` degrees."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rotation_z(deg: float) -> np.ndarray:
    """Right-handed rotation about the z axis by ``deg`` degrees."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotation_about(axis: np.ndarray, deg: float) -> np.ndarray:
    """Right-handed rotation about a unit ``axis`` by ``deg`` degrees (Rodrigues)."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    k = np.array([[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]])
    t = np.radians(deg)
    return np.eye(3) + np.sin(t) * k + (1.0 - np.cos(t)) * (k @ k)


def _aim(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Smallest rotation taking direction ``src`` to direction ``dst``."""
    a = src / np.linalg.norm(src)
    b = dst / np.linalg.norm(dst)
    axis = np.cross(a, b)
    s = np.linalg.norm(axis)
    if s < 1e-12:
        return np.eye(3)
    return rotation_about(axis / s, np.degrees(np.arctan2(s, float(np.dot(a, b)))))


@dataclass(frozen=True)
class _Joint:
    bone: str
    # sign of (flexion about x, abduction about z, rotation about y) for a left joint;
    # a right joint flips the abduction and rotation signs.
    signs: tuple[float, float, float]
    lateral: bool  # True: side-dependent (hip, knee, ...); False: midline (neck, head)


#: Anatomical joints: name -> bone and sign conventions. Positive angles mean:
#: hip/shoulder flexion = segment forward, abduction = away from the midline,
#: rotation = internal; knee flexion = heel back; ankle flexion = dorsiflexion (toes
#: up); elbow flexion = forearm forward/up; neck/head/trunk flexion = chin to chest,
#: abduction = lateral flexion to the subject's LEFT, rotation = turn to the LEFT.
JOINTS: dict[str, _Joint] = {
    "pelvis": _Joint("Hips", (1.0, -1.0, 1.0), False),
    "spine": _Joint("Spine", (1.0, -1.0, 1.0), False),
    "chest": _Joint("Spine1", (1.0, -1.0, 1.0), False),
    "upper_chest": _Joint("Spine2", (1.0, -1.0, 1.0), False),
    "neck": _Joint("Neck", (1.0, -1.0, 1.0), False),
    "head": _Joint("Head", (1.0, -1.0, 1.0), False),
}
for _side, _prefix in (("l", "Left"), ("r", "Right")):
    JOINTS[f"hip_{_side}"] = _Joint(f"{_prefix}UpLeg", (-1.0, 1.0, -1.0), True)
    JOINTS[f"knee_{_side}"] = _Joint(f"{_prefix}Leg", (1.0, 0.0, -1.0), True)
    JOINTS[f"ankle_{_side}"] = _Joint(f"{_prefix}Foot", (-1.0, 1.0, -1.0), True)
    JOINTS[f"shoulder_{_side}"] = _Joint(f"{_prefix}Arm", (-1.0, 1.0, -1.0), True)
    JOINTS[f"elbow_{_side}"] = _Joint(f"{_prefix}ForeArm", (-1.0, 0.0, -1.0), True)


@dataclass(frozen=True)
class JointAngles:
    """Anatomical angles of one joint, degrees (see :data:`JOINTS` for the signs)."""

    flexion_deg: float = 0.0
    abduction_deg: float = 0.0
    rotation_deg: float = 0.0


def local_rotation(joint: str, angles: JointAngles) -> np.ndarray:
    """Rotation of a joint's child segment relative to its parent, in the parent's axes."""
    spec = JOINTS[joint]
    fx, fz, fy = spec.signs
    if spec.lateral and joint.endswith("_r"):
        fz, fy = -fz, -fy
    return (
        rotation_x(fx * angles.flexion_deg)
        @ rotation_z(fz * angles.abduction_deg)
        @ rotation_y(fy * angles.rotation_deg)
    )


@dataclass(frozen=True)
class Pose:
    """A body pose: joint angles (missing joints are neutral) and a root translation.

    Attributes:
        joints: joint name (key of :data:`JOINTS`) -> anatomical angles.
        root_offset_m: translation of the whole body in the world frame, metres (on top
            of the small lift that puts the neutral posture's soles on the floor).
    """

    joints: Mapping[str, JointAngles] = field(default_factory=dict)
    root_offset_m: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class PosedBody:
    """Result of posing: skinned vertices and per-bone rigid transforms (world frame).

    Attributes:
        vertices_m: (n, 3) skinned vertices, metres.
        rotations: (b, 3, 3) world rotation of each bone (rest geometry -> posed).
        translations_m: (b, 3) so that ``p_posed = R @ p_rest + t`` for bone-rigid points.
        anatomical: (b, 3, 3) world orientation of each bone's anatomical frame
            (identity in the neutral posture).
        joint_centres_m: (b, 3) posed bone heads.
    """

    vertices_m: np.ndarray
    rotations: np.ndarray
    translations_m: np.ndarray
    anatomical: np.ndarray
    joint_centres_m: np.ndarray


def _neutral_corrections(body: BodyModel) -> np.ndarray:
    """Per-bone rotation (about the bone head) from the mesh's rest pose to neutral."""
    names = body.bone_names
    heads = body.bone_heads_m
    q = np.tile(np.eye(3), (len(names), 1, 1))
    targets: dict[str, tuple[str, np.ndarray]] = {}
    for prefix, sign in (("Left", 1.0), ("Right", -1.0)):
        down = np.array([0.0, -1.0, 0.0])
        targets[f"{prefix}UpLeg"] = (f"{prefix}Leg", down)
        targets[f"{prefix}Leg"] = (f"{prefix}Foot", down)
        arm = np.array([sign * np.sin(np.radians(7.0)), -np.cos(np.radians(7.0)), 0.0])
        fore = np.array([sign * 0.10, -1.0, 0.16])
        targets[f"{prefix}Arm"] = (f"{prefix}ForeArm", arm)
        targets[f"{prefix}ForeArm"] = (f"{prefix}Hand", fore)
    for i, name in enumerate(names):
        parent = body.bone_parents[i]
        if name in targets:
            child, direction = targets[name]
            q[i] = _aim(heads[body.bone(child)] - heads[i], direction)
        elif parent >= 0:
            q[i] = q[parent]
    return q


_NEUTRAL: dict[int, tuple[BodyModel, np.ndarray, float]] = {}


def _neutral(body: BodyModel) -> tuple[np.ndarray, float]:
    """Per-bone neutral corrections and the lift putting the neutral soles on the floor."""
    key = id(body)
    if key not in _NEUTRAL or _NEUTRAL[key][0] is not body:
        q = _neutral_corrections(body)
        _NEUTRAL[key] = (body, q, 0.0)
        lowest = pose_body(body, Pose()).vertices_m[:, 1].min()
        _NEUTRAL[key] = (body, q, -float(lowest))
    return _NEUTRAL[key][1], _NEUTRAL[key][2]


def neutral_corrections(body: BodyModel) -> np.ndarray:
    """Rotations (b, 3, 3) from the mesh's rest pose to neutral standing, per bone."""
    return _neutral(body)[0]


def bone_transforms(body: BodyModel, pose: Pose) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World transforms of every bone for ``pose``.

    Returns:
        (rotations (b,3,3), translations (b,3), anatomical frames (b,3,3)); a rest
        point p rigidly attached to bone i goes to ``rotations[i] @ p + translations[i]``.
    """
    q, lift = _neutral(body)
    n = len(body.bone_names)
    local = np.tile(np.eye(3), (n, 1, 1))
    for joint, angles in pose.joints.items():
        local[body.bone(JOINTS[joint].bone)] = local_rotation(joint, angles)
    frames = np.empty((n, 3, 3))
    rot = np.empty((n, 3, 3))
    trans = np.empty((n, 3))
    heads = body.bone_heads_m
    offset = np.asarray(pose.root_offset_m, dtype=np.float64) + np.array([0.0, lift, 0.0])
    for i in range(n):  # parents come first
        parent = body.bone_parents[i]
        if parent < 0:
            frames[i] = local[i]
            head = heads[i] + offset
        else:
            frames[i] = frames[parent] @ local[i]
            head = rot[parent] @ heads[i] + trans[parent]
        rot[i] = frames[i] @ q[i]
        trans[i] = head - rot[i] @ heads[i]
    return rot, trans, frames


def pose_body(body: BodyModel, pose: Pose) -> PosedBody:
    """Pose and skin the body (linear-blend skinning)."""
    rot, trans, frames = bone_transforms(body, pose)
    mats = np.concatenate([rot.reshape(-1, 9), trans], axis=1).astype(np.float32)
    blended = body.weights @ mats  # (n, 12)
    v = body.vertices_m.astype(np.float32)
    m = blended[:, :9].reshape(-1, 3, 3)
    verts = np.einsum("nij,nj->ni", m, v) + blended[:, 9:]
    centres = np.einsum("bij,bj->bi", rot, body.bone_heads_m) + trans
    return PosedBody(
        vertices_m=verts.astype(np.float64),
        rotations=rot,
        translations_m=trans,
        anatomical=frames,
        joint_centres_m=centres,
    )
