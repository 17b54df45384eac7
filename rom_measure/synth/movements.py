"""The measured movements: what each one does to the body, and its time course.

Truth angle conventions (degrees, neutral standing = 0, the named movement positive):

* ``hip-flexion``: thigh forward/up relative to the pelvis (a knee raise: the knee
  flexes by the same angle so the shank hangs vertically); ``hip-extension``: thigh
  backwards (knee slightly flexed); ``hip-abduction``: thigh sideways away from the
  midline in the frontal plane. The subject stands on the other leg.
* ``ankle-dorsiflexion`` / ``ankle-plantarflexion``: foot rotation relative to the
  shank (toes up / down), the measured leg held off the floor with hip and knee at
  45 deg so that the shank is vertical.
* ``ankle-lunge``: weight-bearing lunge, foot flat on the floor, the knee moving
  forward over the toes; truth = forward inclination of the shank (ankle -> knee)
  from vertical in the sagittal plane (equal to the ankle dorsiflexion).
* ``neck-flexion`` / ``neck-extension``: head pitch relative to the trunk (chin to
  chest / looking up); ``neck-lateral-flexion``: ear toward the ``side`` shoulder;
  ``neck-rotation``: chin toward the ``side`` shoulder. The rotation is split 40/60
  between the neck and head joints; the truth is the total.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rom_measure.synth.body import BodyModel
from rom_measure.synth.skeleton import JointAngles, Pose, bone_transforms

__all__ = [
    "DEFAULT_PEAK_DEG",
    "MOVEMENTS",
    "PLANES",
    "TRUTH_DEFINITIONS",
    "Trajectory",
    "check_movement",
    "movement_pose",
    "region",
]

MOVEMENTS = (
    "hip-flexion",
    "hip-extension",
    "hip-abduction",
    "ankle-dorsiflexion",
    "ankle-plantarflexion",
    "ankle-lunge",
    "neck-flexion",
    "neck-extension",
    "neck-lateral-flexion",
    "neck-rotation",
)

#: Plane of each movement; sagittal ones are filmed from the side, frontal from the front.
PLANES = {
    "hip-flexion": "sagittal",
    "hip-extension": "sagittal",
    "hip-abduction": "frontal",
    "ankle-dorsiflexion": "sagittal",
    "ankle-plantarflexion": "sagittal",
    "ankle-lunge": "sagittal",
    "neck-flexion": "sagittal",
    "neck-extension": "sagittal",
    "neck-lateral-flexion": "frontal",
    "neck-rotation": "frontal",
}

#: What the truth angle of each movement measures (also written to the truth JSON).
TRUTH_DEFINITIONS = {
    "hip-flexion": "thigh (hip -> knee centre) rotated forward from neutral, pelvis frame",
    "hip-extension": "thigh (hip -> knee centre) rotated backward from neutral, pelvis frame",
    "hip-abduction": "thigh rotated away from the midline in the frontal plane, pelvis frame",
    "ankle-dorsiflexion": "foot rotated toes-up relative to the shank (sagittal)",
    "ankle-plantarflexion": "foot rotated toes-down relative to the shank (sagittal)",
    "ankle-lunge": "shank (ankle -> knee centre) forward inclination from vertical, foot flat",
    "neck-flexion": "head pitched chin-down relative to the trunk (neck 40% + head 60%)",
    "neck-extension": "head pitched chin-up relative to the trunk (neck 40% + head 60%)",
    "neck-lateral-flexion": "head tilted ear toward the `side` shoulder, relative to the trunk",
    "neck-rotation": "head turned chin toward the `side` shoulder, relative to the trunk",
}

#: Typical full range of each movement, used when no peak is given.
DEFAULT_PEAK_DEG = {
    "hip-flexion": 90.0,
    "hip-extension": 20.0,
    "hip-abduction": 35.0,
    "ankle-dorsiflexion": 20.0,
    "ankle-plantarflexion": 40.0,
    "ankle-lunge": 35.0,
    "neck-flexion": 45.0,
    "neck-extension": 50.0,
    "neck-lateral-flexion": 35.0,
    "neck-rotation": 60.0,
}

_NECK_SHARE = 0.4  # of the head-on-trunk rotation done by the neck joint
_LUNGE_HIP_DEG = (15.0, 0.4)  # front hip flexion = a + b * shank inclination
_LUNGE_BACK_M = (0.45, 0.06)  # back ankle: behind and above its standing position
_LUNGE_BACK_FOOT_DEG = 25.0  # back foot pitched toes-down (heel raised)
_ANKLE_LEG_DEG = 45.0  # hip and knee flexion holding the foot off the floor


def region(movement: str) -> str:
    """Body region of a movement: ``hip``, ``ankle`` or ``neck``."""
    check_movement(movement, "left")
    return movement.split("-", 1)[0]


def check_movement(movement: str, side: str | None) -> str:
    """Validate a movement name and side; return the side letter (``l``/``r``)."""
    if movement not in MOVEMENTS:
        raise ValueError(f"unknown movement {movement!r}; expected one of {', '.join(MOVEMENTS)}")
    if side is None and movement in ("neck-flexion", "neck-extension"):
        return "l"
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right' for {movement}, got {side!r}")
    return side[0]


def _split(joint_angles: dict[str, JointAngles], field: str, total: float) -> None:
    joint_angles["neck"] = JointAngles(**{field: _NECK_SHARE * total})
    joint_angles["head"] = JointAngles(**{field: (1.0 - _NECK_SHARE) * total})


def _two_link(l1: float, l2: float, dz: float, dy: float) -> tuple[float, float]:
    """Hip flexion and knee flexion (deg) putting the ankle at (dz forward, dy up) from the hip."""
    d = min(math.hypot(dz, dy), l1 + l2 - 1e-6)
    knee_inner = math.acos(np.clip((l1 * l1 + l2 * l2 - d * d) / (2 * l1 * l2), -1.0, 1.0))
    beta = math.acos(np.clip((l1 * l1 + d * d - l2 * l2) / (2 * l1 * d), -1.0, 1.0))
    phi = math.atan2(dz, -dy)
    return math.degrees(phi + beta), math.degrees(math.pi - knee_inner)


def _lunge(body: BodyModel, s: str, angle: float) -> Pose:
    o = "r" if s == "l" else "l"
    hip = _LUNGE_HIP_DEG[0] + _LUNGE_HIP_DEG[1] * angle
    joints = {
        f"hip_{s}": JointAngles(flexion_deg=hip),
        f"knee_{s}": JointAngles(flexion_deg=hip + angle),
        f"ankle_{s}": JointAngles(flexion_deg=angle),
    }
    heads = body.bone_heads_m
    side_name = "Left" if s == "l" else "Right"
    other_name = "Right" if s == "l" else "Left"
    foot = body.bone(f"{side_name}Foot")
    rot, trans, _ = bone_transforms(body, Pose(joints))
    rest_rot, rest_trans, _ = bone_transforms(body, Pose())
    neutral_ankle = rest_rot[foot] @ heads[foot] + rest_trans[foot]
    offset = neutral_ankle - (rot[foot] @ heads[foot] + trans[foot])
    # back leg: two-link IK to an ankle target behind, foot pitched toes-down
    up, knee, ank = (body.bone(f"{other_name}{b}") for b in ("UpLeg", "Leg", "Foot"))
    p = [rest_rot[i] @ heads[i] + rest_trans[i] for i in (up, knee, ank)]
    hip_now = rot[up] @ heads[up] + trans[up] + offset
    target = p[2] + np.array([0.0, _LUNGE_BACK_M[1], -_LUNGE_BACK_M[0]])
    l1 = float(np.linalg.norm(p[1] - p[0]))
    l2 = float(np.linalg.norm(p[2] - p[1]))
    hip_b, knee_b = _two_link(l1, l2, target[2] - hip_now[2], target[1] - hip_now[1])
    joints[f"hip_{o}"] = JointAngles(flexion_deg=hip_b)
    joints[f"knee_{o}"] = JointAngles(flexion_deg=knee_b)
    joints[f"ankle_{o}"] = JointAngles(flexion_deg=-hip_b + knee_b - _LUNGE_BACK_FOOT_DEG)
    return Pose(joints, tuple(float(x) for x in offset))


def movement_pose(body: BodyModel, movement: str, side: str | None, angle_deg: float) -> Pose:
    """Body pose with the named movement at ``angle_deg`` (truth convention, see module doc).

    Args:
        body: the body model (needed for the lunge's planted foot).
        movement: one of :data:`MOVEMENTS`.
        side: ``left``/``right``: the limb (hip, ankle) or the direction (neck lateral
            flexion, rotation); ignored by neck flexion/extension (None allowed).
        angle_deg: the truth angle.
    """
    s = check_movement(movement, side)
    a = float(angle_deg)
    sign = 1.0 if s == "l" else -1.0
    joints: dict[str, JointAngles] = {}
    if movement == "hip-flexion":
        joints[f"hip_{s}"] = JointAngles(flexion_deg=a)
        joints[f"knee_{s}"] = JointAngles(flexion_deg=max(a, 0.0))
    elif movement == "hip-extension":
        joints[f"hip_{s}"] = JointAngles(flexion_deg=-a)
        joints[f"knee_{s}"] = JointAngles(flexion_deg=0.4 * max(a, 0.0))
    elif movement == "hip-abduction":
        joints[f"hip_{s}"] = JointAngles(abduction_deg=a)
    elif movement in ("ankle-dorsiflexion", "ankle-plantarflexion"):
        joints[f"hip_{s}"] = JointAngles(flexion_deg=_ANKLE_LEG_DEG)
        joints[f"knee_{s}"] = JointAngles(flexion_deg=_ANKLE_LEG_DEG)
        dorsi = a if movement == "ankle-dorsiflexion" else -a
        joints[f"ankle_{s}"] = JointAngles(flexion_deg=dorsi)
    elif movement == "ankle-lunge":
        return _lunge(body, s, a)
    elif movement == "neck-flexion":
        _split(joints, "flexion_deg", a)
    elif movement == "neck-extension":
        _split(joints, "flexion_deg", -a)
    elif movement == "neck-lateral-flexion":
        _split(joints, "abduction_deg", sign * a)
    else:  # neck-rotation
        _split(joints, "rotation_deg", sign * a)
    return Pose(joints)


@dataclass(frozen=True)
class Trajectory:
    """Time course of the truth angle: still, cosine ramp up, hold, ramp down, repeat, still.

    Attributes:
        peak_deg: angle at the top of each repetition.
        repetitions: number of up-hold-down cycles.
        still_s: neutral time at the start and at the end.
        ramp_s: duration of each ramp (up or down).
        hold_s: time held at the peak.
        rest_s: neutral time between repetitions.
        peaks_deg: optional peak of each repetition (else ``peak_deg`` for all).
    """

    peak_deg: float
    repetitions: int = 1
    still_s: float = 0.8
    ramp_s: float = 1.2
    hold_s: float = 0.5
    rest_s: float = 0.4
    peaks_deg: tuple[float, ...] = ()

    @property
    def cycle_s(self) -> float:
        """Duration of one repetition (ramps and hold)."""
        return 2.0 * self.ramp_s + self.hold_s

    @property
    def duration_s(self) -> float:
        """Total duration."""
        reps = max(int(self.repetitions), 0)
        return 2.0 * self.still_s + reps * self.cycle_s + max(reps - 1, 0) * self.rest_s

    def angle_at(self, time_s: float) -> float:
        """Truth angle (deg) at ``time_s``."""
        t = time_s - self.still_s
        period = self.cycle_s + self.rest_s
        if t < 0 or self.repetitions <= 0:
            return 0.0
        rep = int(t // period)
        if rep >= self.repetitions:
            return 0.0
        u = t - rep * period
        if u < self.ramp_s:
            frac = u / self.ramp_s
        elif u < self.ramp_s + self.hold_s:
            frac = 1.0
        elif u < self.cycle_s:
            frac = (self.cycle_s - u) / self.ramp_s
        else:
            frac = 0.0
        peak = self.peaks_deg[rep] if rep < len(self.peaks_deg) else self.peak_deg
        return peak * 0.5 * (1.0 - math.cos(math.pi * frac))
