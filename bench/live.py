"""Benchmark the live recorder: preview frame rate and the share of captured frames saved.

There is no camera on the build machine, so frames come from a synthetic 30 fps source
(a clip's frames, looped and letterboxed to 640x480 and 1280x720) that behaves like a
webcam: it emits a frame every 1/30 s and drops frames when the reader falls more
than four frames behind (a driver's buffer). The full recorder runs on it: capture,
writer, pose on the latest frame and the preview window (under Xvfb when there is no
display). Targets at 640x480 on 2 cores: preview >= 25 fps, pose on the preview >= 20 fps,
and 100% of frames saved. The pose cost per preview frame (wall and CPU ms, pose thread
alone) is printed too: unlike the rates, its CPU figure hardly moves on a loaded machine.
The load average is printed before and after.

Run: ``python bench/live.py [--clip VIDEO] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from rom_measure.capture.record import RecordOptions, record_session

SHARED_CLIP = Path(__file__).resolve().parents[2] / "shared/data/pose2sim_single/cam02.mp4"
FPS = 30.0
DRIVER_BUFFER = 4


class SyntheticCamera:
    """A 30 fps 'camera' showing ``frames`` in a loop, dropping frames if read too late."""

    kind = "synthetic"
    waits_for_start = False
    stopped_early = ""

    def __init__(self, frames: list[np.ndarray], fps: float = FPS) -> None:
        self._frames = frames
        self.fps = fps
        height, width = frames[0].shape[:2]
        self.size = (width, height)
        self.name = self.target = f"synthetic {width}x{height} camera at {fps:.0f} fps"
        self.emitted = 0
        self.dropped = 0
        self._start = time.monotonic()

    def first_frame(self) -> np.ndarray | None:
        return self._frames[0]

    def frames(self) -> Iterator[tuple[np.ndarray, float]]:
        index = int((time.monotonic() - self._start) * self.fps)
        while True:
            due = self._start + index / self.fps
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            else:
                behind = int((now - due) * self.fps)
                if behind > DRIVER_BUFFER:  # the driver overwrote the oldest frames
                    self.dropped += behind - DRIVER_BUFFER
                    index += behind - DRIVER_BUFFER
                    due = self._start + index / self.fps
            self.emitted += 1
            yield self._frames[index % len(self._frames)], due
            index += 1

    def restart(self) -> None:
        pass

    def close(self) -> None:
        pass


def _letterbox(bgr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    width, height = size
    scale = min(width / bgr.shape[1], height / bgr.shape[0])
    small = cv2.resize(bgr, (round(bgr.shape[1] * scale), round(bgr.shape[0] * scale)))
    out = np.full((height, width, 3), 40, dtype=np.uint8)
    y, x = (height - small.shape[0]) // 2, (width - small.shape[1]) // 2
    out[y : y + small.shape[0], x : x + small.shape[1]] = small
    return out


def _clip_frames(clip: Path, count: int = 60) -> list[np.ndarray]:
    from rom_measure.media.sources import VideoFileSource

    source = VideoFileSource(clip)
    frames = []
    for frame in source:
        frames.append(frame.bgr)
        if len(frames) >= count:
            break
    source.close()
    return frames


def _default_clip(folder: Path) -> Path:
    if SHARED_CLIP.is_file():
        return SHARED_CLIP
    from rom_measure.synth import ClipSpec, render_clip

    target = folder / "synthetic.mp4"
    render_clip(ClipSpec("hip-flexion", "left", width_px=640, height_px=480, supersample=1,
                         still_s=0.5, ramp_s=0.5, hold_s=0.0), target)  # fmt: skip
    return target


@contextlib.contextmanager
def _display() -> Iterator[str]:
    """The current display, or a private Xvfb while the benchmark runs."""
    if os.environ.get("DISPLAY") or not shutil.which("Xvfb"):
        yield os.environ.get("DISPLAY", "")
        return
    number = 90 + os.getpid() % 9
    command = ["Xvfb", f":{number}", "-screen", "0", "1920x1080x24", "-nolisten", "tcp"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ["DISPLAY"] = f":{number}"
    time.sleep(1.0)
    try:
        yield f":{number} (Xvfb started by the benchmark)"
    finally:
        os.environ.pop("DISPLAY", None)
        server.terminate()
        server.wait(5)


class _Quiet:
    def say(self, text: str) -> None:
        pass

    def result(self, result: object, folder: Path) -> None:
        pass

    def comparison(self, comparison: object) -> None:
        pass


def run(frames: list[np.ndarray], size: tuple[int, int], seconds: float, preview: bool) -> dict:
    camera = SyntheticCamera([_letterbox(f, size) for f in frames])
    with tempfile.TemporaryDirectory() as folder:
        options = RecordOptions(steps=[("hip-flexion", "left")], label="bench",
                                session=Path(folder), feed=camera, preview=preview,
                                countdown_s=0.0, still_s=1.0, max_s=seconds, auto_s=0.0,
                                analyse=False)  # fmt: skip
        cpu = time.process_time()
        wall = time.perf_counter()
        outcome = record_session(options, _Quiet())[0]
        load = (time.process_time() - cpu) / (time.perf_counter() - wall)
    times = np.array(outcome.metadata["frame_times_s"])
    expected = round(times[-1] * FPS) + 1  # frames the camera emitted while recording
    timing, shown = outcome.metadata["timing"], outcome.metadata["preview"]
    return {"size": size, "expected": expected, "captured": timing["frames_captured"],
            "saved": timing["frames_saved"], "preview_fps": shown["fps"],
            "pose_fps": shown["pose_fps"], "cpu_load": load}  # fmt: skip


def pose_cost(frames: list[np.ndarray], size: tuple[int, int]) -> tuple[float, float]:
    """Wall and CPU milliseconds per preview frame of the preview's pose and indicators."""
    from rom_measure.capture.live import LiveAnalyzer
    from rom_measure.capture.preview_pose import PreviewPose
    from rom_measure.measure.movements import get_movement
    from rom_measure.media.assets import pose_model_path

    boxed = [_letterbox(f, size) for f in frames]
    backend = PreviewPose(pose_model_path())
    try:
        analyzer = LiveAnalyzer(get_movement("hip-flexion"), "left", backend)
        for seq, bgr in enumerate(boxed[:5]):  # warm-up
            analyzer.update(bgr, seq)
        cpu, wall = time.process_time(), time.perf_counter()
        for seq, bgr in enumerate(boxed * 2):
            analyzer.update(bgr, seq)
        count = 2 * len(boxed)
        return ((time.perf_counter() - wall) * 1000 / count,
                (time.process_time() - cpu) * 1000 / count)  # fmt: skip
    finally:
        backend.close()


