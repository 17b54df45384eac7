"""Mirrored second opinion: landmarks found on a flipped frame map back exactly."""

from __future__ import annotations

import numpy as np

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
