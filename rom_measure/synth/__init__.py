"""Synthetic ground truth: a rigged human body moved to known joint angles and filmed.

Renders a CC0 MakeHuman body (provisioned by :func:`rom_measure.media.assets.body_dir`),
posed with anatomical joint rotations and filmed by a virtual pinhole camera, to
MP4 clips with a truth JSON (per-frame angle, joint positions in 3D and in pixels).

Typical use::

    from rom_measure.synth import ClipSpec, render_clip
    truth = render_clip(ClipSpec("hip-flexion", "left", peak_deg=90), "hip.mp4")
"""

from __future__ import annotations

from rom_measure.synth.body import BodyModel, load_body
from rom_measure.synth.camera import Camera
from rom_measure.synth.clip import (
    RENDER_VERSION,
    ClipSpec,
    Frame,
    SyntheticClip,
    Truth,
    load_truth,
    render_clip,
    render_frames,
    truth_path_for,
)
from rom_measure.synth.framing import default_camera
from rom_measure.synth.movements import (
    DEFAULT_PEAK_DEG,
    MOVEMENTS,
    PLANES,
    Trajectory,
    movement_pose,
)
from rom_measure.synth.render import Renderer
from rom_measure.synth.skeleton import JointAngles, Pose, PosedBody, pose_body

__all__ = [
    "DEFAULT_PEAK_DEG",
    "MOVEMENTS",
    "PLANES",
    "RENDER_VERSION",
    "BodyModel",
    "Camera",
    "ClipSpec",
    "Frame",
    "JointAngles",
    "Pose",
    "PosedBody",
    "Renderer",
    "SyntheticClip",
    "Trajectory",
    "Truth",
    "default_camera",
    "load_body",
    "load_truth",
    "movement_pose",
    "pose_body",
    "render_clip",
    "render_frames",
    "truth_path_for",
]
