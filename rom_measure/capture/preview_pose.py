"""Pose for the live preview, in its own thread, on the newest captured frame only."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from rom_measure.capture.feeds import Capture

__all__ = ["PoseWorker"]

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
