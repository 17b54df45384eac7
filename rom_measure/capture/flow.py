"""The flow of one take: waiting for green lights, countdown, still start, movement, keys."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Phase", "TakeFlow", "take_screen"]

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


def take_screen(flow: TakeFlow, move: Any, side: str, title: str, now: float) -> Any:
    """The preview's text for the current phase (a :class:`rom_measure.capture.live.Screen`)."""
    from rom_measure.capture.live import Screen, instructions

    placement, how = instructions(move.name, side)
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
