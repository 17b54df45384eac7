"""Lost-limb detectors on stick-figure clips: each must fire on its failure, not on clean motion."""

from __future__ import annotations

import numpy as np
import pytest

from rom_measure.measure import lost
from rom_measure.measure.analysis import AnalysisSettings, analyze_landmarks
from rom_measure.measure.landmarks import Landmark as L
from rom_measure.measure.landmarks import LandmarkSeries
from rom_measure.measure.movements import get_movement
from tests.stick_figure import Camera, ideal_camera, leg, posed, rotate_about, rotation, series_of

FPS = 30.0
HIP = get_movement("hip-flexion")
EXACT = AnalysisSettings(calibrate=False)


def bent_knee(angle_deg: float, side: str = "left") -> np.ndarray:
    """Hip flexion with the knee bent by the same angle (the raised-knee test)."""
    p = posed("hip-flexion", side, angle_deg)
    knee = p[L.of(side, "knee")].copy()
    rotate_about(p, leg(side, "knee"), knee, rotation("x", angle_deg))
    return p


def profile(peak: float, reps: int = 2, ramp_s: float = 1.2, hold_s: float = 1.0) -> np.ndarray:
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, round(ramp_s * FPS)))
    parts = [np.zeros(round(FPS))]
    for _ in range(reps):
        parts += [peak * ramp, np.full(round(hold_s * FPS), peak), peak * ramp[::-1],
                  np.zeros(round(0.4 * FPS))]  # fmt: skip
    return np.concatenate(parts)


def clip(angles: np.ndarray, camera: Camera | None = None) -> LandmarkSeries:
    return series_of([bent_knee(a) for a in angles], camera or ideal_camera("hip-flexion", "left"),
                     FPS)  # fmt: skip


def hold_frames(angles: np.ndarray, rep: int = 0) -> np.ndarray:
    """Indices of the rep-th hold (the frames at the peak)."""
    at_peak = np.flatnonzero(angles == angles.max())
    runs = np.split(at_peak, np.flatnonzero(np.diff(at_peak) > 1) + 1)
    return runs[rep]


def with_image(
    series: LandmarkSeries, frames: np.ndarray, poses: list[np.ndarray]
) -> LandmarkSeries:
    """The model's image output replaced in ``frames`` (the world output kept)."""
    image = series.image.copy()
    camera = ideal_camera("hip-flexion", "left")
    for i, p in zip(frames, poses, strict=True):
        image[i] = camera.project(p)
    return series.replace(image=image)


def knee_dropped(angle_deg: float, keep_thigh: bool = False) -> np.ndarray:
    """The raised knee and foot put on the floor beside the standing foot.

    With ``keep_thigh`` the hip is read lower too, so that the thigh keeps its length
    (the segment-length check cannot see it; only the knee's height gives it away).
    """
    p = bent_knee(angle_deg)
    standing = posed("hip-flexion", "left", 0.0)
    for part in ("knee", "ankle", "heel", "foot_index"):
        p[L.of("left", part)] = standing[L.of("right", "ankle")] + (0.2, 0.02, 0.1)
    if keep_thigh:
        p[L.LEFT_HIP] = p[L.LEFT_KNEE] + (0.0, 0.42, -0.1)
    return p


def dropped(frames: np.ndarray) -> list[np.ndarray]:
    return [knee_dropped(95.0, keep_thigh=True)] * frames.size


def image_angle(series: LandmarkSeries) -> np.ndarray:
    return HIP.angles(series, "left")


# -- each detector alone ----------------------------------------------------------------


def test_too_fast_fires_on_a_jump_and_not_on_a_brisk_repetition() -> None:
    brisk = profile(95.0, reps=3, ramp_s=0.5, hold_s=0.3)  # ~300 deg/s at mid-ramp
    t = np.arange(brisk.size) / FPS
    assert not lost.too_fast(t, brisk).any()
    jumped = brisk.copy()
    hold = hold_frames(brisk, 1)
    jumped[hold[3:6]] = 35.0  # 60 deg in one frame, 1800 deg/s
    fast = lost.too_fast(t, jumped)
    assert fast[hold[3:6]].all()
    assert not fast[: hold[0] - 3].any()


