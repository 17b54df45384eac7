"""Pose estimation behind a small protocol, and subject tracking over a clip.

The MediaPipe backend runs the Tasks API ``PoseLandmarker`` in VIDEO mode (it
tracks between frames) for one person: with one pose tracked, the person detector
only runs when tracking is lost. Other people are counted sparsely (one frame every
``COUNT_EVERY_S``) by a second landmarker asking for two poses, in a background
thread (:class:`PeopleCounter`); :func:`estimate_landmarks` keeps following the
same subject. The counter runs in VIDEO mode too: on the sports2d demo clip, IMAGE
mode (detector alone) finds the partly hidden second person in 2 of 16 sampled
frames, tracking across the samples in 6 of 16 (every frame: 58% of frames).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rom_measure.errors import InputError
from rom_measure.measure.landmarks import LANDMARK_COUNT, LandmarkSeries
from rom_measure.media.assets import model_provenance
from rom_measure.media.sources import Frame

__all__ = [
    "COUNT_EVERY_S",
    "MediaPipePose",
    "PeopleCounter",
    "PoseBackend",
    "PoseObservation",
    "estimate_landmarks",
    "quiet_native_logs",
]

log = logging.getLogger(__name__)

_TORSO = [11, 12, 23, 24]
_MAX_JUMP = 0.25  # of the image size, between consecutive detections of the subject
COUNT_EVERY_S = 0.5  # how often other people in view are counted
_COUNT_PENDING = 2  # counting frames queued at most (memory stays flat)


@dataclass(frozen=True, eq=False)
class PoseObservation:
    """One person in one frame: ``image`` (33, 3), ``visibility``/``presence`` (33,), ``world``."""

    image: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    world: np.ndarray

    @functools.cached_property
    def centre(self) -> np.ndarray:
        torso = self.image[_TORSO, :2]
        return torso.mean(axis=0) if np.isfinite(torso).all() else np.nanmean(torso, axis=0)

    @property
    def area(self) -> float:
        xy = self.image[:, :2]
        return float(np.prod(np.nanmax(xy, axis=0) - np.nanmin(xy, axis=0)))


class PoseBackend(Protocol):
    """Estimates the poses in one RGB frame at a strictly increasing time."""

    model_name: str

    def detect(self, rgb: np.ndarray, timestamp_ms: int) -> list[PoseObservation]: ...

    def close(self) -> None: ...


@dataclass
class MediaPipePose:
    """MediaPipe PoseLandmarker (Tasks API), in VIDEO mode (tracking) or IMAGE mode."""

    model_path: Path
    max_people: int = 1
    video: bool = True
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    model_name: str = field(init=False)
    _landmarker: Any = field(init=False, repr=False)
    _first_call: bool = field(init=False, default=True, repr=False)

    def __post_init__(self) -> None:
        os.environ.setdefault("GLOG_minloglevel", "2")  # native INFO/WARNING lines
        from mediapipe.tasks.python import BaseOptions, vision

        self.model_name = Path(self.model_path).name
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path)),
            running_mode=vision.RunningMode.VIDEO if self.video else vision.RunningMode.IMAGE,
            num_poses=self.max_people,
            min_pose_detection_confidence=self.min_detection_confidence,
            min_pose_presence_confidence=self.min_detection_confidence,
            min_tracking_confidence=self.min_tracking_confidence,
        )
        with quiet_native_logs():
            self._landmarker = vision.PoseLandmarker.create_from_options(options)

    def detect(self, rgb: np.ndarray, timestamp_ms: int) -> list[PoseObservation]:
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self._first_call:  # the native side logs set-up warnings on the first frame
            self._first_call = False
            with quiet_native_logs():
                result = self._run(image, timestamp_ms)
        else:
            result = self._run(image, timestamp_ms)
        return [
            _observation(marks, world)
            for marks, world in zip(result.pose_landmarks, result.pose_world_landmarks, strict=True)
        ]

    def _run(self, image: Any, timestamp_ms: int) -> Any:
        if self.video:
            return self._landmarker.detect_for_video(image, int(timestamp_ms))
        return self._landmarker.detect(image)

    def close(self) -> None:
        with quiet_native_logs():
            self._landmarker.close()

    def __enter__(self) -> MediaPipePose:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PeopleCounter:
    """Counts the people in view on sparse frames, in a background thread.

    ``backend`` is any :class:`PoseBackend` able to see two or more people (e.g.
    ``MediaPipePose(path, max_people=2)``); it is closed with the counter. The first
    frame is counted at once in the calling thread (the model's set-up messages are
    silenced there, not in two threads at once); at most ``_COUNT_PENDING`` frames
    wait, so memory is flat.
    """

    def __init__(self, backend: PoseBackend, every_s: float = COUNT_EVERY_S) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from rom_measure._priority import lower_this_thread

        self.backend = backend
        self.every_s = every_s
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rom_measure-count",
                                        initializer=lower_this_thread)  # fmt: skip
        self._pending: deque[tuple[int, Any]] = deque()
        self._counts: dict[int, int] = {}
        self._next_s = -np.inf

    def offer(self, index: int, time_s: float, timestamp_ms: int, rgb: np.ndarray) -> None:
        """Count the people of frame ``index`` if it is due (every ``every_s``)."""
        if time_s < self._next_s:
            return
        self._next_s = time_s + self.every_s
        if not self._counts and not self._pending:
            self._counts[index] = len(self.backend.detect(rgb, timestamp_ms))
            return
        while len(self._pending) >= _COUNT_PENDING:
            self._collect_oldest()
        future = self._pool.submit(self.backend.detect, rgb, timestamp_ms)
        self._pending.append((index, future))

    def _collect_oldest(self) -> None:
        index, future = self._pending.popleft()
        self._counts[index] = len(future.result())

    def counts(self, frames: int) -> np.ndarray:
        """People per frame: each counted frame's figure held until the next one."""
        while self._pending:
            self._collect_oldest()
        held = np.zeros(frames, dtype=np.int16)
        for index, count in sorted(self._counts.items()):
            if index < frames:
                held[index:] = count
        return held

    def close(self) -> None:
        for _, future in self._pending:
            future.cancel()
        self._pool.shutdown(wait=True)
        self.backend.close()


