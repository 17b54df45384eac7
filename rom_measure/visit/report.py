"""Clinical visit report: one self-contained ``report.html`` for a visit folder.

The visit folder holds ``pre/<movement>_<side>/`` and ``post/<movement>_<side>/``
analyses (see :func:`rom_measure.visit.compare.visit_clip_dir`). The report shows the visit
header, a summary table of every movement with its verdict, and per movement the
angle curves, a pre-vs-post bar chart against the MDC95 band and the normal ranges,
key frames with the overlay, plain-language quality warnings, links to the annotated
videos, and an appendix with the definitions and the method. Plots are inline SVG and
key frames base64 PNG, so the file opens offline in any browser.
"""

from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import io
import json
import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from rom_measure._fileio import atomic_write_json, atomic_write_text
from rom_measure._version import __version__
from rom_measure.errors import InputError, RomMeasureError
from rom_measure.measure.movements import MOVEMENTS, Movement, get_movement
from rom_measure.visit.compare import (
    MAX_DISTANCE_RATIO,
    MAX_FPS_RATIO,
    MAX_VIEW_CHANGE_DEG,
    Comparison,
    compare_results,
    load_result,
    write_comparisons,
)

__all__ = [
    "REPORT_FILE",
    "VISIT_INFO_FILE",
    "KeyFrame",
    "load_visit_info",
    "register",
    "render_report",
    "save_visit_info",
    "write_report",
]

log = logging.getLogger(__name__)

REPORT_FILE = "report.html"
VISIT_INFO_FILE = "visit.json"
BLURRED_VIDEO = "annotated_blurred.mp4"
KEYFRAME_MAX_SIDE = 560
LABELS = {"pre": "Before", "post": "After"}
CLIP_COLOURS = {"pre": "#8a9bb0", "post": "#1f4e79"}
VERDICTS = {  # verdict -> (css class, colour for plots, short label)
    "improved": ("improved", "#1e7b45", "Improved"),
    "no detectable change": ("nochange", "#5b6b7b", "No detectable change"),
    "decreased": ("decreased", "#b3261e", "Decreased"),
    "not comparable": ("notcomparable", "#b06a00", "Not comparable"),
    "not available": ("notavailable", "#8c8c8c", "Not available"),
}
_VISIT_KEYS = ("patient", "date", "clinician", "notes")


# -- visit information (visit.json) ------------------------------------------------------


def load_visit_info(visit_dir: Path) -> dict[str, str]:
    """The stored ``visit.json`` (patient, date, clinician, notes), or an empty dict."""
    path = Path(visit_dir) / VISIT_INFO_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {path}: {error}") from error
    if not isinstance(data, dict):
        raise InputError(f"{path} is not a visit information file")
    return {k: str(data[k]) for k in _VISIT_KEYS if data.get(k) not in (None, "")}


def save_visit_info(visit_dir: Path, info: dict[str, str]) -> None:
    """Write ``visit.json`` atomically (only the known keys)."""
    data = {"schema": "rom_measure.visit", "schema_version": "1.0"}
    data.update({k: info[k] for k in _VISIT_KEYS if info.get(k)})
    atomic_write_json(Path(visit_dir) / VISIT_INFO_FILE, data)


