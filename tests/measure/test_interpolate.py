"""Landmarks interpolated onto the frames the mirrored re-run skipped."""

from __future__ import annotations

import numpy as np

from rom_measure.measure.landmarks import LANDMARK_COUNT, LandmarkSeries, interpolate_onto


def series(times: list[float], xs: list[float]) -> LandmarkSeries:
    n = len(times)
    image = np.zeros((n, LANDMARK_COUNT, 3), dtype=np.float32)
    image[:, :, 0] = np.asarray(xs, dtype=np.float32)[:, None]
    ones = np.ones((n, LANDMARK_COUNT), dtype=np.float32)
    return LandmarkSeries(np.asarray(times, dtype=np.float64), image, ones, ones, image.copy(),
                          np.ones(n, dtype=np.int16), (640, 480))  # fmt: skip


def test_skipped_frames_lie_between_their_neighbours_and_run_frames_are_kept() -> None:
    run = series([0.0, 0.2, 0.4, 1.0], [0.1, 0.3, np.nan, 0.9])
    out = interpolate_onto(run, np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.7, 1.0]), max_gap_s=0.25)
    x = out.image[:, 0, 0]
    np.testing.assert_allclose(x[[0, 1, 2]], [0.1, 0.2, 0.3], atol=1e-6)
    assert not out.detected[3]  # its next neighbour was not detected
    assert not out.detected[5]  # neighbours too far apart
    assert out.detected[6] and abs(x[6] - 0.9) < 1e-6
    assert out.frames == 7
