"""Live preview for guided recording: quality lights, instructions and the on-screen picture.

:class:`LiveAnalyzer` runs the pose model on preview frames (the caller feeds it the
latest frame only, so it may skip frames) and turns the landmarks into traffic-light
indicators and the live angle of the movement. :func:`compose` draws one preview
picture; :class:`PreviewWindow` shows it with OpenCV highgui.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from rom_measure.errors import RomMeasureError
from rom_measure.measure.landmarks import LANDMARK_COUNT, LandmarkSeries
from rom_measure.measure.movements import VISIBLE, Movement

__all__ = [
    "INSTRUCTIONS",
    "KEYS_TEXT",
    "LiveAnalyzer",
    "LiveState",
    "NoDisplayError",
    "PreviewWindow",
    "Screen",
    "Signal",
    "check_display",
    "compose",
    "instructions",
    "light_signal",
]

log = logging.getLogger(__name__)

State = Literal["green", "amber", "red"]
KEYS_TEXT = "space: start / stop    r: redo    q: quit"
_BGR = {"green": (60, 200, 60), "amber": (0, 190, 255), "red": (50, 50, 230)}
_WHITE, _GREY, _BLACK = (255, 255, 255), (170, 170, 170), (0, 0, 0)
SKELETON = ((11, 12), (11, 23), (12, 24), (23, 24), (11, 13), (13, 15), (12, 14), (14, 16),
            (23, 25), (25, 27), (24, 26), (26, 28), (27, 29), (29, 31), (27, 31), (28, 30),
            (30, 32), (28, 32), (7, 2), (2, 0), (0, 5), (5, 8), (9, 10))  # fmt: skip

# -- instructions ------------------------------------------------------------------------

_SIDE_ON = "Stand side-on, {side} side to the camera, whole body in view; camera at waist "
_SIDE_ON += "height, 2-4 m away, level."
_FRONT = "Face the camera, whole body in view; camera at waist height, 2-4 m away, level."
_NECK_SIDE = ("Sit or stand side-on (either side to the camera), head and shoulders in view "
              "with space above the head; camera at head height, 2-4 m away.")  # fmt: skip
_NECK_FRONT = ("Sit or stand facing the camera, head and shoulders in view; camera at head "
               "height, 2-4 m away.")  # fmt: skip

#: Camera placement and movement instructions per movement (``{side}`` is filled in).
INSTRUCTIONS: dict[str, tuple[str, str]] = {
    "neck-flexion": (_NECK_SIDE, "Sit tall, look ahead. Then bring your chin down toward your "
                     "chest as far as is comfortable, and back up."),
    "neck-extension": (_NECK_SIDE, "Sit tall, look ahead. Then look up and tip your head back "
                       "as far as is comfortable, and back."),
    "neck-lateral-flexion": (_NECK_FRONT, "Keep your shoulders level. Tilt your {side} ear "
                             "toward your {side} shoulder as far as is comfortable, then back."),
    "neck-rotation": (_NECK_FRONT, "Keep your shoulders still. Turn your chin toward your {side} "
                      "shoulder as far as is comfortable, then back to the middle."),
    "hip-flexion": (_SIDE_ON, "Stand upright. Raise your {side} knee as high as is comfortable, "
                    "then lower it."),
    "hip-extension": (_SIDE_ON, "Hold a support in front. Move your straight {side} leg back as "
                      "far as is comfortable, trunk upright, then return."),
    "hip-abduction": (_FRONT, "Hold a support if needed. Lift your straight {side} leg out to "
                      "the side as far as is comfortable, toes forward, then lower it."),
    "ankle-dorsiflexion": (_SIDE_ON, "Stand on the other leg (hold a support), {side} foot just "
                           "off the floor. Pull your toes up toward your shin, then relax."),
    "ankle-plantarflexion": (_SIDE_ON, "Stand on the other leg (hold a support), {side} foot "
                             "just off the floor. Point your toes down and away, then relax."),
    "ankle-lunge": (_SIDE_ON, "Face a wall, {side} foot forward. Bend the {side} knee toward the "
                    "wall, heel flat on the floor, as far as you can, then back."),
}  # fmt: skip


def instructions(movement: str, side: str) -> tuple[str, str]:
    """(camera placement, movement) instructions for ``movement`` on ``side``."""
    placement, move = INSTRUCTIONS.get(movement, (_SIDE_ON, "Do the movement, then return."))
    return placement.format(side=side), move.format(side=side)


# -- traffic lights -----------------------------------------------------------------------


@dataclass(frozen=True)
class Signal:
    """One traffic-light indicator: its name, state and a short hint when not green."""

    name: str
    state: State
    message: str = ""


DARK_RED, DARK_AMBER, BRIGHT_AMBER = 40.0, 70.0, 230.0  # mean luminance 0-255


def light_signal(bgr: np.ndarray) -> Signal:
    """Enough light: mean luminance of the frame (0-255)."""
    import cv2

    small = bgr[:: max(1, bgr.shape[0] // 90), :: max(1, bgr.shape[1] // 120)]
    lum = float(cv2.cvtColor(np.ascontiguousarray(small), cv2.COLOR_BGR2GRAY).mean())
    if lum < DARK_RED:
        return Signal("light", "red", f"too dark ({lum:.0f}/255): add light")
    if lum < DARK_AMBER:
        return Signal("light", "amber", f"dim ({lum:.0f}/255): more light helps")
    if lum > BRIGHT_AMBER:
        return Signal("light", "amber", f"very bright ({lum:.0f}/255): avoid back-light")
    return Signal("light", "green")


def _people_signal(people: int) -> Signal:
    if people == 0:
        return Signal("person", "red", "no one found: step into view")
    if people > 1:
        return Signal("person", "amber", f"{people} people in view: only the subject please")
    return Signal("person", "green")


_EDGE = 0.01


def _landmark_signal(recent: list[_Entry], movement: Movement, side: str) -> Signal:
    required = list(movement.required(side))
    detected = [e for e in recent if e.image is not None]
    if not detected:
        return Signal("body in view", "red", "no body found")

    def seen(e: _Entry) -> np.ndarray:
        if e.image is None or e.visibility is None:
            return np.zeros(len(required), dtype=bool)
        xy = e.image[required, :2]
        inside = ((xy > _EDGE) & (xy < 1 - _EDGE)).all(axis=1)
        return inside & (e.visibility[required] >= VISIBLE)

    last = seen(detected[-1])
    share = float(np.mean([seen(e).all() for e in recent]))
    if share >= 0.8 and last.all():
        return Signal("body in view", "green")
    missing = sorted({required[i].name.lower().replace("_", " ") for i in np.flatnonzero(~last)})
    names = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
    hint = f"not clearly seen: {names}" if missing else "not steady in view"
    return Signal("body in view", "amber" if last.mean() >= 0.5 else "red", hint)


VIEW_AMBER_DEG = 45.0  # green up to the line analysis warns from (12 deg; the lunge 6)


def _view_signal(series: LandmarkSeries | None, movement: Movement, side: str) -> Signal:
    from rom_measure.measure.quality import estimate_view, view_warn_deg

    if series is None or series.detected.sum() < 3:
        return Signal("camera angle", "red", "no body found")
    view = estimate_view(series, movement)
    want = "side-on" if movement.view == "side" else "facing the camera"
    if (movement.view == "side" and movement.region != "neck" and view.near_side is not None
            and view.near_side != side):  # fmt: skip
        return Signal("camera angle", "red", f"turn your {side} side to the camera")
    if movement.view == "front" and view.facing == "back":
        return Signal("camera angle", "red", "face the camera")
    off = view.off_plane_deg
    if not math.isfinite(off):
        return Signal("camera angle", "amber", "cannot tell the angle yet")
    if off <= view_warn_deg(movement):  # as analysis: green means no view warning
        return Signal("camera angle", "green")
    state: State = "amber" if off <= VIEW_AMBER_DEG else "red"
    return Signal("camera angle", state, f"{off:.0f} deg off {want}: turn the body or camera")


# -- live analysis ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Entry:
    time_s: float
    people: int
    image: np.ndarray | None
    visibility: np.ndarray | None
    world: np.ndarray | None


@dataclass(frozen=True, eq=False)
class LiveState:
    """What the preview shows about one analysed frame."""

    seq: int  # the frame's sequence number in the capture
    people: int
    image: np.ndarray | None  # (33, 3) normalised image coordinates of the subject
    visibility: np.ndarray | None  # (33,)
    angle_deg: float  # live angle (relative to the start for neutral-zero movements)
    signals: tuple[Signal, ...]
    pose_ms: float = math.nan

    @property
    def ready(self) -> bool:
        """All indicators green."""
        return bool(self.signals) and all(s.state == "green" for s in self.signals)


def _series(entries: list[_Entry], image_size: tuple[int, int]) -> LandmarkSeries | None:
    if not entries:
        return None
    nan3 = np.full((LANDMARK_COUNT, 3), np.nan, dtype=np.float32)
    zero = np.zeros(LANDMARK_COUNT, dtype=np.float32)
    return LandmarkSeries(
        time_s=np.array([e.time_s for e in entries], dtype=np.float64),
        image=np.stack([nan3 if e.image is None else e.image for e in entries]),
        visibility=np.stack([zero if e.visibility is None else e.visibility for e in entries]),
        presence=np.stack([zero if e.visibility is None else e.visibility for e in entries]),
        world=np.stack([nan3 if e.world is None else e.world for e in entries]),
        people=np.array([e.people for e in entries], dtype=np.int16),
        image_size=image_size,
    )


@dataclass
class LiveAnalyzer:
    """Pose, indicators and live angle of one movement on preview frames.

    The live angle of neutral-zero movements is relative to the first second of
    frames with a person after :meth:`reset_baseline` (the still start).
    """

    movement: Movement
    side: str
    backend: Any  # a rom_measure.media.pose.PoseBackend
    window_s: float = 1.0
    max_side_px: int = 640
    _recent: collections.deque = field(default_factory=lambda: collections.deque(maxlen=30))
    _baseline: list = field(default_factory=list)
    _last_ms: int = -1

    def reset_baseline(self) -> None:
        """Take the next second of frames as the zero of the live angle."""
        self._baseline = []

    def update(self, bgr: np.ndarray, seq: int) -> LiveState:
        """Analyse one preview frame (BGR)."""
        import cv2

        start = time.perf_counter()
        height, width = bgr.shape[:2]
        scale = min(1.0, self.max_side_px / max(height, width))
        small = cv2.resize(bgr, (round(width * scale), round(height * scale)),
                           interpolation=cv2.INTER_AREA) if scale < 1 else bgr  # fmt: skip
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        now = time.monotonic()
        self._last_ms = max(round(now * 1000), self._last_ms + 1)
        people = self.backend.detect(rgb, self._last_ms)
        subject = max(people, key=lambda p: p.area) if people else None
        count = len(people)
        if count == 1:  # a one-person tracker: others come from its sparse look (PreviewPose)
            count = max(count, getattr(self.backend, "people_seen", 0))
        entry = _Entry(
            now,
            count,
            *((subject.image, subject.visibility, subject.world) if subject else (None,) * 3),
        )
        self._recent.append(entry)
        while self._recent and self._recent[0].time_s < now - self.window_s:
            self._recent.popleft()
        recent = list(self._recent)
        if subject is not None and (not self._baseline
                                    or now - self._baseline[0].time_s <= 1.0):  # fmt: skip
            self._baseline.append(entry)
        series = _series(recent, (width, height))
        signals = (_people_signal(count), _landmark_signal(recent, self.movement, self.side),
                   _view_signal(series, self.movement, self.side), light_signal(bgr))  # fmt: skip
        angle = self._live_angle(entry, (width, height)) if subject is not None else math.nan
        return LiveState(seq, count, entry.image, entry.visibility, angle, signals,
                         (time.perf_counter() - start) * 1000)  # fmt: skip

    def _live_angle(self, entry: _Entry, size: tuple[int, int]) -> float:
        baseline = self._baseline[:: max(1, len(self._baseline) // 10)]
        recent = [e for e in list(self._recent)[-5:] if e.image is not None]
        entries = sorted({id(e): e for e in (*baseline, *recent)}.values(), key=lambda e: e.time_s)
        series = _series(entries, size)
        try:
            with np.errstate(all="ignore"):
                angles = np.asarray(self.movement.angles(series, self.side), dtype=np.float64)
        except Exception as error:  # a live display must not stop the recording
            log.debug("live angle failed: %s", error)
            return math.nan
        current = angles[[i for i, e in enumerate(entries) if e is entry]]
        value = float(current[0]) if current.size else math.nan
        if self.movement.zero == "absolute":
            return value
        base_ids = {id(e) for e in baseline}
        zero = angles[[i for i, e in enumerate(entries) if id(e) in base_ids]]
        zero = zero[np.isfinite(zero)]
        return value - float(np.median(zero)) if zero.size else math.nan


# -- drawing ------------------------------------------------------------------------------


@dataclass
class Screen:
    """The texts of one preview picture."""

    title: str
    placement: str
    instruction: str
    status: str = ""
    banner: str = ""  # big centred text: countdown, STAND STILL, NOW MOVE
    banner_colour: tuple[int, int, int] = _WHITE
    recording: bool = False
    result: list[tuple[str, tuple[int, int, int]]] = field(default_factory=list)
    keys: str = KEYS_TEXT


def _text(img: np.ndarray, text: str, org: tuple[int, int], size: float,
          colour: tuple[int, int, int] = _WHITE, thick: int = 1) -> None:  # fmt: skip
    import cv2

    offset = 1 if thick <= 1 else 2
    shadow = (org[0] + offset, org[1] + offset)
    cv2.putText(img, text, shadow, cv2.FONT_HERSHEY_SIMPLEX, size, _BLACK, thick, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, size, colour, thick, cv2.LINE_AA)


def _wrap(text: str, width_px: int, size: float) -> list[str]:
    import cv2

    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if line and cv2.getTextSize(trial, cv2.FONT_HERSHEY_SIMPLEX, size, 1)[0][0] > width_px:
            lines.append(line)
            line = word
        else:
            line = trial
    return [*lines, line] if line else lines


def _draw_pose(img: np.ndarray, state: LiveState, required: tuple[int, ...]) -> None:
    import cv2

    if state.image is None or state.visibility is None:
        return
    height, width = img.shape[:2]
    xy = state.image[:, :2] * np.array([width, height])
    thick = max(1, round(height / 300))

    def point(i: int) -> tuple[int, int] | None:
        return (int(xy[i, 0]), int(xy[i, 1])) if np.isfinite(xy[i]).all() else None

    for a, b in SKELETON:
        pa, pb = point(a), point(b)
        if pa and pb:
            cv2.line(img, pa, pb, (235, 235, 235), thick, cv2.LINE_AA)
    for i in required:
        p = point(i)
        if p:
            ok = state.visibility[i] >= VISIBLE
            cv2.circle(img, p, thick * 3, _BGR["green" if ok else "red"], -1, cv2.LINE_AA)


def _draw_signals(img: np.ndarray, signals: tuple[Signal, ...], size: float) -> None:
    import cv2

    row = int(34 * size / 0.6)
    x, y = 12, 12
    labels = [s.name if s.state == "green" else f"{s.name}: {s.message}" for s in signals]
    text_w = max(cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, size, 1)[0][0] for t in labels)
    _shade(img, 0, y + row * len(signals) + 4, min(img.shape[1], x + row + text_w + 12))
    for i, s in enumerate(signals):
        cy = y + row * i + row // 2
        cv2.circle(img, (x + row // 3, cy), row // 3, _BGR[s.state], -1, cv2.LINE_AA)
        _text(img, labels[i], (x + row, cy + int(8 * size / 0.6)), size, _WHITE)


def _shade(img: np.ndarray, top: int, bottom: int, right: int, keep: float = 0.45) -> None:
    """Darken a box (from the left edge) so that text on it is readable."""
    box = img[max(0, top) : max(0, bottom), :right]
    box[:] = (box * keep).astype(np.uint8)


def compose(
    frame_bgr: np.ndarray,
    state: LiveState | None,
    screen: Screen,
    movement: Movement,
    side: str,
    max_size: tuple[int, int] = (1280, 720),
    min_width: int = 800,
) -> np.ndarray:
    """The preview picture: camera image, skeleton, lights, live angle, texts and keys.

    The image is shrunk to fit ``max_size`` (never enlarged: the window can be resized).
    """
    import cv2

    height, width = frame_bgr.shape[:2]
    scale = min(max_size[0] / width, max_size[1] / height, 1.0)
    img_w, img_h = round(width * scale), round(height * scale)
    image = cv2.resize(frame_bgr, (img_w, img_h)) if scale < 1 else frame_bgr
    canvas_w = max(img_w, min_width)
    size = canvas_w / 1700 + 0.15
    band_h = int(118 * size / 0.6)
    canvas = np.zeros((img_h + band_h, canvas_w, 3), dtype=np.uint8)
    x0 = (canvas_w - img_w) // 2
    view = canvas[:img_h, x0 : x0 + img_w]
    view[:] = image
    if state is not None:
        _draw_pose(view, state, tuple(int(i) for i in movement.required(side)))
        _draw_signals(canvas[:img_h], state.signals, size)
        live = "--" if not math.isfinite(state.angle_deg) else f"{round(state.angle_deg):+d} deg"
        _text(canvas, live, (canvas_w - int(230 * size / 0.6), int(52 * size / 0.6)),
              size * 2.0, (0, 230, 255), 3)  # fmt: skip
    if screen.recording:
        cv2.circle(canvas, (canvas_w - int(40 * size / 0.6), img_h - int(30 * size / 0.6)),
                   int(12 * size / 0.6), (0, 0, 255), -1, cv2.LINE_AA)  # fmt: skip
    if screen.banner:
        big = size * (5.0 if len(screen.banner) <= 2 else 2.4)
        (tw, th), _ = cv2.getTextSize(screen.banner, cv2.FONT_HERSHEY_SIMPLEX, big, 6)
        _text(canvas, screen.banner, ((canvas_w - tw) // 2, (img_h + th) // 2), big,
              screen.banner_colour, 6)  # fmt: skip
    if screen.result:
        _draw_result(canvas, screen.result, size, img_h)
    _draw_band(canvas, screen, size, img_h)
    return canvas


def _draw_result(canvas: np.ndarray, lines: list[tuple[str, tuple[int, int, int]]], size: float,
                 img_h: int) -> None:  # fmt: skip
    row = int(40 * size / 0.6)
    top = max(0, img_h // 2 - row * len(lines) // 2 - row)
    _shade(canvas, top, top + row * (len(lines) + 1), canvas.shape[1], 0.3)
    for i, (text, colour) in enumerate(lines):
        _text(canvas, text, (20, top + row * (i + 1)), size * (1.4 if i == 0 else 1.0), colour,
              2 if i == 0 else 1)  # fmt: skip


def _draw_band(canvas: np.ndarray, screen: Screen, size: float, img_h: int) -> None:
    width = canvas.shape[1]
    row = int(26 * size / 0.6)
    y = img_h + row
    _text(canvas, screen.title, (12, y), size, (0, 230, 255), 1)
    status_x = width - 12 - int(len(screen.status) * 11.5 * size / 0.6)
    _text(canvas, screen.status, (max(status_x, width // 2), y), size, _WHITE, 1)
    lines = []
    for label, text in (("Camera", screen.placement), ("Movement", screen.instruction)):
        if text:
            lines += _wrap(f"{label}: {text}", width - 24, size * 0.85)[:2]
    for line in lines[:3]:
        y += int(row * 0.85)
        _text(canvas, line, (12, y), size * 0.85, _GREY, 1)
    _text(canvas, screen.keys, (12, canvas.shape[0] - int(row * 0.35)), size * 0.85, _WHITE, 1)


# -- the window ---------------------------------------------------------------------------


class NoDisplayError(RomMeasureError):
    """No screen to show the preview on."""


def _x_reachable(display: str) -> bool:
    """Whether an X server answers at ``display`` (``:N`` or ``host:N``)."""
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return False
    if host in ("", "unix"):
        path = f"/tmp/.X11-unix/X{number}"
        for address in (path, "\0" + path):
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as s:
                s.settimeout(1.0)
                s.connect(address)
                return True
        return False
    with contextlib.suppress(OSError), socket.create_connection((host, 6000 + int(number)), 1.0):
        return True
    return False


_HINT = "use --no-preview to record without a window"


def check_display() -> None:
    """Raise :class:`NoDisplayError` when no window can be shown (Linux without X/Wayland)."""
    if not sys.platform.startswith("linux"):
        return
    display = os.environ.get("DISPLAY", "")
    if display:
        if not _x_reachable(display):
            raise NoDisplayError(f"cannot reach the display DISPLAY={display}; {_HINT}")
        return
    if os.environ.get("WAYLAND_DISPLAY"):
        return
    raise NoDisplayError(f"no display found (DISPLAY is not set); {_HINT}")


class PreviewWindow:
    """An OpenCV highgui window; keys come back as characters ('' if none)."""

    def __init__(self, title: str = "rom-measure record") -> None:
        import cv2

        check_display()
        self.title = title
        try:
            flags = cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL
            cv2.namedWindow(title, flags)
        except cv2.error as error:
            raise NoDisplayError(f"cannot open a window ({_first_line(error)}); {_HINT}") from None
        self._sized = False
        self.closed = False

    def show(self, image: np.ndarray, wait_ms: int = 1) -> str:
        """Show ``image`` and return the key pressed ('' if none, 'q' if the window closed)."""
        import cv2

        try:
            if not self._sized:
                cv2.resizeWindow(self.title, image.shape[1], image.shape[0])
                self._sized = True
            cv2.imshow(self.title, image)
            key = cv2.waitKey(max(1, wait_ms)) & 0xFF
            if cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
                self.closed = True
                return "q"
        except cv2.error as error:
            raise NoDisplayError(
                f"cannot show the preview ({_first_line(error)}); {_HINT}"
            ) from None
        if key == 255:
            return ""
        return {27: "q", 13: " ", 10: " "}.get(key, chr(key).lower())

    def close(self) -> None:
        import cv2

        with contextlib.suppress(cv2.error):
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)


def _first_line(error: BaseException) -> str:
    lines = [s.strip() for s in str(error).splitlines() if s.strip()]
    return lines[-1] if lines else type(error).__name__
