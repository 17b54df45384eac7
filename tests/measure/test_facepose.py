"""Head orientation from the face mesh: exact rotations of known 3D point sets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rom_measure.measure.facepose import (
    MAX_PROFILE_RESIDUAL,
    RIGID_POINTS,
    axes_angles,
    best_fit_rotation_3d,
    head_rotations,
    profile_rotations,
    rotation,
    to_subject_axes,
)
from rom_measure.measure.geometry import best_fit_rotation_2d

angles = st.floats(-70.0, 70.0)


def _face(seed: int = 0) -> np.ndarray:
    """468 points of a face-sized blob in subject axes (x left, y up, z forward), pixels."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(468, 3)) * np.array([40.0, 50.0, 25.0])


def test_rotation_axes_follow_the_sign_conventions() -> None:
    np.testing.assert_allclose(rotation(90, 0, 0) @ [0, 0, 1], [1, 0, 0], atol=1e-12)  # to left
    np.testing.assert_allclose(rotation(0, 90, 0) @ [0, 0, 1], [0, 1, 0], atol=1e-12)  # up
    np.testing.assert_allclose(rotation(0, 0, 90) @ [1, 0, 0], [0, 1, 0], atol=1e-12)  # left up


@settings(max_examples=60, deadline=None)
@given(yaw=angles, pitch=angles, roll=angles)
def test_axes_angles_invert_rotation(yaw: float, pitch: float, roll: float) -> None:
    np.testing.assert_allclose(axes_angles(rotation(yaw, pitch, roll)), (yaw, pitch, roll),
                               atol=1e-9)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(yaw=angles, pitch=angles, roll=angles, scale=st.floats(0.5, 2.0),
       shift=st.tuples(*[st.floats(-500, 500)] * 3))  # fmt: skip
def test_kabsch_recovers_a_scaled_shifted_rotation(
    yaw: float, pitch: float, roll: float, scale: float, shift: tuple[float, float, float]
) -> None:
    reference = _face()
    moved = scale * reference @ rotation(yaw, pitch, roll).T + np.array(shift)
    moved[:5] = np.nan  # missing rows are left out
    np.testing.assert_allclose(best_fit_rotation_3d(reference, moved),
                               rotation(yaw, pitch, roll), atol=1e-9)  # fmt: skip


def test_kabsch_needs_three_points() -> None:
    points = _face()[:2]
    assert np.isnan(best_fit_rotation_3d(points, points)).all()


def _clip(yaws: list[float], rolls: list[float], left_at_plus_x: float) -> np.ndarray:
    """Image-pixel meshes (x right, y down, z away) of a head turned per frame."""
    face = _face(1)
    frames = [face @ rotation(y, 0.0, r).T for y, r in zip(yaws, rolls, strict=True)]
    subject = np.stack(frames) + np.array([300.0, -200.0, 0.0])
    return to_subject_axes(subject, left_at_plus_x)  # the map is its own inverse


@pytest.mark.parametrize("left_at_plus_x", [1.0, -1.0])
def test_head_rotations_are_relative_to_the_still_start(left_at_plus_x: float) -> None:
    time_s = np.arange(8) * 0.5  # frames 0-2 are the first second
    yaws = [0.0, 0.0, 0.0, 20.0, 40.0, 0.0, -30.0, 0.0]  # the start: rolled -5, not turned
    rolls = [-5.0] * 3 + [-5.0, -5.0, 25.0, -5.0, -5.0]
    face = _clip(yaws, rolls, left_at_plus_x)
    face[7, list(RIGID_POINTS[:4])] = np.nan  # 11 rigid points left, too few: NaN
    got = np.array([axes_angles(r) for r in head_rotations(face, time_s, left_at_plus_x)])
    np.testing.assert_allclose(got[:7, 0], [0, 0, 0, 20, 40, 0, -30], atol=1e-9)
    np.testing.assert_allclose(got[:7, 2], [0, 0, 0, 0, 0, 30, 0], atol=1e-9)
    assert np.isnan(got[7]).all()


def test_no_face_gives_nan() -> None:
    face = np.full((5, 468, 3), np.nan)
    assert np.isnan(head_rotations(face, np.arange(5.0))).all()


def _profile(seed: int = 0) -> np.ndarray:
    """(N, 2) points of a face-sized blob seen in profile (upright image axes, pixels)."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(40, 2)) * np.array([45.0, 60.0])


def _turned(points: np.ndarray, deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return points @ np.array([[c, -s], [s, c]]).T


@settings(max_examples=40, deadline=None)
@given(deg=st.floats(-60.0, 60.0), scale=st.floats(0.85, 1.15), dx=st.floats(-300, 300))
def test_profile_rotation_recovers_an_in_image_turn(deg: float, scale: float, dx: float) -> None:
    """A rigid 2D turn (with any shift and a modest change of size) is read back exactly."""
    ref = _profile()
    clip = np.stack([ref] * 30 + [scale * _turned(ref, deg) + [dx, 0.5 * dx]])
    angle, residual = profile_rotations(clip, np.arange(31) / 30.0)
    np.testing.assert_allclose(angle[:30], 0.0, atol=1e-9)
    assert angle[30] == pytest.approx(deg, abs=1e-9)
    assert residual[30] == pytest.approx(0.0, abs=1e-9)


def test_profile_rotation_drops_a_deformed_or_resized_mesh() -> None:
    """A mesh that lost its shape, or whose size jumped, gives NaN; missing points too."""
    ref = _profile()
    rng = np.random.default_rng(1)
    scrambled = ref + rng.normal(size=ref.shape) * 60.0
    missing = ref.copy()
    missing[3] = np.nan
    clip = np.stack([ref] * 30 + [_turned(ref, 20.0), scrambled, 1.6 * ref, missing])
    angle, residual = profile_rotations(clip, np.arange(34) / 30.0)
    assert angle[30] == pytest.approx(20.0, abs=1e-9)
    assert residual[31] > MAX_PROFILE_RESIDUAL and np.isnan(angle[31])
    assert np.isnan(angle[32]) and np.isnan(angle[33])


def test_profile_rotation_ignores_a_minority_of_moving_points() -> None:
    """The trimmed refit reads the turn of the rigid majority exactly (e.g. the jaw moved)."""
    ref = _profile(2)
    moved = _turned(ref, 25.0) * 1.1 + [40.0, -15.0]
    moved[:8] += np.random.default_rng(3).normal(size=(8, 2)) * 25.0  # 8 of 40 points move
    angle, residual = profile_rotations(np.stack([ref] * 30 + [moved]), np.arange(31) / 30.0)
    assert angle[30] == pytest.approx(25.0, abs=1e-6)
    assert 0.0 < residual[30] <= MAX_PROFILE_RESIDUAL
    plain = best_fit_rotation_2d(ref - ref.mean(axis=0), moved - moved.mean(axis=0))
    assert abs(plain - 25.0) > 0.2  # an untrimmed fit is pulled off by the moving points
