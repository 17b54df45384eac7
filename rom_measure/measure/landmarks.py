"""Pose landmark time series: one validated container (saved as ``.npz`` by
:mod:`rom_measure.media.landmark_file`).

Arrays (T frames, K = 33 BlazePose landmarks):

- ``time_s`` (T,) float64: frame timestamps from the video container, seconds.
- ``image`` (T, K, 3) float32: normalised image coordinates x, y in [0, 1] (y down)
  and MediaPipe's relative depth z; NaN where no subject was found.
- ``visibility`` (T, K) float32 and ``presence`` (T, K) float32, in [0, 1].
- ``world`` (T, K, 3) float32: metric landmarks (m), origin between the hips.
- ``people`` (T,) int16: how many people the model found in the frame.
- ``face`` (T, 468, 3) float32 or None: the face mesh of the subject (neck movements
  only), x, y in image pixels, z relative depth scaled like x (larger = farther from
  the camera); NaN where the mesh was not found (no usable face crop).
- ``face_score`` (T,) float32 or None: the mesh's face-presence probability per frame
  (low in profile, where the points are still usable for an in-image fit). Series saved
  before it existed have None, and their ``face`` is NaN where the score was low.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rom_measure.errors import InputError

__all__ = [
    "ARRAYS",
    "FACE_POINT_COUNT",
    "FORMAT_VERSION",
    "LANDMARK_COUNT",
    "OPTIONAL_ARRAYS",
    "Landmark",
    "LandmarkSeries",
    "interpolate_onto",
]

LANDMARK_COUNT = 33
FACE_POINT_COUNT = 468
FORMAT_VERSION = 1
#: The per-frame arrays of every series, and the optional ones (the face mesh: None
#: when the series has none).
ARRAYS = ("time_s", "image", "visibility", "presence", "world", "people")
OPTIONAL_ARRAYS = ("face", "face_score")


class Landmark(enum.IntEnum):
    """BlazePose landmark indices (subject's left/right)."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32

    @classmethod
    def of(cls, side: str, part: str) -> Landmark:
        """``Landmark.of("left", "knee")`` -> ``Landmark.LEFT_KNEE``."""
        return cls[f"{side.upper()}_{part.upper()}"]

    def mirrored(self) -> Landmark:
        """The same landmark on the other side (``NOSE`` stays ``NOSE``)."""
        name = self.name
        if name.startswith("LEFT_"):
            return Landmark["RIGHT_" + name[5:]]
        if name.startswith("RIGHT_"):
            return Landmark["LEFT_" + name[6:]]
        return self


@dataclass(frozen=True, eq=False)
class LandmarkSeries:
    """Landmarks of one tracked subject over a clip (see the module docstring for shapes)."""

    time_s: np.ndarray
    image: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    world: np.ndarray
    people: np.ndarray
    image_size: tuple[int, int]  # (width, height) in pixels, after rotation
    meta: dict[str, Any] = field(default_factory=dict)
    face: np.ndarray | None = None
    face_score: np.ndarray | None = None

    def __post_init__(self) -> None:
        problems = _shape_problems(self)
        if problems:
            raise InputError("invalid landmark series: " + "; ".join(problems))

    @property
    def frames(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def detected(self) -> np.ndarray:
        """(T,) bool: a subject was found in the frame."""
        return np.isfinite(self.image[:, 0, 0])

    @property
    def fps(self) -> float:
        """Frame rate from the median timestamp step (NaN with fewer than 2 frames)."""
        if self.frames < 2:
            return float("nan")
        return float(1.0 / np.median(np.diff(self.time_s)))

    def pixels(self) -> np.ndarray:
        """(T, K, 2) image coordinates in pixels (x right, y down)."""
        width, height = self.image_size
        return self.image[..., :2] * np.array([width, height], dtype=np.float64)

    def take(self, frames: np.ndarray) -> LandmarkSeries:
        """The series restricted to some frames (a boolean mask, indices or a slice)."""
        changes = {name: getattr(self, name)[frames] for name in ARRAYS}
        optional = {name: None if getattr(self, name) is None else getattr(self, name)[frames]
                    for name in OPTIONAL_ARRAYS}  # fmt: skip
        return self.replace(**changes, **optional)

    def replace(self, **changes: Any) -> LandmarkSeries:
        """A copy with some fields replaced (validated again)."""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values.update(changes)
        return LandmarkSeries(**values)


def interpolate_onto(
    series: LandmarkSeries, time_s: np.ndarray, max_gap_s: float
) -> LandmarkSeries:
    """``series`` at the times ``time_s``: each landmark linearly between the two frames
    around each time, where both were detected and are at most ``max_gap_s`` apart
    (else the frame is not detected); a time the series holds keeps its frame as is."""
    time_s = np.asarray(time_s, dtype=np.float64)
    n = series.frames
    after = np.clip(np.searchsorted(series.time_s, time_s), 0, max(n - 1, 0))
    before = np.clip(after - 1, 0, max(n - 1, 0))
    exact = np.abs(series.time_s[after] - time_s) <= 1e-6 if n else np.zeros(len(time_s), bool)
    before = np.where(exact, after, before)
    t0, t1 = series.time_s[before], series.time_s[after]
    span = t1 - t0
    ok = series.detected[before] & series.detected[after] & (span <= max_gap_s)
    ok &= (t0 <= time_s + 1e-6) & (time_s <= t1 + 1e-6)
    ok |= exact & series.detected[after]
    w = np.where(span > 0, (time_s - t0) / np.where(span > 0, span, 1.0), 0.0)
    arrays = {}
    for name in ("image", "visibility", "presence", "world"):
        values = getattr(series, name)
        weight = w.reshape((-1,) + (1,) * (values.ndim - 1))
        mixed = (values[before] * (1.0 - weight) + values[after] * weight).astype(values.dtype)
        blank = np.nan if name in ("image", "world") else 0.0
        mixed[~ok] = blank
        arrays[name] = mixed
    people = np.where(exact, series.people[after], np.maximum(series.people[before],
                                                              series.people[after]))  # fmt: skip
    return series.replace(time_s=time_s, people=people.astype(series.people.dtype),
                          **dict.fromkeys(OPTIONAL_ARRAYS), **arrays)  # fmt: skip


def _shape_problems(series: LandmarkSeries) -> list[str]:
    t = series.time_s.shape[0] if series.time_s.ndim == 1 else -1
    expected = {
        "time_s": (t,),
        "image": (t, LANDMARK_COUNT, 3),
        "visibility": (t, LANDMARK_COUNT),
        "presence": (t, LANDMARK_COUNT),
        "world": (t, LANDMARK_COUNT, 3),
        "people": (t,),
    }
    problems = [
        f"{name} has shape {getattr(series, name).shape}, expected {shape}"
        for name, shape in expected.items()
        if getattr(series, name).shape != shape
    ]
    if series.face is not None and series.face.shape != (t, FACE_POINT_COUNT, 3):
        problems.append(f"face has shape {series.face.shape}, expected {(t, FACE_POINT_COUNT, 3)}")
    if series.face_score is not None and series.face_score.shape != (t,):
        problems.append(f"face_score has shape {series.face_score.shape}, expected {(t,)}")
    if t > 1 and not np.all(np.diff(series.time_s) > 0):
        problems.append("time_s is not strictly increasing")
    if len(series.image_size) != 2 or min(series.image_size) <= 0:
        problems.append(f"image_size {series.image_size} is not (width, height) > 0")
    return problems
