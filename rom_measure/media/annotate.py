"""Annotated video: skeleton, measured segments, angle arc, live angle and quality state.

Encoded as H.264 (yuv420p) MP4 with the ffmpeg binary from ``imageio-ffmpeg`` so that
browsers play it. The source video is decoded a second time, frame by frame.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from rom_measure._fileio import atomic_path
from rom_measure.measure.analysis import Result
from rom_measure.measure.landmarks import Landmark as L
from rom_measure.media.sources import VideoFileSource

__all__ = ["draw_overlay", "measured_segments", "write_annotated_video"]

MAX_SIDE_PX = 1280
SKELETON = [(11, 12), (11, 23), (12, 24), (23, 24), (11, 13), (13, 15), (12, 14), (14, 16),
            (23, 25), (25, 27), (24, 26), (26, 28), (27, 29), (29, 31), (27, 31), (28, 30),
            (30, 32), (28, 32), (7, 2), (2, 0), (0, 5), (5, 8), (9, 10)]  # fmt: skip
COLOURS = {"ok": (80, 200, 80), "warning": (0, 190, 255), "rejected": (60, 60, 230)}  # BGR


def measured_segments(result: Result) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The two segments whose angle is measured, as (from, to) landmark pairs."""
    side = result.side
    name = result.movement.name
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
    import cv2

    if blur_faces:
        from rom_measure.media.blur import blur_face, face_points

        image[...] = blur_face(image, face_points(result.series.pixels(), frame) * scale)
    xy = result.series.pixels()[frame] * scale
    thick = max(1, round(image.shape[0] / 360))
    for a, b in SKELETON:
        pa, pb = _point(xy, a), _point(xy, b)
        if pa and pb:
            cv2.line(image, pa, pb, (235, 235, 235), thick, cv2.LINE_AA)
    segments = measured_segments(result)
    if segments:
        for a, b in segments:
            pa, pb = _point(xy, a), _point(xy, b)
            if pa and pb and pa != pb:
                cv2.line(image, pa, pb, (255, 170, 30), thick * 2 + 1, cv2.LINE_AA)
        _draw_arc(image, xy, segments, thick)
    _draw_text(image, result, frame, thick)
    return image


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
    import cv2

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


def write_annotated_video(
    result: Result, video: Path, target: Path, blur_faces: bool = False
) -> Path:
    """Re-decode ``video`` and write the annotated H.264 MP4 to ``target`` (atomically).

    With ``blur_faces`` the subject's face is blurred in every frame.
    """
    import cv2
    import imageio_ffmpeg

    source = VideoFileSource(video)
    (width, height), scale = _output_size(source.size)
    fps = result.series.fps if math.isfinite(result.series.fps) else 30.0
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
                image = cv2.resize(frame.bgr, (width, height), interpolation=cv2.INTER_AREA)
                draw_overlay(image, result, frame.index, scale, blur_faces)
                writer.send(np.ascontiguousarray(image[:, :, ::-1]))
        finally:
            writer.close()
            source.close()
    return Path(target)