def test_collapse_fires_on_a_dip_during_the_hold_and_not_on_real_repetitions() -> None:
    angles = profile(95.0, reps=2)
    t = np.arange(angles.size) / FPS
    assert not lost.collapse(t, angles, 0.0).any()
    # back-to-back fast repetitions: the trough reaches neutral, so it is no collapse
    quick = profile(95.0, reps=3, ramp_s=0.5, hold_s=0.2)
    assert not lost.collapse(np.arange(quick.size) / FPS, quick, 0.0).any()
    dipped = angles.copy()
    hold = hold_frames(angles, 0)
    dip = hold[10:19]  # 0.3 s, down to 45 deg and back (under 600 deg/s: not "too fast")
    dipped[dip] = 95.0 - 50.0 * np.sin(np.linspace(0, np.pi, dip.size + 2)[1:-1])
    assert not lost.too_fast(t, dipped).any()
    found = lost.collapse(t, dipped, 0.0)
    assert found[dip[3:-3]].all()
    assert not found[: hold[0]].any() and not found[hold[-1] + 1 :].any()


def test_knee_on_floor_fires_only_after_a_high_thigh() -> None:
    angles = profile(95.0, reps=1)
    series = clip(angles)
    assert not lost.knee_on_floor(series, "left", series.time_s, image_angle(series)).any()
    hold = hold_frames(angles)[5:20]
    dropped = with_image(series, hold, [knee_dropped(95.0)] * hold.size)
    found = lost.knee_on_floor(dropped, "left", dropped.time_s, image_angle(dropped))
    assert found[hold].all()
    assert found.sum() == hold.size


def test_world_disagreement_fires_when_only_the_image_loses_the_knee() -> None:
    angles = profile(95.0, reps=1)
    series = clip(angles)
    still = series.time_s < 0.9
    assert not lost.world_disagrees(series, HIP, "left", image_angle(series), still).any()
    hold = hold_frames(angles)[5:20]
    dropped = with_image(series, hold, [bent_knee(30.0)] * hold.size)  # image reads 30, world 95
    found = lost.world_disagrees(dropped, HIP, "left", image_angle(dropped), still)
    assert found[hold].all()
    assert found.sum() == hold.size


def test_world_angle_matches_the_posed_angle() -> None:
    series = clip(np.array([0.0, 30.0, 60.0, 95.0]))
    assert lost.world_angle(series, HIP, "left") == pytest.approx([0.0, 30.0, 60.0, 95.0], abs=0.01)


# -- in the pipeline --------------------------------------------------------------------


def test_clean_bent_knee_clip_is_untouched() -> None:
    r = analyze_landmarks(clip(profile(95.0)), "hip-flexion", "left", EXACT)
    assert r.quality.verdict == "ok"
    assert "lost_limb" not in set(r.frame_status)
    assert [rep.rom_deg for rep in r.rom.repetitions] == pytest.approx([95.0, 95.0], abs=0.5)


def test_knee_lost_at_every_peak_rejects_with_a_plain_reason() -> None:
    angles = profile(95.0)
    series = clip(angles)
    frames = np.concatenate([hold_frames(angles, 0)[5:25], hold_frames(angles, 1)[5:25]])
    r = analyze_landmarks(with_image(series, frames, dropped(frames)), "hip-flexion", "left", EXACT)
    assert r.quality.verdict == "rejected"
    assert any("lost the raised knee at the top of the movement" in m for m in r.quality.reasons)
    assert (r.frame_status[frames] == "lost_limb").all()
    assert np.isnan(r.rom_deg)


def test_knee_lost_in_one_repetition_keeps_the_other_with_a_warning() -> None:
    angles = profile(95.0)
    series = clip(angles)
    frames = hold_frames(angles, 1)[5:25]
    r = analyze_landmarks(with_image(series, frames, dropped(frames)), "hip-flexion", "left", EXACT)
    assert r.quality.verdict == "warning"
    assert len(r.rom.repetitions) == 1
    assert r.rom_deg == pytest.approx(95.0, abs=0.5)
    assert any("repetitions found" in m and "left out" in m for m in r.quality.reasons)


