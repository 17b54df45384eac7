"""The standing-leg swap check: in a one-leg movement the other leg stays put."""

from __future__ import annotations

import numpy as np
import pytest

from rom_measure import analyze_landmarks
from rom_measure.measure.movements import get_movement
from rom_measure.measure.signal import swap_legs
from rom_measure.measure.swaps import other_leg_moved, still_leg_swaps
from tests.stick_figure import Camera, movement_clip, posed, series_of

SIDE_VIEW = Camera(90.0)  # on the subject's left


def _held_swap(movement: str, peak: float):
    """A clip whose legs are swapped by the labels during the whole hold at the top."""
    series, truth = movement_clip(movement, "left", peak, SIDE_VIEW, hold_s=1.0)
    hold = np.isclose(truth, peak)
    return series, swap_legs(series, hold), hold


@pytest.mark.parametrize(
    ("movement", "peak"),
    [("hip-flexion", 50.0), ("hip-extension", 20.0), ("ankle-dorsiflexion", 20.0),
     ("ankle-plantarflexion", 40.0)],
)  # fmt: skip
def test_a_hold_read_on_the_standing_leg_is_found(movement: str, peak: float) -> None:
    _, swapped, hold = _held_swap(movement, peak)
    np.testing.assert_array_equal(still_leg_swaps(swapped, get_movement(movement), "left"), hold)


def test_a_clean_clip_has_no_swap() -> None:
    series, _ = movement_clip("hip-flexion", "left", 90.0, SIDE_VIEW, reps=2)
    assert not still_leg_swaps(series, get_movement("hip-flexion"), "left").any()


def test_movements_of_both_legs_are_not_checked() -> None:
    _, swapped, _ = _held_swap("ankle-lunge", 30.0)
    assert not still_leg_swaps(swapped, get_movement("ankle-lunge"), "left").any()


def test_the_analysis_puts_the_swapped_hold_back() -> None:
    clean, swapped, _ = _held_swap("hip-flexion", 50.0)
    # motion continuity alone keeps the model's labels here (a long swap)
    repaired = analyze_landmarks(swapped, "hip-flexion", "left")
    expected = analyze_landmarks(clean, "hip-flexion", "left").rom_deg
    assert repaired.rom_deg == pytest.approx(expected, abs=0.5)
    assert repaired.rom_deg > 45.0
    steps = {s.name: s.frames_affected for s in repaired.processing}
    assert steps["repair_standing_leg_swaps"] > 0


def test_only_the_other_leg_moving_is_reported_not_repaired() -> None:
    series, _ = movement_clip("hip-flexion", "right", 60.0, SIDE_VIEW)
    result = analyze_landmarks(series, "hip-flexion", "left")
    assert "other_leg_moved" in {f.code for f in result.quality.findings}
    assert result.quality.verdict != "ok"


def test_the_other_leg_moving_alone_is_not_a_swap() -> None:
    """The far leg read 30 deg off its start while the measured one is still (its noise)."""
    _, truth = movement_clip("hip-flexion", "left", 60.0, SIDE_VIEW)
    poses = [posed("hip-flexion", "left", a) for a in truth]
    wobble = range(18, 26)  # in the still start, after its first 0.5 s
    for frame in wobble:
        poses[frame] = posed("hip-flexion", "right", 30.0)
    series = series_of(poses, SIDE_VIEW)
    found = still_leg_swaps(series, get_movement("hip-flexion"), "left")
    assert not found.any()
    assert not other_leg_moved(series, get_movement("hip-flexion"), "left")


def test_a_short_repaired_hold_is_still_a_warning() -> None:
    """A swap in under 10% of the frames, put back through the standing leg: not ok."""
    series, truth = movement_clip("hip-flexion", "left", 50.0, SIDE_VIEW, still_s=5.0, hold_s=1.0)
    hold = np.isclose(truth, 50.0)
    assert hold.mean() < 0.1
    result = analyze_landmarks(swap_legs(series, hold), "hip-flexion", "left")
    steps = {s.name: s.frames_affected for s in result.processing}
    assert steps["repair_standing_leg_swaps"] == hold.sum()  # not motion continuity
    assert result.rom_deg == pytest.approx(analyze_landmarks(series, "hip-flexion", "left").rom_deg,
                                           abs=0.5)  # fmt: skip
    assert "leg_swaps" in {f.code for f in result.quality.findings}
    assert result.quality.verdict == "warning"
