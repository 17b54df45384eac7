"""Guided recording of pre/post clips from a camera, a stream or a file.

One *take* records one movement on one side: a live preview (see :mod:`rom_measure.capture.live`)
waits until the quality lights are green (or the user starts anyway), counts down,
records a still neutral phase and then the movement, and stops on a key, after the
maximum duration or when the source ends. Three threads keep the recording whole:

- capture: reads the source and hands *every* frame with its capture time to the writer;
- writer: encodes every frame (MPEG-4 Part 2 in MP4; nothing is ever dropped, the queue
  grows instead) to a temporary file that is renamed when complete;
- pose: analyses only the latest frame for the preview, skipping frames when slow.

The clip, ``clip.timestamps.csv`` (exact capture times, so variable frame rates are
kept), ``recording.json`` (metadata) and the analysis go to
``SESSION/<label>/<movement>_<side>/``; with both ``pre`` and ``post`` in the session
the comparison is updated too. A file source waits on its first frame until the
recording starts and is then played at its own rate, so every frame of it is recorded.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import io
import logging
import math
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from rom_measure._fileio import atomic_write_json, atomic_write_text
from rom_measure._version import __version__
from rom_measure.errors import InputError
from rom_measure.media.sources import timestamps_path

__all__ = [
    "PROTOCOLS",
    "CameraFeed",
    "Capture",
    "ClipWriter",
    "FileFeed",
    "RecordOptions",
    "Reporter",
    "TakeFlow",
    "TakeOutcome",
    "cmd_record",
    "open_feed",
    "protocol_steps",
    "record_session",
    "register",
]

log = logging.getLogger(__name__)

PROTOCOLS = ("neck", "hip", "ankle")
RECORDING_SCHEMA_VERSION = "1.0"
CLIP_NAME = "clip.mp4"
METADATA_NAME = "recording.json"
ANALYSIS_FILES = ("results.json", "angles.csv", "angles.png", "landmarks.npz", "annotated.mp4")
_RETIME_TOLERANCE = 0.02  # re-time the container when the measured rate is off by more


class _Feed(Protocol):
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
) -> _Feed:
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


# -- writing ------------------------------------------------------------------------------


class ClipWriter:
    """Encode every frame it is given, in a thread, to a temporary file beside ``target``.

    :meth:`commit` renames the finished file to ``target``; :meth:`abort` removes it.
    """

    def __init__(self, target: Path, size: tuple[int, int], fps: float) -> None:
        import cv2

        self.target = Path(target)
        self.size = size
        self.fps = fps
        self.codec = "mp4v"
        self.times: list[float] = []
        self.received = 0
        self.saved = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        fd, name = tempfile.mkstemp(prefix=f".{self.target.stem}.partial-", suffix=".mp4",
                                    dir=self.target.parent)  # fmt: skip
        os.close(fd)
        self.tmp = Path(name)
        self._writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        if not self._writer.isOpened():
            self.tmp.unlink(missing_ok=True)
            raise InputError(f"cannot write a video in {self.target.parent} (mp4v codec)")
        self._thread = threading.Thread(target=self._run, name="rom_measure-writer", daemon=True)
        self._thread.start()

    def put(self, bgr: np.ndarray, time_s: float) -> None:
        """Queue one frame (never blocks, never drops)."""
        self.received += 1
        self._queue.put((bgr, time_s))

    def _run(self) -> None:
        import cv2

        while (item := self._queue.get()) is not None:
            bgr, time_s = item
            if (bgr.shape[1], bgr.shape[0]) != self.size:
                bgr = cv2.resize(bgr, self.size, interpolation=cv2.INTER_AREA)
            self._writer.write(bgr)
            self.times.append(time_s)
            self.saved += 1

    @property
    def backlog(self) -> int:
        return self.received - self.saved

    def finish(self) -> None:
        """Write the frames still queued and close the file (it stays temporary)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._writer.release()

    def commit(self) -> Path:
        os.replace(self.tmp, self.target)
        return self.target

    def abort(self) -> None:
        self.finish()
        self.tmp.unlink(missing_ok=True)