def _observation(marks: list[Any], world: list[Any]) -> PoseObservation:
    image = np.array([(m.x, m.y, m.z) for m in marks], dtype=np.float32)
    visibility = np.array([m.visibility or 0.0 for m in marks], dtype=np.float32)
    presence = np.array([m.presence or 0.0 for m in marks], dtype=np.float32)
    world_xyz = np.array([(m.x, m.y, m.z) for m in world], dtype=np.float32)
    return PoseObservation(image, visibility, presence, world_xyz)


class _StderrSilencer:
    """Points fd 2 at /dev/null while any thread is inside; restores it when the last
    one leaves (two landmarkers may load at once: a saved-and-restored fd 2 per thread
    could leave it pointing at /dev/null)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._saved = -1
        self._hooked = False

    def enter(self) -> None:
        with self._lock:
            if not self._hooked and hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=self._after_fork)
                self._hooked = True
            if self._inside == 0:
                self._saved = os.dup(2)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                os.close(devnull)
            self._inside += 1

    def leave(self) -> None:
        with self._lock:
            self._inside -= 1
            if self._inside == 0:
                os.dup2(self._saved, 2)
                os.close(self._saved)

    def _after_fork(self) -> None:
        """In a forked child (a batch worker): the threads that were inside are gone."""
        self._lock = threading.Lock()
        if self._inside:
            os.dup2(self._saved, 2)
            os.close(self._saved)
        self._inside = 0


_SILENCER = _StderrSilencer()


@contextlib.contextmanager
def quiet_native_logs() -> Iterator[None]:
    """Silence the native INFO/WARNING lines printed while the model loads (stderr, fd 2)."""
    if log.isEnabledFor(logging.DEBUG):
        yield
        return
    _SILENCER.enter()
    try:
        yield
    finally:
        _SILENCER.leave()


def _choose_subject(
    people: list[PoseObservation], previous_centre: np.ndarray | None, frames_missing: int
) -> PoseObservation | None:
    """The person nearest the subject's last position, or the largest one at the start.

    The allowed jump grows with the number of frames the subject has been missing.
    """
    if not people:
        return None
    if previous_centre is None:
        return max(people, key=lambda p: p.area)
    distances = [float(np.linalg.norm(p.centre - previous_centre)) for p in people]
    best = int(np.argmin(distances))
    return people[best] if distances[best] <= _MAX_JUMP * (1 + frames_missing) else None


def _increasing_ms(time_s: float, last_ms: int) -> int:
    return max(round(time_s * 1000.0), last_ms + 1)


def estimate_landmarks(
    frames: Iterable[Frame],
    backend: PoseBackend,
    image_size: tuple[int, int],
    on_frame: Callable[[Frame, list[PoseObservation], PoseObservation | None], None] | None = None,
    meta: dict[str, Any] | None = None,
    counter: PeopleCounter | None = None,
) -> LandmarkSeries:
    """Run ``backend`` on every frame and follow one subject.

    ``on_frame`` (optional) sees each frame with all people found and the subject,
    e.g. for a live preview. ``counter`` (optional) counts the people in view on
    sparse frames; ``people`` is then the larger of its (held) count and the
    backend's. Memory grows only with the landmarks (about 1 kB/frame).
    """
    import cv2

    times, images, vis, pres, world, people = [], [], [], [], [], []
    empty3 = np.full((LANDMARK_COUNT, 3), np.nan, dtype=np.float32)
    empty1 = np.zeros(LANDMARK_COUNT, dtype=np.float32)
    last_ms = -1
    centre: np.ndarray | None = None
    missing = 0
    for frame in frames:
        last_ms = _increasing_ms(frame.time_s, last_ms)
        rgb = frame.rgb if frame.rgb is not None else cv2.cvtColor(frame.bgr, cv2.COLOR_BGR2RGB)
        if counter is not None:
            counter.offer(len(times), frame.time_s, last_ms, rgb)
        found = backend.detect(rgb, last_ms)
        subject = _choose_subject(found, centre, missing)
        missing = 0 if subject is not None else missing + 1
        if subject is not None:
            centre = subject.centre
        times.append(frame.time_s)
        images.append(subject.image if subject else empty3)
        vis.append(subject.visibility if subject else empty1)
        pres.append(subject.presence if subject else empty1)
        world.append(subject.world if subject else empty3)
        people.append(len(found))
        if on_frame is not None:
            on_frame(frame, found, subject)
    if not times:
        raise InputError("the source gave no frames")
    people_seen = np.asarray(people, dtype=np.int16)
    if counter is not None:
        people_seen = np.maximum(people_seen, counter.counts(len(times)))
    return LandmarkSeries(
        time_s=np.asarray(times, dtype=np.float64),
        image=np.stack(images),
        visibility=np.stack(vis),
        presence=np.stack(pres),
        world=np.stack(world),
        people=people_seen,
        image_size=image_size,
        meta={"model": backend.model_name, **model_provenance(backend), **(meta or {})},
    )
