"""Frame feeds for the recorder: a camera, a stream or a file played like a camera.

:class:`Capture` reads a feed in a thread and hands *every* frame, with its capture time,
to the clip writer while recording; the preview only ever sees the newest frame.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from rom_measure.errors import InputError

if TYPE_CHECKING:
    from rom_measure.capture.writer import ClipWriter

__all__ = ["CameraFeed", "Capture", "Feed", "FileFeed", "open_feed"]

log = logging.getLogger(__name__)


class Feed(Protocol):
    kind: str  # "camera", "stream" or "file"
    name: str
    target: str
    size: tuple[int, int]
    fps: float
    waits_for_start: bool
    stopped_early: str  # why the source ended early ("" if it did not)

    def first_frame(self) -> np.ndarray | None: ...

    def frames(self) -> Iterator[tuple[np.ndarray, float]]: ...

    def restart(self) -> None: ...

    def close(self) -> None: ...


# -- sources ------------------------------------------------------------------------------


@contextlib.contextmanager
def _captured_stderr() -> Iterator[list[str]]:
    """Collect what native code prints on stderr (fd 2) while opening a device."""
    lines: list[str] = []
    if log.isEnabledFor(logging.DEBUG):
        yield lines
        return
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        try:
            os.dup2(sink.fileno(), 2)
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines += [s.strip() for s in sink.read().decode("utf-8", "replace").splitlines()]


class CameraFeed:
    """A camera (index) or stream (URL); timestamps are capture times (monotonic clock)."""

    waits_for_start = False

    def __init__(self, target: int | str, resolution: tuple[int, int] | None = None) -> None:
        import cv2

        self.kind = "camera" if isinstance(target, int) else "stream"
        self.target = str(target)
        self.name = f"camera {target}" if isinstance(target, int) else str(target)
        self.stopped_early = ""
        with _captured_stderr() as noise:
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
            self._cap = cv2.VideoCapture(target)
            ok = self._cap.isOpened()
            if ok and isinstance(target, int):
                self._cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
                if resolution:
                    self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, resolution[0])
                    self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, resolution[1])
            first = self._cap.read() if ok else (False, None)
        if not ok or not first[0] or first[1] is None:
            self._cap.release()
            reason = next((s for s in reversed(noise) if s and not s.startswith(">")), "")
            raise InputError(reason[:160] or "it gave no picture")
        self._first: np.ndarray | None = first[1]
        height, width = first[1].shape[:2]
        self.size = (int(width), int(height))
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not 1.0 <= self.fps <= 240.0:
            self.fps = 30.0

    def first_frame(self) -> np.ndarray | None:
        return self._first

    def frames(self) -> Iterator[tuple[np.ndarray, float]]:
        while True:
            ok, bgr = self._cap.read()
            if not ok or bgr is None:
                self.stopped_early = f"the {self.kind} stopped sending pictures"
                return
            yield bgr, time.monotonic()

    def restart(self) -> None:
        """A camera keeps running between takes."""

    def close(self) -> None:
        self._cap.release()


class FileFeed:
    """A video file played like a camera: paused on its first frame, then at its own rate.

    Timestamps are the container's (variable frame rates are kept); ``realtime=False``
    plays as fast as it decodes.
    """

    kind = "file"
    waits_for_start = True

    def __init__(self, path: str | Path, realtime: bool = True) -> None:
        self.path = Path(path)
        self.target = self.name = str(self.path)
        self.realtime = realtime
        self.stopped_early = ""
        self._open()

    def _open(self) -> None:
        from rom_measure.media.sources import VideoFileSource

        self._source = VideoFileSource(self.path)
        self._iter = iter(self._source)
        self._first = next(self._iter)
        self.size = self._source.size
        self.fps = self._source.fps_hint if 1.0 <= self._source.fps_hint <= 240.0 else 30.0

    def first_frame(self) -> np.ndarray | None:
        return self._first.bgr if self._first is not None else None

    def frames(self) -> Iterator[tuple[np.ndarray, float]]:
        first, self._first = self._first, None
        if first is None:
            return
        start = time.monotonic()
        yield first.bgr, first.time_s
        try:
            for frame in self._iter:
                delay = start + (frame.time_s - first.time_s) - time.monotonic()
                if self.realtime and delay > 0:
                    time.sleep(delay)
                yield frame.bgr, frame.time_s
        except InputError as error:  # e.g. "looks truncated": keep what was read
            self.stopped_early = str(error)

    def restart(self) -> None:
        """Rewind to the first frame (for the next take)."""
        self._source.close()
        self.stopped_early = ""
        self._open()

    def close(self) -> None:
        self._source.close()


def _camera_indices(camera: int | None) -> list[int]:
    return [camera] if camera is not None else [0, 1, 2]


def _why_no_camera(index: int, reason: str) -> str:
    device = Path(f"/dev/video{index}")
    if sys.platform.startswith("linux") and not device.exists():
        return f"camera {index} (no {device})"
    return f"camera {index} ({reason})" if reason else f"camera {index}"


def open_feed(
    source: str | None = None,
    camera: int | None = None,
    resolution: tuple[int, int] | None = (1280, 720),
) -> Feed:
    """Open ``source`` (file, URL or camera index) or else the camera(s) to try.

    Raises :class:`InputError` with one line naming every source tried.
    """
    if source is not None and not source.isdigit():
        if "://" in source:
            try:
                return CameraFeed(source)
            except InputError as error:
                raise InputError(f"cannot open the stream {source} ({error}); sources tried: "
                                 f"{source}") from None  # fmt: skip
        return FileFeed(source)
    tried = []
    for index in _camera_indices(int(source) if source else camera):
        try:
            return CameraFeed(index, resolution)
        except InputError as error:
            tried.append(_why_no_camera(index, str(error)))
    raise InputError(f"cannot open a camera; sources tried: {', '.join(tried)}. Connect a "
                     "camera, pick one with --camera N, or use --source FILE|URL")  # fmt: skip


# -- capture ------------------------------------------------------------------------------


class Capture:
    """Read a feed in a thread; hand every frame to the writer while recording.

    ``latest()`` gives the newest frame for the preview (with a sequence number).
    """

    def __init__(self, feed: Feed) -> None:
        self.feed = feed
        self._lock = threading.Condition()
        self._latest: tuple[int, np.ndarray, float] | None = None
        self._writer: ClipWriter | None = None
        self._play = threading.Event()
        self._stop = threading.Event()
        self.ended = threading.Event()
        self.end_reason = ""  # "end" or "stopped"
        self.recorded = 0
        self.start_time_s = math.nan
        self.start_utc = ""
        self._thread = threading.Thread(target=self._run, name="rom_measure-capture", daemon=True)
        self._thread.start()

    def _publish(self, bgr: np.ndarray, time_s: float) -> None:
        with self._lock:
            seq = self._latest[0] + 1 if self._latest else 0
            self._latest = (seq, bgr, time_s)
            self._lock.notify_all()

    def _run(self) -> None:
        feed = self.feed
        if feed.waits_for_start:
            first = feed.first_frame()
            while first is not None and not (self._play.is_set() or self._stop.is_set()):
                self._publish(first, time.monotonic())
                self._play.wait(1.0 / feed.fps)
        for bgr, time_s in feed.frames():
            if self._stop.is_set():
                return
            with self._lock:
                if self._writer is not None:
                    if self.recorded == 0:
                        self.start_time_s = time_s
                        self.start_utc = dt.datetime.now(dt.timezone.utc).isoformat(
                            timespec="milliseconds")  # fmt: skip
                    self._writer.put(bgr, time_s - self.start_time_s)
                    self.recorded += 1
            self._publish(bgr, time_s)
        self.end_reason = "stopped" if feed.stopped_early else "end"
        self.ended.set()
        with self._lock:
            self._lock.notify_all()

    def latest(self, after: int = -1, timeout: float = 0.1) -> tuple[int, np.ndarray, float] | None:
        """The newest frame if its sequence number is above ``after`` (waits up to ``timeout``)."""
        with self._lock:
            if self._latest is None or self._latest[0] <= after:
                self._lock.wait(timeout)
            if self._latest is None or self._latest[0] <= after:
                return None
            return self._latest

    def start_recording(self, writer: ClipWriter) -> None:
        with self._lock:
            self._writer = writer
            self.recorded = 0
        self._play.set()

    def stop_recording(self) -> None:
        with self._lock:
            self._writer = None

    def close(self) -> None:
        self._stop.set()
        self._play.set()
        self._thread.join(timeout=5)
