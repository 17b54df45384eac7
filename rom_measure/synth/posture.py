"""Postures: standing (the default) or seated on a chair (for the neck movements).

Seated = both hips and knees flexed 90 deg (thighs horizontal, shanks vertical, feet
flat on the floor), hands resting beside the thighs, the trunk upright, and the body
lowered so that the soles touch the floor. The chair (seat, four legs, backrest and
its two posts, plain boxes) is built from the seated mesh: the seat top under the
thighs, the backrest just behind the lower back. The neck program is unchanged, so a
neck clip's truth angles are the same standing or seated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from rom_measure.synth.body import MATERIALS, BodyModel
from rom_measure.synth.skeleton import JointAngles, Pose, pose_body

__all__ = [
    "POSTURES",
    "Mesh",
    "Seated",
    "check_posture",
    "posture_drop_m",
    "posture_pose",
    "seated",
]

POSTURES = ("standing", "seated")

#: Joint angles of the seated posture (added to a neck movement's joints).
SEATED_JOINTS: dict[str, JointAngles] = {}
for _s in ("l", "r"):
    SEATED_JOINTS[f"hip_{_s}"] = JointAngles(flexion_deg=90.0)
    SEATED_JOINTS[f"knee_{_s}"] = JointAngles(flexion_deg=90.0)
    SEATED_JOINTS[f"shoulder_{_s}"] = JointAngles(flexion_deg=10.0, abduction_deg=-4.0)
    SEATED_JOINTS[f"elbow_{_s}"] = JointAngles(flexion_deg=45.0)

_SEAT_HALF_WIDTH_M = 0.23
_SEAT_THICKNESS_M = 0.04
_LEG_M = 0.035  # square section of the legs and backrest posts
_BACKREST_M = (0.16, 0.50, 0.025)  # bottom and top above the seat top, thickness
_CHAIR = MATERIALS.index("chair")


def check_posture(posture: str, movement: str) -> None:
    """Raise ValueError unless ``posture`` is known and allowed for ``movement``."""
    if posture not in POSTURES:
        raise ValueError(f"unknown posture {posture!r}; expected one of {', '.join(POSTURES)}")
    if posture == "seated" and not movement.startswith("neck-"):
        raise ValueError(f"posture 'seated' is for the neck movements only, not {movement}")


class Mesh(NamedTuple):
    """A renderable mesh (the fields of :class:`BodyModel` the renderer reads)."""

    vertices_m: np.ndarray
    faces: np.ndarray
    material: np.ndarray
    split_field: np.ndarray
    split_inside: np.ndarray
    split_outside: np.ndarray

    @classmethod
    def of(cls, body: BodyModel) -> Mesh:
        """The body's rest mesh."""
        return cls(body.vertices_m, body.faces, body.material, body.split_field,
                   body.split_inside, body.split_outside)  # fmt: skip

    @classmethod
    def plain(cls, vertices_m: np.ndarray, faces: np.ndarray, material: int) -> Mesh:
        """A mesh of one material (no material boundary)."""
        n = len(vertices_m)
        ids = np.full(n, material, dtype=np.uint8)
        return cls(vertices_m, faces.astype(np.int32), ids, np.full(n, -1.0, np.float32), ids, ids)


