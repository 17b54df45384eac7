"""The real pose model on the real clips in ../shared/data (BSD-3, see their LICENSE files)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from rom_measure import analyze_landmarks
from rom_measure.media.landmark_file import load_landmarks
from rom_measure.media.pipeline import video_landmarks
from rom_measure.visit.outputs import write_outputs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cam01(shared_data: Path, pose_model: Path):
    return video_landmarks(shared_data / "pose2sim_single" / "cam01.mp4", pose_model)


@pytest.fixture(scope="module")
def sports2d(shared_data: Path, pose_model: Path):
    return video_landmarks(shared_data / "sports2d_demo" / "demo.mp4", pose_model)


def test_person_found_in_most_frames(cam01) -> None:
    assert cam01.frames == 100
    assert cam01.detected.mean() >= 0.9
    np.testing.assert_allclose(np.diff(cam01.time_s), 1 / 60, atol=1e-3)
    assert cam01.image_size == (1080, 1920)
    assert cam01.meta["source"]["sha256"]


def test_hip_flexion_of_the_raised_leg_is_plausible(cam01) -> None:
    result = analyze_landmarks(cam01, "hip-flexion", "right")
    assert result.quality.verdict != "rejected", result.quality.reasons
    assert 0.0 < result.rom_deg < 130.0
    assert len(result.rom.repetitions) >= 1
    # The lab cameras look down obliquely: the tool must say so.
    assert "oblique_view" in {f.code for f in result.quality.findings}


def test_second_person_is_flagged(sports2d) -> None:
    assert (sports2d.people >= 2).mean() > 0.3
    result = analyze_landmarks(sports2d, "hip-flexion", "left")
    assert "multiple_people" in {f.code for f in result.quality.findings}


def test_outputs_and_reanalysis_match(cam01, tmp_path: Path) -> None:
    result = analyze_landmarks(cam01, "hip-flexion", "right")
    paths = write_outputs(result, tmp_path)
    saved = json.loads(paths["results"].read_text())
    for key in (
        "movement",
        "side",
        "rom_deg",
        "neutral_deg",
        "peak_deg",
        "repetitions",
        "uncertainty_deg",
        "quality",
        "fps",
        "frames",
        "frames_used",
        "model",
        "tool",
    ):
        assert key in saved, key  # fmt: skip
    assert saved["schema_version"] == "1.0"
    assert saved["fps"] == pytest.approx(60.0, abs=0.01)
    again = analyze_landmarks(load_landmarks(paths["landmarks"]), "hip-flexion", "right")
    assert again.rom_deg == pytest.approx(result.rom_deg, abs=1e-6)
    rows = paths["angles"].read_text().splitlines()
    assert rows[0] == "time_s,raw_deg,filtered_deg,valid,frame_status"
    assert len(rows) == 101
    assert not list(tmp_path.glob(".*partial*"))


def test_rejected_result_has_no_number(cam01) -> None:
    """Landmarks unseen in most frames: the verdict is rejected and no ROM is given."""
    visibility = cam01.visibility.copy()
    visibility[20:90] = 0.0
    result = analyze_landmarks(cam01.replace(visibility=visibility), "hip-flexion", "right")
    assert result.quality.verdict == "rejected"
    assert "landmarks_missing" in {f.code for f in result.quality.findings}
    assert math.isnan(result.rom_deg)
    assert result.to_dict()["rom_deg"] is None
    assert result.to_dict()["repetitions"] == []


def test_bystander_entering_mid_clip_is_noticed(sports2d) -> None:
    # The demo's second person walks in after about 2 s; the sparse count must see it.
    assert (sports2d.people[:45] >= 2).mean() < 0.2
    assert (sports2d.people[60:170] >= 2).mean() > 0.6
