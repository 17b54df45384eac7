"""Batch processing of saved clips: parallel, resumable, with pre/post pairing.

Inputs are a folder of clips named ``<subject>_<visit>_<label>_<movement>_<side>.<ext>``
(split on underscores; e.g. ``P07_visit2_pre_hip-flexion_left.mp4``) or a CSV
manifest with the columns subject, visit, label, movement, side, path (see
:mod:`rom_measure.batch.inputs`).

Each clip is analysed exactly as ``rom-measure analyze --out`` does
(:func:`rom_measure.visit.outputs.analyze_to_folder`) into
``OUT/<subject>/<visit>/<label>/<movement>_<side>/``, so every ``OUT/<subject>/<visit>/``
is a visit folder for :func:`rom_measure.visit.compare.update_visit_comparisons`.

Resuming: after a clip's results are complete, ``done.json`` (schema
``rom_measure.batch_state``) is written atomically beside them. It records the
input's SHA-256, the settings (movement, side, analysis settings, annotation, the
pose model's SHA-256, the tool version) and the SHA-256 of ``results.json``. A clip
is skipped when its ``done.json`` matches all of these and its outputs are there;
anything else (no record, other settings, a half-written folder) is analysed again
from a cleared folder. Killing a batch therefore loses at most the clips in flight.

Failures are isolated: a clip that cannot be read or analysed is recorded as
``failed`` with its reason and the batch goes on; a worker process that dies is
replaced and its clip retried once. At the end ``OUT/summary.csv`` (one row per
clip), ``OUT/comparisons.csv`` (pre/post pairs by subject, visit, movement, side),
each visit's ``comparison.json/.csv`` and ``OUT/index.html`` are written atomically.

Execution runs on a local process pool, or on ``dask.distributed`` (an existing
scheduler, or a local cluster); both call :func:`run_clip` per clip.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import html
import io
import json
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Protocol, TextIO
from urllib.parse import quote

from rom_measure._fileio import atomic_write_json, atomic_write_text
from rom_measure._version import __version__
from rom_measure.batch.inputs import FILENAME_PATTERN, BatchInputs, ClipJob, collect_inputs
from rom_measure.errors import InputError, RomMeasureError
from rom_measure.measure.analysis import AnalysisSettings
from rom_measure.media.assets import sha256_of

__all__ = [
    "STATE_FILE",
    "STATUSES",
    "BatchOptions",
    "BatchReport",
    "ClipOutcome",
    "ClipTask",
    "LineProgress",
    "Progress",
    "TerminalProgress",
    "default_workers",
    "read_state",
    "register",
    "run_batch",
    "run_clip",
]

log = logging.getLogger(__name__)

STATE_FILE = "done.json"
STATE_SCHEMA = "rom_measure.batch_state"
STATE_SCHEMA_VERSION = "1.0"
STATUSES = ("done", "skipped", "failed", "rejected")
OUTPUT_FILES = ("results.json", "angles.csv", "landmarks.npz", "angles.png", "annotated.mp4")
SUMMARY_COLUMNS = ("subject", "visit", "label", "movement", "side", "path", "status", "rom_deg",
                   "uncertainty_deg", "verdict", "reasons", "seconds", "output")  # fmt: skip
_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_CRASH_RETRIES = 1  # a clip whose worker process died is retried this many times


# -- what travels to a worker and back --------------------------------------------------


@dataclass(frozen=True)
class BatchOptions:
    """How to run a batch.

    Attributes:
        workers: local worker processes (None: one per core).
        threads_per_worker: OpenCV/BLAS threads per worker (None: cores // workers).
        model: pose model ``.task`` file (None: the cached full model).
        settings: analysis settings (part of the resume check).
        annotate: also write ``annotated.mp4`` (part of the resume check).
        scheduler: address of a ``dask.distributed`` scheduler, e.g. ``tcp://host:8786``.
        dask_local: start a local Dask cluster of this many worker processes.
        reports: write each visit's HTML report (``rom_measure.visit.report``).
    """

    workers: int | None = None
    threads_per_worker: int | None = None
    model: str | None = None
    settings: AnalysisSettings = field(default_factory=AnalysisSettings)
    annotate: bool = True
    scheduler: str | None = None
    dask_local: int | None = None
    reports: bool = True


@dataclass(frozen=True)
class ClipTask:
    """One clip's work order (picklable: sent to pool or Dask workers)."""

    index: int
    job: ClipJob
    out_dir: Path
    model: str | None
    model_sha256: str
    settings: dict[str, Any]
    annotate: bool
    threads: int = 1
    progress_topic: str | None = None  # Dask event topic for progress messages
    report_frames: bool = False  # send frame counts while the clip is analysed

    def identity(self, input_sha256: str) -> dict[str, Any]:
        """Everything that determines the clip's results (compared on resume), JSON-normal."""
        return _json_normal(
            {
                "input_sha256": input_sha256,
                "movement": self.job.movement,
                "side": self.job.side,
                "analysis_settings": self.settings,
                "annotate": self.annotate,
                "model_sha256": self.model_sha256,
                "tool_version": __version__,
            }
        )


def _json_normal(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as it reads back from JSON (tuples become lists), for comparisons."""
    return json.loads(json.dumps(data, sort_keys=True))


@dataclass(frozen=True)
class ClipOutcome:
    """What happened to one clip in this run.

    ``status``: ``done`` (analysed, has a ROM), ``rejected`` (analysed, quality
    rejected: no ROM), ``failed`` (not analysed: unreadable clip or error) or
    ``skipped`` (finished by an earlier run with the same input and settings;
    ``verdict`` tells whether it has a ROM).
    """

    index: int
    job: ClipJob
    status: str
    verdict: str = ""
    rom_deg: float | None = None
    uncertainty_deg: float | None = None
    reasons: tuple[str, ...] = ()
    seconds: float = 0.0
    frames: int | None = None
    worker: str = ""

    @property
    def has_result(self) -> bool:
        return self.status in ("done", "rejected", "skipped")

    @property
    def has_rom(self) -> bool:
        return self.has_result and self.verdict in ("ok", "warning")


@dataclass(frozen=True)
class BatchReport:
    """Outcome of a batch: one outcome per clip (in input order), files written, notes."""

    out: Path
    outcomes: tuple[ClipOutcome, ...]
    inputs: BatchInputs
    comparisons: tuple[dict[str, Any], ...]
    paths: dict[str, Path]
    notes: tuple[str, ...]
    seconds: float
    where: str

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def without_rom(self) -> tuple[ClipOutcome, ...]:
        """Clips failed or rejected (now or in the run whose results were reused)."""
        return tuple(o for o in self.outcomes if not o.has_rom)

    @property
    def exit_code(self) -> int:
        """0: every clip has a ROM; 1: some failed or were rejected."""
        return 1 if self.without_rom else 0


# -- the worker side -----------------------------------------------------------------------


class _ProcessState:
    queue: Any = None  # multiprocessing queue of progress messages (local pool)
    threads: int | None = None
    models: ClassVar[dict[tuple[str, int, int], str]] = {}  # (path, size, mtime) -> sha256


def _configure_process(threads: int) -> None:
    """Limit this process's OpenCV/BLAS threads (once per process)."""
    if _ProcessState.threads == threads:
        return
    for name in _THREAD_ENV:
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


def _init_worker(threads: int, queue: Any) -> None:
    """Process-pool initializer: progress queue, thread limits, die with the parent."""
    _die_with_parent()
    _ProcessState.queue = queue
    _configure_process(threads)


def _worker_name() -> str:
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


def read_state(out_dir: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    """The clip's ``done.json`` if it marks complete results for ``identity``, else None."""
    out_dir = Path(out_dir)
    try:
        state = json.loads((out_dir / STATE_FILE).read_text(encoding="utf-8"))
        if state.get("schema") != STATE_SCHEMA or state.get("identity") != identity:
            return None
        if sha256_of(out_dir / "results.json") != state["results_sha256"]:
            return None
        for name, size in state["outputs"].items():
            if (out_dir / name).stat().st_size != size:
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return state


def _clear_clip_dir(out_dir: Path) -> None:
    """Remove an earlier (other settings, or unfinished) analysis: record first, results next."""
    if not out_dir.is_dir():
        return
    for name in (STATE_FILE, *OUTPUT_FILES):
        with contextlib.suppress(FileNotFoundError):
            (out_dir / name).unlink()
    for partial in out_dir.glob(".*.partial-*"):  # temporaries of a killed writer
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def _write_state(task: ClipTask, paths: dict[str, Path], seconds: float) -> ClipOutcome:
    results = json.loads(paths["results"].read_text(encoding="utf-8"))
    quality = results["quality"]
    state = {
        "schema": STATE_SCHEMA,
        "schema_version": STATE_SCHEMA_VERSION,
        "identity": task.identity(results["source"]["sha256"]),  # the content analysed
        "results_sha256": sha256_of(paths["results"]),
        "outputs": {p.name: p.stat().st_size for p in paths.values()},
        "clip": {**asdict(task.job), "path": str(task.job.path)},
        "verdict": quality["verdict"],
        "rom_deg": results["rom_deg"],
        "uncertainty_deg": results["uncertainty_deg"],
        "reasons": quality["reasons"],
        "frames": results["frames"],
        "seconds": round(seconds, 2),
        "finished_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_write_json(Path(task.out_dir) / STATE_FILE, state)  # last: marks the clip finished
    return _from_state(task, state, "rejected" if quality["verdict"] == "rejected" else "done",
                       seconds)  # fmt: skip


def _from_state(task: ClipTask, state: dict[str, Any], status: str, seconds: float) -> ClipOutcome:
    return ClipOutcome(task.index, task.job, status, state["verdict"], state["rom_deg"],
                       state["uncertainty_deg"], tuple(state["reasons"]), seconds,
                       state.get("frames"), _worker_name())  # fmt: skip


def _analyse_or_reuse(task: ClipTask, start: float) -> ClipOutcome:
    from rom_measure.visit.outputs import analyze_to_folder

    out_dir = Path(task.out_dir)
    try:
        input_sha = sha256_of(task.job.path)
    except OSError as error:
        raise InputError(f"cannot read {task.job.path}: {error.strerror}") from None
    state = read_state(out_dir, task.identity(input_sha))
    if state is not None:
        return _from_state(task, state, "skipped", time.perf_counter() - start)
    _clear_clip_dir(out_dir)
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
    return _write_state(task, paths, time.perf_counter() - start)


def _failed(task: ClipTask, reason: str, seconds: float = 0.0, worker: str = "") -> ClipOutcome:
    return ClipOutcome(task.index, task.job, "failed", reasons=(reason,), seconds=seconds,
                       worker=worker)  # fmt: skip


def run_clip(task: ClipTask) -> ClipOutcome:
    """Analyse one clip into its folder, or reuse its finished results; never raises.

    Runs in a pool or Dask worker. An error is returned as a ``failed`` outcome with
    its reason (failure isolation); only KeyboardInterrupt/SystemExit propagate.
    """
    start = time.perf_counter()
    _report(task, ("start", task.index, _worker_name()))
    try:
        _configure_process(task.threads)
        outcome = _analyse_or_reuse(task, start)
    except RomMeasureError as error:
        outcome = _failed(task, str(error), time.perf_counter() - start, _worker_name())
    except Exception as error:  # failure isolation: record it, the batch goes on
        log.warning("%s failed", task.job.path, exc_info=True)
        outcome = _failed(task, f"{type(error).__name__}: {error}", time.perf_counter() - start,
                          _worker_name())  # fmt: skip
    _report(task, ("end", task.index))
    return outcome


# -- progress --------------------------------------------------------------------------------


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


class _Events:
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


# -- executors ---------------------------------------------------------------------------------


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def _thread_environment(threads: int) -> Iterator[None]:
    """Thread limits in the environment that spawned workers inherit (restored afterwards).

    They must be set before a worker imports numpy/OpenCV; a user's own values win.
    """
    saved = {name: os.environ.get(name) for name in _THREAD_ENV}
    for name in _THREAD_ENV:
        os.environ.setdefault(name, str(threads))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _listen(queue: Any, events: _Events, stop: threading.Event) -> None:
    import queue as queue_module

    while True:
        try:
            message = queue.get(timeout=0.1)
        except queue_module.Empty:
            if stop.is_set():
                return
            continue
        except (EOFError, OSError):
            return
        events.message(message)


def _run_pool(
    tasks: Sequence[ClipTask], workers: int, threads: int, events: _Events
) -> Iterator[ClipOutcome]:
    """One process pool over ``tasks``; yields outcomes; leaves crashed clips in ``broken``."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")  # no fork of a threaded process
    queue = context.Queue()
    stop = threading.Event()
    listener = threading.Thread(target=_listen, args=(queue, events, stop), daemon=True,
                                name="rom_measure-batch-progress")  # fmt: skip
    listener.start()
    pool = ProcessPoolExecutor(min(workers, len(tasks)), mp_context=context,
                               initializer=_init_worker, initargs=(threads, queue))  # fmt: skip
    try:
        futures = {pool.submit(run_clip, task): task for task in tasks}
        for future in as_completed(futures):
            try:
                yield future.result()
            except BrokenProcessPool:
                continue  # the caller retries what did not finish
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        stop.set()
        listener.join(timeout=5)


def _run_local(
    tasks: Sequence[ClipTask], workers: int, threads: int, events: _Events
) -> Iterator[ClipOutcome]:
    """A process pool; a pool broken by a dying worker is replaced and its clips retried."""
    pending = {t.index: t for t in tasks}
    crashes: dict[int, int] = {}
    with _thread_environment(threads):
        while pending:
            events.running.clear()
            for outcome in _run_pool(list(pending.values()), workers, threads, events):
                pending.pop(outcome.index, None)
                yield outcome
            if not pending:
                return
            suspects = [i for i in events.running if i in pending] or list(pending)
            for index in suspects:
                crashes[index] = crashes.get(index, 0) + 1
                if crashes[index] > _CRASH_RETRIES:
                    yield _failed(pending.pop(index), "the worker process died while analysing "
                                  "this clip (crash or out of memory), twice")  # fmt: skip
            log.warning("a worker process died; %d clips left to run in a new pool", len(pending))


def _run_dask(tasks: Sequence[ClipTask], options: BatchOptions, events: _Events
              ) -> Iterator[ClipOutcome]:  # fmt: skip
    """The same clips as Dask tasks on a scheduler or a local cluster."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise InputError("--scheduler/--dask-local need dask.distributed: "
                         "pip install 'rom-measure[cluster]'") from None  # fmt: skip
    import uuid

    run_id = uuid.uuid4().hex[:12]
    topic = f"rom_measure-batch-{run_id}"
    with contextlib.ExitStack() as stack:
        target: Any = options.scheduler
        if options.dask_local:
            target = stack.enter_context(LocalCluster(
                n_workers=options.dask_local, threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=logging.ERROR))  # fmt: skip
        try:
            client = stack.enter_context(Client(target, timeout="30s"))
        except (OSError, TimeoutError) as error:
            raise InputError(f"cannot connect to the Dask scheduler at {target}: {error}") from None
        client.subscribe_topic(topic, lambda event: events.message(event[1]))
        stack.callback(client.unsubscribe_topic, topic)
        work = [replace(t, progress_topic=topic) for t in tasks]
        keys = [f"rom_measure-clip-{t.index}-{run_id}" for t in work]
        futures = client.map(run_clip, work, key=keys, pure=False)
        by_future = dict(zip(futures, work, strict=True))
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as error:  # e.g. KilledWorker: the clip killed its workers
                yield _failed(by_future[future], f"the Dask worker failed: "
                              f"{type(error).__name__}: {error}")  # fmt: skip


# -- outputs -------------------------------------------------------------------------------------


def _cell(value: float | None, digits: int = 2) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _relative(path: Path, out: Path) -> str:
    return Path(os.path.relpath(path, out)).as_posix()


def write_summary(report_out: Path, outcomes: Sequence[ClipOutcome], inputs: BatchInputs) -> Path:
    """``summary.csv``: one row per clip, then the input files left out (status ``ignored``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SUMMARY_COLUMNS)
    for o in outcomes:
        j = o.job
        writer.writerow(
            [
                j.subject,
                j.visit,
                j.label,
                j.movement,
                j.side,
                j.given,
                o.status,
                _cell(o.rom_deg),
                _cell(o.uncertainty_deg),
                o.verdict,
                " | ".join(o.reasons),
                f"{o.seconds:.1f}",
                _relative(j.out_dir(report_out), report_out) if o.has_result else "",
            ]
        )
    for s in inputs.skipped:
        writer.writerow(["", "", "", "", "", s.path, "ignored", "", "", "", s.reason, "", ""])
    path = report_out / "summary.csv"
    atomic_write_text(path, buffer.getvalue())  # fmt: skip
    return path


def _pair_rows(out: Path, outcomes: Sequence[ClipOutcome]) -> list[dict[str, Any]]:
    """Pre/post comparisons of the clips matched by subject, visit, movement and side."""
    from rom_measure.visit.compare import compare_results, comparison_to_dict, load_result

    groups: dict[tuple[str, str, str, str], dict[str, ClipOutcome]] = {}
    for o in outcomes:
        j = o.job
        groups.setdefault((j.subject, j.visit, j.movement, j.side), {})[j.label] = o
    rows = []
    for (subject, visit, movement, side), pair in sorted(groups.items()):
        if set(pair) != {"pre", "post"}:
            continue
        row: dict[str, Any] = {"subject": subject, "visit": visit, "movement": movement,
                               "side": side, "pre_status": pair["pre"].status,
                               "post_status": pair["post"].status}  # fmt: skip
        missing = [k for k in ("pre", "post") if not pair[k].has_result]
        try:
            if missing:
                raise InputError(" and ".join(f"the {k} clip failed ({'; '.join(pair[k].reasons)})"
                                              for k in missing))  # fmt: skip
            data = comparison_to_dict(compare_results(
                load_result(pair["pre"].job.out_dir(out)),
                load_result(pair["post"].job.out_dir(out))))  # fmt: skip
            row = {**data, **row}
        except RomMeasureError as error:
            row.update(verdict="not available", reasons=[str(error)])
        rows.append(row)
    return rows


def write_comparisons_csv(out: Path, rows: Sequence[dict[str, Any]]) -> Path:
    from dataclasses import fields

    from rom_measure.visit.compare import Comparison

    names = [f.name for f in fields(Comparison) if f.name not in ("movement", "side", "reasons")]
    columns = [
        "subject",
        "visit",
        "movement",
        "side",
        "verdict",
        *[n for n in names if n != "verdict"],
        "pre_status",
        "post_status",
        "reasons",
    ]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        ci = row.get("ci95_deg")
        writer.writerow(
            {
                **row,
                "reasons": " | ".join(row.get("reasons") or ()),
                "ci95_deg": " to ".join(str(v) for v in ci) if ci and None not in ci else "",
            }
        )
    path = out / "comparisons.csv"
    atomic_write_text(path, buffer.getvalue())  # fmt: skip
    return path


def _report_is_current(report: Path, visit_dir: Path) -> bool:
    """The report exists and is newer than every finished analysis in the visit."""
    try:
        written = report.stat().st_mtime_ns
        return all(
            state.stat().st_mtime_ns <= written for state in visit_dir.glob(f"*/*/{STATE_FILE}")
        )
    except OSError:
        return False


def _visit_reports(visit_dirs: Sequence[Path]) -> tuple[dict[Path, Path], list[str]]:
    """Each visit's HTML report via ``rom_measure.visit.report.write_report``.

    A report newer than all of its visit's analyses is kept (a resumed batch that
    analysed nothing new in a visit does not rewrite it).
    """
    import importlib.util

    if importlib.util.find_spec("rom_measure.visit.report") is None:
        return {}, [
            "per-visit reports are not available in this version (no "
            "rom_measure.visit.report module); index.html links the visit folders instead"
        ]
    from rom_measure.visit.report import REPORT_FILE, write_report  # type: ignore[import-not-found,unused-ignore]

    reports, notes = {}, []
    for visit_dir in visit_dirs:
        existing = visit_dir / REPORT_FILE
        if _report_is_current(existing, visit_dir):
            reports[visit_dir] = existing
            continue
        try:  # the visit id goes in the notes: the report's date is not the visit's
            info = {"patient": visit_dir.parent.name, "notes": f"visit {visit_dir.name}"}
            target = write_report(visit_dir, info)
        except RomMeasureError as error:
            notes.append(f"no report for {visit_dir}: {error}")
            continue
        if target is not None and Path(target).is_file():
            reports[visit_dir] = Path(target)
        else:
            notes.append(f"write_report({visit_dir}) gave no report file")
    return reports, notes


_CSS = (
    "body{font:14px system-ui,sans-serif;margin:2em;max-width:70em}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;"
    "padding:.25em .6em;text-align:left}.failed,.rejected{color:#b00}.note{color:#555}"
)


def _link(target: Path, out: Path, text: str) -> str:
    return f'<a href="{html.escape(quote(_relative(target, out)))}">{html.escape(text)}</a>'


def _clip_row(o: ClipOutcome, out: Path) -> str:
    j, e = o.job, html.escape
    folder = j.out_dir(out)
    links = " ".join(_link(folder / n, out, n.split(".")[0]) for n in OUTPUT_FILES
                     if o.has_result and (folder / n).is_file())  # fmt: skip
    unc = f" ± {_cell(o.uncertainty_deg, 1)}" if o.uncertainty_deg is not None else ""
    rom = f"{_cell(o.rom_deg, 1)}{unc}" if o.rom_deg is not None else "—"
    return (f"<tr class='{e(o.status)}'><td>{e(j.label)}</td><td>{e(j.movement)}</td>"
            f"<td>{e(j.side)}</td><td>{e(o.status)}</td><td>{rom}</td><td>{e(o.verdict)}</td>"
            f"<td>{e('; '.join(o.reasons))}</td><td>{links}</td></tr>")  # fmt: skip


def _comparison_row(row: dict[str, Any]) -> str:
    e = html.escape
    change = "—" if row.get("change_deg") is None else f"{row['change_deg']:+.1f}"
    mdc = "—" if row.get("mdc95_deg") is None else f"{row['mdc95_deg']:.1f}"
    return (f"<tr><td>{e(row['movement'])}</td><td>{e(row['side'])}</td>"
            f"<td>{change}</td><td>{mdc}</td><td>{e(str(row.get('verdict')))}</td>"
            f"<td>{e('; '.join(row.get('reasons') or ()))}</td></tr>")  # fmt: skip


def write_index(out: Path, report: BatchReport, reports: dict[Path, Path]) -> Path:
    """``index.html``: each visit's report (or folder), its clips and its comparisons."""
    e = html.escape
    parts = [f"<!doctype html><meta charset='utf-8'><title>rom-measure batch</title>"
             f"<style>{_CSS}</style><h1>rom-measure batch</h1>"
             f"<p>{len(report.outcomes)} clips from {e(str(report.inputs.source))}; "
             + ", ".join(f"{report.count(s)} {s}" for s in STATUSES)
             + f". rom-measure {e(__version__)}, "
             f"{dt.datetime.now().astimezone().isoformat(timespec='seconds')}.</p>",
             "<p><a href='summary.csv'>summary.csv</a> · "
             "<a href='comparisons.csv'>comparisons.csv</a></p>"]  # fmt: skip
    parts += [f"<p class='note'>Note: {e(n)}</p>" for n in report.notes]
    visits: dict[tuple[str, str], list[ClipOutcome]] = {}
    for o in report.outcomes:
        visits.setdefault((o.job.subject, o.job.visit), []).append(o)
    for (subject, visit), clips in sorted(visits.items()):
        visit_dir = clips[0].job.visit_dir(out)
        target = reports.get(visit_dir)
        link = (
            _link(target, out, "report")
            if target
            else _link(visit_dir, out, "visit folder")
            if visit_dir.is_dir()
            else "no results"
        )
        parts.append(f"<h2>{e(subject)} — {e(visit)} ({link})</h2><table><tr><th>label</th>"
                     "<th>movement</th><th>side</th><th>status</th><th>ROM (deg)</th>"
                     "<th>quality</th><th>reasons</th><th>files</th></tr>"
                     + "".join(_clip_row(o, out) for o in clips) + "</table>")  # fmt: skip
        pairs = [r for r in report.comparisons if (r["subject"], r["visit"]) == (subject, visit)]
        if pairs:
            parts.append("<table><tr><th>movement</th><th>side</th><th>change (deg)</th>"
                         "<th>MDC95 (deg)</th><th>verdict</th><th>reasons</th></tr>"
                         + "".join(_comparison_row(r) for r in pairs) + "</table>")  # fmt: skip
    if report.inputs.skipped:
        parts.append(
            "<h2>Files left out</h2><ul>"
            + "".join(f"<li>{e(s.path)}: {e(s.reason)}</li>" for s in report.inputs.skipped)
            + "</ul>"
        )
    path = out / "index.html"
    atomic_write_text(path, "\n".join(parts) + "\n")
    return path


def _finish(out: Path, report: BatchReport, reports_wanted: bool = True) -> BatchReport:
    """Summary, comparisons (batch and per visit), visit reports and the index."""
    from rom_measure.visit.compare import update_visit_comparisons

    paths = {"summary": write_summary(out, report.outcomes, report.inputs)}
    visit_dirs = sorted({o.job.visit_dir(out) for o in report.outcomes if o.has_result})
    for visit_dir in visit_dirs:
        subject, visit = visit_dir.parent.name, visit_dir.name
        update_visit_comparisons(visit_dir, {"subject": subject, "visit": visit})
    rows = _pair_rows(out, report.outcomes)
    paths["comparisons"] = write_comparisons_csv(out, rows)
    if reports_wanted:
        reports, notes = _visit_reports(visit_dirs)
    else:
        reports, notes = {}, ["per-visit reports were not written (--no-reports)"]
    report = replace(report, comparisons=tuple(rows), notes=report.notes + tuple(notes))
    paths["index"] = write_index(out, report, reports)
    return replace(report, paths=paths)


# -- the batch -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _batch_lock(out: Path) -> Iterator[None]:
    import filelock

    lock = filelock.FileLock(str(out / ".batch.lock"), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise InputError(
            f"another rom-measure batch is writing to {out} (its lock "
            f"{out / '.batch.lock'} is held); wait for it to finish"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _tasks(
    inputs: BatchInputs, out: Path, options: BatchOptions, threads: int, frames: bool
) -> list[ClipTask]:
    from rom_measure.media.assets import pose_model_path

    model = pose_model_path(options.model)  # provisioned once, before any worker starts
    model_sha = sha256_of(model)
    settings = asdict(options.settings)
    return [ClipTask(i, job, job.out_dir(out), options.model, model_sha, settings,
                     options.annotate, threads, report_frames=frames)
            for i, job in enumerate(inputs.jobs)]  # fmt: skip


def _largest_first(tasks: Sequence[ClipTask]) -> list[ClipTask]:
    """Long clips start first, so the last ones to finish are short (better balance)."""

    def size(task: ClipTask) -> int:
        try:
            return task.job.path.stat().st_size
        except OSError:
            return 0

    return sorted(tasks, key=size, reverse=True)


def run_batch(
    inputs: BatchInputs,
    out: Path,
    options: BatchOptions | None = None,
    progress: Progress | None = None,
) -> BatchReport:
    """Analyse every clip of ``inputs`` into ``out`` (resuming), then write the summaries."""
    from rom_measure.visit.outputs import prepare_output_dir

    options = options or BatchOptions()
    if options.scheduler and options.dask_local:
        raise InputError("give either --scheduler or --dask-local, not both")
    if not inputs.jobs:
        raise InputError("no clips to analyse")
    out = prepare_output_dir(Path(out)).resolve()
    workers = options.workers or default_workers()
    if workers < 1:
        raise InputError("--workers must be at least 1")
    threads = options.threads_per_worker or max(1, default_workers() // workers)
    if options.scheduler or options.dask_local:
        threads = options.threads_per_worker or 1
        where = (f"a local Dask cluster of {options.dask_local} workers" if options.dask_local
                 else f"the Dask scheduler {options.scheduler}")  # fmt: skip
    else:
        where = (f"{min(workers, len(inputs.jobs))} local worker processes × {threads} "
                 f"thread{'s' if threads > 1 else ''}")  # fmt: skip
    progress = progress or LineProgress()
    start = time.perf_counter()
    with _batch_lock(out):
        tasks = _tasks(inputs, out, options, threads, getattr(progress, "wants_frames", False))
        events = _Events(progress, tasks)
        progress.begin(tasks, where)
        outcomes: dict[int, ClipOutcome] = {}
        try:
            runner = (_run_dask(_largest_first(tasks), options, events)
                      if options.scheduler or options.dask_local
                      else _run_local(_largest_first(tasks), workers, threads, events))  # fmt: skip
            for outcome in runner:
                outcomes[outcome.index] = outcome
                events.outcome(outcome)
        finally:
            progress.end()
        report = BatchReport(out, tuple(outcomes[i] for i in sorted(outcomes)), inputs, (), {},
                             (), 0.0, where)  # fmt: skip
        report = _finish(out, report, options.reports)
    return replace(report, seconds=time.perf_counter() - start)


# -- command line (thin) ---------------------------------------------------------------------------

_HELP = f"""\
Analyse many clips in parallel and pair pre/post clips.

INPUT is a folder, scanned recursively for clips named

    {FILENAME_PATTERN}

(split on '_': subject and visit may hold letters, digits, '-' and '.'; label is
pre or post; movement as listed by 'rom-measure movements'; side left or right;
ext mp4, mov, m4v, avi, mkv or webm; e.g. P07_visit2_pre_hip-flexion_left.mp4).
Other files are listed as skipped with the reason.

Or INPUT is a CSV manifest with the columns subject, visit, label, movement, side,
path (paths relative to the manifest; they must stay inside the manifest's folder
or an --allow-root folder). Every bad entry is reported by row and column.

Results go to OUT/<subject>/<visit>/<label>/<movement>_<side>/ as 'analyze' writes
them, plus OUT/summary.csv, OUT/comparisons.csv and OUT/index.html. A rerun skips
clips already finished with the same input content and settings.

Exit status: 0 every clip has a ROM; 1 some clips failed or were rejected;
2 bad input (e.g. manifest errors).
"""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def print_report(report: BatchReport) -> None:
    """Counts, the clips without a ROM, the comparisons and the files written."""
    counts = ", ".join(f"{report.count(s)} {s}" for s in STATUSES)
    print(f"\n{len(report.outcomes)} clips in {report.seconds:.0f} s: {counts}")
    if report.inputs.skipped:
        print(f"{len(report.inputs.skipped)} input files left out (listed in summary.csv)")
    problems = report.without_rom
    if problems:
        print(f"{len(problems)} clips without a ROM:")
        for o in problems:
            why = "; ".join(o.reasons) or o.verdict
            print(f"  {o.job.name} ({o.job.given}): {o.verdict or o.status} - {why}")
    if report.comparisons:
        print(f"{len(report.comparisons)} pre/post comparisons:")
        for row in report.comparisons:
            change = row.get("change_deg")
            text = "" if change is None else f" {change:+.1f} deg (MDC95 {row['mdc95_deg']:.1f})"
            print(f"  {row['subject']}/{row['visit']} {row['movement']} ({row['side']}):"
                  f"{text} {row['verdict']}")  # fmt: skip
    for note in report.notes:
        print(f"note: {note}")
    print(f"written to {report.out}/: " + ", ".join(p.name for p in report.paths.values()))


def cmd_batch(args: argparse.Namespace) -> int:
    inputs = collect_inputs(args.input, args.out, args.allow_root)
    if inputs.skipped:
        print(f"skipped {len(inputs.skipped)} files that are not clips named {FILENAME_PATTERN}:")
        for s in inputs.skipped[:20]:
            print(f"  {s.path}: {s.reason}")
        if len(inputs.skipped) > 20:
            print(f"  ... and {len(inputs.skipped) - 20} more (all in summary.csv)")
    options = BatchOptions(
        workers=args.workers,
        threads_per_worker=args.threads_per_worker,
        model=args.model,
        settings=AnalysisSettings(lowpass_hz=args.lowpass_hz),
        annotate=args.annotate,
        scheduler=args.scheduler,
        dask_local=args.dask_local,
        reports=args.reports,
    )
    progress = TerminalProgress() if sys.stdout.isatty() else LineProgress()
    report = run_batch(inputs, args.out, options, progress)
    print_report(report)
    return report.exit_code


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``batch`` command."""
    p = sub.add_parser(
        "batch",
        help="analyse a folder or manifest of clips in parallel",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", type=Path, help="folder of clips, or a manifest .csv")
    p.add_argument("--out", "-o", type=Path, required=True, help="output folder")
    p.add_argument(
        "--workers",
        "-j",
        type=_positive_int,
        help=f"local worker processes (default: cores, here {default_workers()})",
    )
    p.add_argument(
        "--threads-per-worker",
        type=_positive_int,
        help="OpenCV/BLAS threads per worker (default: cores / workers)",
    )
    p.add_argument(
        "--allow-root",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="also allow manifest paths inside DIR (repeatable)",
    )
    p.add_argument("--model", help="pose landmarker .task file (default: cached full model)")
    p.add_argument("--lowpass-hz", type=float, default=None, help="low-pass cut-off override")
    p.add_argument(
        "--no-annotate", dest="annotate", action="store_false", help="do not write annotated videos"
    )
    p.add_argument(
        "--no-reports",
        dest="reports",
        action="store_false",
        help="do not write the per-visit HTML reports (faster)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a dask.distributed scheduler, e.g. tcp://host:8786",
    )
    where.add_argument(
        "--dask-local",
        type=_positive_int,
        metavar="N",
        help="run on a local Dask cluster of N worker processes",
    )
    p.set_defaults(func=cmd_batch)  # fmt: skip
