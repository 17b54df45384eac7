"""Default camera placement for each movement.

Sagittal movements are filmed from the side of the measured limb (the camera on the
subject's left for ``side='left'``), frontal movements from the front. Hip and ankle
clips frame the whole body from waist height; neck clips frame head and shoulders
from head height. ``off_plane_deg`` turns the camera about the vertical axis away
from that ideal view (positive = counter-clockwise seen from above, i.e. toward the
subject's front for a left-side view).
"""

from __future__ import annotations

import math

from rom_measure.synth.camera import Camera
from rom_measure.synth.movements import PLANES, check_movement, region

__all__ = ["default_camera", "ideal_yaw_deg", "tilt_in_frame"]

# (camera height, vertical window bottom..top, horizontal window half-width), metres
_WINDOWS = {
    "hip": (0.95, (-0.04, 1.84), 0.75),
    "ankle": (0.95, (-0.04, 1.84), 0.75),
    "neck": (1.50, (1.08, 1.82), 0.42),
}
_FILL = 0.92


def _window(movement: str, scale: float, drop_m: float) -> tuple[float, float, float, float]:
    """(default camera height, window bottom, window top, half-width) in metres."""
    cam_h, (bottom, top), half_w = _WINDOWS[region(movement)]
    cam_h, bottom, top, half_w = (scale * x for x in (cam_h, bottom, top, half_w))
    if region(movement) == "neck":  # the head-and-shoulders window follows the head
        cam_h, bottom, top = cam_h - drop_m, bottom - drop_m, top - drop_m
    return cam_h, bottom, top, half_w


def ideal_yaw_deg(movement: str, side: str | None) -> float:
    """Camera yaw with the movement's plane facing the camera."""
    s = check_movement(movement, side)
    if PLANES[movement] == "frontal":
        return 0.0
    return 90.0 if s == "l" else -90.0


def default_camera(
    movement: str,
    side: str | None,
    width_px: int = 1280,
    height_px: int = 720,
    distance_m: float = 2.5,
    off_plane_deg: float = 0.0,
    height_m: float | None = None,
    fov_deg: float | None = None,
    pitch_offset_deg: float = 0.0,
    scale: float = 1.0,
    drop_m: float = 0.0,
) -> Camera:
    """Camera for a movement.

    Args:
        movement: movement name.
        side: measured side / direction.
        width_px: image width.
        height_px: image height.
        distance_m: horizontal distance to the subject.
        off_plane_deg: rotation about the vertical away from the ideal view.
        height_m: camera height; default waist height (hip, ankle) or head height (neck).
        fov_deg: horizontal field of view; default None = focal length chosen so that
            the region of interest fills the frame at any distance. Give e.g. 66 (a
            phone's main camera) to let the subject shrink with distance.
        pitch_offset_deg: extra downward tilt added to the aimed pitch (a phone
            propped at an angle).
        scale: subject height relative to the base body (the window and the default
            camera height scale with it).
        drop_m: how much lower the subject's head is than standing (seated); the
            neck window and default camera height move down with it.

    Returns:
        The camera, aimed at the centre of the framing window.
    """
    cam_h, bottom, top, half_w = _window(movement, scale, drop_m)
    if height_m is not None:
        cam_h = height_m
    centre = 0.5 * (bottom + top)
    pitch = math.degrees(math.atan2(cam_h - centre, distance_m))
    if fov_deg is None:
        f_v = _FILL * height_px * distance_m / (top - bottom)
        f_h = _FILL * width_px * distance_m / (2.0 * half_w)
        focal = min(f_v, f_h)
    else:
        focal = 0.5 * width_px / math.tan(math.radians(fov_deg) / 2.0)
    return Camera(
        yaw_deg=ideal_yaw_deg(movement, side) + off_plane_deg,
        pitch_deg=pitch + pitch_offset_deg,
        height_m=cam_h,
        distance_m=distance_m,
        focal_px=focal,
        width_px=width_px,
        height_px=height_px,
    )


def tilt_in_frame(
    movement: str,
    side: str | None,
    pitch_offset_deg: float,
    scale: float = 1.0,
    drop_m: float = 0.0,
    **camera: float | int | None,
) -> tuple[float, float | None]:
    """(pitch offset, horizontal field of view) that keep the framing window in the picture.

    Someone tilting a propped phone keeps the subject in the frame (the record window's
    framing light says so), so a clip filmed as instructed never cuts off the feet or the
    shoulders. With a fixed lens (``fov_deg`` given) the tilt stops where the window
    would leave the picture; with a framed one (``fov_deg`` None) the tilt is kept and the
    view widened until the tilted window fits (None when it already does). ``camera``
    takes :func:`default_camera`'s other arguments (width_px, height_px, distance_m,
    height_m, fov_deg).
    """
    aimed = default_camera(movement, side, scale=scale, drop_m=drop_m, **camera)
    _, bottom, top, _ = _window(movement, scale, drop_m)

    def elevation(y_m: float) -> float:
        return math.degrees(math.atan2(y_m - aimed.height_m, aimed.distance_m))

    half_px = 0.5 * aimed.height_px
    if camera.get("fov_deg") is None:
        pitch = aimed.pitch_deg + pitch_offset_deg
        reach = max(math.tan(math.radians(elevation(top) + pitch)),
                    -math.tan(math.radians(elevation(bottom) + pitch)))  # fmt: skip
        if half_px / reach >= aimed.focal_px:  # the window is in the picture already
            return pitch_offset_deg, None
        focal = _FILL * half_px / reach
        return pitch_offset_deg, 2.0 * math.degrees(math.atan(0.5 * aimed.width_px / focal))
    half_fov = math.degrees(math.atan(half_px / aimed.focal_px))
    lowest, highest = -half_fov - elevation(bottom), half_fov - elevation(top)
    if lowest > highest:  # the window is taller than the picture: keep the aim
        return 0.0, camera["fov_deg"]
    pitch = min(max(aimed.pitch_deg + pitch_offset_deg, lowest), highest)
    kept = pitch - aimed.pitch_deg  # never more than asked, nor the other way
    kept = min(max(kept, min(0.0, pitch_offset_deg)), max(0.0, pitch_offset_deg))
    return kept, camera["fov_deg"]
