"""Averaging each repetition with the mirrored picture's reading (exact stick figures)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from rom_measure.measure.analysis import analyze_landmarks
from rom_measure.measure.mirror_average import (
    NEUTRAL_S,
    PEAK_HALF_WINDOW_S,
    average_with_mirror,
    mirror_windows,
)
from rom_measure.measure.movements import get_movement

from ..stick_figure import ideal_camera, movement_clip, posed, series_of

CAMERA = ideal_camera("hip-abduction", "left")


def _clip(peak_deg: float, reps: int = 1):
    series, _ = movement_clip("hip-abduction", "left", peak_deg, CAMERA, reps=reps)
    return series


def test_each_repetition_becomes_the_mean_of_both_readings() -> None:
    result = analyze_landmarks(_clip(40.0, reps=2), "hip-abduction", "left")
    gain = get_movement("hip-abduction").calibration_gain
    assert result.quality.verdict == "ok" and len(result.rom.repetitions) == 2
    # The mirrored picture read every frame 25% short: 30 deg at the holds.
    averaged = average_with_mirror(result, _clip(30.0, reps=2))
    for before, after in zip(result.rom.repetitions, averaged.rom.repetitions, strict=True):
        assert after.rom_deg == pytest.approx(before.rom_deg - 0.5 * 10.0 * gain, abs=0.05)
        assert after.peak_s == before.peak_s
    assert averaged.rom_deg == pytest.approx(35.0 * gain, abs=0.3)
    assert averaged.rom.rom_mean_deg == pytest.approx(35.0 * gain, abs=0.3)
    assert averaged.quality.verdict == "ok"
    (note,) = [f for f in averaged.quality.findings if f.code == "mirror_average"]
    assert note.severity == "info" and "the others scaled alike" in note.message
    assert averaged.processing[-1].params == {
        "averaged": 1,
        "scale": pytest.approx(35 / 40, abs=1e-3),
    }


def test_the_same_reading_mirrored_changes_nothing() -> None:
    result = analyze_landmarks(_clip(40.0), "hip-abduction", "left")
    same = average_with_mirror(result, _clip(40.0))
    assert same.rom_deg == pytest.approx(result.rom_deg, abs=1e-6)


def test_a_smaller_repetition_moves_in_proportion() -> None:
    _, larger = movement_clip("hip-abduction", "left", 40.0, CAMERA)
    _, smaller = movement_clip("hip-abduction", "left", 20.0, CAMERA)
    angles = np.concatenate([larger, smaller])
    both = series_of([posed("hip-abduction", "left", a) for a in angles], CAMERA)
    result = analyze_landmarks(both, "hip-abduction", "left")
    assert len(result.rom.repetitions) == 2
    # The mirror reads the first (larger) repetition, at the same times, 25% short.
    averaged = average_with_mirror(result, _clip(30.0))
    before, after = result.rom.repetitions[1].rom_deg, averaged.rom.repetitions[1].rom_deg
    assert after == pytest.approx(before * 35 / 40, abs=0.05)


def test_an_unreadable_mirrored_picture_keeps_the_own_rom() -> None:
    result = analyze_landmarks(_clip(40.0), "hip-abduction", "left")
    lost = _clip(30.0)
    lost = replace(lost, image=np.full_like(lost.image, np.nan))
    averaged = average_with_mirror(result, lost)
    assert averaged.rom_deg == result.rom_deg
    assert any("could not be read" in f.message for f in averaged.quality.findings)


def test_only_the_end_of_neutral_and_the_largest_peak_are_re_read() -> None:
    result = analyze_landmarks(_clip(40.0, reps=3), "hip-abduction", "left")
    windows = mirror_windows(result)
    neutral, pad = result.rom.neutral, 0.5 / 30  # half a frame at 30 fps
    start = max(neutral.start_s, neutral.end_s - NEUTRAL_S)
    assert windows[0] == pytest.approx((start - pad, neutral.end_s + pad))
    largest = max(result.rom.repetitions, key=lambda r: r.rom_deg).peak_s
    (peak,) = windows[1:]
    assert peak == pytest.approx((largest - PEAK_HALF_WINDOW_S - pad,
                                  largest + PEAK_HALF_WINDOW_S + pad))  # fmt: skip
    span = sum(end - start for start, end in windows)
    assert span <= NEUTRAL_S + 2 * PEAK_HALF_WINDOW_S + 4 * pad + 1e-9  # whatever the length


def test_the_curves_are_scaled_with_the_rom_about_the_zero() -> None:
    result = analyze_landmarks(_clip(40.0), "hip-abduction", "left")
    averaged = average_with_mirror(result, _clip(30.0))
    zero = averaged.rom.peak_deg - averaged.rom.rom_deg
    assert zero == pytest.approx(result.rom.peak_deg - result.rom.rom_deg)
    assert np.nanmax(averaged.filtered_deg) - zero == pytest.approx(averaged.rom_deg, abs=0.5)
    assert np.nanmax(result.filtered_deg) - zero == pytest.approx(result.rom_deg, abs=0.5)


@pytest.mark.parametrize("mirrored_peak_deg", [10.0, 95.0])
def test_readings_that_disagree_keep_the_own_rom_with_a_warning(mirrored_peak_deg) -> None:
    """A mirrored reading under half or over twice the picture's own: one lost the limb."""
    result = analyze_landmarks(_clip(40.0), "hip-abduction", "left")
    assert result.quality.verdict == "ok"
    kept = average_with_mirror(result, _clip(mirrored_peak_deg))
    assert kept.rom_deg == result.rom_deg
    assert kept.quality.verdict == "warning"
    (warning,) = [f for f in kept.quality.findings if f.code == "not_mirror_averaged"]
    assert "lost the limb" in warning.message
    assert kept.rom.uncertainty_components["warnings_deg"] > 0
    assert kept.rom.uncertainty_deg > result.rom.uncertainty_deg
    # within the range the two pictures do give, it is averaged and stays ok
    assert average_with_mirror(result, _clip(25.0)).quality.verdict == "ok"