def test_detection_can_be_turned_off() -> None:
    angles = profile(95.0)
    frames = hold_frames(angles, 1)[5:25]
    series = with_image(clip(angles), frames, dropped(frames))
    off = AnalysisSettings(calibrate=False, detect_lost_limb=False)
    r = analyze_landmarks(series, "hip-flexion", "left", off)
    assert "lost_limb" not in set(r.frame_status)


def test_peaks_beside_frames_taken_out_are_dropped() -> None:
    """The thigh-length check takes out the hold; the ramps beside it are no peaks.

    This is what the pose model did on a rendered 110 deg bent-knee hip flexion: it
    folded the thigh during each hold and four "repetitions" were found in two.
    """
    angles = profile(95.0)
    series = clip(angles)
    frames = np.concatenate([hold_frames(angles, 0)[2:28], hold_frames(angles, 1)[2:28]])
    folded = with_image(series, frames, [knee_dropped(95.0)] * frames.size)  # thigh stretched
    r = analyze_landmarks(folded, "hip-flexion", "left", EXACT)
    assert (r.frame_status[frames] == "segment_length").all()
    assert r.quality.verdict == "rejected"
    assert any("a limb segment changed length" in m for m in r.quality.reasons)
    off = AnalysisSettings(calibrate=False, detect_lost_limb=False)
    assert len(analyze_landmarks(folded, "hip-flexion", "left", off).rom.repetitions) == 4


# -- a second opinion for the frames taken out -----------------------------------------


def test_a_sound_second_opinion_restores_the_lost_peaks() -> None:
    angles = profile(95.0)
    clean = clip(angles)
    frames = np.concatenate([hold_frames(angles, 0)[2:28], hold_frames(angles, 1)[2:28]])
    folded = with_image(clean, frames, [knee_dropped(95.0)] * frames.size)
    first = analyze_landmarks(folded, "hip-flexion", "left", EXACT)
    windows = lost.recheck_windows(first.time_s, first.frame_status)
    assert len(windows) == 2
    for (a, b), run in zip(windows, (frames[:26], frames[26:]), strict=True):
        assert a == pytest.approx(first.time_s[run[0]] - lost.RECHECK_LEAD_S)
        assert b == pytest.approx(first.time_s[run[-1]] + lost.RECHECK_TAIL_S)
    # Both repetitions were dropped; only the runs next to a dropped peak are re-run.
    assert len(first.lost_peaks_s) >= 2  # the ramps either side of each gap read as peaks
    assert lost.recheck_windows(first.time_s, first.frame_status, first.lost_peaks_s) == windows
    late = tuple(p for p in first.lost_peaks_s if p > windows[0][1])
    one = lost.recheck_windows(first.time_s, first.frame_status, late)
    assert one == windows[1:]
    assert lost.recheck_windows(first.time_s, first.frame_status, ()) == []
    inside = np.zeros(clean.frames, dtype=bool)
    for a, b in windows:
        inside |= (clean.time_s >= a) & (clean.time_s <= b)
    second = clean.take(inside).replace(meta={"model": "test model"})
    merged, replaced = lost.merge_second_opinion(first.series, second, first.frame_status)
    assert replaced == frames.size
    again = analyze_landmarks(merged, "hip-flexion", "left", EXACT)
    assert [r.rom_deg for r in again.rom.repetitions] == pytest.approx([95.0, 95.0], abs=0.5)
    # the re-run is not validated to 5 deg: never ok on its own word
    assert again.quality.verdict == "warning"
    assert {f.code for f in again.quality.findings if f.severity != "info"} == {"second_opinion"}
    assert again.lost_peaks_s == ()


