"""Mirrored second opinion: landmarks found on a flipped frame map back exactly."""

from __future__ import annotations

import numpy as np
import pytest

from rom_measure.measure.landmarks import Landmark as L
from rom_measure.media.mirror import MirroredPose, unmirror
from rom_measure.media.pose import PoseObservation
from tests.stick_figure import ideal_camera, posed


def observation() -> PoseObservation:
    body = posed("hip-flexion", "left", 70.0)
    camera = ideal_camera("hip-flexion", "left")
    vis = np.linspace(0.5, 1.0, 33).astype(np.float32)
    return PoseObservation(camera.project(body).astype(np.float32), vis, vis[::-1].copy(),
                           camera.world(body).astype(np.float32))  # fmt: skip


class Recorder:
    """A stand-in backend that records the picture it was given."""

    model_name = "exact"

    def __init__(self, answer: PoseObservation) -> None:
        self.answer, self.seen = answer, []

    def detect(self, rgb: np.ndarray, timestamp_ms: int) -> list[PoseObservation]:
        self.seen.append(rgb)
        return [self.answer]

    def close(self) -> None:
        pass


def test_unmirror_flips_x_and_swaps_sides() -> None:
    o = observation()
    back = unmirror(o)
    assert back.image[L.LEFT_KNEE, 0] == np.float32(1.0) - o.image[L.RIGHT_KNEE, 0]
    assert back.image[L.LEFT_KNEE, 1] == o.image[L.RIGHT_KNEE, 1]
    assert back.world[L.LEFT_HIP, 0] == -o.world[L.RIGHT_HIP, 0]
    assert back.visibility[L.LEFT_ANKLE] == o.visibility[L.RIGHT_ANKLE]
    assert back.image[L.NOSE, 0] == np.float32(1.0) - o.image[L.NOSE, 0]
    twice = unmirror(back)
    for name in ("image", "visibility", "presence", "world"):
        np.testing.assert_allclose(getattr(twice, name), getattr(o, name), atol=1e-6)


def test_mirrored_pose_flips_the_picture_and_answers_in_the_original_frame() -> None:
    o = observation()
    recorder = Recorder(o)
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    (answer,) = MirroredPose(recorder).detect(rgb, 0)
    np.testing.assert_array_equal(recorder.seen[0], rgb[:, ::-1])
    np.testing.assert_allclose(answer.image, unmirror(o).image)
    assert MirroredPose(recorder).model_name == "exact (mirrored)"


def _rendered_hip_flexion(peak_deg: float):
    from rom_measure.synth import ClipSpec
    from rom_measure.synth.cache import cached_clip

    spec = ClipSpec("hip-flexion", "left", peak_deg=peak_deg, repetitions=2, width_px=640,
                    height_px=360, hold_s=1.0, supersample=1)  # fmt: skip
    return cached_clip(spec)


@pytest.mark.slow
def test_rendered_bent_knee_hip_flexion_lost_then_kept_by_the_mirrored_frame(pose_model) -> None:
    """The real model folds the raised thigh in each hold of a 110 deg bent-knee flexion.

    Without the detectors four "repetitions" are found in two; with them the clip is
    rejected; measured again on the mirrored frames around the lost runs it is kept.
    """
    from rom_measure.measure import lost
    from rom_measure.measure.analysis import AnalysisSettings, analyze_landmarks
    from rom_measure.media.mirror import mirrored_landmarks
    from rom_measure.media.pipeline import analyze_video, video_landmarks
    from rom_measure.media.pose import MediaPipePose

    video, truth = _rendered_hip_flexion(110.0)
    # The tracker asked for two people (as before the one-pose tracker) loses the knee here.
    with MediaPipePose(pose_model, max_people=2) as two_people:
        series = video_landmarks(video, backend=two_people)
    bare = analyze_landmarks(
        series, "hip-flexion", "left", AnalysisSettings(detect_lost_limb=False)
    )
    assert len(bare.rom.repetitions) > truth["repetitions"]
    first = analyze_landmarks(series, "hip-flexion", "left")
    assert first.quality.verdict == "rejected"
    assert any("lost the raised knee" in r for r in first.quality.reasons)
    windows = lost.recheck_windows(first.time_s, first.frame_status)
    second = mirrored_landmarks(video, windows, pose_model)
    merged, replaced = lost.merge_second_opinion(first.series, second, first.frame_status)
    assert replaced > 0
    again = analyze_landmarks(merged, "hip-flexion", "left")
    assert again.quality.reasons == [next(f.message for f in again.quality.findings
                                          if f.code == "second_opinion")]  # fmt: skip
    assert again.quality.verdict == "warning"  # kept, but never ok on the re-run's word
    assert len(again.rom.repetitions) == truth["repetitions"]
    assert abs(again.rom_deg - truth["rom_deg"]) <= 5.0
    # As users run it (one-pose tracker, second opinion when needed): accurate, but the
    # model still drops the knee for a few frames of a hold (7, up to 24 deg off), so
    # the result is warned (peak_flicker), never ok.
    result = analyze_video(video, "hip-flexion", "left", pose_model)
    codes = {f.code for f in result.quality.findings}
    assert "peak_flicker" in codes  # the knee dropped for frames of a hold: never ok
    assert result.quality.verdict == "warning", result.quality.reasons
    assert abs(result.rom_deg - truth["rom_deg"]) <= 5.0


