"""Every movement definition against a stick figure posed at exactly known angles."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rom_measure import MOVEMENTS, InputError, LandmarkSeries, Result, get_movement
from rom_measure.measure.analysis import AnalysisSettings
from rom_measure.measure.analysis import analyze_landmarks as _analyze
from tests.stick_figure import Camera, ideal_camera, movement_clip, posed, series_of

TOLERANCE_DEG = 0.5
# The face-mesh fit is rigid in image space (weak perspective): at 4 m, a head turned
# 70 deg reads about 1 deg more than the pinhole truth.
MESH_TOLERANCE_DEG = 1.5
EXACT = AnalysisSettings(calibrate=False)  # stick-figure landmarks need no model calibration


def analyze_landmarks(series: LandmarkSeries, movement: str, side: str) -> Result:
    return _analyze(series, movement, side, EXACT)


ANGLES = {
    "hip-flexion": [-20, 10, 45, 90, 120],
    "hip-extension": [-30, 5, 15, 30],
    "hip-abduction": [-15, 10, 30, 45],
    "ankle-dorsiflexion": [-30, 5, 15, 25],
    "ankle-plantarflexion": [-15, 10, 30, 50],
    "ankle-lunge": [-10, 10, 30, 45],
    "neck-flexion": [-40, 10, 30, 50],
    "neck-extension": [-30, 10, 40, 70],
    "neck-lateral-flexion": [-20, 10, 30, 45],
    "neck-rotation": [-40, 10, 45, 70],
}


def test_every_movement_is_tested() -> None:
    assert set(ANGLES) == set(MOVEMENTS)


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("name", sorted(ANGLES))
def test_angle_matches_the_pose(name: str, side: str) -> None:
    """A clip of neutral frames then each test angle: the angle function reads them back."""
    movement = get_movement(name)
    angles = ANGLES[name]
    truth = np.array([0.0] * 40 + angles)
    series = series_of([posed(name, side, a) for a in truth], ideal_camera(name, side))
    measured = movement.angles(series, side)
    neutral = np.median(measured[:40])
    if movement.zero == "neutral":
        measured = measured - neutral
    tolerance = MESH_TOLERANCE_DEG if movement.face_mesh else TOLERANCE_DEG
    np.testing.assert_allclose(measured[40:], angles, atol=tolerance)


def test_mesh_movements_fall_back_to_pose_landmarks_without_a_mesh() -> None:
    """Landmarks saved without a face mesh are measured by the pose-landmark method."""
    for name in ("neck-rotation", "neck-lateral-flexion"):
        series, _ = movement_clip(name, "left", 40.0, ideal_camera(name, "left"))
        with_mesh = analyze_landmarks(series, name, "left")
        pose_only = get_movement(name).without_mesh.angles(series, "left")
        np.testing.assert_array_equal(get_movement(name).angles(series.replace(face=None), "left"),
                                      pose_only)  # fmt: skip
        without = analyze_landmarks(series.replace(face=None), name, "left")
        assert with_mesh.movement.face_mesh and not without.movement.face_mesh
        assert "no_face_mesh" in {f.code for f in without.quality.findings}
        assert "no_face_mesh" not in {f.code for f in with_mesh.quality.findings}
        for result in (with_mesh, without):
            assert result.rom_deg == pytest.approx(40.0, abs=MESH_TOLERANCE_DEG)


@pytest.mark.parametrize("name", ["hip-flexion", "ankle-dorsiflexion", "neck-flexion"])
def test_side_views_from_either_side_agree(name: str) -> None:
    """Facing image left or right (camera on either side) gives the same sign."""
    side = "left"
    truth = np.array([0.0] * 40 + [30.0])
    for yaw in (90.0, -90.0):
        series = series_of([posed(name, side, a) for a in truth], Camera(yaw_deg=yaw))
        movement = get_movement(name)
        measured = movement.angles(series, side)
        tolerance = MESH_TOLERANCE_DEG if movement.face_mesh else TOLERANCE_DEG
        assert measured[-1] - np.median(measured[:40]) == pytest.approx(30.0, abs=tolerance)


@pytest.mark.parametrize("name", ["hip-abduction", "neck-lateral-flexion"])
def test_front_and_back_views_agree(name: str) -> None:
    truth = np.array([0.0] * 40 + [25.0])
    for yaw in (0.0, 180.0):
        series = series_of([posed(name, "left", a) for a in truth], Camera(yaw_deg=yaw))
        measured = get_movement(name).angles(series, "left")
        assert measured[-1] - np.median(measured[:40]) == pytest.approx(25.0, abs=TOLERANCE_DEG)


def test_neck_flexion_subtracts_trunk_lean() -> None:
    """Leaning the whole upper body forward is not neck flexion."""
    from tests.stick_figure import rotate_about, rotation

    poses = []
    for lean in [0.0] * 40 + [20.0]:
        p = posed("neck-flexion", "left", 15.0 if lean else 0.0)
        upper = [i for i in range(33) if i < 23]
        rotate_about(p, upper, np.array([0.0, 0.95, 0.0]), rotation("x", lean))
        poses.append(p)
    measured = get_movement("neck-flexion").angles(series_of(poses, Camera(90.0)), "left")
    assert measured[-1] - np.median(measured[:40]) == pytest.approx(15.0, abs=TOLERANCE_DEG)


@pytest.mark.parametrize("name", ["hip-flexion", "neck-rotation", "ankle-dorsiflexion"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_pipeline_recovers_rom_and_repetitions(name: str, side: str) -> None:
    series, _ = movement_clip(name, side, 40.0, ideal_camera(name, side), reps=2)
    result = analyze_landmarks(series, name, side)
    assert result.quality.verdict == "ok", result.quality.reasons
    assert result.rom_deg == pytest.approx(40.0, abs=1.0)
    assert len(result.rom.repetitions) == 2
    assert result.rom.neutral.from_still_start
    assert result.rom.uncertainty_deg > 0


def test_wrong_view_is_rejected_without_a_number() -> None:
    """Hip flexion filmed from the front: foreshortened, so no ROM is reported."""
    series, _ = movement_clip("hip-flexion", "left", 60.0, Camera(yaw_deg=0.0))
    result = analyze_landmarks(series, "hip-flexion", "left")
    assert result.quality.verdict == "rejected"
    assert any(f.code == "wrong_view" for f in result.quality.findings)
    assert np.isnan(result.rom_deg)
    assert result.to_dict()["rom_deg"] is None


def test_oblique_view_is_flagged() -> None:
    series, _ = movement_clip("hip-flexion", "left", 60.0, ideal_camera("hip-flexion", "left", 30))
    result = analyze_landmarks(series, "hip-flexion", "left")
    assert {f.code for f in result.quality.findings} >= {"oblique_view"}
    assert result.quality.verdict == "warning"


def test_far_side_limb_is_flagged() -> None:
    series, _ = movement_clip("hip-flexion", "left", 60.0, ideal_camera("hip-flexion", "right"))
    result = analyze_landmarks(series, "hip-flexion", "left")
    assert "far_side" in {f.code for f in result.quality.findings}


def test_a_clip_with_nobody_in_it_claims_no_side_and_no_facing() -> None:
    series, _ = movement_clip("hip-flexion", "left", 60.0, ideal_camera("hip-flexion", "right"))
    empty = dataclasses.replace(series, image=np.full_like(series.image, np.nan),
                                visibility=np.zeros_like(series.visibility),
                                presence=np.zeros_like(series.presence),
                                world=np.full_like(series.world, np.nan))  # fmt: skip
    assert not empty.detected.any()
    result = analyze_landmarks(empty, "hip-flexion", "left")
    assert result.quality.verdict == "rejected"
    assert result.view.facing == "unknown" and result.view.near_side is None
    assert "far_side" not in {f.code for f in result.quality.findings}


def test_no_movement_is_rejected() -> None:
    series, _ = movement_clip("hip-flexion", "left", 2.0, ideal_camera("hip-flexion", "left"))
    result = analyze_landmarks(series, "hip-flexion", "left")
    assert result.quality.verdict == "rejected"
    assert "no_movement" in {f.code for f in result.quality.findings}


def test_unknown_movement_and_side_are_clear_errors() -> None:
    with pytest.raises(InputError, match="choose one of"):
        get_movement("knee-flexion")
    series, _ = movement_clip("hip-flexion", "left", 30.0, ideal_camera("hip-flexion", "left"))
    with pytest.raises(InputError, match="unknown side"):
        analyze_landmarks(series, "hip-flexion", "up")


def test_trunk_turning_with_the_head_is_flagged() -> None:
    """Neck rotation assumes a still trunk: shoulders turning 30 deg are reported."""
    from tests.stick_figure import rotate_about, rotation

    poses = []
    for turn in [0.0] * 40 + list(np.linspace(0, 30, 20)) + [30.0] * 15:
        p = posed("neck-rotation", "left", 2 * turn)
        rotate_about(p, list(range(23)), np.array([0.0, 0.95, 0.0]), rotation("y", turn))
        poses.append(p)
    result = analyze_landmarks(series_of(poses, Camera(0.0)), "neck-rotation", "left")
    assert "trunk_turned" in {f.code for f in result.quality.findings}


def test_still_trunk_is_not_flagged() -> None:
    series, _ = movement_clip("neck-rotation", "left", 60.0, ideal_camera("neck-rotation", "left"))
    result = analyze_landmarks(series, "neck-rotation", "left")
    assert "trunk_turned" not in {f.code for f in result.quality.findings}


def test_a_peak_lost_to_undetected_frames_is_flagged() -> None:
    series, truth = movement_clip("hip-flexion", "left", 60.0, ideal_camera("hip-flexion", "left"))
    image = series.image.copy()
    image[truth > 35.0] = np.nan  # the person is not found around the peak
    result = analyze_landmarks(series.replace(image=image), "hip-flexion", "left")
    assert "unstable_landmarks" in {f.code for f in result.quality.findings}


def test_neck_front_view_off_the_face_is_flagged() -> None:
    """A front-view neck clip with the camera 30 deg to the side reads oblique."""
    series, _ = movement_clip("neck-lateral-flexion", "left", 30.0, Camera(yaw_deg=30.0))
    result = analyze_landmarks(series, "neck-lateral-flexion", "left")
    assert result.view.off_plane_deg == pytest.approx(30.0, abs=3.0)
    assert "oblique_view" in {f.code for f in result.quality.findings}


@pytest.mark.parametrize(("off_plane", "warned"), [(0.0, False), (8.0, False), (16.0, True)])
def test_oblique_view_warns_from_12_deg(off_plane: float, warned: bool) -> None:
    """The view check warns from 12 deg (the validation's ok results beyond were > 5 deg off)."""
    camera = ideal_camera("hip-flexion", "left", off_plane)
    series, _ = movement_clip("hip-flexion", "left", 60.0, camera)
    result = analyze_landmarks(series, "hip-flexion", "left")
    assert ("oblique_view" in {f.code for f in result.quality.findings}) is warned
    assert (result.quality.verdict == "warning") is warned


@pytest.mark.parametrize("name", ["neck-flexion", "neck-extension", "ankle-plantarflexion"])
def test_approximate_methods_are_never_ok_but_keep_their_number(name: str) -> None:
    """An exact stick-figure clip still gets the approximate-method warning, and its ROM."""
    series, _ = movement_clip(name, "left", 40.0, ideal_camera(name, "left"))
    result = analyze_landmarks(series, name, "left")
    codes = {f.code for f in result.quality.findings if f.severity == "warning"}
    assert codes == {"approximate_method"}
    assert result.quality.verdict == "warning"
    tolerance = MESH_TOLERANCE_DEG if result.movement.face_mesh else TOLERANCE_DEG
    assert abs(result.rom_deg - 40.0) < tolerance
    assert get_movement("neck-rotation").approximate is None


def _without_mesh_frames(series: LandmarkSeries, share: float) -> LandmarkSeries:
    """``series`` with the face mesh blanked on the last ``share`` of its frames."""
    face = series.face.copy()
    face[round(series.frames * (1.0 - share)) :] = np.nan
    return series.replace(face=face)


def test_side_view_flexion_uses_the_mesh_and_falls_back_without_enough_of_it() -> None:
    """Flexion reads the mesh in profile; no mesh, or a mesh on too few frames: pose points."""
    move = get_movement("neck-flexion")
    assert move.face_mesh and move.without_mesh is not None and not move.without_mesh.face_mesh
    assert move.approximate and move.without_mesh.approximate  # neither is ever ok
    assert move.calibration_gain != move.without_mesh.calibration_gain  # each its own gain
    series, _ = movement_clip("neck-flexion", "left", 40.0, ideal_camera("neck-flexion", "left"))
    pose_only = move.without_mesh.angles(series, "left")
    assert not np.allclose(move.angles(series, "left"), pose_only, equal_nan=True)
    room = 1.0 - move.min_mesh_share
    cases = {
        "mesh": (series, False),
        "no mesh": (series.replace(face=None), True),
        "mesh on enough frames": (_without_mesh_frames(series, room - 0.05), False),
        "mesh on too few frames": (_without_mesh_frames(series, room + 0.05), True),
    }
    for name, (clip, falls_back) in cases.items():
        assert move.mesh_missing(clip) is falls_back, name
        result = analyze_landmarks(clip, "neck-flexion", "left")
        assert result.movement.face_mesh is not falls_back, name
        assert ("no_face_mesh" in {f.code for f in result.quality.findings}) is falls_back, name
        if falls_back:
            np.testing.assert_array_equal(move.angles(clip, "left"), pose_only)
        assert result.rom_deg == pytest.approx(40.0, abs=MESH_TOLERANCE_DEG), name


def test_side_view_extension_keeps_the_pose_landmark_method() -> None:
    """The mesh in profile did not beat the pose points on extension (docs/accuracy.md)."""
    move = get_movement("neck-extension")
    assert not move.face_mesh and move.without_mesh is None and move.approximate


@pytest.mark.parametrize(("peak_deg", "warned"), [(35.0, False), (75.0, True)])
def test_mesh_neck_rotation_beyond_its_valid_range_is_warned(peak_deg: float, warned: bool) -> None:
    """The face mesh under-reads large turns: a turn past the validated range is not ``ok``."""
    limit = get_movement("neck-rotation").valid_max_deg
    assert limit is not None and 35.0 < limit < 75.0
    series, _ = movement_clip("neck-rotation", "left", peak_deg,
                              ideal_camera("neck-rotation", "left"))  # fmt: skip
    result = analyze_landmarks(series, "neck-rotation", "left")
    codes = {f.code for f in result.quality.findings}
    assert ("beyond_valid_range" in codes) is warned
    assert (result.quality.verdict == "ok") is not warned
    assert get_movement("neck-lateral-flexion").valid_max_deg is None  # roll is not limited


def test_range_check_is_exact_at_its_limit() -> None:
    from dataclasses import replace

    from rom_measure.measure.quality import check_range

    move = replace(get_movement("neck-rotation"), valid_max_deg=50.0)
    assert check_range(50.0, move) == [] and check_range(float("nan"), move) == []
    assert [f.code for f in check_range(50.1, move)] == ["beyond_valid_range"]
    assert check_range(80.0, replace(move, valid_max_deg=None)) == []
