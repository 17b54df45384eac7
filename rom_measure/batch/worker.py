"""The worker side: one clip analysed (or reused) in a pool or Dask worker process."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from rom_measure.batch.state import (
    ClipOutcome,
    ClipTask,
    clear_clip_dir,
    outcome_from_state,
    read_state,
    write_state,
)
from rom_measure.errors import InputError, RomMeasureError
from rom_measure.measure.analysis import AnalysisSettings
from rom_measure.media.assets import sha256_of

__all__ = ["THREAD_ENV", "configure_process", "failed", "init_worker", "run_clip", "worker_name"]

log = logging.getLogger(__name__)

THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class _ProcessState:
    queue: Any = None  # multiprocessing queue of progress messages (local pool)
    threads: int | None = None
    models: ClassVar[dict[tuple[str, int, int], str]] = {}  # (path, size, mtime) -> sha256


def configure_process(threads: int) -> None:
    """Limit this process's OpenCV/BLAS threads (once per process)."""
    if _ProcessState.threads == threads:
        return
    for name in THREAD_ENV:
        os.environ.setdefault(name, str(threads))
    import cv2

    cv2.setNumThreads(threads)
    _ProcessState.threads = threads


def _die_with_parent() -> None:
    """Linux: have the kernel kill this worker when the batch process dies (kill -9)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG


def init_worker(threads: int, queue: Any) -> None:
    """Process-pool initializer: progress queue, thread limits, die with the parent."""
    _die_with_parent()
    _ProcessState.queue = queue
    configure_process(threads)


def worker_name() -> str:
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def _report(task: ClipTask, message: tuple[Any, ...]) -> None:
    """Send a progress message to the batch process (best effort, never fails the clip)."""
    try:
        if _ProcessState.queue is not None:
            _ProcessState.queue.put_nowait(message)
        elif task.progress_topic:
            from distributed import get_worker

            get_worker().log_event(task.progress_topic, list(message))
    except Exception as error:  # progress display only: the analysis must go on
        log.debug("progress message lost: %s", error)


def _frame_count(path: Path) -> int:
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        capture.release()


def _frame_reporter(task: ClipTask) -> Callable[..., None] | None:
    """An ``on_frame`` callback sending the frame count about 4 times a second."""
    if not task.report_frames:
        return None
    state = {"frames": 0, "total": -1, "sent": 0.0}

    def on_frame(*_: Any) -> None:
        if state["total"] < 0:  # probed once the clip is known to decode
            state["total"] = _frame_count(task.job.path)
        state["frames"] += 1
        now = time.monotonic()
        if now - state["sent"] >= 0.25 or state["frames"] == state["total"]:
            state["sent"] = now
            _report(task, ("frames", task.index, state["frames"], state["total"]))

    return on_frame


def _checked_model(task: ClipTask) -> Path:
    """This worker's pose model; it must be the file the batch was started with."""
    from rom_measure.media.assets import pose_model_path

    path = pose_model_path(task.model)
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _ProcessState.models:
        _ProcessState.models[key] = sha256_of(path)
    if _ProcessState.models[key] != task.model_sha256:
        raise InputError(f"the pose model on this worker ({path}) differs from the batch's "
                         f"(sha256 {_ProcessState.models[key][:12]}... vs "
                         f"{task.model_sha256[:12]}...)")  # fmt: skip
    return path


def _analyse_or_reuse(task: ClipTask, start: float) -> ClipOutcome:
    from rom_measure.visit.outputs import analyze_to_folder

    out_dir = Path(task.out_dir)
    try:
        input_sha = sha256_of(task.job.path)
    except OSError as error:
        raise InputError(f"cannot read {task.job.path}: {error.strerror}") from None
    state = read_state(out_dir, task.identity(input_sha))
    if state is not None:
        return outcome_from_state(task, state, "skipped", time.perf_counter() - start,
                                  worker_name())  # fmt: skip
    clear_clip_dir(out_dir)
    model = _checked_model(task)
    _, paths = analyze_to_folder(
        task.job.movement,
        task.job.side,
        out_dir,
        video=task.job.path,
        model=model,
        settings=AnalysisSettings(**task.settings),
        annotate=task.annotate,
        on_frame=_frame_reporter(task),
    )
    return write_state(task, paths, time.perf_counter() - start, worker_name())


def failed(task: ClipTask, reason: str, seconds: float = 0.0, worker: str = "") -> ClipOutcome:
    return ClipOutcome(task.index, task.job, "failed", reasons=(reason,), seconds=seconds,
                       worker=worker)  # fmt: skip


def run_clip(task: ClipTask) -> ClipOutcome:
    """Analyse one clip into its folder, or reuse its finished results; never raises.

    Runs in a pool or Dask worker. An error is returned as a ``failed`` outcome with
    its reason (failure isolation); only KeyboardInterrupt/SystemExit propagate.
    """
    start = time.perf_counter()
    _report(task, ("start", task.index, worker_name()))
    try:
        configure_process(task.threads)
        outcome = _analyse_or_reuse(task, start)
    except RomMeasureError as error:
        outcome = failed(task, str(error), time.perf_counter() - start, worker_name())
    except Exception as error:  # failure isolation: record it, the batch goes on
        log.warning("%s failed", task.job.path, exc_info=True)
        outcome = failed(task, f"{type(error).__name__}: {error}", time.perf_counter() - start,
                          worker_name())  # fmt: skip
    _report(task, ("end", task.index))
    return outcome
