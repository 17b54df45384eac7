"""A second opinion from the pose model on the mirrored picture (left-right flipped).

The model can fold a raised, bent leg at the top of a hip flexion; seen mirrored, the
same frame is a different input and may keep the limb. :class:`MirroredPose` wraps any
pose backend: it flips each frame, runs the model and maps the landmarks back (x ->
1 - x, world x -> -x, left and right labels swapped), so its series reads like the
original one. :func:`mirrored_landmarks` runs it over time windows of a video.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rom_measure.measure.landmarks import LANDMARK_COUNT, LandmarkSeries
from rom_measure.measure.landmarks import Landmark as L
from rom_measure.media.pose import PoseBackend, PoseObservation

__all__ = ["MirroredPose", "mirrored_landmarks", "unmirror"]

#: Index order that swaps every left landmark with its right twin.
SWAP = np.array([int(L(i).mirrored()) for i in range(LANDMARK_COUNT)])


def unmirror(obs: PoseObservation) -> PoseObservation:
    """Landmarks found on a mirrored frame, expressed in the original frame."""
    image = obs.image[SWAP].copy()
    image[:, 0] = 1.0 - image[:, 0]
    world = obs.world[SWAP].copy()
    world[:, 0] = -world[:, 0]
    return PoseObservation(image, obs.visibility[SWAP].copy(), obs.presence[SWAP].copy(), world)


@dataclass
class MirroredPose:
    """A pose backend that sees each frame mirrored and answers in the original frame."""

    backend: PoseBackend

    @property
    def model_name(self) -> str:
        return f"{self.backend.model_name} (mirrored)"

    def detect(self, rgb: np.ndarray, timestamp_ms: int) -> list[PoseObservation]:
        flipped = np.ascontiguousarray(rgb[:, ::-1])
        return [unmirror(o) for o in self.backend.detect(flipped, timestamp_ms)]

    def close(self) -> None:
        self.backend.close()


def _within(frames: Iterable, windows: list[tuple[float, float]]) -> Iterator:
    for frame in frames:
        if any(a <= frame.time_s <= b for a, b in windows):
            yield frame


def mirrored_landmarks(
    path: str | Path, windows: list[tuple[float, float]], model: str | Path | None = None
) -> LandmarkSeries:
    """The model's landmarks on the mirrored frames of ``path`` within ``windows`` (s).

    A fresh landmarker runs in VIDEO mode over the frames in the windows only (its
    tracking then starts at each window's first frame), so the cost is the windows'
    share of the clip. Frames outside the windows are not in the series.
    """
    from rom_measure.media.assets import pose_model_path
    from rom_measure.media.pipeline import MIRROR_POSES
    from rom_measure.media.pose import MediaPipePose, estimate_landmarks
    from rom_measure.media.sources import VideoFileSource, with_rgb

    source = VideoFileSource(path)
    with MediaPipePose(pose_model_path(model), max_people=MIRROR_POSES) as backend:
        return estimate_landmarks(map(with_rgb, _within(source, windows)), MirroredPose(backend),
                                  source.size)  # fmt: skip
