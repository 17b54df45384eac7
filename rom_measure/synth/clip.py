"""Synthetic clips: a specification, frames with their truth, and the MP4 + truth JSON writer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from rom_measure._fileio import atomic_path, atomic_write_json
from rom_measure.errors import InputError
from rom_measure.synth.body import BodyModel, load_body
from rom_measure.synth.camera import Camera
from rom_measure.synth.framing import default_camera
from rom_measure.synth.look import appearance_for_seed
from rom_measure.synth.movements import (
    DEFAULT_PEAK_DEG,
    PLANES,
    TRUTH_DEFINITIONS,
    Trajectory,
    check_movement,
    movement_pose,
    region,
)
from rom_measure.synth.posture import Mesh, check_posture, posture_drop_m, posture_pose, seated
from rom_measure.synth.render import Renderer
from rom_measure.synth.skeleton import PosedBody, pose_body

__all__ = [
    "JOINT_BONES",
    "RENDER_VERSION",
    "SURFACE_POINTS",
    "ClipSpec",
    "Frame",
    "SyntheticClip",
    "Truth",
    "load_truth",
    "render_clip",
    "render_frames",
    "truth_path_for",
]

#: Bumped whenever the same spec would give different pixels or truth (cache keys).
RENDER_VERSION = 1

#: Standing height of the unshaped body (framing windows are set for it).
BASE_HEIGHT_M = 1.674

#: Joint centres reported in the truth: name -> bone whose head is the joint.
JOINT_BONES = {
    "pelvis": "Hips",
    "neck": "Neck",
    "head": "Head",
    "left_shoulder": "LeftArm",
    "right_shoulder": "RightArm",
    "left_elbow": "LeftForeArm",
    "right_elbow": "RightForeArm",
    "left_wrist": "LeftHand",
    "right_wrist": "RightHand",
    "left_hip": "LeftUpLeg",
    "right_hip": "RightUpLeg",
    "left_knee": "LeftLeg",
    "right_knee": "RightLeg",
    "left_ankle": "LeftFoot",
    "right_ankle": "RightFoot",
}

#: Surface points reported in the truth (mesh vertices; MediaPipe-like names).
SURFACE_POINTS = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)


@dataclass(frozen=True)
class ClipSpec:
    """Everything that determines a synthetic clip (same spec -> same pixels).

    Attributes:
        movement: movement name (see :data:`rom_measure.synth.movements.MOVEMENTS`).
        side: ``left``/``right`` (limb or direction); None allowed for neck
            flexion/extension (then the camera is on the subject's left).
        peak_deg: peak truth angle; None = the movement's typical range.
        repetitions: number of repetitions.
        fps: frame rate (constant).
        width_px: image width (even).
        height_px: image height (even).
        distance_m: camera distance (about 2.5 near, 5 far).
        off_plane_deg: camera yaw away from the ideal view.
        camera_height_m: None = waist (hip/ankle) or head (neck) height.
        fov_deg: horizontal field of view; None = fit the subject to the frame.
        still_s: neutral still time at the start and the end.
        ramp_s: duration of each ramp.
        hold_s: hold at the peak.
        rest_s: neutral pause between repetitions.
        supersample: anti-aliasing factor (samples per pixel = its square).
        seed: appearance variation (0 = the default look).
        body: body shape preset (:data:`rom_measure.synth.shapes.BODY_SHAPES`).
        pitch_offset_deg: extra downward tilt of the camera beyond aiming at the subject.
        light: exposure factor on linear light (1 = normal, 0.4 = a dim room).
        noise: standard deviation of per-pixel sensor noise, in 8-bit levels.
        rep_peaks_deg: one peak per repetition (overrides ``peak_deg`` and
            ``repetitions``); the truth ROM is the largest.
        bystander: a second person (the average-male body, standing still) beside
            and behind the subject, partly in frame.
        posture: ``standing``, or ``seated`` on a chair (neck movements only; the
            camera framing follows the lower head).
    """

    movement: str
    side: str | None = "left"
    peak_deg: float | None = None
    repetitions: int = 1
    fps: float = 30.0
    width_px: int = 1280
    height_px: int = 720
    distance_m: float = 2.5
    off_plane_deg: float = 0.0
    camera_height_m: float | None = None
    fov_deg: float | None = None
    still_s: float = 0.8
    ramp_s: float = 1.2
    hold_s: float = 0.5
    rest_s: float = 0.4
    supersample: int = 2
    seed: int = 0
    body: str = "base"
    pitch_offset_deg: float = 0.0
    light: float = 1.0
    noise: float = 0.0
    rep_peaks_deg: tuple[float, ...] | None = None
    bystander: bool = False
    posture: str = "standing"

    def validate(self) -> None:
        """Raise :class:`InputError` for an unusable spec."""
        from rom_measure.synth.shapes import BODY_SHAPES

        if self.body not in BODY_SHAPES:
            raise InputError(f"unknown body {self.body!r}: choose one of {', '.join(BODY_SHAPES)}")
        if not (self.light > 0 and self.noise >= 0):
            raise InputError("light must be positive and noise non-negative")
        try:
            check_movement(self.movement, self.side)
            check_posture(self.posture, self.movement)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if self.width_px % 2 or self.height_px % 2 or min(self.width_px, self.height_px) < 16:
            raise InputError("image width and height must be even and at least 16 pixels")
        if not self.fps > 0 or self.repetitions < 0 or self.supersample < 1:
            raise InputError("fps must be positive, repetitions >= 0, supersample >= 1")

    @property
    def peak(self) -> float:
        """The (largest) peak angle actually used."""
        if self.rep_peaks_deg:
            return float(max(self.rep_peaks_deg))
        return DEFAULT_PEAK_DEG[self.movement] if self.peak_deg is None else float(self.peak_deg)

    @property
    def n_repetitions(self) -> int:
        """Number of repetitions actually performed."""
        return len(self.rep_peaks_deg) if self.rep_peaks_deg else self.repetitions

    def trajectory(self) -> Trajectory:
        """Time course of the truth angle."""
        return Trajectory(
            self.peak,
            self.n_repetitions,
            self.still_s,
            self.ramp_s,
            self.hold_s,
            self.rest_s,
            peaks_deg=tuple(float(p) for p in self.rep_peaks_deg or ()),
        )

    def camera(self, scale: float = 1.0, drop_m: float = 0.0) -> Camera:
        """The camera filming the clip.

        Args:
            scale: subject height / base body height.
            drop_m: how much lower the head is than standing (the posture).
        """
        return default_camera(
            self.movement,
            self.side,
            self.width_px,
            self.height_px,
            distance_m=self.distance_m,
            off_plane_deg=self.off_plane_deg,
            height_m=self.camera_height_m,
            fov_deg=self.fov_deg,
            pitch_offset_deg=self.pitch_offset_deg,
            scale=scale,
            drop_m=drop_m,
        )


class Frame(NamedTuple):
    """One rendered frame: RGB uint8 (h, w, 3), time and truth angle."""

    rgb: np.ndarray
    time_s: float
    angle_deg: float


@dataclass(frozen=True)
class Truth:
    """Ground truth of a clip (what the truth JSON holds).

    Attributes:
        movement: movement name.
        side: side / direction.
        fps: frame rate.
        time_s: per-frame times.
        angle_deg: per-frame truth angles.
        rom_deg: true range of motion (peak - neutral).
        peak_deg: commanded peak.
        repetitions: number of repetitions.
        camera: camera parameters.
        joints_px: name -> per-frame projected pixel positions [u, v].
        joints_world_m: name -> per-frame world positions [x, y, z] (metres; x = the
            subject's left, y = up, z = forward, floor y = 0).
        spec: the clip specification.
    """

    movement: str
    side: str | None
    fps: float
    time_s: tuple[float, ...]
    angle_deg: tuple[float, ...]
    rom_deg: float
    peak_deg: float
    repetitions: int
    camera: dict[str, Any]
    joints_px: dict[str, list[list[float]]] = field(default_factory=dict)
    joints_world_m: dict[str, list[list[float]]] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        out = asdict(self)
        out["time_s"] = list(self.time_s)
        out["angle_deg"] = list(self.angle_deg)
        out["n_frames"] = len(self.time_s)
        out["render_version"] = RENDER_VERSION
        out["region"] = region(self.movement)
        out["plane"] = PLANES[self.movement]
        out["truth_definition"] = TRUTH_DEFINITIONS[self.movement]
        out["conventions"] = {
            "angle": "degrees; neutral standing = 0; the named movement positive",
            "world": "metres; x = subject's left, y = up, z = forward; floor at y = 0",
            "pixels": "u right, v down; pixel centres at integer + 0.5",
        }
        return out


def truth_path_for(video: Path) -> Path:
    """``clip.mp4`` -> ``clip.truth.json`` beside it."""
    video = Path(video)
    return video.with_name(f"{video.stem}.truth.json")


def load_truth(path: Path) -> Truth:
    """Read a truth JSON written by :func:`render_clip`."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    names = {f for f in Truth.__dataclass_fields__}
    kwargs = {k: v for k, v in data.items() if k in names}
    kwargs["time_s"] = tuple(kwargs["time_s"])
    kwargs["angle_deg"] = tuple(kwargs["angle_deg"])
    return Truth(**kwargs)


def _r(x: float, digits: int) -> float:
    return float(round(float(x), digits))


class SyntheticClip:
    """Poses, frames and truth of one clip; the body is loaded once per process."""

    def __init__(self, spec: ClipSpec, body: BodyModel | None = None) -> None:
        spec.validate()
        self.spec = spec
        self.body = body if body is not None else load_body(shape=spec.body)
        scale = 1.0 if spec.body == "base" else self.body.vertices_m[:, 1].max() / BASE_HEIGHT_M
        self.camera = spec.camera(float(scale), posture_drop_m(self.body, spec.posture))
        self.trajectory = spec.trajectory()
        n = max(1, round(self.trajectory.duration_s * spec.fps))
        self.times_s = np.arange(n) / spec.fps
        self.angles_deg = np.array([self.trajectory.angle_at(t) for t in self.times_s])
        self._renderer: Renderer | None = None
        self._props: list[Mesh] = []  # static meshes drawn with the subject
        if spec.bystander:
            self._props.append(_bystander(self.camera))
        if spec.posture == "seated":
            self._props.append(seated(self.body).chair)
        self._static = np.concatenate([m.vertices_m for m in self._props]) if self._props else None

    @property
    def renderer(self) -> Renderer:
        """The renderer (built on first use: it precomputes the background)."""
        if self._renderer is None:
            self._renderer = Renderer(
                _with_props(self.body, self._props),
                self.camera,
                appearance_for_seed(self.spec.seed),
                supersample=self.spec.supersample,
                seed=self.spec.seed,
            )
        return self._renderer

    def pose(self, angle_deg: float) -> PosedBody:
        """The posed body at a truth angle."""
        pose = movement_pose(self.body, self.spec.movement, self.spec.side, angle_deg)
        return pose_body(self.body, posture_pose(self.body, self.spec.posture, pose))

    def joints(self, posed: PosedBody) -> dict[str, np.ndarray]:
        """World positions of the reported joints and surface points."""
        out = {n: posed.joint_centres_m[self.body.bone(b)] for n, b in JOINT_BONES.items()}
        for name in SURFACE_POINTS:
            out[name] = posed.vertices_m[self.body.landmark_vertices[name]]
        return out

    def _render(self, vertices_m: np.ndarray, index: int) -> np.ndarray:
        if self._static is not None:
            vertices_m = np.concatenate([vertices_m, self._static])
        return self._finish(self.renderer.render(vertices_m), index)

    def _finish(self, rgb: np.ndarray, index: int) -> np.ndarray:
        """Exposure (linear light) and sensor noise, deterministic per frame."""
        spec = self.spec
        if spec.light == 1.0 and spec.noise == 0.0:
            return rgb
        out = rgb.astype(np.float32)
        if spec.light != 1.0:
            out = 255.0 * np.clip((out / 255.0) ** 2.2 * spec.light, 0.0, 1.0) ** (1.0 / 2.2)
        if spec.noise > 0.0:
            rng = np.random.default_rng((spec.seed, index))
            out += rng.normal(0.0, spec.noise, out.shape).astype(np.float32)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)

    def frames(self) -> Iterator[Frame]:
        """Render every frame in order."""
        for i, (t, a) in enumerate(zip(self.times_s, self.angles_deg, strict=True)):
            rgb = self._render(self.pose(a).vertices_m, i)
            yield Frame(rgb, float(t), float(a))

    def _truth(self, tracks: dict[str, list[np.ndarray]]) -> Truth:
        spec = self.spec
        px = {k: self.camera.project(np.array(v)) for k, v in tracks.items()}
        return Truth(
            movement=spec.movement,
            side=spec.side,
            fps=spec.fps,
            time_s=tuple(_r(t, 6) for t in self.times_s),
            angle_deg=tuple(_r(a, 4) for a in self.angles_deg),
            rom_deg=_r(spec.peak if spec.n_repetitions > 0 else 0.0, 4),
            peak_deg=_r(spec.peak, 4),
            repetitions=spec.n_repetitions,
            camera=self.camera.as_dict(),
            joints_px={k: [[_r(c, 2) for c in p] for p in v] for k, v in px.items()},
            joints_world_m={k: [[_r(c, 5) for c in p] for p in v] for k, v in tracks.items()},
            spec=asdict(spec),
        )

    def truth(self) -> Truth:
        """The truth of every frame (no rendering)."""
        tracks: dict[str, list[np.ndarray]] = {}
        for a in self.angles_deg:
            for k, p in self.joints(self.pose(a)).items():
                tracks.setdefault(k, []).append(p)
        return self._truth(tracks)

    def write(self, out_path: Path, crf: int = 18) -> Truth:
        """Render to an H.264 MP4 (yuv420p) and write the truth JSON beside it, atomically."""
        import imageio_ffmpeg

        out_path = Path(out_path)
        spec = self.spec
        tracks: dict[str, list[np.ndarray]] = {}
        with atomic_path(out_path) as tmp:
            writer = imageio_ffmpeg.write_frames(
                str(tmp),
                (spec.width_px, spec.height_px),
                fps=spec.fps,
                codec="libx264",
                pix_fmt_in="rgb24",
                pix_fmt_out="yuv420p",
                macro_block_size=2,
                ffmpeg_log_level="error",
                output_params=["-crf", str(crf), "-preset", "medium"],
            )
            writer.send(None)
            try:
                for i, a in enumerate(self.angles_deg):
                    posed = self.pose(a)
                    for k, p in self.joints(posed).items():
                        tracks.setdefault(k, []).append(p)
                    frame = self._render(posed.vertices_m, i)
                    writer.send(np.ascontiguousarray(frame))
            finally:
                writer.close()
        truth = self._truth(tracks)
        atomic_write_json(truth_path_for(out_path), truth.to_dict())
        return truth


_BYSTANDER = "average-male"


def _bystander(camera: Camera) -> Mesh:
    """A second person near the right edge of the frame, 0.8 m farther away, standing still."""
    other = load_body(shape=_BYSTANDER)
    right = camera.rotation[0] * np.array([1.0, 0.0, 1.0])
    away = camera.rotation[2] * np.array([1.0, 0.0, 1.0])
    lateral = 0.8 * (camera.width_px / 2.0) / camera.focal_px * (camera.distance_m + 0.8)
    shift = lateral * right / np.linalg.norm(right) + 0.8 * away / np.linalg.norm(away)
    return Mesh.of(other)._replace(vertices_m=other.vertices_m + shift)


def _with_props(body: BodyModel, props: list[Mesh]) -> BodyModel:
    """The subject's mesh and the static ones (bystander, chair) as one mesh for the renderer."""
    from dataclasses import replace

    if not props:
        return body
    meshes = [Mesh.of(body), *props]
    starts = np.cumsum([0] + [len(m.vertices_m) for m in meshes[:-1]])
    return replace(
        body,
        vertices_m=np.concatenate([m.vertices_m for m in meshes]),
        faces=np.concatenate([m.faces + k for m, k in zip(meshes, starts, strict=True)]).astype(
            np.int32
        ),
        material=np.concatenate([m.material for m in meshes]),
        split_field=np.concatenate([m.split_field for m in meshes]),
        split_inside=np.concatenate([m.split_inside for m in meshes]),
        split_outside=np.concatenate([m.split_outside for m in meshes]),
    )


def render_clip(spec: ClipSpec, out_path: Path) -> Truth:
    """Render ``spec`` to ``out_path`` (MP4) and ``<stem>.truth.json``; return the truth."""
    return SyntheticClip(spec).write(out_path)


def render_frames(spec: ClipSpec) -> Iterator[Frame]:
    """Frames of ``spec`` without writing anything: (rgb, time_s, angle_deg)."""
    return SyntheticClip(spec).frames()
