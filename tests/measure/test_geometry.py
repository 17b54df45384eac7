"""Angle primitives on exactly known configurations, plus property tests."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rom_measure.measure.geometry import (
    angle_between,
    best_fit_rotation_2d,
    image_to_upright,
    project_onto_plane,
    rotate_2d,
    signed_angle_2d,
    signed_angle_in_plane,
    wrap_deg,
)

angles = st.floats(min_value=-179.0, max_value=179.0)
lengths = st.floats(min_value=0.01, max_value=100.0)
finite = st.floats(min_value=-50.0, max_value=50.0)


def test_known_angles() -> None:
    assert angle_between([1, 0], [0, 1]) == pytest.approx(90.0)
    assert angle_between([1, 0, 0], [-1, 0, 0]) == pytest.approx(180.0)
    assert signed_angle_2d([1, 0], [0, 1]) == pytest.approx(90.0)
    assert signed_angle_2d([1, 0], [0, -1]) == pytest.approx(-90.0)
    assert signed_angle_2d([1, 0], [-1, 0]) == pytest.approx(180.0)  # never -180
    assert signed_angle_in_plane([1, 0, 0], [0, 1, 0], [0, 0, 1]) == pytest.approx(90.0)
    assert signed_angle_in_plane([1, 0, 0], [0, 1, 0], [0, 0, -1]) == pytest.approx(-90.0)


def test_degenerate_vectors_give_nan() -> None:
    assert np.isnan(angle_between([0, 0], [1, 0]))
    assert np.isnan(signed_angle_2d([0, 0], [1, 0]))
    assert np.isnan(signed_angle_in_plane([0, 0, 1], [1, 0, 0], [0, 0, 1]))


def test_image_to_upright_flips_y_only() -> None:
    np.testing.assert_array_equal(image_to_upright([[3.0, 4.0]]), [[3.0, -4.0]])


@given(angles, angles, lengths, lengths)
def test_signed_angle_recovers_rotation(start: float, turn: float, a: float, b: float) -> None:
    u = a * np.array([np.cos(np.radians(start)), np.sin(np.radians(start))])
    v = b * rotate_2d(u / a, turn)
    assert signed_angle_2d(u, v) == pytest.approx(turn, abs=1e-6)


@given(finite, finite, finite, finite)
def test_signed_angle_is_antisymmetric_and_bounded(ax: float, ay: float, bx: float, by: float):
    angle = signed_angle_2d([ax, ay], [bx, by])
    if np.isnan(angle):
        return
    assert -180.0 < angle <= 180.0
    back = signed_angle_2d([bx, by], [ax, ay])
    assert wrap_deg(angle + back) == pytest.approx(0.0, abs=1e-6) or abs(angle) == 180.0


@given(angles, st.floats(min_value=-60, max_value=60))
def test_plane_angle_ignores_out_of_plane_components(turn: float, lift: float) -> None:
    """Tilting ``v`` out of the plane does not change its in-plane angle."""
    normal = np.array([0.0, 0.0, 1.0])
    v_in = np.array([np.cos(np.radians(turn)), np.sin(np.radians(turn)), 0.0])
    v = v_in + normal * np.tan(np.radians(lift))
    assert signed_angle_in_plane([1.0, 0.0, 0.0], v, normal) == pytest.approx(turn, abs=1e-6)
    assert np.dot(project_onto_plane(v, normal), normal) == pytest.approx(0.0, abs=1e-9)


@given(angles, st.floats(min_value=0.2, max_value=5.0), finite, finite)
def test_best_fit_rotation_is_exact_for_rigid_motion(turn: float, scale: float, dx: float,
                                                     dy: float) -> None:  # fmt: skip
    reference = np.array([[0.0, 0.0], [1.0, 0.2], [0.3, -0.8], [-0.5, 0.4]])
    moved = scale * rotate_2d(reference, turn) + [dx, dy]
    assert best_fit_rotation_2d(reference, moved) == pytest.approx(turn, abs=1e-6)


def test_best_fit_rotation_skips_missing_points() -> None:
    reference = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    moved = rotate_2d(reference, 30.0)
    moved[2] = np.nan
    assert best_fit_rotation_2d(reference, moved) == pytest.approx(30.0)
    moved[1] = np.nan
    assert np.isnan(best_fit_rotation_2d(reference, moved))


@given(st.floats(min_value=-1e4, max_value=1e4))
def test_wrap_deg_range_and_congruence(angle: float) -> None:
    wrapped = float(wrap_deg(angle))
    assert -180.0 < wrapped <= 180.0
    assert (angle - wrapped) / 360.0 == pytest.approx(round((angle - wrapped) / 360.0), abs=1e-6)
