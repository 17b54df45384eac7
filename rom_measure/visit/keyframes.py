"""Key frames and annotated-video links of a visit's clips.

:func:`clip_key_frames` decodes the frames at neutral and at the peak of the largest
repetition, draws the skeleton and the angle arc (or reuses ``annotated.mp4``, which
has them) and optionally blurs the measured person's face; :func:`clip_video_link`
links the annotated video, writing a face-blurred one when asked.
"""

from __future__ import annotations

import base64
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from rom_measure.errors import InputError, RomMeasureError
from rom_measure.visit.visit_model import LABELS, Clip, deg

__all__ = ["BLURRED_VIDEO", "KEYFRAME_MAX_SIDE", "KeyFrame", "clip_key_frames", "clip_video_link"]

BLURRED_VIDEO = "annotated_blurred.mp4"
KEYFRAME_MAX_SIDE = 560


@dataclass(frozen=True)
class KeyFrame:
    """One decoded, annotated frame: caption and ``data:image/jpeg;base64,...`` URI."""

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
    from rom_measure.measure.mirror_average import rescaled
    from rom_measure.media.landmark_file import load_landmarks

    result = clip.result or {}
    series = load_landmarks(clip.folder / "landmarks.npz")
    settings, source = _settings_from(result), result.get("source") or {}
    rebuilt = analyze_landmarks(series, result["movement"], result["side"], settings,
                                source=source)  # fmt: skip
    return rescaled(rebuilt, _mirror_scale(result)) if not rebuilt.rejected else rebuilt


def _mirror_scale(result: dict[str, Any]) -> float:
    """The scale the mirrored picture's reading applied (1.0 when it was not used)."""
    steps = [p for p in result.get("processing", []) if p.get("step") == "mirror_average"]
    return float(steps[-1]["params"].get("scale", 1.0)) if steps else 1.0


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
    source = VideoFileSource(video, beside_the_model=False)  # no model runs meanwhile
    try:
        for frame in source.frames_at(wanted):
            frames[frame.index] = frame.bgr
    finally:
        source.close()
    return frames


def _jpeg_uri(image: np.ndarray) -> str:
    """A ``data:`` URI of the frame as JPEG (quality 90). PNG at its top compression
    took 215 ms a frame for a file 5x the size; a visit report held 7 of them."""
    import cv2

    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise InputError("cannot encode a key frame as JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode("ascii")


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
                            _jpeg_uri(image), image))  # fmt: skip
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
