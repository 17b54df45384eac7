"""A ``record`` session: the steps (one movement or a protocol), each take, its analysis.

One *take* records one movement on one side: a live preview (see :mod:`rom_measure.capture.live`)
waits until the quality lights are green (or the user starts anyway), counts down,
records a still neutral phase and then the movement, and stops on a key, after the
maximum duration or when the source ends. Three threads keep the recording whole:
capture (:mod:`~rom_measure.capture.feeds`), writer (:mod:`~rom_measure.capture.writer`)
and the preview's pose (:mod:`~rom_measure.capture.preview_pose`).

The clip, ``clip.timestamps.csv``, ``recording.json`` and the analysis go to
``SESSION/<label>/<movement>_<side>/``; with both ``pre`` and ``post`` in the session
the comparison is updated too.
"""

from __future__ import annotations

import math
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rom_measure._fileio import atomic_write_json, atomic_write_text
from rom_measure.capture.feeds import Capture, Feed, open_feed
from rom_measure.capture.flow import TakeFlow, take_screen
from rom_measure.capture.preview_pose import PoseWorker, PreviewPose
from rom_measure.capture.review import analyse_clip, analyse_with_window, show_result
from rom_measure.capture.writer import (
    CLIP_NAME,
    METADATA_NAME,
    ClipWriter,
    clear_analysis,
    recording_metadata,
    remove_empty,
    retime,
    retimed,
    sigint_deferred,
    timestamps_csv,
)
from rom_measure.errors import InputError
from rom_measure.media.sources import timestamps_path

__all__ = [
    "PROTOCOLS",
    "RecordOptions",
    "Reporter",
    "TakeOutcome",
    "analyse_clip",
    "protocol_steps",
    "record_session",
]

PROTOCOLS = ("neck", "hip", "ankle")


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


class _Session:
    """Runs the steps of one ``record`` invocation on one open source."""

    def __init__(self, options: RecordOptions, reporter: Reporter) -> None:
        self.o = options
        self.report = reporter
        self.feed: Feed | None = None
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

            self.window = PreviewWindow()
            self.backend = PreviewPose(pose_model_path(self.o.model))
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
                remove_empty(folder, self.o.session)
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
        steps = f"   step {number}/{len(self.o.steps)}" if len(self.o.steps) > 1 else ""
        title = f"{move.title} - {side} ({self.o.label}){steps}"
        screen = take_screen(flow, move, side, title, time.monotonic())
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

    # ---- saving
    def _metadata(self, writer: ClipWriter, capture: Capture, movement: str, side: str,
                  ended_by: str) -> dict[str, Any]:  # fmt: skip
        assert self.feed is not None
        shown = self._shown
        preview_fps = ((len(shown) - 1) / (shown[-1] - shown[0])
                       if len(shown) > 2 and shown[-1] > shown[0] else None)  # fmt: skip
        pose_frames, pose_start, pose_end = self._pose_frames
        pose_fps = pose_frames / (pose_end - pose_start) if pose_end > pose_start else None
        take = {"movement": movement, "side": side, "label": self.o.label,
                "session": str(self.o.session), "protocol": self.o.protocol}  # fmt: skip
        preview = {"shown": self.window is not None,
                   "fps": round(preview_fps, 2) if preview_fps else None,
                   "pose_fps": round(pose_fps, 2) if pose_fps else None}  # fmt: skip
        return recording_metadata(writer, capture, self.feed, take, self.o.still_s, self.o.max_s,
                                  ended_by, preview)  # fmt: skip

    def _write_files(
        self, writer: ClipWriter, capture: Capture, movement: str, side: str, folder: Path,
        ended_by: str,
    ) -> tuple[Path | None, dict]:  # fmt: skip
        """Finish the clip, then write it, its timestamps and metadata (metadata last)."""
        with sigint_deferred():
            writer.finish()
            if writer.saved == 0:
                writer.abort()
                remove_empty(folder, self.o.session)
                return None, {}
            meta = self._metadata(writer, capture, movement, side, ended_by)
            measured = meta["timing"]["measured_fps"] or math.nan
            if retimed(writer.fps, measured):
                retime(writer.tmp, writer.fps, measured)
            clear_analysis(folder)
            (folder / METADATA_NAME).unlink(missing_ok=True)
            clip = writer.commit()
            atomic_write_text(timestamps_path(clip), timestamps_csv(writer.times))
            atomic_write_json(folder / METADATA_NAME, meta)
        return clip, meta

    def _save(self, writer: ClipWriter, capture: Capture, flow: TakeFlow, movement: str,
              side: str, folder: Path) -> TakeOutcome:  # fmt: skip
        clip, meta = self._write_files(writer, capture, movement, side, folder, flow.ended_by)
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
            clip, _ = self._write_files(writer, capture, move.name, side, folder,
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
        return analyse_with_window(self.window, self._last_frame, self.o.label, outcome,
                                   self.o.model,
                                   self.o.annotate)  # fmt: skip

    def _result_screen(self, move: Any, side: str, outcome: TakeOutcome) -> str:
        return show_result(self.window, self._last_frame, f"{move.title} - {side} ({self.o.label})",
                           move, side, outcome, self.o.auto_s is not None)  # fmt: skip


def record_session(options: RecordOptions, reporter: Reporter) -> list[TakeOutcome]:
    """Record every step of ``options`` (one movement, or a protocol) and analyse each take."""
    session = _Session(options, reporter)
    try:
        session.open()
        return session.run()
    finally:
        session.close()