@pytest.mark.slow
def test_rendered_bent_knee_hip_flexion_at_95_is_left_alone(pose_model) -> None:
    from rom_measure.measure.analysis import analyze_landmarks
    from rom_measure.media.pipeline import video_landmarks

    video, truth = _rendered_hip_flexion(95.0)
    result = analyze_landmarks(video_landmarks(video, pose_model), "hip-flexion", "left")
    assert result.quality.verdict == "ok", result.quality.reasons
    assert "lost_limb" not in set(result.frame_status)
    assert abs(result.rom_deg - truth["rom_deg"]) <= 5.0


def test_no_mirrored_rerun_for_a_limb_on_the_far_side(tmp_path) -> None:
    from dataclasses import replace

    from rom_measure import InputError
    from rom_measure.measure.analysis import analyze_landmarks
    from rom_measure.measure.quality import Finding, Quality
    from rom_measure.media.pipeline import with_second_opinion
    from tests.measure.test_lost import EXACT, clip, hold_frames, knee_dropped, profile, with_image

    angles = profile(95.0)
    frames = np.concatenate([hold_frames(angles, 0)[2:28], hold_frames(angles, 1)[2:28]])
    folded = with_image(clip(angles), frames, [knee_dropped(95.0)] * frames.size)
    near = analyze_landmarks(folded, "hip-flexion", "left", EXACT)
    assert near.quality.verdict == "rejected" and near.lost_peaks_s
    missing = tmp_path / "gone.mp4"
    with pytest.raises(InputError, match="not found"):  # a near-side limb is re-run
        with_second_opinion(near, missing)
    hidden = Finding("far_side", "warning", "the left limb is measured but the right side faces")
    far = replace(near, quality=Quality(near.quality.verdict, (*near.quality.findings, hidden)))
    assert with_second_opinion(far, missing) is far  # the video is not even opened


def test_windows_far_apart_are_reached_by_a_seek_with_the_same_frames(tmp_path) -> None:
    """Seeking past a gap gives exactly the frames (times and pictures) decoding it would."""
    from rom_measure.media.mirror import SEEK_GAP_S, _groups, _Strided, _window_frames
    from rom_measure.media.sources import VideoFileSource
    from tests.conftest import make_test_video

    windows = [(3.0, 3.3), (0.5, 0.8), (0.9, 1.0)]
    assert _groups(windows, SEEK_GAP_S) == [(0.5, 1.0), (3.0, 3.3)]
    video = make_test_video(tmp_path / "long.mp4", "-g", "300", frames=150)  # one key frame
    source = VideoFileSource(video)
    wanted = [f for f in source.frames() if any(a <= f.time_s <= b for a, b in windows)]
    source.close()
    source = VideoFileSource(video, beside_the_model=False)
    inside = _Strided(windows, stride=1, frame_s=1 / 30)
    got = list(_window_frames(source, inside))
    source.close()
    assert [f.time_s for f in got] == pytest.approx([f.time_s for f in wanted])
    assert len(got) == 10 + 4 + 10  # 0.5-0.8 s, 0.9-1.0 s and 3.0-3.3 s at 30 fps
    for a, b in zip(got, wanted, strict=True):
        np.testing.assert_array_equal(a.bgr, b.bgr)
    assert inside.times == pytest.approx([f.time_s for f in wanted])