def test_no_still_start_or_a_second_opinion_at_the_peak_is_left_as_it_is() -> None:
    from rom_measure.measure.quality import Finding, verdict

    series, _ = movement_clip("hip-abduction", "left", 40.0, CAMERA, still_s=0.0)
    moving = analyze_landmarks(series, "hip-abduction", "left")
    assert not moving.rom.neutral.from_still_start
    assert average_with_mirror(moving, series) is moving
    result = analyze_landmarks(_clip(40.0), "hip-abduction", "left")
    rerun = Finding("second_opinion", "warning", "re-run")
    reran = replace(result, quality=verdict([*result.quality.findings, rerun]))
    assert average_with_mirror(reran, _clip(30.0)) is reran


def test_a_result_left_as_it_is_does_not_read_the_video(tmp_path) -> None:
    """The mirrored re-read is skipped, not made and thrown away (0.6 s on a real clip):
    a video that cannot be read would otherwise give a not_mirror_averaged warning."""
    from rom_measure.measure.quality import Finding, verdict
    from rom_measure.media.pipeline import with_mirror_average

    missing = tmp_path / "missing.mp4"
    series, _ = movement_clip("hip-abduction", "left", 40.0, CAMERA, still_s=0.0)
    moving = analyze_landmarks(series, "hip-abduction", "left")
    assert with_mirror_average(moving, missing) is moving
    result = analyze_landmarks(_clip(40.0), "hip-abduction", "left")
    rerun = Finding("second_opinion", "warning", "re-run")
    reran = replace(result, quality=verdict([*result.quality.findings, rerun]))
    assert with_mirror_average(reran, missing) is reran
    # one it would average does read it
    assert "not_mirror_averaged" in {f.code for f in with_mirror_average(result, missing)
                                      .quality.findings}  # fmt: skip


def test_without_the_video_a_mirror_averaged_movement_is_warned() -> None:
    from rom_measure.media.pipeline import without_video

    result = analyze_landmarks(_clip(40.0), "hip-abduction", "left")
    warned = without_video(result)
    assert warned.quality.verdict == "warning" and warned.rom_deg == result.rom_deg
    assert [f.code for f in warned.quality.findings][-1] == "not_mirror_averaged"
    flexion, _ = movement_clip("hip-flexion", "left", 60.0, ideal_camera("hip-flexion", "left"))
    plain = analyze_landmarks(flexion, "hip-flexion", "left")
    assert without_video(plain) is plain  # not a movement measured on both pictures
