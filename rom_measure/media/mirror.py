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
from typing import Any

import numpy as np

from rom_measure.measure.landmarks import LANDMARK_COUNT, LandmarkSeries, interpolate_onto
from rom_measure.measure.landmarks import Landmark as L
from rom_measure.media.pose import PoseBackend, PoseObservation
from rom_measure.media.sources import Frame

__all__ = ["MIRROR_STRIDE", "MirroredPose", "mirrored_landmarks", "unmirror"]

#: The mirrored model runs on every MIRROR_STRIDE-th frame of the re-run windows, the
#: frames between interpolated (bench/pipeline.py: about half the re-run's cost).
MIRROR_STRIDE = 2

#: Windows further apart than this (s) are reached by a seek, not by decoding the gap
#: (a seek cost 0.07 s on the sports2d clip, decoding about 0.004 s a frame).
SEEK_GAP_S = 1.0

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


class _Within:
    """Whether a time (s) lies in one of the windows; ``done`` once past the last."""

    def __init__(self, windows: list[tuple[float, float]]) -> None:
        self.windows = sorted(windows)
        self.end_s = max((b for _, b in windows), default=-np.inf)

    def __call__(self, time_s: float) -> bool:
        return any(a <= time_s <= b for a, b in self.windows)


class _Strided(_Within):
    """Every ``stride``-th frame of each window (and its last one) is run; the times of
    all the frames in the windows are kept in ``times`` (for the interpolation)."""

    def __init__(self, windows: list[tuple[float, float]], stride: int, frame_s: float) -> None:
        super().__init__(windows)
        self.stride, self.frame_s = max(1, stride), frame_s
        self.times: list[float] = []
        self._window: int | None = None
        self._count = 0
        self._last = False

    def __call__(self, time_s: float) -> bool:
        if self.times and time_s == self.times[-1]:  # asked again for the same frame
            return self._last
        self._last = self._decide(time_s)
        return self._last

    def _decide(self, time_s: float) -> bool:
        if time_s > self.end_s:
            return True  # handed on, so that _until stops the decoding there
        at = next((i for i, (a, b) in enumerate(self.windows) if a <= time_s <= b), None)
        if at is None:
            return False
        if at != self._window:
            self._window, self._count = at, 0
        self.times.append(time_s)
        run = self._count % self.stride == 0 or time_s + self.frame_s > self.windows[at][1]
        self._count += 1
        return run


def _mirrored_rgb(frame: Frame) -> Frame:
    """The frame's RGB picture, flipped left-right (done in the decoding thread)."""
    import cv2

    rgb = cv2.cvtColor(cv2.flip(frame.bgr, 1), cv2.COLOR_BGR2RGB)
    return Frame(frame.index, frame.time_s, frame.bgr, rgb)


def _until(frames: Iterable[Frame], end_s: float) -> Iterator[Frame]:
    for frame in frames:
        if frame.time_s > end_s:
            return
        yield frame


def _groups(windows: list[tuple[float, float]], gap_s: float) -> list[tuple[float, float]]:
    """Spans of the sorted ``windows``, a new span wherever the gap exceeds ``gap_s``."""
    spans: list[tuple[float, float]] = []
    for start, end in sorted(windows):
        if spans and start - spans[-1][1] <= gap_s:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


def _window_frames(source: Any, inside: _Strided) -> Iterator[Frame]:
    """The frames ``inside`` keeps, each span of windows reached by a seek."""
    for start, end in _groups(inside.windows, SEEK_GAP_S):
        source.seek(start)
        # a frame past the span is handed on, so that _until stops decoding there
        yield from _until(source.frames(lambda t, end=end: t > end or inside(t)), end)


@dataclass
class _Flipped:
    """A backend handed frames already flipped (by :func:`_mirrored_rgb`)."""

    backend: PoseBackend

    @property
    def model_name(self) -> str:
        return f"{self.backend.model_name} (mirrored)"

    def detect(self, rgb: np.ndarray, timestamp_ms: int) -> list[PoseObservation]:
        return [unmirror(o) for o in self.backend.detect(rgb, timestamp_ms)]

    def close(self) -> None:
        self.backend.close()


def mirrored_landmarks(
    path: str | Path,
    windows: list[tuple[float, float]],
    model: str | Path | None = None,
    stride: int = MIRROR_STRIDE,
) -> LandmarkSeries:
    """The model's landmarks on the mirrored frames of ``path`` within ``windows`` (s).

    The model runs on every ``stride``-th frame of each window (and its last frame);
    the frames between are linearly interpolated from the two run around them (both
    detected), so the series holds every frame of the windows at about ``1/stride``
    of the model's cost. The series' ``meta["mirror_stride"]`` says so.

    A fresh landmarker runs in VIDEO mode over the frames in the windows only (its
    tracking then starts at each window's first frame), so the cost is the windows'
    share of the clip: decoding starts at the first window (a seek), frames between
    windows are skipped without colour conversion (windows more than SEEK_GAP_S apart
    are reached by another seek), decoding stops after the last window, and decoding
    and flipping run in a thread ahead of the model. Frames outside the windows are
    not in the series.
    """
    from rom_measure.media.assets import pose_model_path
    from rom_measure.media.pipeline import MIRROR_POSES
    from rom_measure.media.pose import MediaPipePose, estimate_landmarks
    from rom_measure.media.sources import VideoFileSource, prefetch

    source = VideoFileSource(path, beside_the_model=False)  # its seek decodes before the model
    frame_s = 1.0 / (source.fps_hint or 30.0)
    inside = _Strided(windows, stride, frame_s)
    try:
        with MediaPipePose(pose_model_path(model), max_people=MIRROR_POSES) as backend:
            frames = _window_frames(source, inside)
            run = estimate_landmarks(prefetch(map(_mirrored_rgb, frames)), _Flipped(backend),
                                     source.size, meta={"mirror_stride": stride})  # fmt: skip
    finally:
        source.close()
    if stride == 1:
        return run
    return interpolate_onto(run, np.asarray(inside.times), (stride + 0.5) * frame_s)
