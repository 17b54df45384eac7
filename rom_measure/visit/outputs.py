"""Writing a result to a folder: results.json, angles.csv, landmarks.npz, angles.png.

Every file is written to a temporary name and renamed, so an interrupted run never
leaves a half-written output.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rom_measure._fileio import atomic_path, atomic_write_json, atomic_write_text
from rom_measure.errors import InputError
from rom_measure.measure.analysis import AnalysisSettings, Result, analyze_landmarks
from rom_measure.media.landmark_file import save_landmarks
from rom_measure.media.pipeline import landmarks_for

__all__ = [
    "analyze_to_folder",
    "prepare_output_dir",
    "write_angles_csv",
    "write_outputs",
    "write_plot",
]


def prepare_output_dir(out_dir: Path) -> Path:
    """Create ``out_dir`` if needed and check that it is writable (one-line error if not)."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(out_dir / ".write-check") as probe:
            probe.write_text("")
        (out_dir / ".write-check").unlink()
    except OSError as error:
        raise InputError(f"cannot write to output folder {out_dir}: {error.strerror}") from error
    return out_dir


def write_angles_csv(result: Result, path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["time_s", "raw_deg", "filtered_deg", "valid", "frame_status"])
    for t, raw, filt, status in zip(result.time_s, result.raw_deg, result.filtered_deg,
                                    result.frame_status, strict=True):  # fmt: skip
        writer.writerow([f"{t:.4f}", _cell(raw), _cell(filt), int(math.isfinite(filt)), status])
    atomic_write_text(path, buffer.getvalue())


def _cell(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) else ""


def write_plot(result: Result, path: Path) -> None:
    """Angle against time with neutral, peaks and rejected frames marked."""
    from matplotlib.figure import Figure  # no pyplot: no global backend state

    figure = Figure(figsize=(8, 3.6), dpi=110, layout="constrained")
    axes = figure.add_subplot()
    axes.plot(result.time_s, result.raw_deg, ".", ms=2.5, color="0.6", label="raw")
    axes.plot(result.time_s, result.filtered_deg, "-", lw=1.8, color="tab:blue", label="filtered")
    rom = result.rom
    if math.isfinite(rom.neutral.angle_deg):
        axes.axhline(rom.neutral.angle_deg, color="tab:green", lw=1, ls="--", label="neutral")
        axes.axvspan(rom.neutral.start_s, rom.neutral.end_s, color="tab:green", alpha=0.08)
    for rep in [] if result.rejected else rom.repetitions:  # a rejected result has no ROM
        axes.plot([rep.peak_s], [rep.peak_deg], "v", color="tab:red", ms=7)
        axes.annotate(f"{rep.rom_deg:.1f}°", (rep.peak_s, rep.peak_deg), textcoords="offset points",
                      xytext=(0, 6), ha="center", fontsize=8)  # fmt: skip
    unused = ~np.isfinite(result.filtered_deg)
    if unused.any():
        axes.plot(result.time_s[unused], np.full(unused.sum(), np.nanmin(result.raw_deg)
                  if np.isfinite(result.raw_deg).any() else 0.0), "|", color="tab:orange",
                  label="frame not used")  # fmt: skip
    verdict = result.quality.verdict
    rom_text = "no ROM (rejected)" if result.rejected else f"ROM {result.rom_deg:.1f}°"
    axes.set_title(f"{result.movement.title} ({result.side}) — {rom_text} — quality: {verdict}",
                   fontsize=10)  # fmt: skip
    axes.set_xlabel("time (s)")
    axes.set_ylabel("angle (deg)")
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize=8)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format=path.suffix.lstrip("."))


def write_outputs(result: Result, out_dir: Path) -> dict[str, Path]:
    """Write the standard outputs of one analysis; return their paths by kind."""
    out_dir = prepare_output_dir(out_dir)
    paths = {
        "landmarks": out_dir / "landmarks.npz",
        "angles": out_dir / "angles.csv",
        "plot": out_dir / "angles.png",
        "results": out_dir / "results.json",
    }
    save_landmarks(result.series, paths["landmarks"])
    write_angles_csv(result, paths["angles"])
    write_plot(result, paths["plot"])
    atomic_write_json(paths["results"], result.to_dict())  # last: marks the set complete
    return paths


def analyze_to_folder(
    movement: str,
    side: str,
    out_dir: Path,
    video: Path | None = None,
    landmarks: Path | None = None,
    model: str | Path | None = None,
    settings: AnalysisSettings | None = None,
    annotate: bool = True,
    on_frame: Callable[..., None] | None = None,
) -> tuple[Result, dict[str, Path]]:
    """Analyse a video (or saved landmarks) and write every output into ``out_dir``.

    The folder is checked for writing before the (slow) pose model runs;
    ``on_frame`` is passed to :func:`video_landmarks` (e.g. for progress).
    """
    from rom_measure.measure.movements import check_side, get_movement

    move = get_movement(movement)
    side = check_side(side)
    out_dir = prepare_output_dir(out_dir)
    series = landmarks_for(video, landmarks, model, on_frame)
    result = analyze_landmarks(series, move, side, settings)
    paths = write_outputs(result, out_dir)
    if annotate and video is not None:
        from rom_measure.media.annotate import write_annotated_video

        paths["video"] = write_annotated_video(result, Path(video), out_dir / "annotated.mp4")
    return result, paths