def test_a_second_opinion_that_is_no_better_is_taken_out_again() -> None:
    angles = profile(95.0)
    frames = np.concatenate([hold_frames(angles, 0)[2:28], hold_frames(angles, 1)[2:28]])
    folded = with_image(clip(angles), frames, [knee_dropped(95.0)] * frames.size)
    first = analyze_landmarks(folded, "hip-flexion", "left", EXACT)
    merged, replaced = lost.merge_second_opinion(first.series, folded, first.frame_status)
    assert replaced == frames.size
    assert analyze_landmarks(merged, "hip-flexion", "left", EXACT).quality.verdict == "rejected"


# -- lunge: the front knee read behind the back knee ------------------------------------


def lunge_pose(angle_deg: float) -> np.ndarray:
    """Left (front) shank inclined by ``angle_deg``, the right leg 25 deg back from the hip."""
    p = posed("ankle-lunge", "left", angle_deg)
    rotate_about(p, leg("right"), p[L.RIGHT_HIP].copy(), rotation("x", 25.0))
    return p


def lunge_clip() -> tuple[LandmarkSeries, np.ndarray]:
    angles = profile(30.0, reps=1)
    return series_of([lunge_pose(a) for a in angles], Camera(90.0), FPS), angles


def test_a_front_knee_read_behind_the_back_knee_is_lost() -> None:
    clean, angles = lunge_clip()
    hold = np.flatnonzero(angles == angles.max())
    image = clean.image.copy()
    front, back = clean.image[hold, L.LEFT_KNEE], clean.image[hold, L.RIGHT_KNEE]
    image[hold, L.LEFT_KNEE], image[hold, L.RIGHT_KNEE] = back, front
    crossed = clean.replace(image=image)
    still = clean.time_s < 0.9
    np.testing.assert_array_equal(lost.knees_crossed(crossed, "left", still),
                                  np.isin(np.arange(clean.frames), hold))  # fmt: skip
    result = analyze_landmarks(crossed, "ankle-lunge", "left", EXACT)
    assert result.quality.verdict == "rejected"
    assert "knees crossed" in " ".join(result.quality.reasons)


def test_a_clean_lunge_keeps_its_knees_apart() -> None:
    clean, angles = lunge_clip()
    assert not lost.knees_crossed(clean, "left", clean.time_s < 0.9).any()
    result = analyze_landmarks(clean, "ankle-lunge", "left", EXACT)
    codes = [f.code for f in result.quality.findings if f.severity != "info"]
    assert codes == ["approximate_method"], result.quality.reasons  # never ok, nothing lost
    assert result.rom_deg == pytest.approx(angles.max(), abs=0.5)


def _raises_with_a_dropped_frame(peaks: tuple[float, ...], drop_in: int | None):
    """Stick-figure hip flexions (30 fps: 1 s still, 1 s ramps, 0.5 s holds); with
    ``drop_in`` the middle frame of that repetition's hold reads the knee 25 deg lower."""
    from ..stick_figure import ideal_camera, posed, series_of

    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, 30))
    angles, dropped = [np.zeros(30)], None
    for index, peak in enumerate(peaks):
        hold = np.full(15, peak)
        start = sum(a.size for a in angles) + ramp.size
        if index == drop_in:
            dropped = start + 7
        angles += [peak * ramp, hold, peak * ramp[::-1], np.zeros(20)]
    truth = np.concatenate(angles)
    poses = [posed("hip-flexion", "left", a - 25.0 * (i == dropped)) for i, a in enumerate(truth)]
    return series_of(poses, ideal_camera("hip-flexion", "left"))


def test_analysis_warns_of_a_knee_dropped_at_the_reported_peak_only() -> None:
    from rom_measure import analyze_landmarks

    def codes(peaks: tuple[float, ...], drop_in: int | None) -> set[str]:
        result = analyze_landmarks(_raises_with_a_dropped_frame(peaks, drop_in), "hip-flexion",
                                   "left")  # fmt: skip
        return {f.code for f in result.quality.findings}

    assert "peak_flicker" not in codes((90.0,), None)
    assert "peak_flicker" in codes((90.0,), 0)  # taken out as an outlier, still counted
    assert "peak_flicker" in codes((70.0, 90.0), 1)  # the reported, largest, repetition
    assert "peak_flicker" not in codes((70.0, 90.0), 0)  # a smaller one: not the reported