def _load() -> str:
    return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--clip", type=Path, help="frames to loop (default: a real or synthetic clip)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="recording length per size")
    args = parser.parse_args()
    threading.current_thread().name = "bench"
    with tempfile.TemporaryDirectory() as tmp, _display() as display:
        clip = args.clip or _default_clip(Path(tmp))
        frames = _clip_frames(clip)
        preview = bool(display)
        print(f"no camera here: frames come from a synthetic {FPS:.0f} fps source looping "
              f"{len(frames)} frames of {clip}")  # fmt: skip
        print(f"cpus: {os.cpu_count()}, display: {display or 'none (no preview measured)'}, "
              f"{_load()}")  # fmt: skip
        for size in ((640, 480), (1280, 720)):
            r = run(frames, size, args.seconds, preview)
            share = r["saved"] / r["expected"]
            print(f"{size[0]}x{size[1]}: preview {r['preview_fps'] or 0:.1f} fps, pose on "
                  f"preview {r['pose_fps'] or 0:.1f} fps, saved {r['saved']}/{r['expected']} "
                  f"frames the camera sent while recording ({share:.1%}; captured "
                  f"{r['captured']}), CPU {r['cpu_load']:.2f} cores")  # fmt: skip
        wall_ms, cpu_ms = pose_cost(frames, (640, 480))
        print(f"pose on a 640x480 preview frame, alone: {wall_ms:.1f} ms wall, {cpu_ms:.1f} ms "
              f"CPU ({1000 / wall_ms:.1f} fps); {_load()}")  # fmt: skip
    sys.stdout.flush()


if __name__ == "__main__":
    main()
