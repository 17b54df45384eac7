"""Progress of a batch: plain lines for logs and pipes, tqdm bars for a terminal."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import Any, Protocol, TextIO

from rom_measure.batch.state import ClipOutcome, ClipTask

__all__ = ["Events", "LineProgress", "Progress", "TerminalProgress"]


class Progress(Protocol):
    """Receives the batch's progress (calls may come from a background thread)."""

    wants_frames: bool

    def begin(self, tasks: Sequence[ClipTask], where: str) -> None: ...

    def clip_started(self, task: ClipTask) -> None: ...

    def clip_frames(self, task: ClipTask, done: int, total: int) -> None: ...

    def clip_finished(self, outcome: ClipOutcome, finished: int, total: int) -> None: ...

    def end(self) -> None: ...


def _rom_text(outcome: ClipOutcome) -> str:
    if outcome.status == "failed":
        return "no result"
    if outcome.rom_deg is None:
        return f"no ROM ({outcome.verdict})"
    unc = outcome.uncertainty_deg
    return f"ROM {outcome.rom_deg:.1f}" + (f" ± {unc:.1f}" if unc is not None else "") + \
        f" deg ({outcome.verdict})"  # fmt: skip


def _outcome_line(outcome: ClipOutcome, finished: int, total: int) -> str:
    width = len(str(total))
    line = (f"[{finished:>{width}}/{total}] {outcome.status:<8} {outcome.job.name}  "
            f"{_rom_text(outcome)}  {outcome.seconds:.1f} s")  # fmt: skip
    if outcome.status in ("failed", "rejected") and outcome.reasons:
        line += f"  - {'; '.join(outcome.reasons)}"
    return line


class LineProgress:
    """Plain lines, one per finished clip (for logs and pipes)."""

    wants_frames = False

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def begin(self, tasks: Sequence[ClipTask], where: str) -> None:
        self._print(f"batch: {len(tasks)} clips on {where}")

    def clip_started(self, task: ClipTask) -> None:
        pass

    def clip_frames(self, task: ClipTask, done: int, total: int) -> None:
        pass

    def clip_finished(self, outcome: ClipOutcome, finished: int, total: int) -> None:
        self._print(_outcome_line(outcome, finished, total))

    def end(self) -> None:
        pass


class TerminalProgress:
    """tqdm bars: the whole batch, and the frames of each clip in flight."""

    wants_frames = True

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self._overall: Any = None
        self._bars: dict[int, Any] = {}
        self._slots: dict[int, int] = {}  # clip index -> bar line
        self._free: list[int] = []
        self._problems = 0

    def begin(self, tasks: Sequence[ClipTask], where: str) -> None:
        from tqdm import tqdm

        tqdm.write(f"batch: {len(tasks)} clips on {where}", file=self.stream)
        self._overall = tqdm(total=len(tasks), desc="clips", unit="clip", file=self.stream,
                             position=0, dynamic_ncols=True)  # fmt: skip

    def clip_started(self, task: ClipTask) -> None:
        from tqdm import tqdm

        slot = self._free.pop(0) if self._free else len(self._bars) + 1
        self._slots[task.index] = slot
        self._bars[task.index] = tqdm(desc=task.job.name, unit="frame", file=self.stream,
                                      position=slot, leave=False, dynamic_ncols=True)  # fmt: skip

    def clip_frames(self, task: ClipTask, done: int, total: int) -> None:
        bar = self._bars.get(task.index)
        if bar is not None:
            bar.total = total or None
            bar.update(done - bar.n)

    def clip_finished(self, outcome: ClipOutcome, finished: int, total: int) -> None:
        from tqdm import tqdm

        bar = self._bars.pop(outcome.index, None)
        if bar is not None:
            self._free.append(self._slots.pop(outcome.index))
            self._free.sort()
            bar.close()
        if outcome.status in ("failed", "rejected"):
            self._problems += 1
            tqdm.write(_outcome_line(outcome, finished, total), file=self.stream)
        self._overall.update(1)
        self._overall.set_postfix(failed_or_rejected=self._problems, refresh=True)

    def end(self) -> None:
        for bar in self._bars.values():
            bar.close()
        if self._overall is not None:
            self._overall.close()


class Events:
    """Serialises progress from worker messages and finished outcomes; tracks started clips."""

    def __init__(self, progress: Progress, tasks: Sequence[ClipTask]) -> None:
        self.progress = progress
        self.tasks = {t.index: t for t in tasks}
        self.total = len(tasks)
        self.finished = 0
        self.running: dict[int, str] = {}  # index -> worker
        self.lock = threading.Lock()

    def message(self, message: Sequence[Any]) -> None:
        kind, index = message[0], int(message[1])
        task = self.tasks.get(index)
        if task is None:
            return
        with self.lock:
            if kind == "start" and index not in self.running:
                self.running[index] = str(message[2])
                self.progress.clip_started(task)
            elif kind == "frames" and index in self.running:
                self.progress.clip_frames(task, int(message[2]), int(message[3]))

    def outcome(self, outcome: ClipOutcome) -> None:
        with self.lock:
            self.running.pop(outcome.index, None)
            self.finished += 1
            self.progress.clip_finished(outcome, self.finished, self.total)
