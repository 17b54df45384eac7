"""The face mesh runner on a rendered neck clip (real model), and the face array on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rom_measure.media.facemesh import FACE_POINTS, FaceMesh, face_crop


@pytest.fixture(scope="module")
def neck_clip() -> Path:
    from rom_measure.synth import ClipSpec
    from rom_measure.synth.cache import cached_clip

    spec = ClipSpec("neck-rotation", "left", peak_deg=40.0, width_px=640, height_px=360,
                    fps=24.0, still_s=0.6, ramp_s=0.7, hold_s=0.3)  # fmt: skip
    return cached_clip(spec)[0]


def _frames(video: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    from rom_measure.media.sources import VideoFileSource, with_rgb

    source = VideoFileSource(video)
    try:
        return {f.index: with_rgb(f).rgb for f in source if f.index in wanted}
    finally:
        source.close()


def test_face_mesh_lands_on_the_face_of_a_rendered_clip(neck_clip: Path, pose_model: Path) -> None:
    from rom_measure.media.pose import MediaPipePose

    mesh = FaceMesh()
    with MediaPipePose(pose_model, max_people=1) as pose:
        for index, rgb in sorted(_frames(neck_clip, {0, 20}).items()):  # still, then turning
            (subject,) = pose.detect(rgb, index * 42)
            height, width = rgb.shape[:2]
            pose_px = subject.image[:, :2] * np.array([width, height])
            points, score = mesh.frame(rgb, pose_px)
            assert points.shape == (FACE_POINTS, 3) and np.isfinite(points).all()
            assert score > 0.9
            face = pose_px[:11]  # nose, eyes, ears, mouth: the mesh lies in their crop
            crop = face_crop(face)
            assert crop is not None
            assert np.all(np.linalg.norm(points[:, :2] - crop.centre, axis=1) < 0.75 * crop.side)
            # outer eye corners (mesh 33 = subject's right, 263 = left) on the pose's eyes
            assert np.linalg.norm(points[33, :2] - pose_px[6]) < 0.1 * crop.side
            assert np.linalg.norm(points[263, :2] - pose_px[3]) < 0.1 * crop.side


def test_face_mesh_refuses_a_face_out_of_frame(neck_clip: Path) -> None:
    rgb = _frames(neck_clip, {0})[0]
    pose_px = np.zeros((33, 2))
    pose_px[:11] = [[-200.0, -200.0], [-190.0, -205.0], [-185, -205], [-180, -205], [-210, -205],
                    [-215, -205], [-220, -205], [-170, -200], [-230, -200], [-195, -180],
                    [-205, -180]]  # fmt: skip
    points, score = FaceMesh().frame(rgb, pose_px)
    assert np.isnan(points).all() and np.isnan(score)


def test_face_array_round_trips_through_the_landmark_file(tmp_path: Path) -> None:
    from rom_measure.media.landmark_file import load_landmarks, save_landmarks
    from tests.stick_figure import Camera, posed, series_of

    series = series_of([posed("neck-rotation", "left", a) for a in (0.0, 20.0, 40.0)], Camera(0.0))
    face = series.face.copy()
    face[1] = np.nan  # a frame without a trusted mesh
    series = series.replace(face=face)
    save_landmarks(series, tmp_path / "with_face.npz")
    again = load_landmarks(tmp_path / "with_face.npz")
    np.testing.assert_array_equal(again.face, face)
    assert again.face_score is None  # saved without scores (as before they were kept)
    save_landmarks(series.replace(face=None), tmp_path / "without.npz")
    assert load_landmarks(tmp_path / "without.npz").face is None
    np.testing.assert_array_equal(again.take(np.array([0, 2])).face, face[[0, 2]])
    score = np.array([0.9, np.nan, 0.01], dtype=np.float32)  # a low score keeps its points
    save_landmarks(series.replace(face_score=score), tmp_path / "scored.npz")
    scored = load_landmarks(tmp_path / "scored.npz")
    np.testing.assert_array_equal(scored.face_score, score)
    np.testing.assert_array_equal(scored.take(np.array([0, 2])).face_score, score[[0, 2]])


def test_neck_rotation_runs_the_face_mesh_through_the_pipeline(neck_clip: Path) -> None:
    from rom_measure.media.assets import FACE_MEMBER, POSE_WHEEL
    from rom_measure.media.pipeline import analyze_video

    result = analyze_video(neck_clip, "neck-rotation", "left")
    face = result.series.face
    assert face is not None and face.shape == (result.series.frames, FACE_POINTS, 3)
    assert np.isfinite(face[:, :, 0]).all(axis=1).mean() > 0.9
    assert result.movement.face_mesh
    assert result.to_dict()["face_model_sha256"] == POSE_WHEEL.members[FACE_MEMBER]
    assert "no_face_mesh" not in {f.code for f in result.quality.findings}


@pytest.mark.slow
def test_side_view_flexion_runs_the_face_mesh_in_profile() -> None:
    """In profile the mesh's presence score is low, yet its points give the pitch."""
    from rom_measure.media.pipeline import analyze_video
    from rom_measure.synth import ClipSpec
    from rom_measure.synth.cache import cached_clip

    spec = ClipSpec("neck-flexion", "left", peak_deg=40.0, width_px=960, height_px=540,
                    fps=24.0, still_s=0.6, ramp_s=0.7, hold_s=0.3)  # fmt: skip
    video, truth = cached_clip(spec)
    result = analyze_video(video, "neck-flexion", "left")
    series = result.series
    assert series.face is not None and series.face_score is not None
    assert series.face_score.shape == (series.frames,)
    assert result.movement.face_mesh
    codes = {f.code for f in result.quality.findings}
    assert "no_face_mesh" not in codes and "approximate_method" in codes
    assert result.rom_deg == pytest.approx(truth["rom_deg"], abs=5.0)


@pytest.mark.parametrize("roll_deg", [-35.0, 0.0, 20.0])
def test_crop_turns_with_the_face_and_maps_back(roll_deg: float) -> None:
    """A face rolled in the image gives a crop turned as much, centred on the face."""
    upright = np.array([[0, 10], [-12, -5], [-20, -5], [-28, -5], [12, -5], [20, -5], [28, -5],
                        [-45, 0], [45, 0], [-15, 35], [15, 35]], dtype=float)  # fmt: skip
    upright[:, 0] *= -1  # the subject's left eye (index 2) at image right
    a = np.radians(roll_deg)
    turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    face = upright @ turn.T + [300.0, 200.0]
    crop = face_crop(face)
    assert crop is not None
    assert np.degrees(crop.angle) == pytest.approx(roll_deg, abs=1e-9)
    extent = (face.max(axis=0) - face.min(axis=0)).max()  # in image axes (as measured)
    assert crop.side == pytest.approx(1.5 * max(extent, 2 * 40.0))  # eye-mouth span 40
    assert np.all(np.abs((face - crop.centre) @ turn) < crop.side / 2)  # the face is inside
    centre = crop.to_image(np.array([[96.0, 96.0, 0.0]]))[0, :2]
    np.testing.assert_allclose(centre, crop.centre, atol=1e-9)
    corner = crop.to_image(np.array([[192.0, 96.0, 10.0]]))[0]  # right edge, mid height
    np.testing.assert_allclose(corner[:2], crop.centre + crop.side / 2 * turn[:, 0], atol=1e-9)
    assert corner[2] == pytest.approx(10.0 * crop.side / 192)
