"""Annotated video: skeleton, measured segments, angle arc, live angle and quality state.

Encoded as H.264 (yuv420p) MP4 with the ffmpeg binary from ``imageio-ffmpeg`` so that
browsers play it. :class:`AnnotatedVideoWriter` draws the skeleton while the pose model
runs (the frames it has already decoded, drawn and encoded in a background thread) and
ends the video with a closing card holding the result (ROM, verdict).
:func:`write_annotated_video` decodes the clip again and draws the full overlay
(e.g. for a face-blurred copy made later).
"""

from __future__ import annotations

import math
import queue
import subprocess
import tempfile
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rom_measure._fileio import atomic_path
from rom_measure._priority import lower_this_thread
from rom_measure.errors import OutputError
from rom_measure.measure.analysis import Result
from rom_measure.measure.landmarks import Landmark as L
from rom_measure.media.sources import VideoFileSource

__all__ = [
    "AnnotatedVideoWriter",
    "draw_overlay",
    "measured_segments",
    "segments_for",
    "video_step",
    "write_annotated_video",
]

MAX_SIDE_PX = 960  # the review video: drawing and encoding cost scale with its pixels
SKELETON = [(11, 12), (11, 23), (12, 24), (23, 24), (11, 13), (13, 15), (12, 14), (14, 16),
            (23, 25), (25, 27), (24, 26), (26, 28), (27, 29), (29, 31), (27, 31), (28, 30),
            (30, 32), (28, 32), (7, 2), (2, 0), (0, 5), (5, 8), (9, 10)]  # fmt: skip
COLOURS = {"ok": (80, 200, 80), "warning": (0, 190, 255), "rejected": (60, 60, 230)}  # BGR
CARD_S = 2.5  # length of the closing card
#: The review video's highest frame rate: a clip above it keeps every 2nd (3rd, ...)
#: frame. Enough to check the landmarks, and half the drawing and encoding of a 60 fps
#: clip (the measurement uses every frame).
MAX_VIDEO_FPS = 30.0
_QUEUE_FRAMES = 8  # frames waiting for the encoder at most (memory stays flat)


def measured_segments(result: Result) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The two segments whose angle is measured, as (from, to) landmark pairs."""
    return segments_for(result.movement.name, result.side)


def segments_for(name: str, side: str) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The measured segments of movement ``name`` on ``side`` (None: not drawn)."""
    if name.startswith("hip-"):
        return (L.of(side, "hip"), L.of(side, "knee")), (L.of(side, "hip"), L.of(side, "shoulder"))
    if name in ("ankle-dorsiflexion", "ankle-plantarflexion"):
        return (L.of(side, "ankle"), L.of(side, "knee")), (
            L.of(side, "heel"),
            L.of(side, "foot_index"),
        )
    if name == "ankle-lunge":
        return (L.of(side, "ankle"), L.of(side, "knee")), (L.of(side, "ankle"), L.of(side, "ankle"))
    if name.startswith("neck-"):
        return (L.RIGHT_EAR, L.LEFT_EAR), (L.RIGHT_SHOULDER, L.LEFT_SHOULDER)
    return None


def _point(xy: np.ndarray, index: int) -> tuple[int, int] | None:
    p = xy[index]
    return (int(np.rint(p[0])), int(np.rint(p[1]))) if np.isfinite(p).all() else None


def draw_overlay(
    image: np.ndarray, result: Result, frame: int, scale: float, blur_faces: bool = False
) -> np.ndarray:
    """Draw the overlay of ``frame`` on ``image`` (BGR, already resized by ``scale``).

    With ``blur_faces`` the subject's face is blurred first (see :mod:`rom_measure.media.blur`).
    """

    if blur_faces:
        from rom_measure.media.blur import blur_face, face_points

        image[...] = blur_face(image, face_points(result.series.pixels(), frame) * scale)
    xy = result.series.pixels()[frame] * scale
    thick = _draw_skeleton(image, xy, measured_segments(result))
    _draw_text(image, result, frame, thick)
    return image


