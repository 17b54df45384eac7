"""Tests of the synthetic ground-truth renderer (rom_measure.synth)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from rom_measure.errors import InputError
from rom_measure.synth import (
    MOVEMENTS,
    Camera,
    ClipSpec,
    SyntheticClip,
    Trajectory,
    load_truth,
    movement_pose,
    pose_body,
    render_clip,
    truth_path_for,
)
from rom_measure.synth.selftest import _measure, _Points, run_selftest


def test_trajectory_shape() -> None:
    traj = Trajectory(peak_deg=40.0, repetitions=2, still_s=0.5, ramp_s=1.0, hold_s=0.5)
    assert traj.duration_s == pytest.approx(2 * 0.5 + 2 * 2.5 + 0.4)
    assert traj.angle_at(0.0) == 0.0
    assert traj.angle_at(0.5 + 0.5) == pytest.approx(20.0)
    assert traj.angle_at(0.5 + 1.25) == pytest.approx(40.0)
    assert traj.angle_at(traj.duration_s - 0.1) == 0.0
    t = np.linspace(0, traj.duration_s, 2000)
    a = np.array([traj.angle_at(x) for x in t])
    assert a.max() == pytest.approx(40.0) and a.min() == 0.0
    peaks = np.flatnonzero((a[1:] >= 39.99) & (a[:-1] < 39.99))
    assert len(peaks) == 2


def test_camera_conventions() -> None:
    front = Camera(yaw_deg=0.0, height_m=1.0, distance_m=3.0, width_px=640, height_px=480)
    centre = front.project(np.array([0.0, 1.0, 0.0]))
    assert centre == pytest.approx([320.0, 240.0])
    # facing the camera, the subject's left (+x) is on the image right; up is up
    assert front.project(np.array([0.3, 1.0, 0.0]))[0] > 320
    assert front.project(np.array([0.0, 1.5, 0.0]))[1] < 240
    # camera on the subject's left: the subject faces image left
    left = Camera(yaw_deg=90.0, height_m=1.0, distance_m=3.0, width_px=640, height_px=480)
    assert left.position_m[0] == pytest.approx(3.0)
    assert left.project(np.array([0.0, 1.0, 0.3]))[0] < 320
    down = Camera(pitch_deg=10.0, height_m=1.0, distance_m=3.0)
    assert down.project(np.array([0.0, 1.0, 0.0]))[1] < down.height_px / 2


def test_spec_validation() -> None:
    with pytest.raises(InputError):
        ClipSpec("hip-flexion", "left", width_px=161).validate()
    with pytest.raises(InputError):
        ClipSpec("knee-flexion", "left").validate()
    with pytest.raises(InputError):
        ClipSpec("hip-flexion", None).validate()
    ClipSpec("neck-flexion", None).validate()


def test_selftest_passes(body) -> None:
    assert run_selftest(body) == []


def test_selftest_catches_wrong_direction(body) -> None:
    neutral = _Points(body, pose_body(body, movement_pose(body, "neck-rotation", "left", 0.0)))
    wrong = _Points(body, pose_body(body, movement_pose(body, "neck-rotation", "right", 30.0)))
    angle, _, bad = _measure("neck-rotation", "left", neutral, wrong)
    assert angle == pytest.approx(-30.0, abs=0.5)
    assert bad


def _silhouette_box(frame: np.ndarray, background: np.ndarray) -> tuple[int, int, int, int]:
    diff = np.abs(frame.astype(np.int16) - background.astype(np.int16)).max(axis=2)
    ys, xs = np.nonzero(diff > 40)
    return xs.min(), ys.min(), xs.max(), ys.max()


@pytest.mark.parametrize(
    ("movement", "side"),
    [("hip-flexion", "left"), ("neck-rotation", "right"), ("ankle-lunge", "right")],
)
def test_small_frame_silhouette_matches_joints(body, movement: str, side: str) -> None:
    spec = ClipSpec(movement, side, width_px=160, height_px=240, supersample=2)
    clip = SyntheticClip(spec, body)
    posed = clip.pose(spec.peak)
    frame = clip.renderer.render(posed.vertices_m)
    assert frame.shape == (240, 160, 3) and frame.dtype == np.uint8
    assert frame.std() > 10
    empty = clip.renderer.render(posed.vertices_m + np.array([0.0, 0.0, 50.0]))  # out of view
    x0, y0, x1, y1 = _silhouette_box(frame, empty)
    px = clip.camera.project(np.array(list(clip.joints(posed).values())))
    inside = (px[:, 0] >= 0) & (px[:, 0] < 160) & (px[:, 1] >= 0) & (px[:, 1] < 240)
    px = px[inside]
    assert len(px) >= 5
    margin = 0.12 * 240
    assert x0 - 2 <= px[:, 0].min() and px[:, 0].max() <= x1 + 2
    assert y0 - 2 <= px[:, 1].min() and px[:, 1].max() <= y1 + 2
    assert px[:, 0].min() - x0 < margin and x1 - px[:, 0].max() < margin
    assert px[:, 1].min() - y0 < margin and y1 - px[:, 1].max() < margin


def test_render_clip_writes_video_and_truth(body, tmp_path) -> None:
    import imageio_ffmpeg

    spec = ClipSpec(
        "hip-abduction", "right", peak_deg=30.0, fps=10.0, width_px=64, height_px=96,
        still_s=0.2, ramp_s=0.3, hold_s=0.2, supersample=1,
    )  # fmt: skip
    out = tmp_path / "clip.mp4"
    truth = render_clip(spec, out)
    assert out.stat().st_size > 0
    data = json.loads(truth_path_for(out).read_text())
    n = data["n_frames"]
    assert n == len(truth.time_s) == round(spec.trajectory().duration_s * 10)
    assert max(data["angle_deg"]) == pytest.approx(30.0)
    assert data["rom_deg"] == 30.0 and data["movement"] == "hip-abduction"
    assert len(data["joints_px"]["right_knee"]) == n
    assert len(data["joints_world_m"]["nose"][0]) == 3
    assert load_truth(truth_path_for(out)).angle_deg == truth.angle_deg
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    assert tuple(meta["size"]) == (64, 96)
    assert sum(1 for _ in reader) == n


def test_frames_are_deterministic(body) -> None:
    spec = ClipSpec("neck-lateral-flexion", "left", width_px=80, height_px=64, fps=5.0, seed=3)
    a = [f.rgb for f in itertools.islice(SyntheticClip(spec, body).frames(), 6)]
    b = [f.rgb for f in itertools.islice(SyntheticClip(spec, body).frames(), 6)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_every_movement_has_a_pose(body) -> None:
    for movement in MOVEMENTS:
        for side in ("left", "right"):
            posed = pose_body(body, movement_pose(body, movement, side, 10.0))
            assert np.isfinite(posed.vertices_m).all()
            assert posed.vertices_m[:, 1].min() > -0.03  # nothing sinks into the floor
