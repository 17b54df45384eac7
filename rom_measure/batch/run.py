"""Batch processing of saved clips: parallel, resumable, with pre/post pairing.

Inputs are a folder of clips named ``<subject>_<visit>_<label>_<movement>_<side>.<ext>``
(split on underscores; e.g. ``P07_visit2_pre_hip-flexion_left.mp4``) or a CSV
manifest with the columns subject, visit, label, movement, side, path (see
:mod:`rom_measure.batch.inputs`).

Each clip is analysed exactly as ``rom-measure analyze --out`` does
(:func:`rom_measure.visit.outputs.analyze_to_folder`) into
``OUT/<subject>/<visit>/<label>/<movement>_<side>/``, so every ``OUT/<subject>/<visit>/``
is a visit folder for :func:`rom_measure.visit.compare.update_visit_comparisons`.

Resuming: a clip whose ``done.json`` record matches its input and settings is
skipped (:mod:`rom_measure.batch.state`); killing a batch loses at most the clips
in flight.

Failures are isolated: a clip that cannot be read or analysed is recorded as
``failed`` with its reason and the batch goes on; a worker process that dies is
replaced and its clip retried once. At the end ``OUT/summary.csv`` (one row per
clip), ``OUT/comparisons.csv`` (pre/post pairs by subject, visit, movement, side),
each visit's ``comparison.json/.csv`` and ``OUT/index.html`` are written atomically.

Execution runs on a local process pool, or on ``dask.distributed`` (an existing
scheduler, or a local cluster); both call :func:`rom_measure.batch.worker.run_clip`
per clip. The modules: ``run`` (this one: options, scheduling), ``worker`` (one
clip), ``state`` (work orders, outcomes, ``done.json``), ``progress``, ``summary``
(the files written at the end) and ``command`` (the ``batch`` command line).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from rom_measure.batch.inputs import BatchInputs
from rom_measure.batch.progress import Events, LineProgress, Progress, TerminalProgress
from rom_measure.batch.state import (
    STATE_FILE,
    STATUSES,
    BatchReport,
    ClipOutcome,
    ClipTask,
    read_state,
)
from rom_measure.batch.summary import finish
from rom_measure.batch.worker import THREAD_ENV, failed, init_worker, run_clip
from rom_measure.errors import InputError
from rom_measure.measure.analysis import AnalysisSettings
from rom_measure.media.assets import sha256_of

__all__ = [  # names from the other batch modules are re-exported for existing imports
    "STATE_FILE",
    "STATUSES",
    "BatchOptions",
    "BatchReport",
    "ClipOutcome",
    "ClipTask",
    "LineProgress",
    "Progress",
    "TerminalProgress",
    "available_cores",
    "default_workers",
    "read_state",
    "run_batch",
    "run_clip",
]

log = logging.getLogger(__name__)

_CRASH_RETRIES = 1  # a clip whose worker process died is retried this many times


@dataclass(frozen=True)
class BatchOptions:
    """How to run a batch.

    Attributes:
        workers: local worker processes (None: :func:`default_workers`).
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


CORES_PER_WORKER = 1.2  # MediaPipe runs its graph on its own threads: ~1.2 cores per clip
MEMORY_PER_WORKER = 1 << 30  # bytes a worker (peak RSS ~0.6 GB; annotating or reporting ~0.7)


def _cgroup_value(name: str) -> list[str] | None:
    """The fields of a cgroup v2 limit file of this process (None: none or unlimited)."""
    try:
        fields = Path("/sys/fs/cgroup", name).read_text(encoding="ascii").split()
    except OSError:
        return None
    return None if not fields or fields[0] == "max" else fields


def available_cores() -> int:
    """Cores this process may use: its CPU affinity, capped by a container's CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    quota = _cgroup_value("cpu.max")  # "QUOTA PERIOD" in microseconds
    with contextlib.suppress(ValueError, IndexError, ZeroDivisionError, TypeError):
        cores = min(cores, max(1, math.ceil(int(quota[0]) / int(quota[1]))))  # type: ignore[index]
    return cores


def _available_memory() -> int | None:
    """Bytes available to new processes: ``MemAvailable``, capped by a container's limit."""
    available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    limit, used = _cgroup_value("memory.max"), _cgroup_value("memory.current")
    with contextlib.suppress(ValueError, IndexError, TypeError):
        free = int(limit[0]) - int(used[0])  # type: ignore[index]
        available = free if available is None else min(available, free)
    return available


