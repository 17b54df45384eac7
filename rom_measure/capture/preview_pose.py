"""Pose for the live preview, in its own thread, on the newest captured frame only.

Every captured frame is recorded (see :mod:`rom_measure.capture.feeds`); the preview's pose
skips frames when it is slower than the camera. :class:`PreviewPose` keeps it fast: the
model tracks one person on every frame it sees, and a second landmarker looks for other
people only every ``check_s`` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from rom_measure.capture.feeds import Capture

__all__ = ["PoseWorker", "PreviewPose"]

log = logging.getLogger(__name__)


class PoseWorker:
    """Run the live analyser on the newest frame only, in a thread."""

    def __init__(self, capture: Capture, analyzer: Any) -> None:
        self.capture = capture
        self.analyzer = analyzer
        self.state: Any = None
        self.frames = 0
        self.errors = 0
        self._stop = threading.Event()
        self._pause = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rom_measure-pose", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last = -1
        while not self._stop.is_set():
            if self._pause.is_set():
                time.sleep(0.05)
                continue
            item = self.capture.latest(last, 0.1)
            if item is None:
                continue
            last, bgr, _ = item
            try:
                self.state = self.analyzer.update(bgr, last)
                self.frames += 1
            except Exception as error:  # the preview must not stop a recording
                (log.warning if not self.errors else log.debug)("live pose failed: %r", error)
                self.errors += 1
                time.sleep(0.1)

    def pause(self, paused: bool = True) -> None:
        (self._pause.set if paused else self._pause.clear)()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class PreviewPose:
    """The preview's pose backend: one tracked person per frame, a sparse look for others.

    Asked for two people, the model runs its person detector on every frame while fewer
    than two are tracked, which costs the preview about half its pose rate. Here one
    landmarker tracks the subject on every frame, and a second one, asked for two people,
    looks at a frame every ``check_s`` seconds: ``people_seen`` is its latest count.
    (On a smaller picture that look misses people the full-rate model sees.)
    """

    def __init__(self, model_path: str | Path, check_s: float = 0.5) -> None:
        from rom_measure.media.pose import MediaPipePose

        self.check_s = check_s
        self.people_seen = 0
        self._checked = -float("inf")
        self._tracker = MediaPipePose(Path(model_path), max_people=1)
        self._finder = MediaPipePose(Path(model_path), max_people=2)
        self.model_name = self._tracker.model_name

    def detect(self, rgb: np.ndarray, timestamp_ms: int) -> list[Any]:
        """The tracked subject (at most one observation); may refresh ``people_seen``."""
        people = self._tracker.detect(rgb, timestamp_ms)
        now = time.monotonic()
        if now - self._checked >= self.check_s:
            self._checked = now
            self.people_seen = len(self._finder.detect(rgb, timestamp_ms))
        return people

    def close(self) -> None:
        self._tracker.close()
        self._finder.close()