def _draw_skeleton(image: np.ndarray, xy: np.ndarray, segments: Any) -> int:
    """Skeleton, measured segments and angle arc at pixel points ``xy``; the line width."""
    import cv2

    thick = max(1, round(image.shape[0] / 360))
    for a, b in SKELETON:
        pa, pb = _point(xy, a), _point(xy, b)
        if pa and pb:
            cv2.line(image, pa, pb, (235, 235, 235), thick, cv2.LINE_AA)
    if segments:
        for a, b in segments:
            pa, pb = _point(xy, a), _point(xy, b)
            if pa and pb and pa != pb:
                cv2.line(image, pa, pb, (255, 170, 30), thick * 2 + 1, cv2.LINE_AA)
        _draw_arc(image, xy, segments, thick)
    return thick


def _draw_arc(image: np.ndarray, xy: np.ndarray, segments, thick: int) -> None:
    import cv2

    (a, b), (c, d) = segments
    vertex, p1, p2 = _point(xy, a), _point(xy, b), _point(xy, d)
    if not (vertex and p1 and p2) or a != c:
        return
    angle1 = math.degrees(math.atan2(p1[1] - vertex[1], p1[0] - vertex[0]))
    angle2 = math.degrees(math.atan2(p2[1] - vertex[1], p2[0] - vertex[0]))
    sweep = (angle2 - angle1 + 180) % 360 - 180
    radius = max(12, int(0.35 * math.dist(vertex, p1)))
    cv2.ellipse(image, vertex, (radius, radius), 0, angle1, angle1 + sweep, (0, 220, 255),
                thick + 1, cv2.LINE_AA)  # fmt: skip


def _draw_text(image: np.ndarray, result: Result, frame: int, thick: int) -> None:

    height = image.shape[0]
    size = height / 900
    value = result.filtered_deg[frame]
    zero = 0.0 if result.movement.zero == "absolute" else result.rom.neutral.angle_deg
    status = result.frame_status[frame]
    live = f"{value - zero:+.1f} deg" if math.isfinite(value) and math.isfinite(zero) else "--"
    lines = [(f"{result.movement.title} ({result.side}): {live}", (255, 255, 255)),
             (f"t = {result.time_s[frame]:.2f} s   frame: {status}",
              (255, 255, 255) if status in ("ok", "gap_filled") else (0, 165, 255))]  # fmt: skip
    verdict = result.quality.verdict
    rom = "no ROM" if result.rejected else f"ROM {result.rom_deg:.1f} deg"
    lines.append((f"quality: {verdict}   {rom}", COLOURS[verdict]))
    y = int(40 * size) + 10
    _put_lines(image, lines, y, size, thick)


def _put_lines(image: np.ndarray, lines: list, y: int, size: float, thick: int) -> None:
    import cv2

    for text, colour in lines:
        cv2.putText(image, text, (12, y), cv2.FONT_HERSHEY_SIMPLEX, size, (0, 0, 0), thick + 3,
                    cv2.LINE_AA)  # fmt: skip
        cv2.putText(image, text, (12, y), cv2.FONT_HERSHEY_SIMPLEX, size, colour, thick,
                    cv2.LINE_AA)  # fmt: skip
        y += int(44 * size) + 8


def _output_size(size: tuple[int, int]) -> tuple[tuple[int, int], float]:
    width, height = size
    scale = min(1.0, MAX_SIDE_PX / max(width, height))
    even = (int(width * scale) // 2 * 2, int(height * scale) // 2 * 2)
    return even, scale


def video_step(fps: float) -> int:
    """Keep every ``step``-th frame so that the review video is at most MAX_VIDEO_FPS
    (30: 1, 40 to 60: 2, 75: 3); a clip within 1% of it keeps every frame."""
    return max(1, math.ceil(fps / (MAX_VIDEO_FPS * 1.01)))


def write_annotated_video(
    result: Result, video: Path, target: Path, blur_faces: bool = False
) -> Path:
    """Re-decode ``video`` and write the annotated H.264 MP4 to ``target`` (atomically).

    With ``blur_faces`` the subject's face is blurred in every frame.
    """
    import cv2
    import imageio_ffmpeg

    source = VideoFileSource(video, beside_the_model=False)  # no model runs meanwhile
    (width, height), scale = _output_size(source.size)
    fps = result.series.fps if math.isfinite(result.series.fps) else 30.0
    step = video_step(fps)
    fps /= step
    with atomic_path(Path(target)) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (width, height), fps=fps, codec="libx264", pix_fmt_out="yuv420p",
            quality=None, bitrate=None, output_params=["-crf", "23", "-movflags", "+faststart"],
            macro_block_size=1, ffmpeg_log_level="error",
        )  # fmt: skip
        writer.send(None)
        try:
            for frame in source:
                if frame.index >= result.series.frames:
                    break
                if frame.index % step:
                    continue  # above MAX_VIDEO_FPS
                image = cv2.resize(frame.bgr, (width, height), interpolation=cv2.INTER_AREA)
                draw_overlay(image, result, frame.index, scale, blur_faces)
                writer.send(np.ascontiguousarray(image[:, :, ::-1]))
        finally:
            writer.close()
            source.close()
    return Path(target)


