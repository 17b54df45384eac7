"""A perspective pinhole camera placed around the subject.

World frame = the subject's neutral body frame: x = subject's left, y = up,
z = forward, floor at y = 0, subject standing at the origin. The camera sits on a
circle around the vertical axis: yaw 0 is in front of the subject looking at them,
yaw +90 is on the subject's left, -90 on their right. Image axes follow OpenCV:
u to the right, v down, pixel centres at integer + 0.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Camera"]


@dataclass(frozen=True)
class Camera:
    """Pinhole camera looking horizontally at the vertical axis, then pitched.

    Attributes:
        yaw_deg: position on the circle about the vertical axis (0 = in front,
            +90 = subject's left side).
        pitch_deg: downward tilt of the optical axis (positive = looking down).
        height_m: height of the optical centre above the floor.
        distance_m: horizontal distance from the vertical axis through the origin.
        focal_px: focal length in pixels (square pixels, principal point at centre).
        width_px: image width.
        height_px: image height.
        target_x_m: lateral offset of the aim point (world x, y = 0) so a camera can
            look at a point off the origin; 0 normally.
        target_z_m: forward offset of the aim point.
    """

    yaw_deg: float = 0.0
    pitch_deg: float = 0.0
    height_m: float = 1.0
    distance_m: float = 2.5
    focal_px: float = 1000.0
    width_px: int = 1280
    height_px: int = 720
    target_x_m: float = 0.0
    target_z_m: float = 0.0

    @property
    def position_m(self) -> np.ndarray:
        """Optical centre in world coordinates."""
        yaw = math.radians(self.yaw_deg)
        return np.array(
            [
                self.target_x_m + self.distance_m * math.sin(yaw),
                self.height_m,
                self.target_z_m + self.distance_m * math.cos(yaw),
            ]
        )

    @property
    def rotation(self) -> np.ndarray:
        """World -> camera rotation (rows: camera x right, y down, z forward)."""
        yaw, pitch = math.radians(self.yaw_deg), math.radians(self.pitch_deg)
        fwd_h = np.array([-math.sin(yaw), 0.0, -math.cos(yaw)])
        up = np.array([0.0, 1.0, 0.0])
        forward = math.cos(pitch) * fwd_h - math.sin(pitch) * up
        right = np.cross(forward, up)
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        return np.stack([right, down, forward])

    @property
    def intrinsics(self) -> np.ndarray:
        """3x3 intrinsic matrix K."""
        return np.array(
            [
                [self.focal_px, 0.0, self.width_px / 2.0],
                [0.0, self.focal_px, self.height_px / 2.0],
                [0.0, 0.0, 1.0],
            ]
        )

    @property
    def vertical_fov_deg(self) -> float:
        """Vertical field of view."""
        return math.degrees(2.0 * math.atan(self.height_px / (2.0 * self.focal_px)))

    def to_camera(self, points_m: np.ndarray) -> np.ndarray:
        """World points (..., 3) to camera coordinates (x right, y down, z depth)."""
        p = np.asarray(points_m, dtype=np.float64)
        return (p - self.position_m) @ self.rotation.T

    def project(self, points_m: np.ndarray) -> np.ndarray:
        """World points (..., 3) to pixel coordinates (..., 2) (u right, v down)."""
        c = self.to_camera(points_m)
        z = np.maximum(c[..., 2:3], 1e-6)
        uv = c[..., :2] / z * self.focal_px
        return uv + np.array([self.width_px / 2.0, self.height_px / 2.0])

    def depth(self, points_m: np.ndarray) -> np.ndarray:
        """Depth (distance along the optical axis) of world points, metres."""
        return self.to_camera(points_m)[..., 2]

    def ray_directions(self, scale: float = 1.0) -> np.ndarray:
        """World-frame unit ray directions (h, w, 3) through pixel centres."""
        w = round(self.width_px * scale)
        h = round(self.height_px * scale)
        u = (np.arange(w) + 0.5) / scale - self.width_px / 2.0
        v = (np.arange(h) + 0.5) / scale - self.height_px / 2.0
        uu, vv = np.meshgrid(u / self.focal_px, v / self.focal_px)
        d = np.stack([uu, vv, np.ones_like(uu)], axis=-1) @ self.rotation
        return d / np.linalg.norm(d, axis=-1, keepdims=True)

    def as_dict(self) -> dict[str, float]:
        """Plain parameters for JSON."""
        return {
            "yaw_deg": self.yaw_deg,
            "pitch_deg": self.pitch_deg,
            "height_m": self.height_m,
            "distance_m": self.distance_m,
            "focal_px": self.focal_px,
            "width_px": self.width_px,
            "height_px": self.height_px,
            "target_x_m": self.target_x_m,
            "target_z_m": self.target_z_m,
            "vertical_fov_deg": self.vertical_fov_deg,
            "position_m": [float(x) for x in self.position_m],
        }
