"""Frame sources: video files and cameras, streamed with their true timestamps.

Frames are decoded one at a time (memory does not grow with clip length). File
timestamps come from the container (variable frame rate is honoured) and phone
rotation metadata is applied by OpenCV's FFmpeg backend; camera timestamps are the
capture times on the monotonic clock.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from rom_measure.errors import InputError

__all__ = [
    "CameraSource",
    "Frame",
    "FrameSource",
    "VideoFileSource",
    "open_source",
    "prefetch",
    "with_rgb",
]

T = TypeVar("T")
_TRUNCATION_TOLERANCE = 0.9  # decoded / declared frames below this means a truncated file


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame: ``bgr`` (H, W, 3) uint8, its index and time in seconds.

    ``rgb`` is filled by :func:`with_rgb` (e.g. in the decoding thread) when wanted.
    """

    index: int
    time_s: float
    bgr: np.ndarray
    rgb: np.ndarray | None = None


def with_rgb(frame: Frame) -> Frame:
    """The same frame with its RGB conversion attached."""
    import cv2

    return Frame(frame.index, frame.time_s, frame.bgr, cv2.cvtColor(frame.bgr, cv2.COLOR_BGR2RGB))


class FrameSource(Protocol):
    """Anything that yields :class:`Frame` objects in time order."""

    name: str
    fps_hint: float
    size: tuple[int, int]  # (width, height)

    def __iter__(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


#: Files of up to this many pixels a frame are decoded by one FFmpeg thread: the pose
#: model runs on one core, and a multi-threaded decoder took the other core in bursts
#: and slowed it (bench/pipeline.py: about 5% of the pose pass on a 1768x994 clip).
#: Larger frames keep FFmpeg's own thread count, so the decoder stays ahead of the model.
ONE_THREAD_MAX_PIXELS = 1920 * 1088


def _capture(target: str | int, one_thread: bool = False):  # -> cv2.VideoCapture
    """A capture of ``target``; with ``one_thread`` (files only) a clip up to
    ONE_THREAD_MAX_PIXELS gets one decoder thread (else OpenCV's defaults, opened once)."""
    import cv2

    if not one_thread:
        return cv2.VideoCapture(target)
    capture = cv2.VideoCapture(target, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    if capture.isOpened():
        width = capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0.0
        height = capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0.0
        if 0 < width * height <= ONE_THREAD_MAX_PIXELS:
            return capture
    capture.release()
    return cv2.VideoCapture(target)  # FFmpeg's own thread count (or another backend)


class VideoFileSource:
    """Decode a video file frame by frame with container timestamps."""

    def __init__(self, path: str | Path, beside_the_model: bool = True) -> None:
        """``beside_the_model``: the pose model runs while this decodes, so a clip up
        to 1080p gets one decoder thread (ONE_THREAD_MAX_PIXELS); False (key frames,
        a seek before the model starts) keeps FFmpeg's own thread count."""
        import cv2

        self.path = Path(path)
        self.name = str(self.path)
        if not self.path.exists():
            raise InputError(f"video not found: {self.path}")
        if not self.path.is_file():
            raise InputError(f"not a file: {self.path}")
        self._cap = _capture(str(self.path), one_thread=beside_the_model)
        if not self._cap.isOpened():
            raise InputError(f"cannot read {self.path}: not a video file OpenCV/FFmpeg can decode")
        self.fps_hint = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.declared_frames = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.decoded_frames = 0
        # The first frame is read now: it proves the file decodes and gives the
        # displayed size (after rotation metadata is applied).
        self._first = self._read()
        if self._first is None:
            self._check_complete()
        height, width = self._first[1].shape[:2]  # type: ignore[index]
        self.size = (int(width), int(height))

    def _read(self, keep: Callable[[float], bool] | None = None) -> tuple[float, Any] | None:
        """The next frame's time and picture; the picture is None where ``keep`` says no.

        A frame not kept is only grabbed (decoded, not converted to BGR).
        """
        import cv2

        if keep is None:
            ok, bgr = self._cap.read()
            if not ok or bgr is None:
                return None
            return float(self._cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0, bgr
        if not self._cap.grab():
            return None
        time_s = float(self._cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0
        if not keep(time_s):
            return time_s, None
        ok, bgr = self._cap.retrieve()
        return (time_s, bgr) if ok and bgr is not None else None

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def seek(self, time_s: float) -> None:
        """Go on from the first frame at or after ``time_s`` (FFmpeg seeks frame-exactly,
        with the container's times). The truncation check is then left out."""
        import cv2

        if time_s > 0:
            self._cap.set(cv2.CAP_PROP_POS_MSEC, time_s * 1000.0)
            self._first = None
            self._seeked = True

    def frames(self, keep: Callable[[float], bool] | None = None) -> Iterator[Frame]:
        """The frames in order; with ``keep``, only those whose time it accepts (the
        others are skipped without colour conversion; indices count every frame)."""
        last_time = -np.inf
        index = 0
        while True:
            item = self._first if self._first is not None else self._read(keep)
            self._first = None
            if item is None:
                break
            time_s, bgr = item
            if not time_s > last_time:  # broken or missing timestamps: keep order
                time_s = last_time + 1.0 / (self.fps_hint or 30.0) if index else 0.0
            last_time = time_s
            self.decoded_frames = index = index + 1
            if bgr is not None and (keep is None or keep(time_s)):
                yield Frame(index - 1, time_s, bgr)
        self._check_complete()

    def frames_at(self, wanted: Iterable[int]) -> Iterator[Frame]:
        """Only the frames whose indices (from the start, counting every frame) are in
        ``wanted``, in order; the others are grabbed, not converted to BGR, and decoding
        stops after the last one wanted (key frames). Times are the container's."""
        wanted = set(wanted)
        if not wanted:
            return
        last = max(wanted)

        def skip(_time_s: float) -> bool:
            return False

        index = 0
        if self._first is not None:  # frame 0, read when the file was opened
            time_s, bgr = self._first
            self._first = None
            if 0 in wanted:
                yield Frame(0, time_s, bgr)
            index = 1
        while index <= last:
            item = self._read(None if index in wanted else skip)
            if item is None:
                return
            if item[1] is not None:
                yield Frame(index, item[0], item[1])
            index += 1

    def _check_complete(self) -> None:
        if getattr(self, "_seeked", False):
            return
        if self.decoded_frames == 0:
            raise InputError(f"{self.path} has no decodable video frames")
        if self.declared_frames > 0 and (
            self.decoded_frames < _TRUNCATION_TOLERANCE * self.declared_frames
        ):
            raise InputError(
                f"{self.path} looks truncated: decoded {self.decoded_frames} of "
                f"{self.declared_frames} frames"
            )

    def close(self) -> None:
        self._cap.release()


class CameraSource:
    """A live camera by index (or a stream URL); timestamps are capture times."""

    def __init__(self, device: int | str = 0, width: int | None = None, height: int | None = None):
        import cv2

        self.name = f"camera {device}"
        self._cap = _capture(device)
        if not self._cap.isOpened():
            raise InputError(f"cannot open {self.name}")
        if width and height:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self.fps_hint = float(self._cap.get(cv2.CAP_PROP_FPS) or 30.0)
        self.size = (
            int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        self.stopped_early = False

    def __iter__(self) -> Iterator[Frame]:
        start = time.monotonic()
        index = 0
        while True:
            ok, bgr = self._cap.read()
            if not ok or bgr is None:
                self.stopped_early = True
                return
            yield Frame(index, time.monotonic() - start, bgr)
            index += 1

    def close(self) -> None:
        self._cap.release()


def open_source(target: str | int | Path) -> FrameSource:
    """A file path gives a :class:`VideoFileSource`; an int (or digit string) a camera."""
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return CameraSource(int(target))
    if isinstance(target, str) and "://" in target:
        return CameraSource(target)
    return VideoFileSource(target)


def timestamps_path(clip: Path) -> Path:
    """``clip.mp4`` -> ``clip.timestamps.csv``: exact capture times saved by ``record``."""
    return Path(clip).with_name(f"{Path(clip).stem}.timestamps.csv")


def read_timestamps(clip: Path) -> np.ndarray | None:
    """The capture times saved beside ``clip`` (seconds), or None when there are none."""
    import csv

    sidecar = timestamps_path(clip)
    if not sidecar.is_file():
        return None
    try:
        with open(sidecar, encoding="utf-8") as handle:
            return np.array([float(row["time_s"]) for row in csv.DictReader(handle)])
    except (OSError, KeyError, ValueError) as error:
        raise InputError(f"cannot read the capture times in {sidecar}: {error}") from error


_END = object()


def prefetch(items: Iterable[T], depth: int = 4) -> Iterator[T]:
    """Iterate ``items`` in a background thread, ``depth`` ahead of the consumer.

    Decoding releases the GIL, so it overlaps with pose inference. Exceptions raised
    by the producer are re-raised in the consumer.
    """
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(_END)
        except BaseException as error:  # handed to the consumer
            buffer.put(error)

    worker = threading.Thread(target=produce, name="rom_measure-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=5)
