"""Writing a result to a folder: results.json, angles.csv, landmarks.npz, angles.png.

A run writes its whole set into a hidden staging folder inside the output folder and
swaps it in at the end (:class:`rom_measure._fileio.OutputRun`): the folder holds one
run's complete set or the previous one, never a mix, and ``results.json`` (moved in
last) lists the run id and the SHA-256 of every other file of the set. Files in the
folder that are not outputs (e.g. a recorded clip) are kept. A failed write (e.g.
a full disk) raises :class:`OutputError` and leaves the previous set in place.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rom_measure._fileio import (
    OutputRun,
    atomic_path,
    atomic_write_json,
    atomic_write_text,
    os_error_reason,
    recover_folder,
    sha256_file,
)
from rom_measure.errors import InputError, OutputError
from rom_measure.measure.analysis import AnalysisSettings, Result
from rom_measure.media.landmark_file import save_landmarks
from rom_measure.media.pipeline import landmarks_for, measure_series
from rom_measure.visit.mot import MOT_NAME, write_mot

__all__ = [
    "OUTPUT_NAMES",
    "StagedAnalysis",
    "analyze_to_folder",
    "prepare_output_dir",
    "staged_analysis",
    "write_angles_csv",
    "write_outputs",
    "write_plot",
]


# Every file a run may write (or that is derived from one, like the face-blurred
# video of a report): a new run replaces or removes all of them.
OUTPUT_NAMES = ("landmarks.npz", "angles.csv", "angles.png", "angles.mot", "annotated.mp4",
                "annotated_blurred.mp4", "results.json")  # fmt: skip
_MARKER = "results.json"


def prepare_output_dir(out_dir: Path) -> Path:
    """Create ``out_dir`` if needed and check that it is writable (one-line error if not).

    What a killed run left there is cleaned up (see :func:`recover_folder`).
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        recover_folder(out_dir)
        with atomic_path(out_dir / ".write-check") as probe:
            probe.write_text("")
        (out_dir / ".write-check").unlink()
    except OSError as error:
        raise InputError(
            f"cannot write to output folder {out_dir}: {os_error_reason(error)}"
        ) from error
    return out_dir


@contextlib.contextmanager
def _output_run(out_dir: Path) -> Iterator[OutputRun]:
    """A staging folder for one run in ``out_dir``; removed unless committed."""
    try:
        run = OutputRun(out_dir, OUTPUT_NAMES, _MARKER)
    except OSError as error:
        raise OutputError(
            f"cannot write to output folder {out_dir}: {os_error_reason(error)}"
        ) from error
    try:
        yield run
    except OSError as error:
        raise OutputError(
            f"cannot write the outputs to {out_dir}: {os_error_reason(error)}"
        ) from error
    finally:
        run.discard()  # nothing left once committed


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

    figure = Figure(figsize=(8, 3.6), dpi=110)  # fixed margins: a layout engine costs 40%
    figure.subplots_adjust(left=0.095, right=0.985, bottom=0.13, top=0.91)  # room for -100.0
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


_KINDS = {"landmarks.npz": "landmarks", "angles.csv": "angles", "angles.png": "plot",
          "annotated.mp4": "video", "results.json": "results", MOT_NAME: "mot"}  # fmt: skip


def _write_files(result: Result, folder: Path) -> None:
    save_landmarks(result.series, folder / "landmarks.npz")
    write_angles_csv(result, folder / "angles.csv")
    write_plot(result, folder / "angles.png")
    write_mot(result, folder / MOT_NAME)


def _by_kind(paths: dict[str, Path]) -> dict[str, Path]:
    return {_KINDS.get(name, Path(name).stem): path for name, path in paths.items()}


def write_outputs(result: Result, out_dir: Path) -> dict[str, Path]:
    """Write the standard outputs of one analysis (one swapped-in set); paths by kind."""
    out_dir = prepare_output_dir(out_dir)
    with _output_run(out_dir) as run:
        _write_files(result, run.stage)
        staged = StagedAnalysis(result, run)
        staged.seal()
        return staged.commit()


def analyze_to_folder(
    movement: str, side: str, out_dir: Path, **options: Any
) -> tuple[Result, dict[str, Path]]:
    """Analyse a video (or saved landmarks) and write every output into ``out_dir``.

    ``options`` are those of :func:`staged_analysis` (video, landmarks, model, settings,
    annotate, on_frame). The folder is checked for writing before the (slow) pose model
    runs; the annotated video is drawn and encoded while the pose model runs (one decode).
    """
    with staged_analysis(movement, side, out_dir, **options) as staged:
        staged.seal()
        return staged.result, staged.commit()


