"""A tilted camera keeps the framing window in the picture (clips filmed as instructed)."""

from __future__ import annotations

import numpy as np
import pytest

from rom_measure.synth.framing import _window, default_camera, tilt_in_frame

# A low phone tilted up, 3.2 m away, landscape 960x540.
LOW = {"width_px": 960, "height_px": 540, "distance_m": 3.2, "height_m": 0.5}


def _window_rows(
    movement: str, side: str, pitch_offset: float, fov: float | None, **camera
) -> np.ndarray:
    """Image rows (v) of the framing window's bottom and top seen by the camera."""
    cam = default_camera(movement, side, pitch_offset_deg=pitch_offset, fov_deg=fov, **camera)
    _, bottom, top, _ = _window(movement, 1.0, 0.0)
    return cam.project(np.array([[0.0, bottom, 0.0], [0.0, top, 0.0]]))[:, 1]


def test_a_fixed_lens_tilts_only_until_the_feet_would_leave_the_picture() -> None:
    asked = -6.0
    # The whole tilt would cut the feet off (the window's bottom below the last row).
    assert _window_rows("hip-flexion", "left", asked, 66.0, **LOW)[0] > LOW["height_px"]
    kept, fov = tilt_in_frame("hip-flexion", "left", asked, fov_deg=66.0, **LOW)
    assert fov == 66.0
    assert asked < kept < 0.0
    bottom_v, top_v = _window_rows("hip-flexion", "left", kept, 66.0, **LOW)
    assert bottom_v == pytest.approx(LOW["height_px"], abs=0.5)  # stops at the edge
    assert top_v >= 0.0


def test_a_framed_lens_keeps_the_tilt_and_widens_the_view() -> None:
    neck = {**LOW, "height_m": 1.05}
    asked = -6.0
    bottom_v, _ = _window_rows("neck-rotation", "left", asked, None, **neck)
    assert bottom_v > neck["height_px"]  # the default framing would cut the shoulders
    kept, fov = tilt_in_frame("neck-rotation", "left", asked, fov_deg=None, **neck)
    assert kept == asked and fov is not None
    rows = _window_rows("neck-rotation", "left", kept, fov, **neck)
    assert np.all((rows >= 0.0) & (rows <= neck["height_px"]))
    assert max(rows.max(), neck["height_px"] - rows.min()) == pytest.approx(
        0.5 * neck["height_px"] * (1 + 0.92), abs=1.0
    )  # the farther end fills the frame as the default framing does


@pytest.mark.parametrize("fov", [66.0, None])
def test_a_tilt_that_fits_is_left_alone(fov: float | None) -> None:
    level = {**LOW, "height_m": 0.95, "distance_m": 4.0}
    assert tilt_in_frame("hip-flexion", "left", 0.5, fov_deg=fov, **level) == (0.5, fov)
