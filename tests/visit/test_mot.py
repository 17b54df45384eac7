"""The OpenSim motion export: header, columns and exactly known values read back."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from rom_measure.errors import InputError
from rom_measure.measure.analysis import Result, analyze_landmarks
from rom_measure.visit.mot import MOT_NAME, read_mot, write_mot
from tests.stick_figure import ideal_camera, movement_clip

NAN = math.nan


@pytest.fixture(scope="module")
def result() -> Result:
    series, _ = movement_clip("hip-flexion", "left", 40.0, ideal_camera("hip-flexion", "left"))
    return analyze_landmarks(series, "hip-flexion", "left")


def with_series(result: Result, time_s, raw, filtered) -> Result:
    """``result`` with a six-frame angle series of exactly known values."""
    return dataclasses.replace(result, time_s=np.array(time_s, dtype=float),
                               raw_deg=np.array(raw, dtype=float),
                               filtered_deg=np.array(filtered, dtype=float))  # fmt: skip


def test_header_and_known_values_read_back(tmp_path: Path, result: Result) -> None:
    known = with_series(result, [0.0, 0.04, 0.08, 0.12, 0.16, 0.2],
                        [1.5, 10.25, 20.125, 30.0, 40.5, 50.75],
                        [1.0, 10.0, 20.0, 30.0, 40.0, 50.0])  # fmt: skip
    path = write_mot(known, tmp_path / MOT_NAME)
    assert MOT_NAME == "angles.mot"
    lines = path.read_text().splitlines()
    assert lines[:5] == ["hip_flexion_left", "version=1", "nRows=6", "nColumns=5", "inDegrees=yes"]
    end = lines.index("endheader")
    assert lines[end + 1].split("\t") == ["time", "hip_flexion_left_raw",
                                         "hip_flexion_left_filtered", "raw_valid",
                                         "filtered_valid"]  # fmt: skip
    assert lines[end + 2].split("\t") == ["0.000000", "1.500000", "1.000000", "1", "1"]
    motion = read_mot(path)
    assert motion.name == "hip_flexion_left"
    assert motion.header == {"version": "1", "nRows": "6", "nColumns": "5", "inDegrees": "yes"}
    assert any("quality ok" in line for line in motion.comments)
    np.testing.assert_array_equal(motion.column("time"), [0.0, 0.04, 0.08, 0.12, 0.16, 0.2])
    np.testing.assert_array_equal(motion.column("hip_flexion_left_raw"),
                                  [1.5, 10.25, 20.125, 30.0, 40.5, 50.75])  # fmt: skip
    np.testing.assert_array_equal(motion.column("hip_flexion_left_filtered"),
                                  [1.0, 10.0, 20.0, 30.0, 40.0, 50.0])  # fmt: skip
    np.testing.assert_array_equal(motion.column("raw_valid"), np.ones(6))


def test_unmeasured_frames_are_interpolated_and_flagged(tmp_path: Path, result: Result) -> None:
    # filtered: NaN at the start (held), inside (interpolated in time) and at the end (held)
    known = with_series(result, [0.0, 0.1, 0.2, 0.4, 0.5, 0.6],
                        [NAN, 11.0, NAN, 33.0, 44.0, NAN],
                        [NAN, 10.0, NAN, 40.0, 44.0, NAN])  # fmt: skip
    motion = read_mot(write_mot(known, tmp_path / MOT_NAME))
    filtered = [10.0, 10.0, 20.0, 40.0, 44.0, 44.0]  # 0.2 s: 10 + (40 - 10) * 0.1 / 0.3
    np.testing.assert_allclose(motion.column("hip_flexion_left_filtered"), filtered, atol=1e-6)
    np.testing.assert_allclose(motion.column("hip_flexion_left_raw"),
                               [10.0, 11.0, 20.0, 33.0, 44.0, 44.0], atol=1e-6)  # fmt: skip
    np.testing.assert_array_equal(motion.column("raw_valid"), [0, 1, 0, 1, 1, 0])
    np.testing.assert_array_equal(motion.column("filtered_valid"), [0, 1, 0, 1, 1, 0])
    assert "nan" not in (tmp_path / MOT_NAME).read_text().lower()


def test_nothing_measured_is_zero_and_flagged(tmp_path: Path, result: Result) -> None:
    known = with_series(result, [0.0, 0.1, 0.2], [NAN] * 3, [NAN] * 3)
    motion = read_mot(write_mot(known, tmp_path / MOT_NAME))
    np.testing.assert_array_equal(motion.data[:, 1:], np.zeros((3, 4)))


def test_a_real_analysis_exports_every_frame(tmp_path: Path, result: Result) -> None:
    motion = read_mot(write_mot(result, tmp_path / MOT_NAME))
    assert motion.data.shape == (result.series.frames, 5)
    measured = np.isfinite(result.filtered_deg)
    np.testing.assert_allclose(motion.column("hip_flexion_left_filtered")[measured],
                               result.filtered_deg[measured], atol=5e-7)  # fmt: skip
    assert np.all(np.diff(motion.column("time")) > 0)


@pytest.mark.parametrize("text, message", [
    ("name\nversion=1\n", "no 'endheader'"),
    ("name\nnRows=3\nendheader\ntime\ta\n0\t1\n", "nRows=3, the file holds 1"),
    ("name\nendheader\ntime\ta\n0\tx\n", "bad data row"),
])  # fmt: skip
def test_malformed_files_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.mot"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_mot(path)


def test_analyze_writes_the_mot_beside_angles_csv(tmp_path: Path) -> None:
    """`analyze --out` (here from saved landmarks) writes angles.mot matching angles.csv."""
    import csv

    from rom_measure.media.landmark_file import save_landmarks
    from rom_measure.visit.outputs import analyze_to_folder

    series, _ = movement_clip("hip-flexion", "left", 40.0, ideal_camera("hip-flexion", "left"))
    save_landmarks(series, tmp_path / "in.npz")
    _, paths = analyze_to_folder("hip-flexion", "left", tmp_path / "out",
                                 landmarks=tmp_path / "in.npz")  # fmt: skip
    assert paths["mot"] == tmp_path / "out" / MOT_NAME
    motion = read_mot(paths["mot"])
    with open(paths["angles"], newline="") as handle:
        rows = list(csv.DictReader(handle))
    filtered = np.array([float(r["filtered_deg"] or "nan") for r in rows])
    measured = np.isfinite(filtered)
    assert measured.sum() > 10
    np.testing.assert_allclose(motion.column("hip_flexion_left_filtered")[measured],
                               filtered[measured], atol=0.01)  # fmt: skip
