"""A stick-figure subject with exactly known joint angles, seen by a pinhole camera.

Used by the unit tests of the movement definitions: landmarks are posed in a body
frame (x = subject's left, y = up, z = forward, metres), projected by a camera placed
at ``yaw_deg`` around the subject (0 = in front, 90 = on the subject's left), and
packed into a :class:`rom_measure.LandmarkSeries` with full visibility.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rom_measure.measure.headpose import HEAD_TEMPLATE_MM
from rom_measure.measure.landmarks import LANDMARK_COUNT, LandmarkSeries
from rom_measure.measure.landmarks import Landmark as L

WIDTH, HEIGHT = 720, 1280
NECK_PIVOT = np.array([0.0, 1.55, 0.0])
HEAD_CENTRE = np.array([0.0, 1.68, 0.0])


def neutral_body() -> np.ndarray:
    """(33, 3) landmark positions of the neutral standing posture."""
    p = np.zeros((LANDMARK_COUNT, 3))
    for side, sx in (("left", 1.0), ("right", -1.0)):
        p[L.of(side, "shoulder")] = (0.19 * sx, 1.45, 0.0)
        p[L.of(side, "elbow")] = (0.24 * sx, 1.17, 0.0)
        p[L.of(side, "wrist")] = (0.26 * sx, 0.92, 0.02)
        for part, dz in (("pinky", 0.0), ("index", 0.03), ("thumb", 0.04)):
            p[L.of(side, part)] = (0.27 * sx, 0.85, dz)
        p[L.of(side, "hip")] = (0.10 * sx, 0.95, 0.0)
        p[L.of(side, "knee")] = (0.10 * sx, 0.52, 0.0)
        p[L.of(side, "ankle")] = (0.10 * sx, 0.09, 0.0)
        p[L.of(side, "heel")] = (0.10 * sx, 0.03, -0.06)
        p[L.of(side, "foot_index")] = (0.10 * sx, 0.03, 0.16)
    for mark, mm in HEAD_TEMPLATE_MM.items():
        p[mark] = HEAD_CENTRE + np.array(mm) / 1000.0
    return p


def rotation(axis: str, angle_deg: float) -> np.ndarray:
    """Right-handed rotation matrix about body axis x, y or z."""
    a = np.radians(angle_deg)
    c, s = np.cos(a), np.sin(a)
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def rotate_about(points: np.ndarray, marks: list[int], pivot: np.ndarray, r: np.ndarray) -> None:
    points[marks] = (points[marks] - pivot) @ r.T + pivot


HEAD = [int(m) for m in HEAD_TEMPLATE_MM]


def leg(side: str, below: str = "hip") -> list[int]:
    parts = ["knee", "ankle", "heel", "foot_index"]
    if below == "knee":
        parts = parts[1:]
    if below == "ankle":
        parts = ["heel", "foot_index"]
    return [int(L.of(side, part)) for part in parts]


def posed(movement: str, side: str, angle_deg: float) -> np.ndarray:
    """The neutral body moved by ``angle_deg`` of ``movement`` (the truth convention)."""
    p = neutral_body()
    hip = p[L.of(side, "hip")].copy()
    ankle = p[L.of(side, "ankle")].copy()
    lateral = 1.0 if side == "left" else -1.0
    if movement == "hip-flexion":
        rotate_about(p, leg(side), hip, rotation("x", -angle_deg))
    elif movement == "hip-extension":
        rotate_about(p, leg(side), hip, rotation("x", angle_deg))
    elif movement == "hip-abduction":
        rotate_about(p, leg(side), hip, rotation("z", lateral * angle_deg))
    elif movement == "ankle-dorsiflexion":
        rotate_about(p, leg(side, "ankle"), ankle, rotation("x", -angle_deg))
    elif movement == "ankle-plantarflexion":
        rotate_about(p, leg(side, "ankle"), ankle, rotation("x", angle_deg))
    elif movement == "ankle-lunge":
        p[L.of(side, "knee")] = ankle + rotation("x", angle_deg) @ (p[L.of(side, "knee")] - ankle)
    elif movement == "neck-flexion":
        rotate_about(p, HEAD, NECK_PIVOT, rotation("x", angle_deg))
    elif movement == "neck-extension":
        rotate_about(p, HEAD, NECK_PIVOT, rotation("x", -angle_deg))
    elif movement == "neck-lateral-flexion":
        rotate_about(p, HEAD, NECK_PIVOT, rotation("z", -lateral * angle_deg))
    elif movement == "neck-rotation":
        rotate_about(p, HEAD, NECK_PIVOT, rotation("y", lateral * angle_deg))
    else:
        raise ValueError(movement)
    return p


@dataclass
class Camera:
    """Pinhole camera at ``yaw_deg`` around the subject, looking at ``target``."""

    yaw_deg: float
    distance_m: float = 4.0
    target: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.95, 0.0]))
    focal_px: float = float(max(WIDTH, HEIGHT))

    def axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a = np.radians(self.yaw_deg)
        toward_camera = np.array([np.sin(a), 0.0, np.cos(a)])
        forward = -toward_camera
        up = np.array([0.0, 1.0, 0.0])
        right = np.cross(forward, up)
        return right, up, forward

    def project(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) body points -> (N, 3) normalised image x, y and relative depth."""
        right, up, forward = self.axes()
        origin = self.target - forward * self.distance_m
        rel = points - origin
        depth = rel @ forward
        x = self.focal_px * (rel @ right) / depth + WIDTH / 2
        y = -self.focal_px * (rel @ up) / depth + HEIGHT / 2
        return np.stack([x / WIDTH, y / HEIGHT, depth - self.distance_m], axis=-1)

    def world(self, points: np.ndarray) -> np.ndarray:
        """MediaPipe-style world landmarks: x right, y down, z away; origin mid-hip."""
        right, up, forward = self.axes()
        rel = points - 0.5 * (points[L.LEFT_HIP] + points[L.RIGHT_HIP])
        return np.stack([rel @ right, -(rel @ up), rel @ forward], axis=-1)