def _check_date(value: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise InputError(f"invalid date {value!r}: use YYYY-MM-DD") from None


def _merged_visit_info(visit_dir: Path, given: dict[str, str | None] | None) -> dict[str, str]:
    """Stored values, overridden by the given non-empty ones; the date defaults to today."""
    info = load_visit_info(visit_dir)
    info.update({k: str(v) for k, v in (given or {}).items() if k in _VISIT_KEYS and v})
    info["date"] = _check_date(info.get("date") or dt.date.today().isoformat())
    return info


# -- collecting the visit ----------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    """One analysis of the visit (``pre`` or ``post``); ``error`` when unreadable."""

    label: str
    folder: Path
    result: dict[str, Any] | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result["quality"]["verdict"] != "rejected"


@dataclass(frozen=True)
class Entry:
    """One movement and side of the visit, with its clips and comparison."""

    movement: Movement
    side: str
    clips: dict[str, Clip]
    comparison: Comparison | None
    verdict: str
    reasons: tuple[str, ...]


def _clip_folders(visit_dir: Path) -> tuple[dict[str, dict[str, Path]], list[str]]:
    """Complete analysis folders by name and label, and notes on incomplete ones."""
    folders: dict[str, dict[str, Path]] = {}
    notes = []
    for label in LABELS:
        root = visit_dir / label
        for folder in sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []:
            if (folder / "results.json").is_file():
                folders.setdefault(folder.name, {})[label] = folder
            else:
                notes.append(f"{label}/{folder.name}: no results.json (incomplete analysis), "
                             "not included")  # fmt: skip
    return folders, notes


def _load_clip(label: str, folder: Path) -> Clip:
    try:
        return Clip(label, folder, load_result(folder))
    except InputError as error:
        return Clip(label, folder, None, str(error))


def _identity(name: str, clips: dict[str, Clip]) -> tuple[Movement, str] | None:
    for clip in clips.values():
        if clip.result is not None:
            return get_movement(clip.result["movement"]), clip.result["side"]
    movement, _, side = name.rpartition("_")
    return (MOVEMENTS[movement], side) if movement in MOVEMENTS else None


def _entry(movement: Movement, side: str, clips: dict[str, Clip]) -> Entry:
    missing = [LABELS[k].lower() for k in LABELS if k not in clips]
    unreadable = [f"the {LABELS[k].lower()}-treatment analysis cannot be read ({c.error})"
                  for k, c in clips.items() if c.result is None]  # fmt: skip
    if missing or unreadable:
        reasons = [f"no {m}-treatment clip was recorded" for m in missing] + unreadable
        return Entry(movement, side, clips, None, "not available", tuple(reasons))
    try:
        comparison = compare_results(clips["pre"].result, clips["post"].result)  # type: ignore[arg-type]
    except InputError as error:
        return Entry(movement, side, clips, None, "not available", (str(error),))
    return Entry(movement, side, clips, comparison, comparison.verdict, comparison.reasons)


def collect_visit(visit_dir: Path) -> tuple[list[Entry], list[str]]:
    """Every movement/side analysed before and/or after, in the movements' order."""
    folders, notes = _clip_folders(Path(visit_dir))
    entries = []
    for name, by_label in folders.items():
        clips = {label: _load_clip(label, folder) for label, folder in by_label.items()}
        identity = _identity(name, clips)
        if identity is None:
            notes.append(f"{name}: unknown movement, not included")
            continue
        entries.append(_entry(*identity, clips))
    order = list(MOVEMENTS)
    entries.sort(key=lambda e: (order.index(e.movement.name), e.side))
    return entries, notes


# -- formatting --------------------------------------------------------------------------


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def deg(value: Any, signed: bool = False) -> str:
    """``41.2°`` (one decimal), ``+5.0°`` when signed, ``—`` when missing."""
    if not _finite(value):
        return "—"
    value = 0.0 if abs(value) < 0.05 else value  # no "-0.0°"
    return f"{value:+.1f}°" if signed else f"{value:.1f}°"


def _plain(text: str) -> str:
    """Message text for clinicians: degrees as °, capitalised."""
    text = re.sub(r"(\d) deg\b", r"\1°", text)
    return text[:1].upper() + text[1:]


def _plain_comparison(text: str) -> str:
    """A comparison reason with before/after instead of pre/post."""
    text = text.replace("pre and post clip", "before- and after-treatment clips")
    text = re.sub(r"\bpre\b", "before-treatment", text)
    return _plain(re.sub(r"\bpost\b", "after-treatment", text))


def _side_label(movement: Movement, side: str) -> str:
    return "—" if movement.side_meaning.startswith("ignored") else side


def _clip_rom(result: dict[str, Any] | None) -> float:
    """Mean ROM over the repetitions (what the comparison uses)."""
    if not result:
        return math.nan
    reps = [r["rom_deg"] for r in result.get("repetitions", []) if _finite(r.get("rom_deg"))]
    return float(np.mean(reps)) if reps else math.nan


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _is_quality_reason(reason: str) -> bool:
    """Comparison reasons that repeat a clip's quality warnings (listed per clip instead)."""
    return reason.startswith(("pre clip:", "post clip:"))


def _verdict_sentence(entry: Entry) -> str:
    c = entry.comparison
    if c is None or entry.verdict in ("not available", "not comparable"):
        lead = {"not available": "No comparison", "not comparable": "No verdict"}[entry.verdict]
        why = [_plain_comparison(r) for r in entry.reasons if not _is_quality_reason(r)]
        return f"{lead}: " + "; ".join(_lower_first(w) for w in why) + "."
    change = f"{deg(c.change_deg, signed=True)} (95% CI {deg(c.ci95_deg[0], True)} to " \
             f"{deg(c.ci95_deg[1], True)})"  # fmt: skip
    mdc = f"the smallest change this measurement can detect (MDC95 {deg(c.mdc95_deg)})"
    if entry.verdict == "improved":
        return f"The range increased by {change}, more than {mdc}."
    if entry.verdict == "decreased":
        return f"The range decreased by {change}, more than {mdc}."
    return f"The change of {change} is within {mdc}: no change can be claimed."


def _warnings(entry: Entry) -> list[str]:
    out = []
    for label, clip in entry.clips.items():
        name = f"{LABELS[label]} treatment"
        if clip.result is None:
            out.append(f"{name}: the analysis cannot be read ({clip.error}).")
            continue
        quality = clip.result["quality"]
        prefix = f"{name} (clip rejected, no ROM)" if quality["verdict"] == "rejected" else name
        out += [f"{prefix}: {_plain(r).rstrip('.')}." for r in quality.get("reasons", [])]
    if entry.verdict == "not comparable":
        out += [f"Filming differed: {_lower_first(_plain_comparison(r)).rstrip('.')}."
                for r in entry.reasons
                if not _is_quality_reason(r)]  # fmt: skip
    return out


# -- figures (matplotlib Figure objects, inline SVG) -------------------------------------


def _svg(figure: Any) -> str:
    """The figure as an inline ``<svg>`` element (text as text, no metadata)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None,
                   "Format": None, "Type": None})  # fmt: skip
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _style_axes(axes: Any) -> None:
    for spine in ("top", "right"):
        axes.spines[spine].set_visible(False)
    for spine in ("left", "bottom"):
        axes.spines[spine].set_color("#9aa5b1")
    axes.tick_params(colors="#3d4852", labelsize=8.5)
    axes.grid(alpha=0.25, lw=0.6)


def read_angles(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``angles.csv`` as (time_s, raw_deg, filtered_deg); None when missing or unreadable."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        columns = [
            np.array([float(r[k]) if r[k] else np.nan for r in rows])
            for k in ("time_s", "raw_deg", "filtered_deg")
        ]
    except (OSError, KeyError, ValueError) as error:
        log.warning("cannot read %s: %s", path, error)
        return None
    return (columns[0], columns[1], columns[2]) if rows else None


def _curve_panel(axes: Any, label: str, clip: Clip | None) -> None:
    title = f"{LABELS[label]} treatment"
    data = read_angles(clip.folder / "angles.csv") if clip and clip.result else None
    if data is None or clip is None or clip.result is None:
        axes.set_title(title, fontsize=10, loc="left", color="#3d4852")
        axes.text(0.5, 0.5, "no angle curve (clip missing)" if clip is None else
                  "no angle curve", ha="center", va="center", transform=axes.transAxes,
                  color="#8c8c8c", fontsize=9)  # fmt: skip
        axes.set_xticks([])
        return
    t, raw, filtered = data
    result = clip.result
    colour = CLIP_COLOURS[label]
    for i, rep in enumerate(result.get("repetitions", [])):
        if _finite(rep.get("start_s")) and _finite(rep.get("end_s")):
            axes.axvspan(rep["start_s"], rep["end_s"], color=colour, alpha=0.07 + 0.05 * (i % 2),
                         lw=0)  # fmt: skip
    neutral = result.get("neutral", {})
    if _finite(neutral.get("angle_deg")):
        axes.axvspan(neutral["start_s"], neutral["end_s"], ymax=0.06, color="#2e8b57", alpha=0.5,
                     lw=0)  # fmt: skip
        axes.axhline(neutral["angle_deg"], color="#2e8b57", lw=1.1, ls="--")
        axes.annotate(f"neutral {deg(neutral['angle_deg'])}", (t[-1], neutral["angle_deg"]),
                      textcoords="offset points", xytext=(0, 4), ha="right", fontsize=8,
                      color="#2e8b57")  # fmt: skip
    axes.plot(t, raw, ".", ms=2.2, color="#b8c0c8", zorder=2)
    axes.plot(t, filtered, "-", lw=1.8, color=colour, zorder=3)
    for i, rep in enumerate(result.get("repetitions", []), start=1):
        if _finite(rep.get("peak_deg")):
            axes.plot([rep["peak_s"]], [rep["peak_deg"]], "v", color="#c0392b", ms=6, zorder=4)
            axes.annotate(f"rep {i}: {deg(rep['rom_deg'])}", (rep["peak_s"], rep["peak_deg"]),
                          textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8,
                          color="#1a202c")  # fmt: skip
    rom = "no ROM (rejected)" if not clip.ok else f"ROM {deg(_clip_rom(result))}"
    axes.set_title(f"{title} — {rom}", fontsize=10, loc="left", color="#1a202c")
    axes.set_xlabel("time (s)", fontsize=8.5, color="#3d4852")


def curves_svg(entry: Entry) -> str:
    """Angle against time, before and after side by side (same angle scale)."""
    figure = _figure(9.6, 2.9)
    axes = figure.subplots(1, 2, sharey=True)
    for ax, label in zip(axes, LABELS, strict=True):
        _style_axes(ax)
        _curve_panel(ax, label, entry.clips.get(label))
    axes[0].set_ylabel(f"{entry.movement.title.lower()} (°)", fontsize=8.5, color="#3d4852")
    top = axes[0].get_ylim()
    axes[0].set_ylim(top[0], top[1] + 0.12 * (top[1] - top[0]))  # room for the peak labels
    return _svg(figure)


def _bar_rows(entry: Entry) -> list[tuple[str, str, float, float]]:
    """(kind, label, value or low, uncertainty or high) rows, top to bottom."""
    rows: list[tuple[str, str, float, float]] = []
    for label in LABELS:
        clip = entry.clips.get(label)
        result = clip.result if clip else None
        value = _clip_rom(result) if clip and clip.ok else math.nan
        unc = (result or {}).get("uncertainty_deg") or math.nan
        rows.append(("clip", label, value, unc))
    rows += [("norm", f"Normal: {n.label}", n.low_deg, n.high_deg) for n in entry.movement.normal]
    return rows


def bar_svg(entry: Entry) -> str:
    """Before and after ROM (± uncertainty), the MDC95 band around before, normal ranges."""
    rows = _bar_rows(entry)
    figure = _figure(9.6, 0.42 * len(rows) + 0.95)
    axes = figure.add_subplot()
    _style_axes(axes)
    axes.grid(axis="y", visible=False)
    y = np.arange(len(rows))[::-1].astype(float)
    verdict_colour = VERDICTS[entry.verdict][1]
    c = entry.comparison
    pre_value = rows[0][2]
    if c is not None and _finite(pre_value) and _finite(c.mdc95_deg):
        axes.fill_betweenx(
            [y[1] - 0.45, y[0] + 0.45],
            pre_value - c.mdc95_deg,
            pre_value + c.mdc95_deg,
            color="#f2c14e",
            alpha=0.28,
            lw=0,
        )
        axes.annotate(f"before ± MDC95 ({deg(c.mdc95_deg)})", (pre_value, y[0] + 0.45),
                      textcoords="offset points", xytext=(0, 2), ha="center", va="bottom",
                      fontsize=8, color="#8a6100")  # fmt: skip
    highs = [0.0]
    for yi, (kind, label, a, b) in zip(y, rows, strict=True):
        if kind == "norm":
            axes.barh(yi, max(b - a, 0.6), left=a if b > a else a - 0.3, height=0.42,
                      color="#cfe3d4", edgecolor="#7fb08d", lw=0.8)  # fmt: skip
            highs.append(b)
        elif _finite(a):
            colour = CLIP_COLOURS["pre"] if label == "pre" else verdict_colour
            axes.barh(yi, a, height=0.6, color=colour)
            if _finite(b):
                axes.errorbar(a, yi, xerr=b, color="#1a202c", capsize=3, lw=1)
            text = f"{deg(a)}" + (f" ± {deg(b)}" if _finite(b) else "")
            axes.annotate(
                text,
                (a + (b if _finite(b) else 0), yi),
                textcoords="offset points",
                xytext=(6, -3),
                fontsize=9,
                color="#1a202c",
                fontweight="bold",
            )
            highs.append(a + (b if _finite(b) else 0))
        else:
            clip = entry.clips.get(label)
            text = "not recorded" if clip is None else "no ROM (rejected or unreadable)"
            axes.text(0.5, yi, text, va="center", fontsize=9, color="#8c8c8c")
    axes.set_yticks(y, [f"{LABELS[r[1]]} treatment" if r[0] == "clip" else r[1] for r in rows],
                    fontsize=8.5)  # fmt: skip
    axes.set_xlim(0, 1.18 * max(highs) + 5)
    axes.set_xlabel(f"{entry.movement.title} ROM (°): mean of the repetitions, ± standard "
                    "uncertainty", fontsize=8.5, color="#3d4852")  # fmt: skip
    return _svg(figure)


# -- key frames --------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyFrame:
    """One decoded, annotated frame: caption and ``data:image/png;base64,...`` URI."""

    label: str
    kind: str  # "neutral" or "peak"
    frame: int
    caption: str
    data_uri: str
    image: np.ndarray = field(repr=False, compare=False)


def _settings_from(result: dict[str, Any]) -> Any:
    """The analysis settings recorded in ``results.json``'s processing steps."""
    from rom_measure.measure.analysis import AnalysisSettings

    params = {p["step"]: p.get("params", {}) for p in result.get("processing", [])}
    defaults = AnalysisSettings()
    return AnalysisSettings(
        max_gap_s=params.get("fill_short_gaps", {}).get("max_gap_s", defaults.max_gap_s),
        outlier_window_s=params.get("hampel_outliers", {}).get("window_s",
                                                               defaults.outlier_window_s),
        outlier_sigmas=params.get("hampel_outliers", {}).get("n_sigmas", defaults.outlier_sigmas),
        segment_tolerance=params.get("segment_length_check", {}).get(
            "tolerance", defaults.segment_tolerance),
        lowpass_hz=params.get("butterworth_zero_phase", {}).get("cutoff_hz"),
        repair_leg_swaps="repair_leg_swaps" in params,
    )  # fmt: skip


def _rebuild_result(clip: Clip) -> Any:
    """The clip's Result, re-analysed from its ``landmarks.npz`` (needed for the overlay)."""
    from rom_measure.measure.analysis import analyze_landmarks
    from rom_measure.media.landmark_file import load_landmarks

    result = clip.result or {}
    series = load_landmarks(clip.folder / "landmarks.npz")
    return analyze_landmarks(series, result["movement"], result["side"], _settings_from(result),
                             source=result.get("source") or {})  # fmt: skip


def _source_video(clip: Clip) -> tuple[Path | None, str]:
    """The clip's source video if it is still there and unchanged, else (None, why)."""
    from rom_measure.media.assets import sha256_of as file_sha256

    source = (clip.result or {}).get("source") or {}
    if not source.get("path"):
        return None, "the analysis has no source video (it was made from landmarks)"
    stored = Path(source["path"])
    candidates = (
        [stored]
        if stored.is_absolute()
        else [Path.cwd() / stored, clip.folder.parent.parent / stored]
    )
    for path in candidates:
        if path.is_file():
            if source.get("sha256") and file_sha256(path) != source["sha256"]:
                return None, f"the source video {stored} has changed since the analysis"
            return path, ""
    return None, f"the source video {stored} is not found"


def _frame_indices(result: Any) -> dict[str, int]:
    """Frame at neutral (closest to the neutral angle in its window) and at the best peak."""
    t, angle = result.time_s, result.filtered_deg
    indices = {}
    neutral = result.rom.neutral
    if math.isfinite(neutral.angle_deg):
        window = (t >= neutral.start_s) & (t <= neutral.end_s) & np.isfinite(angle)
        if window.any():
            gap = np.where(window, np.abs(angle - neutral.angle_deg), np.inf)
            indices["neutral"] = int(np.argmin(gap))
    if not result.rejected and result.rom.repetitions:
        best = max(result.rom.repetitions, key=lambda r: r.rom_deg)
        indices["peak"] = int(np.argmin(np.abs(t - best.peak_s)))
    return indices


def _decode(video: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    from rom_measure.media.sources import VideoFileSource

    frames: dict[int, np.ndarray] = {}
    source = VideoFileSource(video)
    try:
        for frame in source:
            if frame.index in wanted:
                frames[frame.index] = frame.bgr
            if frame.index >= max(wanted):
                break
    finally:
        source.close()
    return frames


def _png_uri(image: np.ndarray) -> str:
    import cv2

    ok, data = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise InputError("cannot encode a key frame as PNG")
    return "data:image/png;base64," + base64.b64encode(data.tobytes()).decode("ascii")


def _render_frame(bgr: np.ndarray, result: Any, index: int, overlaid: bool,
                  blur_faces: bool) -> np.ndarray:  # fmt: skip
    """Resize to the key-frame size; draw the overlay (source video) or blur only (annotated)."""
    import cv2

    from rom_measure.media.annotate import draw_overlay
    from rom_measure.media.blur import blur_face, face_points

    height, width = bgr.shape[:2]
    size = min(1.0, KEYFRAME_MAX_SIDE / max(width, height))
    image = cv2.resize(bgr, (round(width * size), round(height * size)),
                       interpolation=cv2.INTER_AREA)  # fmt: skip
    scale = image.shape[1] / result.series.image_size[0]
    if not overlaid:
        return draw_overlay(image, result, index, scale, blur_faces=blur_faces)
    if blur_faces:
        image = blur_face(image, face_points(result.series.pixels(), index) * scale)
    return image


def _caption(label: str, kind: str, result: Any, index: int) -> str:
    absolute = result.movement.zero == "absolute"
    value = result.filtered_deg[index] - (0.0 if absolute else result.rom.neutral.angle_deg)
    what = "neutral" if kind == "neutral" else "peak of the largest repetition"
    angle = f"{deg(value, signed=True)}" + ("" if absolute else " from neutral")
    return f"{LABELS[label]} · {what} · {result.time_s[index]:.2f} s · {angle}"


def clip_key_frames(clip: Clip, blur_faces: bool = False) -> tuple[list[KeyFrame], str]:
    """Key frames (neutral, peak) of one clip, or an empty list and the reason."""
    if clip.result is None:
        return [], "the analysis cannot be read"
    if not (clip.folder / "landmarks.npz").is_file():
        return [], "landmarks.npz is missing from the analysis folder"
    video, why = _source_video(clip)
    overlaid = False
    if video is None and (clip.folder / "annotated.mp4").is_file():
        video, overlaid = clip.folder / "annotated.mp4", True
    if video is None:
        return [], f"video not available: {why} and there is no annotated.mp4"
    try:
        result = _rebuild_result(clip)
        indices = _frame_indices(result)
        if not indices:
            return [], "no neutral or peak was found in this clip"
        frames = _decode(video, set(indices.values()))
    except RomMeasureError as error:
        return [], f"video not available: {error}"
    out = []
    for kind, index in indices.items():
        if index not in frames:
            continue
        image = _render_frame(frames[index], result, index, overlaid, blur_faces)
        out.append(KeyFrame(clip.label, kind, index, _caption(clip.label, kind, result, index),
                            _png_uri(image), image))  # fmt: skip
    return out, "" if out else "the key frames could not be decoded from the video"


# -- videos ------------------------------------------------------------------------------


def _link(visit_dir: Path, path: Path) -> str:
    return quote(Path(os.path.relpath(path, visit_dir)).as_posix())


def clip_video_link(visit_dir: Path, clip: Clip, blur_faces: bool) -> tuple[str, str]:
    """(relative link, note) to the clip's annotated video (a blurred one if asked)."""
    if not blur_faces:
        video = clip.folder / "annotated.mp4"
        return (_link(visit_dir, video), "") if video.is_file() else ("", "no annotated video")
    target = clip.folder / BLURRED_VIDEO
    results = clip.folder / "results.json"
    if target.is_file() and target.stat().st_mtime >= results.stat().st_mtime:
        return _link(visit_dir, target), ""
    video, why = _source_video(clip)
    if video is None or not (clip.folder / "landmarks.npz").is_file():
        return "", f"no de-identified video: {why or 'landmarks.npz is missing'}"
    from rom_measure.media.annotate import write_annotated_video

    try:
        write_annotated_video(_rebuild_result(clip), video, target, blur_faces=True)
    except RomMeasureError as error:
        return "", f"no de-identified video: {error}"
    return _link(visit_dir, target), ""


# -- assembling the page -----------------------------------------------------------------


def _clip_cell(clip: Clip | None) -> dict[str, str]:
    """Before/after cell: value, ± uncertainty, repetitions (short and long)."""
    cell = {"text": "—", "unc": "", "detail": "", "long_detail": ""}
    if clip is None or clip.result is None:
        cell["detail"] = cell["long_detail"] = "not recorded" if clip is None else "unreadable"
        return cell
    if not clip.ok:
        cell.update(text="no ROM", detail="rejected", long_detail="quality: rejected")
        return cell
    reps = [r["rom_deg"] for r in clip.result["repetitions"] if _finite(r.get("rom_deg"))]
    detail = f"{len(reps)} rep" + ("s" if len(reps) != 1 else "")
    if len(reps) > 1:
        detail += f", SD {deg(float(np.std(reps, ddof=1)))}"
    best = f", best {deg(max(reps))}" if len(reps) > 1 else ""
    cell.update(text=deg(_clip_rom(clip.result)), unc=deg(clip.result.get("uncertainty_deg")),
                detail=detail, long_detail=detail + best)  # fmt: skip
    return cell


def _numbers(entry: Entry) -> dict[str, str]:
    c = entry.comparison
    if c is None or not _finite(c.change_deg):
        return {"change": "—", "pct": "", "ci": "", "mdc": deg(c.mdc95_deg) if c else "—",
                "mdc_basis": ""}  # fmt: skip
    return {"change": deg(c.change_deg, signed=True),
            "pct": f"{c.change_pct:+.0f}%" if _finite(c.change_pct) else "",
            "ci": f"95% CI {deg(c.ci95_deg[0], True)} to {deg(c.ci95_deg[1], True)}",
            "mdc": deg(c.mdc95_deg),
            "mdc_basis": "this tool" if c.mdc_basis == "tool" else "published"}  # fmt: skip


def _entry_context(visit_dir: Path, entry: Entry, blur_faces: bool) -> dict[str, Any]:
    css, _, verdict_label = VERDICTS[entry.verdict]
    frames, frame_notes, videos = [], [], []
    for label in LABELS:
        clip = entry.clips.get(label)
        if clip is None:
            frame_notes.append(f"{LABELS[label]}: no clip recorded.")
            continue
        found, why = clip_key_frames(clip, blur_faces)
        frames += found
        if why:
            frame_notes.append(f"{LABELS[label]}: {why}.")
        href, note = clip_video_link(visit_dir, clip, blur_faces)
        videos.append({"label": LABELS[label], "href": href, "note": note})
    side = _side_label(entry.movement, entry.side)
    return {
        "anchor": f"{entry.movement.name}-{entry.side}",
        "title": entry.movement.title,
        "side": side,
        "heading": entry.movement.title + ("" if side == "—" else f" — {side}"),
        "verdict": entry.verdict, "verdict_css": css, "verdict_label": verdict_label,
        "sentence": _verdict_sentence(entry),
        "pre": _clip_cell(entry.clips.get("pre")),
        "post": _clip_cell(entry.clips.get("post")),
        **_numbers(entry),
        "curves_svg": curves_svg(entry), "bar_svg": bar_svg(entry),
        "frames": frames, "frame_notes": frame_notes, "videos": videos,
        "warnings": _warnings(entry), "clip_count": len(entry.clips),
        "has_band": entry.comparison is not None and _finite(entry.comparison.pre_rom_deg),
        "normals": "; ".join(n.label for n in entry.movement.normal),
    }  # fmt: skip


def _landmark_names(movement: Movement, sides: set[str]) -> str:
    names: list[str] = []
    for side in sorted(sides):
        for mark in movement.required(side):
            name = mark.name.lower().replace("_", " ")
            if name not in names:
                names.append(name)
    return ", ".join(names)


def _appendix(entries: list[Entry]) -> list[dict[str, Any]]:
    sides: dict[str, set[str]] = {}
    for e in entries:
        sides.setdefault(e.movement.name, set()).add(e.side)
    out = []
    for name, used in sides.items():
        m = get_movement(name)
        out.append({
            "title": m.title, "name": m.name, "definition": m.definition,
            "zero": m.zero_reference, "sign": m.sign, "side": m.side_meaning,
            "view": f"{m.view} view, {m.plane} plane", "landmarks": _landmark_names(m, used),
            "normals": [f"{n.label} (source: {n.source})" for n in m.normal],
            "mdcs": [f"{x.mdc95_deg:.1f}° with {x.instrument} (source: {x.source}"
                     + (f"; {x.note})" if x.note else ")") for x in m.mdc],
            "method_error": deg(m.method_error_deg), "filter": f"{m.lowpass_hz:g} Hz",
        })  # fmt: skip
    return out


def _method() -> dict[str, str]:
    return {
        "view_change": f"{MAX_VIEW_CHANGE_DEG:.0f}°",
        "distance_ratio": f"{MAX_DISTANCE_RATIO:g}",
        "fps_ratio": f"{MAX_FPS_RATIO:g}",
    }


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rom_measure.visit", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["deg"] = deg
    return env


def render_report(visit_dir: Path, visit_info: dict[str, str], blur_faces: bool = False) -> str:
    """The report's HTML for the visit folder (nothing is written except blurred videos)."""
    from markupsafe import Markup
    from matplotlib import rc_context

    visit_dir = Path(visit_dir)
    entries, notes = collect_visit(visit_dir)
    rc = {"svg.fonttype": "none", "font.size": 9}
    with rc_context(rc):
        contexts = [_entry_context(visit_dir, e, blur_faces) for e in entries]
    for ctx in contexts:
        ctx["curves_svg"], ctx["bar_svg"] = Markup(ctx["curves_svg"]), Markup(ctx["bar_svg"])
    models = sorted({str(c.result.get("model")) for e in entries for c in e.clips.values()
                     if c.result and c.result.get("model")})  # fmt: skip
    return _environment().get_template("report.html.j2").render(
        visit={k: visit_info.get(k) or "" for k in _VISIT_KEYS}, entries=contexts, notes=notes,
        appendix=_appendix(entries),
        method=_method(), blur_faces=blur_faces, version=__version__, models=models,
        generated=dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M"),
        verdicts=VERDICTS, counts=_counts(entries),
    )  # fmt: skip


def _counts(entries: list[Entry]) -> list[tuple[str, str, int]]:
    return [(VERDICTS[v][0], VERDICTS[v][2], n) for v in VERDICTS
            if (n := sum(e.verdict == v for e in entries))]  # fmt: skip


def write_report(
    visit_dir: Path, visit_info: dict[str, str | None] | None = None, blur_faces: bool = False
) -> Path:
    """Write ``VISIT/report.html`` (and ``visit.json``, ``comparison.json``/``.csv``).

    Args:
        visit_dir: the visit folder with ``pre/`` and ``post/`` analyses.
        visit_info: patient (pseudonymous id), date (YYYY-MM-DD), clinician, notes;
            missing values come from an earlier ``visit.json``; the date defaults to today.
        blur_faces: de-identify the key frames and link face-blurred annotated videos
            (written next to the originals as ``annotated_blurred.mp4`` when missing).

    Returns:
        The report's path.
    """
    visit_dir = Path(visit_dir)
    if not visit_dir.is_dir():
        raise InputError(f"visit folder not found: {visit_dir}")
    entries, _ = collect_visit(visit_dir)
    if not entries:
        raise InputError(f"{visit_dir} holds no analyses (expected pre/<movement>_<side>/ "
                         "and post/<movement>_<side>/ folders with results.json)")  # fmt: skip
    info = _merged_visit_info(visit_dir, visit_info)
    save_visit_info(visit_dir, info)
    comparisons = [e.comparison for e in entries if e.comparison is not None]
    if comparisons:
        write_comparisons(comparisons, visit_dir, info)
    html = render_report(visit_dir, info, blur_faces)
    target = visit_dir / REPORT_FILE
    atomic_write_text(target, html)
    log.info("report written to %s", target)
    return target


# -- command line (thin) -----------------------------------------------------------------


def cmd_report(args: argparse.Namespace) -> int:
    """``rom-measure report VISIT_DIR ...``: write the visit's report.html."""
    info = {"patient": args.patient, "clinician": args.clinician, "notes": args.notes,
            "date": args.date}  # fmt: skip
    path = write_report(args.visit_dir, info, blur_faces=args.blur_faces)
    print(f"report written to {path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` command to the CLI's subparsers."""
    p = sub.add_parser("report", help="write the visit's clinical report (report.html)")
    p.add_argument("visit_dir", type=Path, help="visit folder (pre/, post/ analyses)")
    p.add_argument("--patient", help="pseudonymous patient id (e.g. P-017); no names")
    p.add_argument("--clinician", help="clinician's initials")
    p.add_argument("--notes", help="free-text visit notes")
    p.add_argument("--date", help="visit date YYYY-MM-DD (default: stored, else today)")
    p.add_argument("--blur-faces", action="store_true",
                   help="blur the face in key frames and link face-blurred videos")  # fmt: skip
    p.set_defaults(func=cmd_report)