def _retime(path: Path, nominal_fps: float, measured_fps: float) -> None:
    """Scale the container's timestamps so that it plays at the measured mean rate."""
    import imageio_ffmpeg

    out = path.with_name(path.stem + ".retimed.mp4")
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-itsscale",
               f"{nominal_fps / measured_fps:.8f}", "-i", str(path), "-c", "copy", "-movflags",
               "+faststart", str(out)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        os.replace(out, path)
    else:
        out.unlink(missing_ok=True)
        log.warning("could not re-time %s: %s", path, done.stderr.strip()[-200:])


# -- capture ------------------------------------------------------------------------------


class Capture:
    """Read a feed in a thread; hand every frame to the writer while recording.

    ``latest()`` gives the newest frame for the preview (with a sequence number).
    """

    def __init__(self, feed: _Feed) -> None:
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


# -- the flow of one take -----------------------------------------------------------------

Phase = Literal["waiting", "countdown", "still", "moving", "done", "redo", "quit", "failed"]


@dataclass
class TakeFlow:
    """State machine of one take, driven by ``tick`` (time, lights) and ``key`` events.

    waiting -> countdown (lights green for ``ready_hold_s``, space, or ``auto_s`` passed)
    -> still (recording) -> moving (after ``still_s``) -> done (space, ``max_s`` or the
    source ended). ``r`` goes to redo, ``q`` to quit.
    """

    countdown_s: float = 3.0
    still_s: float = 2.0
    max_s: float = 20.0
    auto_s: float | None = None
    ready_hold_s: float = 1.0
    phase: Phase = "waiting"
    since: float = 0.0
    ready_since: float | None = None
    record_start: float = math.nan
    ended_by: str = ""

    def start(self, now: float, phase: Phase = "waiting") -> None:
        self.phase, self.since, self.ready_since, self.ended_by = phase, now, None, ""

    def _go(self, phase: Phase, now: float) -> None:
        self.phase, self.since = phase, now
        if phase == "still":
            self.record_start = now

    @property
    def recording(self) -> bool:
        return self.phase in ("still", "moving")

    def elapsed(self, now: float) -> float:
        return now - self.record_start if self.recording else 0.0

    def tick(self, now: float, ready: bool) -> Phase:
        if self.phase == "waiting":
            self.ready_since = (self.ready_since or now) if ready else None
            held = self.ready_since is not None and now - self.ready_since >= self.ready_hold_s
            timed_out = self.auto_s is not None and now - self.since >= self.auto_s
            if held or timed_out:
                self._go("countdown", now)
        if self.phase == "countdown" and now - self.since >= self.countdown_s:
            self._go("still", now)
        if self.phase == "still" and now - self.since >= self.still_s:
            self._go("moving", now)
        if self.phase == "moving" and now - self.record_start >= self.max_s:
            self.ended_by = "max_seconds"
            self._go("done", now)
        return self.phase

    def key(self, key: str, now: float) -> Phase:
        if key == "q":
            self._go("quit", now)
        elif key == "r" and self.phase in ("countdown", "still", "moving"):
            self._go("redo", now)
        elif key == " " and self.phase == "waiting":
            self._go("countdown", now)
        elif key == " " and self.recording:
            self.ended_by = "key"
            self._go("done", now)
        return self.phase

    def source_ended(self, now: float, reason: str) -> Phase:
        if self.recording:
            self.ended_by = "source_" + reason
            self._go("done", now)
        elif self.phase in ("waiting", "countdown"):
            self.ended_by = "source_" + reason
            self._go("failed", now)
        return self.phase


# -- options, protocols, reporting -----------------------------------------------------


@dataclass
class RecordOptions:
    """Everything one ``record`` run needs."""

    steps: list[tuple[str, str]]
    label: str
    session: Path
    source: str | None = None
    camera: int | None = None
    resolution: tuple[int, int] | None = (1280, 720)
    preview: bool = True
    countdown_s: float = 3.0
    still_s: float = 2.0
    max_s: float = 20.0
    auto_s: float | None = None
    model: str | None = None
    annotate: bool = True
    protocol: str | None = None
    feed: Any = None  # an already open feed (benchmarks); else opened from source/camera
    analyse: bool = True