def box(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An axis-aligned box: 24 vertices (flat-shaded faces), 12 outward triangles."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    verts, faces = [], []
    for axis in range(3):
        u, v = (axis + 1) % 3, (axis + 2) % 3
        for sign, value in ((-1.0, lo[axis]), (1.0, hi[axis])):
            quad = []
            for a, b in ((0, 0), (1, 0), (1, 1), (0, 1)):
                p = np.empty(3)
                p[axis] = value
                p[u] = (lo[u], hi[u])[a]
                p[v] = (lo[v], hi[v])[b]
                quad.append(p)
            k = len(verts)
            verts.extend(quad)
            # (u, v, axis) is right-handed: counter-clockwise seen from +axis
            tri = [(k, k + 1, k + 2), (k, k + 2, k + 3)]
            faces.extend(tri if sign > 0 else [(i, c, b) for i, b, c in tri])
    return np.array(verts), np.array(faces, dtype=np.int32)


def _boxes(parts: list[tuple[np.ndarray, np.ndarray]]) -> Mesh:
    verts, faces = [], []
    for lo, hi in parts:
        v, f = box(lo, hi)
        faces.append(f + sum(len(x) for x in verts))
        verts.append(v)
    return Mesh.plain(np.concatenate(verts), np.concatenate(faces), _CHAIR)


@dataclass(frozen=True)
class Seated:
    """The seated posture of one body and its chair (world frame, metres).

    Attributes:
        joints: joint angles of the posture.
        offset_m: root translation putting the seated soles on the floor.
        seat_height_m: height of the seat top.
        seat_z_m: (back, front) edges of the seat along z.
        chair: the chair mesh (static).
    """

    joints: dict[str, JointAngles]
    offset_m: tuple[float, float, float]
    seat_height_m: float
    seat_z_m: tuple[float, float]
    chair: Mesh


_SEATED: dict[int, tuple[BodyModel, Seated]] = {}


def seated(body: BodyModel) -> Seated:
    """The seated posture and chair fitted to ``body`` (memoised per body)."""
    key = id(body)
    if key in _SEATED and _SEATED[key][0] is body:
        return _SEATED[key][1]
    v = pose_body(body, Pose(SEATED_JOINTS)).vertices_m
    offset = np.array([0.0, -float(v[:, 1].min()), 0.0])
    v = v + offset
    dominant = np.argmax(body.weights, axis=1)
    thighs = np.isin(dominant, [body.bone("LeftUpLeg"), body.bone("RightUpLeg")])
    trunk = np.isin(dominant, [body.bone(b) for b in ("Hips", "Spine", "Spine1")])
    knee_z = float(v[thighs, 2].max())
    back_z = float(v[trunk | thighs, 2].min())
    mid = thighs & (v[:, 2] > back_z + 0.25 * (knee_z - back_z))
    mid &= v[:, 2] < back_z + 0.75 * (knee_z - back_z)
    seat_y = float(v[mid, 1].min())
    front = knee_z - 0.09
    w, t, leg = _SEAT_HALF_WIDTH_M, _SEAT_THICKNESS_M, _LEG_M
    rest_lo, rest_hi, rest_t = seat_y + _BACKREST_M[0], seat_y + _BACKREST_M[1], _BACKREST_M[2]
    lumbar = trunk & (v[:, 1] > seat_y + _BACKREST_M[0]) & (v[:, 1] < seat_y + _BACKREST_M[1])
    rest_z = min(float(v[lumbar, 2].min()) if lumbar.any() else back_z, back_z) - 0.01
    parts = [(np.array([-w, seat_y - t, rest_z - rest_t]), np.array([w, seat_y, front]))]
    for x in (-w, w - leg):
        parts.append((np.array([x, 0.0, front - leg]), np.array([x + leg, seat_y - t, front])))
        parts.append((np.array([x, 0.0, rest_z - rest_t]), np.array([x + leg, rest_hi, rest_z])))
    parts.append((np.array([-w, rest_lo, rest_z - rest_t]), np.array([w, rest_hi, rest_z])))
    result = Seated(
        dict(SEATED_JOINTS),
        (0.0, float(offset[1]), 0.0),
        seat_y,
        (rest_z - rest_t, front),
        _boxes(parts),
    )
    _SEATED[key] = (body, result)
    return result


def posture_pose(body: BodyModel, posture: str, pose: Pose) -> Pose:
    """``pose`` (a movement's) in ``posture``: the posture's joints under the movement's."""
    if posture == "standing":
        return pose
    s = seated(body)
    offset = tuple(a + b for a, b in zip(pose.root_offset_m, s.offset_m, strict=True))
    return Pose({**s.joints, **pose.joints}, offset)


def posture_drop_m(body: BodyModel, posture: str) -> float:
    """How far the head is lower than standing (0 standing)."""
    return 0.0 if posture == "standing" else -seated(body).offset_m[1]