def default_workers() -> int:
    """Local worker processes when none are given.

    One worker per ``CORES_PER_WORKER`` usable cores, rounded to the nearest (2 cores:
    2, 4: 3, 8: 7, 16: 13), at least 1, and no more than ``MEMORY_PER_WORKER`` fits
    in the available memory. Each clip's MediaPipe graph already keeps ~1.2 cores
    busy, so one worker per core would oversubscribe a big machine; fewer would
    leave cores idle on a small one.
    """
    workers = max(1, math.floor(available_cores() / CORES_PER_WORKER + 0.5))
    memory = _available_memory()
    if memory is not None:
        workers = min(workers, max(1, memory // MEMORY_PER_WORKER))
    return workers


@contextlib.contextmanager
def _thread_environment(threads: int) -> Iterator[None]:
    """Thread limits in the environment that spawned workers inherit (restored afterwards).

    They must be set before a worker imports numpy/OpenCV; a user's own values win.
    """
    saved = {name: os.environ.get(name) for name in THREAD_ENV}
    for name in THREAD_ENV:
        os.environ.setdefault(name, str(threads))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _listen(queue: Any, events: Events, stop: threading.Event) -> None:
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


class _LocalWorkers:
    """The batch's local worker processes: the clips, then (still warm) the visit reports.

    A pool broken by a dying worker is replaced and its clips retried; the last pool
    stays open after the clips so that the reports skip a second start-up (spawn and
    imports, about 1.3 s a process). Use as a context manager.
    """

    def __init__(self, workers: int, threads: int, events: Events) -> None:
        import multiprocessing

        self.workers, self.threads, self.events = workers, threads, events
        self._context = multiprocessing.get_context("spawn")  # no fork of a threaded process
        self._queue = self._context.Queue()
        self._stop = threading.Event()
        self._listener = threading.Thread(
            target=_listen, args=(self._queue, events, self._stop), daemon=True,
            name="rom_measure-batch-progress",
        )  # fmt: skip
        self._pool: Any = None
        self._environment = _thread_environment(threads)

    def __enter__(self) -> _LocalWorkers:
        self._environment.__enter__()
        self._listener.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._shutdown()
        finally:
            self._stop.set()
            self._listener.join(timeout=5)
            self._environment.__exit__(*exc)

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def executor(self, processes: int | None = None) -> Any:
        """The open pool (a new one if there is none or it broke)."""
        from concurrent.futures import ProcessPoolExecutor

        if self._pool is not None and getattr(self._pool, "_broken", False):
            self._shutdown()
        if self._pool is None:
            self._pool = ProcessPoolExecutor(processes or self.workers, mp_context=self._context,
                                             initializer=init_worker,
                                             initargs=(self.threads, self._queue))  # fmt: skip
        return self._pool

    def _one_pool(self, tasks: Sequence[ClipTask]) -> Iterator[ClipOutcome]:
        """The clips on one pool; a crashed clip is left for :meth:`clips` to retry."""
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        pool = self.executor(min(self.workers, len(tasks)))
        try:
            futures = {pool.submit(run_clip, task): task for task in tasks}
            for future in as_completed(futures):
                try:
                    yield future.result()
                except BrokenProcessPool:
                    continue  # retried on a new pool
        except BaseException:  # e.g. Ctrl-C: queued clips are cancelled, running ones end
            pool.shutdown(wait=False, cancel_futures=True)
            raise

    def clips(self, tasks: Sequence[ClipTask]) -> Iterator[ClipOutcome]:
        """Each clip's outcome; a clip whose worker died twice is ``failed``."""
        pending = {t.index: t for t in tasks}
        crashes: dict[int, int] = {}
        while pending:
            self.events.running.clear()
            for outcome in self._one_pool(list(pending.values())):
                pending.pop(outcome.index, None)
                yield outcome
            if not pending:
                return
            self._shutdown()  # broken: the next round starts a new pool
            suspects = [i for i in self.events.running if i in pending] or list(pending)
            for index in suspects:
                crashes[index] = crashes.get(index, 0) + 1
                if crashes[index] > _CRASH_RETRIES:
                    yield failed(pending.pop(index), "the worker process died while analysing "
                                  "this clip (crash or out of memory), twice")  # fmt: skip
            log.warning("a worker process died; %d clips left to run in a new pool", len(pending))


def _run_dask(tasks: Sequence[ClipTask], options: BatchOptions, events: Events
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
                yield failed(by_future[future], f"the Dask worker failed: "
                              f"{type(error).__name__}: {error}")  # fmt: skip


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
    threads = options.threads_per_worker or max(1, available_cores() // workers)
    if options.scheduler or options.dask_local:
        threads = options.threads_per_worker or 1
        where = (f"a local Dask cluster of {options.dask_local} workers" if options.dask_local
                 else f"the Dask scheduler {options.scheduler}")  # fmt: skip
    else:
        where = (f"{min(workers, len(inputs.jobs))} local worker processes × {threads} "
                 f"thread{'s' if threads > 1 else ''}")  # fmt: skip
    progress = progress or LineProgress()
    start = time.perf_counter()
    local = not (options.scheduler or options.dask_local)  # a cluster's cores are not here
    with _batch_lock(out), contextlib.ExitStack() as stack:
        tasks = _tasks(inputs, out, options, threads, getattr(progress, "wants_frames", False))
        events = Events(progress, tasks)
        progress.begin(tasks, where)
        outcomes: dict[int, ClipOutcome] = {}
        pool = stack.enter_context(_LocalWorkers(workers, threads, events)) if local else None
        try:
            runner = (pool.clips(_largest_first(tasks)) if pool is not None
                      else _run_dask(_largest_first(tasks), options, events))  # fmt: skip
            for outcome in runner:
                outcomes[outcome.index] = outcome
                events.outcome(outcome)
        finally:
            progress.end()
        report = BatchReport(out, tuple(outcomes[i] for i in sorted(outcomes)), inputs, (), {},
                             (), 0.0, where)  # fmt: skip
        report = finish(out, report, options.reports, workers if local else 1, threads,
                        pool.executor if pool is not None else None)  # fmt: skip
    return replace(report, seconds=time.perf_counter() - start)