def protocol_steps(region: str) -> list[tuple[str, str]]:
    """(movement, side) of every movement of ``region``; both sides unless side is ignored."""
    from rom_measure.measure.movements import MOVEMENTS

    if region not in PROTOCOLS:
        raise InputError(f"unknown protocol {region!r}: choose one of {', '.join(PROTOCOLS)}")
    steps = []
    for m in MOVEMENTS.values():
        if m.region == region:
            sides = ("left",) if m.side_meaning.startswith("ignored") else ("left", "right")
            steps += [(m.name, side) for side in sides]
    return steps


class Reporter(Protocol):
    """Where the session tells the user what happened (the CLI prints)."""

    def say(self, text: str) -> None: ...

    def result(self, result: Any, folder: Path) -> None: ...

    def comparison(self, comparison: Any) -> None: ...


@dataclass
class TakeOutcome:
    """What one step of the session produced."""

    movement: str
    side: str
    folder: Path
    clip: Path | None = None
    result: Any = None
    ended_by: str = ""
    frames: int = 0
    comparison: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Finish the block before honouring Ctrl-C (main thread only), then raise it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _clear_analysis(folder: Path) -> None:
    """Remove an earlier take's analysis (results.json first: it marks a complete set)."""
    for name in ANALYSIS_FILES:
        (folder / name).unlink(missing_ok=True)