@dataclass
class StagedAnalysis:
    """One analysis written in its staging folder, not yet swapped into the output folder.

    :meth:`seal` writes ``results.json`` (the run id and every file's SHA-256),
    :meth:`mark` records that the swap begins (from then on it is completed, not
    undone, even by the next run if this one dies), :meth:`commit` swaps the set in.
    Sealing and marking several before committing any keeps a visit's pre and post
    clips together (cmd_compare). A failed write is an :class:`OutputError` naming
    this analysis' folder.
    """

    result: Result
    run: OutputRun

    def seal(self) -> None:
        with self._writing():
            files = {name: sha256_file(self.run.stage / name) for name in OUTPUT_NAMES
                     if name != _MARKER and (self.run.stage / name).is_file()}  # fmt: skip
            data = {**self.result.to_dict(), "run": {"id": self.run.run_id, "files": files}}
            atomic_write_json(self.run.stage / _MARKER, data)

    def mark(self) -> None:
        with self._writing():
            self.run.mark_commit()

    def unmark(self) -> None:
        self.run.unmark()

    def commit(self) -> dict[str, Path]:
        with self._writing():
            return _by_kind(self.run.commit())

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except OSError as error:
            raise OutputError(f"cannot write the outputs to {self.run.folder}: "
                              f"{os_error_reason(error)}") from error  # fmt: skip


@contextlib.contextmanager
def staged_analysis(
    movement: str,
    side: str,
    out_dir: Path,
    video: Path | None = None,
    landmarks: Path | None = None,
    model: str | Path | None = None,
    settings: AnalysisSettings | None = None,
    annotate: bool = True,
    on_frame: Callable[..., None] | None = None,
) -> Iterator[StagedAnalysis]:
    """Analyse a video (or saved landmarks ``landmarks``) into a staging folder of
    ``out_dir``; the outputs are swapped in only if the caller seals and commits them
    inside the ``with`` block, otherwise they are discarded and the folder keeps its
    previous run. ``on_frame`` is passed to :func:`video_landmarks` (e.g. for progress)."""
    from rom_measure.measure.movements import check_side, get_movement
    from rom_measure.media.annotate import AnnotatedVideoWriter, write_annotated_video

    move = get_movement(movement)
    side = check_side(side)
    out_dir = prepare_output_dir(out_dir)
    with _output_run(out_dir) as run:
        target = run.stage / "annotated.mp4"
        in_pass = annotate and video is not None and landmarks is None
        writer = AnnotatedVideoWriter(target, Path(video), move.name, side) if in_pass else None
        _warm_plot_imports()
        try:
            series = landmarks_for(video, landmarks, model, _tee(on_frame, writer),
                                   face_mesh=move.face_mesh)  # fmt: skip
            again = video if landmarks is None else None  # the video to look at again
            result = measure_series(series, again, move, side, model, settings)
            if writer is not None:
                writer.end(result)  # the closing card; ffmpeg finishes meanwhile
            _write_files(result, run.stage)  # while the encoder works through its queue
            if writer is not None:
                writer, finishing = None, writer
                finishing.finish()
        finally:
            if writer is not None:
                writer.abort()
        if annotate and video is not None and not in_pass:  # saved landmarks: decode again
            write_annotated_video(result, Path(video), target)
        yield StagedAnalysis(result, run)


def _warm_plot_imports() -> None:
    """Import matplotlib's figure and Agg canvas in the background while the model runs."""
    import importlib
    import threading

    def load() -> None:
        for name in ("matplotlib.figure", "matplotlib.backends.backend_agg"):
            importlib.import_module(name)

    threading.Thread(target=load, name="rom_measure-imports", daemon=True).start()


def _tee(on_frame: Callable[..., None] | None, writer: Any) -> Callable[..., None] | None:
    """A frame callback feeding the annotated video writer, then ``on_frame``."""
    if writer is None:
        return on_frame

    def both(frame: Any, people: Any, subject: Any) -> None:
        writer.add(frame.bgr, frame.time_s, None if subject is None else subject.image)
        if on_frame is not None:
            on_frame(frame, people, subject)

    return both
