"""Writing a take: every frame encoded in a thread, its capture times and ``recording.json``.

Nothing is ever dropped (the queue grows instead). The clip goes to a temporary file beside
its final name and is renamed when complete; ``clip.timestamps.csv`` keeps the exact capture
times (variable frame rates are kept) and ``recording.json`` is written last.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import math
import os
import queue
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rom_measure._version import __version__
from rom_measure.errors import InputError
from rom_measure.media.sources import timestamps_path

if TYPE_CHECKING:
    from rom_measure.capture.feeds import Capture, Feed

__all__ = [
    "ANALYSIS_FILES",
    "CLIP_NAME",
    "METADATA_NAME",
    "ClipWriter",
    "clear_analysis",
    "recording_metadata",
    "remove_empty",
    "retime",
    "retimed",
    "sigint_deferred",
    "timestamps_csv",
]

log = logging.getLogger(__name__)

RECORDING_SCHEMA_VERSION = "1.0"
CLIP_NAME = "clip.mp4"
METADATA_NAME = "recording.json"
ANALYSIS_FILES = ("results.json", "angles.csv", "angles.png", "landmarks.npz", "annotated.mp4")
_RETIME_TOLERANCE = 0.02  # re-time the container when the measured rate is off by more


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


def retime(path: Path, nominal_fps: float, measured_fps: float) -> None:
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


def retimed(nominal: float, measured: float) -> bool:
    """Whether the container's rate is off the measured one by more than the tolerance."""
    return math.isfinite(measured) and abs(measured / nominal - 1) > _RETIME_TOLERANCE


def recording_metadata(
    writer: ClipWriter, capture: Capture, feed: Feed, take: dict[str, Any], still_s: float,
    max_s: float, ended_by: str, preview: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """``recording.json``: ``take`` holds movement, side, label, session and protocol."""
    times = writer.times
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    measured = (len(times) - 1) / span if span > 0 else math.nan
    return {
        "schema": "rom_measure.recording", "schema_version": RECORDING_SCHEMA_VERSION,
        "tool": {"name": "rom_measure", "version": __version__},
        **take,
        "source": {"kind": feed.kind, "name": feed.name, "target": feed.target},
        "clip": CLIP_NAME, "codec": writer.codec, "container": "mp4",
        "timestamps_file": timestamps_path(Path(CLIP_NAME)).name,
        "resolution": list(writer.size),
        "timing": {
            "started_utc": capture.start_utc,
            "neutral_phase_s": still_s,
            "max_seconds": max_s,
            "duration_s": round(span, 4),
            "frames_captured": writer.received,
            "frames_saved": writer.saved,
            "nominal_fps": round(writer.fps, 3),
            "measured_fps": round(measured, 3) if math.isfinite(measured) else None,
            "container_fps": round(measured if retimed(writer.fps, measured) else writer.fps, 3),
        },
        "ended_by": ended_by,
        "stopped_early": feed.stopped_early or None,
        "interrupted": ended_by == "interrupted",
        "preview": preview,
        "frame_times_s": [round(t, 6) for t in times],
    }  # fmt: skip


@contextlib.contextmanager
def sigint_deferred() -> Iterator[None]:
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


def clear_analysis(folder: Path) -> None:
    """Remove an earlier take's analysis (results.json first: it marks a complete set)."""
    for name in ANALYSIS_FILES:
        (folder / name).unlink(missing_ok=True)


def remove_empty(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def timestamps_csv(times: list[float]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["frame", "time_s"])
    writer.writerows([i, f"{t:.6f}"] for i, t in enumerate(times))
    return buffer.getvalue()