def _ffmpeg_command(target: Path, size: tuple[int, int], fps: float) -> list[str]:
    """H.264 yuv420p for browsers; ``ultrafast`` and one thread: the pose model needs the CPU.

    Frames arrive as bgr24 and ffmpeg converts them: OpenCV's yuv420p conversion would
    save about 1 ms a frame, but it takes each 2x2 block's colour from its top-left
    pixel, so a 1 px coloured line (the verdict on a small video) can turn grey; an
    averaging conversion in numpy costs more than it saves (bench/annotation.py).

    The last frame sent (the closing card) is held for CARD_S by ffmpeg itself
    (``tpad``), so it crosses the pipe once.
    """
    import imageio_ffmpeg

    width, height = size
    return [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo",
            "-pix_fmt", "bgr24", "-s", f"{width}x{height}", "-r", f"{fps:.6g}", "-i", "-",
            "-vf", f"tpad=stop_mode=clone:stop={max(0, round(CARD_S * fps) - 1)}",
            "-an", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-threads", "1",
            "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", str(target)]  # fmt: skip


def _declared_fps(video: Path) -> float:
    import cv2

    capture = cv2.VideoCapture(str(video))
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    finally:
        capture.release()
    return fps if math.isfinite(fps) and 1.0 <= fps <= 240.0 else 30.0


