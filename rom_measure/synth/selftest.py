"""Self-test of the synthetic body: do the commanded movements do what they claim?

Everything is measured from posed 3D positions (joint centres and points carried
rigidly by bones), never from the commanded numbers: the angle of the moving segment
in the movement's plane must equal the commanded truth angle (within
:data:`TOLERANCE_DEG`), the motion must go the anatomically right way, the planted
foot must stay put.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from rom_measure.synth.body import BodyModel, load_body
from rom_measure.synth.movements import DEFAULT_PEAK_DEG, MOVEMENTS, movement_pose
from rom_measure.synth.skeleton import PosedBody, pose_body

__all__ = ["TOLERANCE_DEG", "run_selftest"]

TOLERANCE_DEG = 0.5
_PLANTED_M = 0.002


class _Points:
    """Posed positions of joint centres and bone-carried markers."""

    def __init__(self, body: BodyModel, posed: PosedBody) -> None:
        self.body = body
        self.posed = posed

    def joint(self, bone: str) -> np.ndarray:
        return self.posed.joint_centres_m[self.body.bone(bone)]

    def carried(self, bone: str, rest_point: np.ndarray) -> np.ndarray:
        i = self.body.bone(bone)
        return self.posed.rotations[i] @ rest_point + self.posed.translations_m[i]

    def tail(self, bone: str) -> np.ndarray:
        return self.carried(bone, self.body.bone_tails_m[self.body.bone(bone)])


def _plane_angle(v0: np.ndarray, v1: np.ndarray, axis: np.ndarray) -> tuple[float, float]:
    """Signed angle (deg) from v0 to v1 about ``axis`` (right-handed), both projected on
    the plane normal to it, and how far (deg) the segment left that plane: the change
    of its elevation out of the plane (0 for a pure rotation about ``axis``)."""
    axis = axis / np.linalg.norm(axis)
    p0 = v0 - axis * (v0 @ axis)
    p1 = v1 - axis * (v1 @ axis)
    angle = math.degrees(math.atan2(float(np.cross(p0, p1) @ axis), float(p0 @ p1)))
    e0, e1 = (
        math.degrees(math.asin(np.clip(v @ axis / np.linalg.norm(v), -1, 1))) for v in (v0, v1)
    )
    return angle, abs(e1 - e0)


_X = np.array([1.0, 0.0, 0.0])
_Y = np.array([0.0, 1.0, 0.0])
_Z = np.array([0.0, 0.0, 1.0])


def _prefix(side: str) -> tuple[str, str]:
    return ("Left", "Right") if side == "left" else ("Right", "Left")


def _measure(
    movement: str, side: str, neutral: _Points, moved: _Points
) -> tuple[float, float, list[str]]:
    """(measured angle, out-of-plane deg, direction failures) for one movement."""
    me = _prefix(side)[0]
    lateral = 1.0 if side == "left" else -1.0
    bad: list[str] = []
    if movement.startswith("hip-"):
        v0 = neutral.joint(f"{me}Leg") - neutral.joint(f"{me}UpLeg")
        v1 = moved.joint(f"{me}Leg") - moved.joint(f"{me}UpLeg")
        dk = moved.joint(f"{me}Leg") - neutral.joint(f"{me}Leg")
        if movement == "hip-abduction":
            angle, out = _plane_angle(v0, v1, _Z)
            angle *= lateral
            if not (dk[0] * lateral > 0 and dk[1] > 0):
                bad.append("knee does not move laterally and up")
        else:
            angle, out = _plane_angle(v0, v1, -_X)  # positive = knee forward
            if movement == "hip-extension":
                angle = -angle
                if not (dk[2] < 0 and dk[1] > 0):
                    bad.append("knee does not move posterior and up")
            elif not (dk[2] > 0 and dk[1] > 0):
                bad.append("knee does not move anterior and up")
        return angle, out, bad
    if movement == "ankle-lunge":
        v1 = moved.joint(f"{me}Leg") - moved.joint(f"{me}Foot")
        angle, out = _plane_angle(_Y, v1, _X)  # positive = knee forward of the ankle
        if not v1[2] > 0:
            bad.append("knee does not move forward over the toes")
        return angle, out, bad
    if movement.startswith("ankle-"):
        shank0 = neutral.joint(f"{me}Foot") - neutral.joint(f"{me}Leg")
        shank1 = moved.joint(f"{me}Foot") - moved.joint(f"{me}Leg")
        foot0 = neutral.joint(f"{me}ToeBase") - neutral.joint(f"{me}Foot")
        foot1 = moved.joint(f"{me}ToeBase") - moved.joint(f"{me}Foot")
        if np.linalg.norm(shank1 - shank0) > 1e-6:
            bad.append("shank moved during an ankle movement")
        angle, out = _plane_angle(foot0, foot1, -_X)  # positive = toes up
        if movement == "ankle-plantarflexion":
            angle = -angle
            if not foot1[1] < foot0[1]:
                bad.append("toes do not point down")
        elif not foot1[1] > foot0[1]:
            bad.append("toes do not move toward the shin")
        return angle, out, bad
    # neck: head relative to the trunk, from the head's up axis and the nose marker
    body = neutral.body
    nose_rest = body.vertices_m[body.landmark_vertices["nose"]]
    up0 = neutral.tail("Head") - neutral.joint("Head")
    up1 = moved.tail("Head") - moved.joint("Head")
    fwd0 = neutral.carried("Head", nose_rest) - neutral.joint("Head")
    fwd1 = moved.carried("Head", nose_rest) - moved.joint("Head")
    trunk0 = neutral.joint("Neck") - neutral.joint("Spine2")
    trunk1 = moved.joint("Neck") - moved.joint("Spine2")
    if np.linalg.norm(trunk1 - trunk0) > 1e-9:
        bad.append("trunk moved during a neck movement")
    if movement in ("neck-flexion", "neck-extension"):
        angle, out = _plane_angle(fwd0, fwd1, _X)  # positive = nose down (flexion)
        if movement == "neck-extension":
            angle = -angle
        if np.sign(fwd1[1] - fwd0[1]) != (-1 if movement == "neck-flexion" else 1):
            bad.append("nose does not move the right way (down for flexion, up for extension)")
        return angle, out, bad
    if movement == "neck-lateral-flexion":
        angle, out = _plane_angle(up0, up1, -_Z)  # positive = top of the head to the left
        angle *= lateral
        ear = moved.carried("Head", body.vertices_m[body.landmark_vertices[f"{side}_ear"]])
        shoulder = moved.joint(f"{me}Arm")
        ear0 = neutral.carried("Head", body.vertices_m[body.landmark_vertices[f"{side}_ear"]])
        if not np.linalg.norm(ear - shoulder) < np.linalg.norm(ear0 - shoulder):
            bad.append(f"{side} ear does not approach the {side} shoulder")
        return angle, out, bad
    angle, out = _plane_angle(fwd0, fwd1, _Y)  # positive = nose toward the left
    angle *= lateral
    if not (fwd1[0] - fwd0[0]) * lateral > 0:
        bad.append(f"nose does not turn toward the subject's {side}")
    return angle, out, bad


def _planted(movement: str, side: str, rest: _Points, moved: _Points) -> list[str]:
    me, other = _prefix(side)
    if movement.startswith("neck-"):
        feet = [f"{me}Foot", f"{other}Foot"]
    elif movement == "ankle-lunge":
        feet = [f"{me}Foot"]
    else:
        feet = [f"{other}Foot"]
    out = []
    for foot in feet:
        for where in ("joint", "tail"):
            get: Callable[[str], np.ndarray] = getattr(moved, where)
            ref: Callable[[str], np.ndarray] = getattr(rest, where)
            if np.linalg.norm(get(foot) - ref(foot)) > _PLANTED_M:
                out.append(f"{foot} is not planted ({where})")
    return out


def run_selftest(
    body: BodyModel | None = None, fractions: tuple[float, ...] = (0.5, 1.0)
) -> list[str]:
    """Check every movement on both sides; return a list of failures (empty = pass)."""
    body = body if body is not None else load_body()
    standing = _Points(body, pose_body(body, movement_pose(body, "neck-flexion", "left", 0.0)))
    failures: list[str] = []
    for movement in MOVEMENTS:
        for side in ("left", "right"):
            neutral = _Points(body, pose_body(body, movement_pose(body, movement, side, 0.0)))
            for fraction in fractions:
                commanded = fraction * DEFAULT_PEAK_DEG[movement]
                posed = pose_body(body, movement_pose(body, movement, side, commanded))
                moved = _Points(body, posed)
                angle, out, bad = _measure(movement, side, neutral, moved)
                tag = f"{movement} {side} {commanded:g} deg"
                if abs(angle - commanded) > TOLERANCE_DEG:
                    failures.append(f"{tag}: measured {angle:.3f} deg")
                if out > TOLERANCE_DEG:
                    failures.append(f"{tag}: {out:.3f} deg out of the movement plane")
                failures += [f"{tag}: {b}" for b in bad]
                failures += [f"{tag}: {b}" for b in _planted(movement, side, standing, moved)]
    return failures