_HEAD_MARKS = list(HEAD_TEMPLATE_MM)
# 468 face-mesh points on the front of the head, fixed to it (body frame at neutral).
FACE_CLOUD = HEAD_CENTRE + np.random.default_rng(7).uniform(-1, 1, (468, 3)) * [0.07, 0.1, 0.02] \
    + [0.0, 0.0, 0.09]  # fmt: skip


def face_mesh_of(pose: np.ndarray, camera: Camera) -> np.ndarray:
    """(468, 3) face mesh in image pixels (z scaled like x) for a posed body.

    The head's rigid motion from neutral (fitted to the 11 face landmarks) moves the
    face cloud, which the camera projects; z is the depth from the cloud's mean, in
    pixels at that depth (as MediaPipe's face mesh gives it).
    """
    neutral = neutral_body()[_HEAD_MARKS]
    moved = pose[_HEAD_MARKS]
    a, b = neutral - neutral.mean(axis=0), moved - moved.mean(axis=0)
    u, _, vt = np.linalg.svd(b.T @ a)
    r = u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))]) @ vt
    cloud = (FACE_CLOUD - neutral.mean(axis=0)) @ r.T + moved.mean(axis=0)
    projected = camera.project(cloud)
    depth = projected[:, 2] + camera.distance_m
    pixels = projected[:, :2] * [WIDTH, HEIGHT]
    z = (depth - depth.mean()) * camera.focal_px / depth.mean()
    return np.column_stack([pixels, z])


def series_of(poses: list[np.ndarray], camera: Camera, fps: float = 30.0) -> LandmarkSeries:
    """Pack posed bodies (one per frame) into a landmark series (with the face mesh)."""
    frames = len(poses)
    image = np.stack([camera.project(p) for p in poses]).astype(np.float32)
    face = np.stack([face_mesh_of(p, camera) for p in poses]).astype(np.float32)
    world = np.stack([camera.world(p) for p in poses]).astype(np.float32)
    ones = np.ones((frames, LANDMARK_COUNT), dtype=np.float32)
    return LandmarkSeries(
        time_s=np.arange(frames) / fps, image=image, visibility=ones, presence=ones.copy(),
        world=world, people=np.ones(frames, dtype=np.int16), image_size=(WIDTH, HEIGHT),
        face=face,
    )  # fmt: skip


def movement_clip(
    movement: str, side: str, peak_deg: float, camera: Camera, fps: float = 30.0,
    still_s: float = 1.0, ramp_s: float = 1.0, hold_s: float = 0.5, reps: int = 1,
) -> tuple[LandmarkSeries, np.ndarray]:  # fmt: skip
    """Still neutral, cosine ramp to ``peak_deg``, hold, return, still; and the truth."""
    segment = [np.zeros(round(still_s * fps))]
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, round(ramp_s * fps)))
    for _ in range(reps):
        segment += [peak_deg * ramp, np.full(round(hold_s * fps), peak_deg), peak_deg * ramp[::-1]]
    segment.append(np.zeros(round(still_s * fps)))
    truth = np.concatenate(segment)
    return series_of([posed(movement, side, a) for a in truth], camera, fps), truth


def ideal_camera(movement: str, side: str, off_plane_deg: float = 0.0) -> Camera:
    """Side movements: camera on the measured side; front movements: in front."""
    from rom_measure import get_movement

    m = get_movement(movement)
    if m.view == "front" and m.region == "neck":  # framed on head and shoulders, as instructed
        return Camera(yaw_deg=off_plane_deg, target=HEAD_CENTRE.copy())
    if m.view == "front":
        return Camera(yaw_deg=off_plane_deg)
    base = 90.0 if side == "left" else -90.0
    return Camera(yaw_deg=base + off_plane_deg)