def _remove_empty(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _timestamps_csv(times: list[float]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["frame", "time_s"])
    writer.writerows([i, f"{t:.6f}"] for i, t in enumerate(times))
    return buffer.getvalue()


# -- the session --------------------------------------------------------------------------


class _Session:
    """Runs the steps of one ``record`` invocation on one open source."""

    def __init__(self, options: RecordOptions, reporter: Reporter) -> None:
        self.o = options
        self.report = reporter
        self.feed: _Feed | None = None
        self.window: Any = None
        self.backend: Any = None
        self._last_canvas: np.ndarray | None = None
        self._last_frame: np.ndarray | None = None
        self._last_seq = -1
        self._shown: list[float] = []
        self._pose_frames = (0, 0.0, 0)
        self._stdin: queue.SimpleQueue = queue.SimpleQueue()

    # ---- set-up / tear-down
    def open(self) -> None:
        from rom_measure.visit.outputs import prepare_output_dir

        prepare_output_dir(self.o.session)
        if self.o.preview:
            from rom_measure.capture.live import check_display

            check_display()
        self.feed = self.o.feed or open_feed(self.o.source, self.o.camera, self.o.resolution)
        if self.o.preview:
            from rom_measure.capture.live import PreviewWindow
            from rom_measure.media.assets import pose_model_path
            from rom_measure.media.pose import MediaPipePose

            self.window = PreviewWindow()
            self.backend = MediaPipePose(pose_model_path(self.o.model))
        else:
            self._watch_stdin()
        w, h = self.feed.size
        self.report.say(f"source: {self.feed.name} ({w}x{h}, {self.feed.fps:.1f} fps)")

    def close(self) -> None:
        if self.window is not None:
            self.window.close()
        if self.backend is not None:
            self.backend.close()
        if self.feed is not None:
            self.feed.close()

    # ---- steps
    def run(self) -> list[TakeOutcome]:
        outcomes: list[TakeOutcome] = []
        for number, (movement, side) in enumerate(self.o.steps, 1):
            outcome = self.take(movement, side, number)
            if outcome is None:  # quit
                break
            outcomes.append(outcome)
            if outcome.ended_by == "source_stopped" and number < len(self.o.steps):
                self.report.say("the source stopped: the remaining movements were not recorded")
                break
        return outcomes

    def take(self, movement: str, side: str, number: int) -> TakeOutcome | None:
        """Record (redoing on request) one movement; None when the user quits."""
        from rom_measure.capture.live import instructions
        from rom_measure.measure.movements import get_movement
        from rom_measure.visit.compare import visit_clip_dir

        move = get_movement(movement)
        folder = visit_clip_dir(self.o.session, self.o.label, movement, side)
        placement, how = instructions(movement, side)
        step = f"step {number}/{len(self.o.steps)}: " if len(self.o.steps) > 1 else ""
        self.report.say(f"\n{step}{move.title} ({side}), label {self.o.label}")
        self.report.say(f"  camera:   {placement}\n  movement: {how}")
        while True:
            outcome, phase = self._record(move, side, folder, number)
            if phase == "quit":
                return None
            if phase == "redo":
                self.report.say("redo: the take was discarded")
                continue
            if outcome is None:
                return None
            if outcome.clip is not None and self.o.analyse:
                self._analyse(outcome)
            if (
                self.window is not None
                and self.o.analyse
                and self._result_screen(move, side, outcome) == "r"
            ):
                self.report.say("redo requested")
                continue
            return outcome

    # ---- one recording
    def _record(self, move: Any, side: str, folder: Path, number: int):
        from rom_measure.visit.outputs import prepare_output_dir

        assert self.feed is not None
        self.feed.restart()
        capture = Capture(self.feed)
        flow = TakeFlow(self.o.countdown_s, self.o.still_s, self.o.max_s, self.o.auto_s)
        worker = analyzer = None
        if self.window is not None:
            from rom_measure.capture.live import LiveAnalyzer

            analyzer = LiveAnalyzer(move, side, self.backend)
            worker = PoseWorker(capture, analyzer)
        writer: ClipWriter | None = None
        self._last_seq, self._shown = -1, []
        now = time.monotonic()
        flow.start(now, "waiting" if self.window is not None else "countdown")
        if self.window is None:
            self.report.say(f"recording starts in {self.o.countdown_s:.0f} s ...")
        last_phase = flow.phase
        try:
            while flow.phase not in ("done", "redo", "quit", "failed"):
                key = self._show(capture, worker, flow, move, side, number)
                now = time.monotonic()
                if key:
                    flow.key(key, now)
                ready = bool(worker and worker.state and worker.state.ready)
                flow.tick(now, ready or self.window is None)
                if capture.ended.is_set():
                    flow.source_ended(now, capture.end_reason)
                if flow.phase == "still" and last_phase != "still":
                    prepare_output_dir(folder)
                    writer = ClipWriter(folder / CLIP_NAME, self.feed.size, self.feed.fps)
                    capture.start_recording(writer)
                    if analyzer is not None:
                        analyzer.reset_baseline()
                    if worker is not None:
                        self._pose_frames = (worker.frames, now, now)
                    self.report.say("recording: stand still")
                if flow.phase == "moving" and last_phase != "moving":
                    self.report.say(f"now move (stops after {self.o.max_s:.0f} s"
                                    + (", or press space)" if self.window else ")"))  # fmt: skip
                last_phase = flow.phase
            capture.stop_recording()
            if worker is not None:
                frames0, start, _ = self._pose_frames
                self._pose_frames = (worker.frames - frames0, start, time.monotonic())
        except KeyboardInterrupt:
            capture.stop_recording()
            self._interrupted(writer, capture, flow, move, side, folder)
            raise
        finally:
            if worker is not None:
                worker.close()
            capture.close()
        if flow.phase == "failed":
            reason = self.feed.stopped_early or "it ended"
            raise InputError(f"{self.feed.name} ended before the recording started ({reason})")
        if flow.phase in ("redo", "quit"):
            if writer is not None:
                writer.abort()
                _remove_empty(folder, self.o.session)
            if flow.phase == "quit":
                self.report.say("quit" + (": the take in progress was discarded" if writer else ""))
            return None, flow.phase
        assert writer is not None
        outcome = self._save(writer, capture, flow, move.name, side, folder)
        return outcome, "done"

    def _show(self, capture: Capture, worker: PoseWorker | None, flow: TakeFlow, move: Any,
              side: str, number: int) -> str:  # fmt: skip
        """Show the newest frame once (returns the key pressed, '' if none)."""
        if self.window is None:
            time.sleep(0.02)
            return self._stdin_key()
        from rom_measure.capture.live import compose

        item = capture.latest(self._last_seq, 0.04)
        if item is None:
            return self.window.show(self._last_canvas, 1) if self._last_canvas is not None else ""
        seq, bgr, _ = item
        screen = self._screen(flow, move, side, number, time.monotonic())
        canvas = compose(bgr, worker.state if worker else None, screen, move, side)
        self._last_canvas, self._last_seq, self._last_frame = canvas, seq, bgr
        key = self.window.show(canvas, 1)
        if flow.recording:
            self._shown.append(time.monotonic())
        return key

    def _stdin_key(self) -> str:
        try:
            self._stdin.get_nowait()
        except queue.Empty:
            return ""
        return " "

    def _watch_stdin(self) -> None:
        """Without a window, Enter on the terminal stops the recording."""
        if not (sys.stdin and sys.stdin.isatty()):
            return

        def read() -> None:
            for _ in sys.stdin:
                self._stdin.put(" ")

        threading.Thread(target=read, name="rom_measure-stdin", daemon=True).start()

    def _screen(self, flow: TakeFlow, move: Any, side: str, number: int, now: float):
        from rom_measure.capture.live import Screen, instructions

        placement, how = instructions(move.name, side)
        steps = f"   step {number}/{len(self.o.steps)}" if len(self.o.steps) > 1 else ""
        title = f"{move.title} - {side} ({self.o.label}){steps}"
        screen = Screen(title, placement, how)
        if flow.phase == "waiting":
            screen.status = "waiting for green lights (space: start now)"
            if flow.auto_s is not None:
                screen.status = f"auto start in {max(0, flow.auto_s - (now - flow.since)):.0f} s"
        elif flow.phase == "countdown":
            screen.banner = str(max(1, math.ceil(flow.countdown_s - (now - flow.since))))
            screen.status = "get ready"
        elif flow.recording:
            screen.recording = True
            screen.status = f"REC {flow.elapsed(now):4.1f} s / {flow.max_s:.0f} s"
            still = flow.phase == "still"
            screen.banner = "STAND STILL" if still else "NOW MOVE"
            screen.banner_colour = (255, 255, 255) if still else (60, 220, 60)
        return screen

    # ---- saving
    def _metadata(self, writer: ClipWriter, capture: Capture, flow: TakeFlow, movement: str,
                  side: str, ended_by: str) -> dict[str, Any]:  # fmt: skip
        assert self.feed is not None
        times = writer.times
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        measured = (len(times) - 1) / span if span > 0 else math.nan
        shown = self._shown
        preview_fps = ((len(shown) - 1) / (shown[-1] - shown[0])
                       if len(shown) > 2 and shown[-1] > shown[0] else None)  # fmt: skip
        pose_frames, pose_start, pose_end = self._pose_frames
        pose_fps = pose_frames / (pose_end - pose_start) if pose_end > pose_start else None
        return {
            "schema": "rom_measure.recording", "schema_version": RECORDING_SCHEMA_VERSION,
            "tool": {"name": "rom_measure", "version": __version__},
            "movement": movement, "side": side, "label": self.o.label,
            "session": str(self.o.session), "protocol": self.o.protocol,
            "source": {"kind": self.feed.kind, "name": self.feed.name, "target": self.feed.target},
            "clip": CLIP_NAME, "codec": writer.codec, "container": "mp4",
            "timestamps_file": timestamps_path(Path(CLIP_NAME)).name,
            "resolution": list(writer.size),
            "timing": {
                "started_utc": capture.start_utc,
                "neutral_phase_s": self.o.still_s,
                "max_seconds": self.o.max_s,
                "duration_s": round(span, 4),
                "frames_captured": writer.received,
                "frames_saved": writer.saved,
                "nominal_fps": round(writer.fps, 3),
                "measured_fps": round(measured, 3) if math.isfinite(measured) else None,
                "container_fps": round(measured if self._retimed(writer.fps, measured)
                                       else writer.fps, 3),
            },
            "ended_by": ended_by,
            "stopped_early": self.feed.stopped_early or None,
            "interrupted": ended_by == "interrupted",
            "preview": {"shown": self.window is not None,
                        "fps": round(preview_fps, 2) if preview_fps else None,
                        "pose_fps": round(pose_fps, 2) if pose_fps else None},
            "frame_times_s": [round(t, 6) for t in times],
        }  # fmt: skip

    @staticmethod
    def _retimed(nominal: float, measured: float) -> bool:
        return math.isfinite(measured) and abs(measured / nominal - 1) > _RETIME_TOLERANCE

    def _write_files(
        self, writer: ClipWriter, capture: Capture, flow: TakeFlow, movement: str, side: str,
        folder: Path, ended_by: str,
    ) -> tuple[Path | None, dict]:  # fmt: skip
        """Finish the clip, then write it, its timestamps and metadata (metadata last)."""
        with _sigint_deferred():
            writer.finish()
            if writer.saved == 0:
                writer.abort()
                _remove_empty(folder, self.o.session)
                return None, {}
            meta = self._metadata(writer, capture, flow, movement, side, ended_by)
            measured = meta["timing"]["measured_fps"] or math.nan
            if self._retimed(writer.fps, measured):
                _retime(writer.tmp, writer.fps, measured)
            _clear_analysis(folder)
            (folder / METADATA_NAME).unlink(missing_ok=True)
            clip = writer.commit()
            atomic_write_text(timestamps_path(clip), _timestamps_csv(writer.times))
            atomic_write_json(folder / METADATA_NAME, meta)
        return clip, meta

    def _save(self, writer: ClipWriter, capture: Capture, flow: TakeFlow, movement: str,
              side: str, folder: Path) -> TakeOutcome:  # fmt: skip
        clip, meta = self._write_files(writer, capture, flow, movement, side, folder, flow.ended_by)
        outcome = TakeOutcome(movement, side, folder, clip, ended_by=flow.ended_by,
                              frames=writer.saved, metadata=meta)  # fmt: skip
        if clip is None:
            self.report.say("nothing was recorded")
            return outcome
        timing = meta["timing"]
        fps = timing["measured_fps"]
        self.report.say(f"saved {clip} ({writer.saved} of {writer.received} frames, "
                        f"{timing['duration_s']:.1f} s"
                        + (f", {fps:.1f} fps)" if fps else ")"))  # fmt: skip
        if flow.ended_by == "source_stopped":
            self.report.say(f"the source stopped early ({self.feed.stopped_early}): the "
                            f"{writer.saved} frames recorded so far were kept")  # fmt: skip
        elif flow.ended_by == "source_end":
            self.report.say("the source ended")
        return outcome

    def _interrupted(self, writer: ClipWriter | None, capture: Capture, flow: TakeFlow,
                     move: Any, side: str, folder: Path) -> None:  # fmt: skip
        if writer is None:
            self.report.say("interrupted before recording: nothing was saved")
            return
        try:
            clip, _ = self._write_files(writer, capture, flow, move.name, side, folder,
                                        "interrupted")  # fmt: skip
        except KeyboardInterrupt:
            writer.abort()
            clip = None
        if clip is None:
            self.report.say("interrupted: nothing was recorded, nothing was saved")
        else:
            self.report.say(f"interrupted: kept the {writer.saved} frames recorded so far in "
                            f"{clip} (with {METADATA_NAME}); not analysed: run 'rom-measure "
                            f"analyze {clip} -m {move.name} -s {side} -o {folder}'")  # fmt: skip

    # ---- analysis
    def _analyse(self, outcome: TakeOutcome) -> None:
        assert outcome.clip is not None
        self.report.say("analysing ...")
        if self.window is None:
            outcome.result = analyse_clip(outcome.clip, outcome.movement, outcome.side,
                                          self.o.model, self.o.annotate)  # fmt: skip
        else:
            outcome.result = self._analyse_with_window(outcome)
        self.report.result(outcome.result, outcome.folder)
        if self.o.label in ("pre", "post"):
            from rom_measure.visit.compare import update_visit_comparisons

            for c in update_visit_comparisons(self.o.session):
                if (c.movement, c.side) == (outcome.movement, outcome.side):
                    outcome.comparison = c
                    self.report.comparison(c)

    def _analyse_with_window(self, outcome: TakeOutcome) -> Any:
        from rom_measure.capture.live import Screen, compose
        from rom_measure.measure.movements import get_movement

        move = get_movement(outcome.movement)
        done: dict[str, Any] = {}
        progress = [0]

        def work() -> None:
            try:
                done["result"] = analyse_clip(
                    outcome.clip,
                    outcome.movement,
                    outcome.side,
                    self.o.model,
                    self.o.annotate,
                    lambda *a: progress.__setitem__(0, progress[0] + 1),
                )
            except BaseException as error:  # handed to the main thread
                done["error"] = error

        thread = threading.Thread(target=work, name="rom_measure-analysis", daemon=True)
        thread.start()
        base = self._last_frame
        while thread.is_alive():
            frame = base if base is not None else np.zeros((480, 640, 3), np.uint8)
            screen = Screen(f"{move.title} - {outcome.side} ({self.o.label})", "", "",
                            banner=f"analysing {progress[0]}/{outcome.frames}",
                            keys="please wait")  # fmt: skip
            self.window.show(compose(frame, None, screen, move, outcome.side), 50)
            thread.join(0.05)
        if "error" in done:
            raise done["error"]
        return done["result"]

    def _result_screen(self, move: Any, side: str, outcome: TakeOutcome) -> str:
        from rom_measure.capture.live import Screen, compose

        result, lines = outcome.result, []
        green, red, amber = (60, 220, 60), (60, 60, 240), (0, 190, 255)
        if result is None:
            lines.append(("nothing recorded", red))
        elif result.rejected:
            lines.append((f"{move.title} ({side}): no ROM - quality rejected", red))
            lines += [(f"- {r}"[:90], (230, 230, 230)) for r in result.quality.reasons[:3]]
        else:
            colour = green if result.quality.verdict == "ok" else amber
            rom = result.rom
            lines.append((f"{move.title} ({side}): ROM {rom.rom_deg:.1f} +/- "
                          f"{rom.uncertainty_deg:.1f} deg", colour))  # fmt: skip
            lines.append((f"quality {result.quality.verdict.upper()}, "
                          f"{len(rom.repetitions)} repetition(s)", colour))  # fmt: skip
            lines += [(f"- {r}"[:90], (230, 230, 230)) for r in result.quality.reasons[:2]]
        c = outcome.comparison
        if c is not None and c.change_deg is not None and math.isfinite(c.change_deg):
            lines.append((f"pre -> post: {c.change_deg:+.1f} deg ({c.verdict})", (255, 255, 255)))
        last = outcome.clip is not None and outcome.ended_by == "source_stopped"
        keys = "space: next    r: redo    q: quit" if not last else "space/q: finish"
        screen = Screen(f"{move.title} - {side} ({self.o.label})", "", "", result=lines,
                        keys=keys)  # fmt: skip
        base = self._last_frame
        frame = base if base is not None else np.zeros((480, 640, 3), np.uint8)
        canvas = compose(frame, None, screen, move, side)
        shown = time.monotonic()
        while True:
            key = self.window.show(canvas, 30)
            if key in (" ", "n", "q", "r"):
                return key
            if self.o.auto_s is not None and time.monotonic() - shown >= 1.5:
                return " "


def analyse_clip(
    clip: Path,
    movement: str,
    side: str,
    model: str | None = None,
    annotate: bool = True,
    on_frame: Callable[..., None] | None = None,
) -> Any:
    """Analyse a recorded clip into its folder, timed by its saved capture timestamps.

    :func:`rom_measure.media.pipeline.video_landmarks` reads ``clip.timestamps.csv`` beside
    the clip (exact capture times), so a later ``rom-measure analyze`` agrees too.
    """
    from rom_measure.visit.outputs import analyze_to_folder

    clip = Path(clip)
    result, _ = analyze_to_folder(movement, side, clip.parent, video=clip, model=model,
                                  annotate=annotate, on_frame=on_frame)  # fmt: skip
    return result


def record_session(options: RecordOptions, reporter: Reporter) -> list[TakeOutcome]:
    """Record every step of ``options`` (one movement, or a protocol) and analyse each take."""
    session = _Session(options, reporter)
    try:
        session.open()
        return session.run()
    finally:
        session.close()


# -- command line (thin) ------------------------------------------------------------------


def _resolution(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1280x720") from None
    return width, height


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``record`` command."""
    p = sub.add_parser(
        "record",
        help="record (and analyse) clips with a guided live preview",
        description="Record one movement, or every movement of a region with "
        "--protocol, into SESSION/<label>/<movement>_<side>/ and analyse it.",
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--movement", "-m", help="see 'rom-measure movements'")
    what.add_argument("--protocol", choices=PROTOCOLS, help="every movement of a region in turn")
    p.add_argument(
        "--side",
        "-s",
        choices=["left", "right"],
        help="limb or direction (not needed for neck flexion/extension)",
    )
    p.add_argument("--label", "-l", required=True, help="e.g. pre or post")
    p.add_argument("--session", required=True, type=Path, help="visit folder")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, help="camera index (default: try 0, 1, 2)")
    src.add_argument("--source", help="video file or stream URL instead of a camera")
    p.add_argument(
        "--resolution",
        type=_resolution,
        default=(1280, 720),
        help="camera resolution to ask for (default 1280x720)",
    )
    p.add_argument(
        "--no-preview",
        dest="preview",
        action="store_false",
        help="record without a window (Enter or --max-seconds stops)",
    )
    p.add_argument("--countdown", type=float, default=3.0, help="seconds (default 3)")
    p.add_argument(
        "--still-seconds",
        type=float,
        default=2.0,
        help="still neutral phase at the start (default 2)",
    )
    p.add_argument("--max-seconds", type=float, default=20.0, help="longest take (default 20)")
    p.add_argument(
        "--auto",
        type=float,
        nargs="?",
        const=5.0,
        default=None,
        metavar="SECONDS",
        help="no keys needed: start when the lights are green or after SECONDS "
        "(default 5), then go on by itself",
    )
    p.add_argument("--model", help="pose landmarker .task file")
    p.add_argument("--no-annotate", dest="annotate", action="store_false")
    p.set_defaults(func=cmd_record)  # fmt: skip


class _PrintReporter:
    def say(self, text: str) -> None:
        print(text, flush=True)

    def result(self, result: Any, folder: Path) -> None:
        from rom_measure.console import print_result

        print_result(result)
        print(f"  written to {folder}/", flush=True)

    def comparison(self, comparison: Any) -> None:
        from rom_measure.console import print_comparison

        print("\npre -> post:")
        print_comparison(comparison)
        sys.stdout.flush()


def cmd_record(args: argparse.Namespace) -> int:
    from rom_measure.measure.movements import check_side, get_movement

    if args.protocol:
        steps = protocol_steps(args.protocol)
    else:
        move = get_movement(args.movement)
        if args.side is None and not move.side_meaning.startswith("ignored"):
            raise InputError(f"--side left|right is needed for {move.name}")
        steps = [(move.name, check_side(args.side or "left"))]
    if not args.label.replace("-", "").replace("_", "").isalnum():
        raise InputError(f"--label {args.label!r}: use letters, digits, - and _ only")
    for name, value in (("--countdown", args.countdown), ("--still-seconds", args.still_seconds),
                        ("--max-seconds", args.max_seconds)):  # fmt: skip
        if not (math.isfinite(value) and value >= 0):
            raise InputError(f"{name} must be a number of seconds >= 0")
    if args.max_seconds <= args.still_seconds:
        raise InputError("--max-seconds must be longer than --still-seconds")
    options = RecordOptions(
        steps=steps, label=args.label, session=args.session, source=args.source,
        camera=args.camera, resolution=args.resolution, preview=args.preview,
        countdown_s=args.countdown, still_s=args.still_seconds, max_s=args.max_seconds,
        auto_s=args.auto, model=args.model, annotate=args.annotate, protocol=args.protocol,
    )  # fmt: skip
    outcomes = record_session(options, _PrintReporter())
    if not outcomes:
        return 1
    bad = [o for o in outcomes if o.clip is None or o.result is None or o.result.rejected]
    return 1 if bad or len(outcomes) < len(steps) else 0
