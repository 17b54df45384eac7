"""Validation measures what ``analyze`` measures, from landmarks cached per pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from rom_measure.media import pipeline
from rom_measure.synth import validate


def test_pipeline_signature_names_the_tracker_and_keys_the_cache(monkeypatch) -> None:
    video = Path("/clips/hip.mp4")
    monkeypatch.setattr(pipeline, "TRACKED_POSES", 2)
    two = pipeline.pipeline_signature()
    monkeypatch.setattr(pipeline, "TRACKED_POSES", 1)
    one = pipeline.pipeline_signature()
    assert two["tracked_poses"] == 2 and one["tracked_poses"] == 1
    assert two["people_count_every_s"] is None and one["people_count_every_s"] > 0
    assert two["model"] == one["model"] and two["model"].endswith(".task")
    paths = {validate.landmark_cache_path(video, s) for s in (one, two)}
    assert len(paths) == 2 and all(p.parent == video.parent for p in paths)
    same = validate.landmark_cache_path(video, dict(one))
    assert same == validate.landmark_cache_path(video, one)


@pytest.mark.slow
def test_run_case_takes_the_mirrored_second_opinion_as_analyze_does(
    pose_model, monkeypatch
) -> None:
    """The two-pose tracker loses the knee of a 110 deg bent-knee flexion; the mirrored
    re-run keeps it. run_case must reach analyze's verdict and ROM, not a rejection."""
    from rom_measure.media.landmark_file import load_landmarks
    from rom_measure.synth import ClipSpec, cache

    spec = ClipSpec("hip-flexion", "left", peak_deg=110.0, repetitions=2, width_px=640,
                    height_px=360, hold_s=1.0, supersample=1)  # fmt: skip
    video, truth = cache.cached_clip(spec)
    monkeypatch.setattr(pipeline, "TRACKED_POSES", 2)
    monkeypatch.setattr(cache, "cached_clip", lambda _spec: (video, truth))
    case = validate.ValidationCase("training", "hip-flexion", "left", 110.0, "base", "tripod")
    row = validate.run_case(case)
    expected = pipeline.analyze_video(video, "hip-flexion", "left", pose_model)
    assert row["verdict"] == expected.quality.verdict == "warning", row["flags"]
    assert row["flags"] == "second_opinion"  # the re-run's word alone is never ok
    assert row["measured_rom_deg"] == pytest.approx(expected.rom_deg, abs=0.01)
    assert abs(row["error_deg"]) <= 5.0
    saved = validate.landmark_cache_path(video, pipeline.pipeline_signature())
    assert load_landmarks(saved).meta["pipeline"] == pipeline.pipeline_signature()


@pytest.mark.slow
def test_landmarks_of_another_pipeline_are_not_reused(pose_model, monkeypatch, tmp_path) -> None:
    from rom_measure.media.landmark_file import load_landmarks, save_landmarks
    from tests.conftest import make_test_video

    video = make_test_video(tmp_path / "clip.mp4", frames=6)
    monkeypatch.setattr(pipeline, "TRACKED_POSES", 2)
    series = validate.cached_landmarks(video)
    saved = validate.landmark_cache_path(video, pipeline.pipeline_signature())
    assert saved.is_file()
    stale = series.replace(meta={**series.meta, "pipeline": {"tracked_poses": 9}})
    save_landmarks(stale, saved)  # same file name, other pipeline in its meta
    again = validate.cached_landmarks(video)
    assert again.meta["pipeline"] == pipeline.pipeline_signature()
    assert load_landmarks(saved).meta["pipeline"] == pipeline.pipeline_signature()
