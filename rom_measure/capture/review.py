"""After a take: its analysis, and the preview window's "analysing" and result screens."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["analyse_clip", "analyse_with_window", "result_lines", "show_result"]

Colour = tuple[int, int, int]


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


def _background(frame: np.ndarray | None) -> np.ndarray:
    return frame if frame is not None else np.zeros((480, 640, 3), np.uint8)


def analyse_with_window(window: Any, frame: np.ndarray | None, label: str, outcome: Any,
                        model: str | None, annotate: bool) -> Any:  # fmt: skip
    """Analyse ``outcome``'s clip in a thread while the window shows the progress."""
    from rom_measure.capture.live import Screen, compose
    from rom_measure.measure.movements import get_movement

    move = get_movement(outcome.movement)
    title = f"{move.title} - {outcome.side} ({label})"
    done: dict[str, Any] = {}
    progress = [0]

    def count() -> None:
        progress[0] += 1

    def work() -> None:
        try:
            done["result"] = analyse_clip(outcome.clip, outcome.movement, outcome.side, model,
                                          annotate, lambda *a: count())  # fmt: skip
        except BaseException as error:  # handed to the main thread
            done["error"] = error

    thread = threading.Thread(target=work, name="rom_measure-analysis", daemon=True)
    thread.start()
    while thread.is_alive():
        screen = Screen(title, "", "", banner=f"analysing {progress[0]}/{outcome.frames}",
                        keys="please wait")  # fmt: skip
        window.show(compose(_background(frame), None, screen, move, outcome.side), 50)
        thread.join(0.05)
    if "error" in done:
        raise done["error"]
    return done["result"]


def result_lines(move: Any, side: str, outcome: Any) -> list[tuple[str, Colour]]:
    """The result screen's lines: ROM, verdict, reasons and the pre -> post change."""
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
        lines.append((f"pre -> post: {c.change_deg:+.1f} deg ({c.verdict_text})", (255, 255, 255)))
    return lines


def show_result(window: Any, frame: np.ndarray | None, title: str, move: Any, side: str,
                outcome: Any, auto: bool) -> str:  # fmt: skip
    """Show the take's result until a key (space, n, q or r; after 1.5 s with ``auto``)."""
    from rom_measure.capture.live import Screen, compose

    last = outcome.clip is not None and outcome.ended_by == "source_stopped"
    keys = "space: next    r: redo    q: quit" if not last else "space/q: finish"
    screen = Screen(title, "", "", result=result_lines(move, side, outcome), keys=keys)
    canvas = compose(_background(frame), None, screen, move, side)
    shown = time.monotonic()
    while True:
        key = window.show(canvas, 30)
        if key in (" ", "n", "q", "r"):
            return key
        if auto and time.monotonic() - shown >= 1.5:
            return " "