class AnnotatedVideoWriter:
    """Annotated H.264 video written while the clip is decoded once (no second pass).

    :meth:`add` takes each frame with the subject's landmarks (normalised image
    coordinates) from the pose loop; a background thread resizes, draws and feeds
    ffmpeg through a bounded queue. :meth:`end` hands over the result: the thread
    appends the closing card after the queued frames and closes ffmpeg's input, so the
    encoder's tail runs while the caller writes its other files. :meth:`finish` waits
    for ffmpeg; any failure (e.g. a full disk) raises :class:`OutputError` with one
    line, and ffmpeg's own messages are not printed.
    """

    def __init__(self, target: Path, video: Path, movement: str, side: str) -> None:
        self.target = Path(target)
        self.video = Path(video)
        self.fps = 30.0  # the video's rate: the clip's declared one / step (set on its first frame)
        self.step = 1
        self.segments = segments_for(movement, side)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=_QUEUE_FRAMES)
        self._last: np.ndarray | None = None
        self._error: BaseException | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._ended = False
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish()/abort()
        self._thread = threading.Thread(target=self._encode, name="rom_measure-annotate",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def add(self, bgr: np.ndarray, time_s: float, image_xy: np.ndarray | None) -> None:
        """Queue one decoded frame (not copied: the decoder makes a new array per frame)."""
        if self._error is not None:
            return  # reported by finish()
        self._queue.put((bgr, time_s, image_xy))

    def _start(self, shape: tuple[int, ...]) -> None:
        size, self.scale = _output_size((shape[1], shape[0]))
        self.size = size
        declared = _declared_fps(self.video)
        self.step = video_step(declared)
        self.fps = declared / self.step
        self._process = subprocess.Popen(_ffmpeg_command(self.target, size, self.fps),
                                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=self._log)  # fmt: skip

    def _encode(self) -> None:
        import cv2

        lower_this_thread()  # ffmpeg, started from this thread, inherits it
        index = -1
        while (item := self._queue.get()) is not None:
            if isinstance(item, _End):
                self._write_card(item.result)
                break
            index += 1
            if self._error is not None:
                continue  # drain, so that add() never blocks
            try:
                bgr, time_s, image_xy = item
                if self._process is None:
                    self._start(bgr.shape)
                if index % self.step:
                    continue  # above MAX_VIDEO_FPS
                image = cv2.resize(bgr, self.size, interpolation=cv2.INTER_LINEAR)  # cheap
                if image_xy is not None:
                    xy = image_xy[:, :2] * np.array(self.size, dtype=np.float64)
                    _draw_skeleton(image, xy, self.segments)
                _put_lines(image, [(f"t = {time_s:.2f} s", (255, 255, 255))],
                           int(40 * image.shape[0] / 900) + 10, image.shape[0] / 900,
                           max(1, round(image.shape[0] / 360)))  # fmt: skip
                self._write(image)
                self._last = image
            except BaseException as error:  # handed to finish()
                self._error = error

    def _write(self, image: np.ndarray) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(np.ascontiguousarray(image).data)

    def _write_card(self, result: Result | None) -> None:
        """After the last frame: the closing card (held CARD_S by ffmpeg), end of input."""
        try:
            if self._error is None and self._last is not None and result is not None:
                self._write(_closing_card(self._last, result))
            if self._process is not None and self._process.stdin is not None:
                self._process.stdin.close()  # ffmpeg encodes its tail meanwhile
        except BaseException as error:  # handed to finish()
            self._error = self._error or error

    def end(self, result: Result | None) -> None:
        """No more frames: the closing card shows ``result`` (None: no card)."""
        if not self._ended:
            self._ended = True
            self._queue.put(_End(result))

    def finish(self, result: Result | None = None) -> Path:
        """End (if :meth:`end` was not called) and wait; ``target`` is then complete."""
        self.end(result)
        try:
            self._thread.join()
        except BaseException:  # e.g. Ctrl-C while waiting: ffmpeg must not outlive us
            self.abort()
            raise
        return self._close()

    def abort(self) -> None:
        """Stop without a result (the partial file is the caller's to remove).

        ffmpeg is killed first, so that a thread blocked writing to it is released; the
        thread, seeing the error, only drains the queue from then on."""
        self._error = self._error or RuntimeError("aborted")
        self._kill()
        if not self._ended:
            self._ended = True
            self._queue.put(None)
        self._thread.join()
        self._kill()  # started after the first kill, if the thread was just starting it
        if self._process is not None:
            self._process.wait()
        if not self._log.closed:
            self._log.close()

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()

    def _close(self) -> Path:
        process = self._process
        code = None
        if process is not None:
            try:
                process.stdin.close()  # type: ignore[union-attr]
            except OSError as error:
                self._error = self._error or error
            code = process.wait()
        self._log.seek(0)
        message = self._log.read().decode("utf-8", "replace")
        self._log.close()
        if process is None:
            raise OutputError(f"cannot write {self.target.name}: the clip gave no frames")
        if self._error is not None or code != 0:
            raise OutputError(f"cannot write {self.target.name}: {_why(self._error, message)}")
        return self.target


@dataclass(frozen=True)
class _End:
    """The queue's last item: the result for the closing card."""

    result: Result | None


def _why(error: BaseException | None, ffmpeg_log: str) -> str:
    if "No space left" in ffmpeg_log or getattr(error, "errno", None) == 28:
        return "no space left on the device"
    lines = [line for line in ffmpeg_log.splitlines() if line.strip()]
    if lines:
        return f"ffmpeg failed ({lines[-1].strip()[:120]})"
    return str(error) if error is not None else "ffmpeg failed"


def _closing_card(last: np.ndarray, result: Result) -> np.ndarray:
    """The last frame, darkened, with the measured ROM, the verdict and its reasons."""
    card = (last.astype(np.uint16) * 2 // 7).astype(np.uint8)
    height = card.shape[0]
    size = height / 700
    thick = max(1, round(height / 300))
    verdict = result.quality.verdict
    rom = "no ROM (rejected)" if result.rejected else f"ROM {result.rom_deg:.1f} deg"
    lines = [(f"{result.movement.title} ({result.side})", (255, 255, 255)),
             (rom, COLOURS[verdict]), (f"quality: {verdict}", COLOURS[verdict])]  # fmt: skip
    _put_lines(card, lines, int(height * 0.2), size, thick)
    notes = [line for reason in result.quality.reasons[:4] for line in textwrap.wrap(reason, 64)]
    y = int(height * 0.2) + 3 * (int(44 * size) + 8) + int(20 * size)
    _put_lines(card, [(line, (220, 220, 220)) for line in notes], y, size * 0.7, thick)
    return card
