"""Background analysis in a process pool; the database row is the job's state.

A clip row is ``queued`` when its video is stored, ``running`` while a worker analyses
it, then ``done`` (its results.json written and made current) or ``failed`` (one-line
error). A restart resubmits every queued or running clip, so no job is lost, and a
finished one is never redone.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import select

__all__ = ["AnalysisQueue", "analyze_clip"]

log = logging.getLogger(__name__)
_ENGINES: dict[str, Any] = {}


def _session(url: str) -> Any:
    from rom_measure.web.db import make_engine, session_factory

    if url not in _ENGINES:
        _ENGINES[url] = make_engine(url)
    return session_factory(_ENGINES[url])()


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:500]


def analyze_clip(url: str, data_dir: str, clip_id: int, model: str | None, annotate: bool) -> str:
    """Analyse one stored clip (runs in a worker process); returns its final status."""
    from filelock import FileLock

    from rom_measure.visit.compare import update_visit_comparisons, visit_clip_dir
    from rom_measure.visit.outputs import analyze_to_folder
    from rom_measure.web.files import promote_run, visit_dir
    from rom_measure.web.models import Clip

    with _session(url) as db:
        clip = db.get(Clip, clip_id)
        if clip is None or clip.status in ("done", "failed"):
            return clip.status if clip else "missing"
        clip.status = "running"
        db.commit()
        folder = visit_dir(Path(data_dir), clip.visit.patient.uid, clip.visit.uid)
        video, run = folder / "clips" / clip.video_name, folder / "runs" / clip.uid
        try:
            result, _ = analyze_to_folder(clip.movement, clip.side, run, video=video,
                                          model=model, annotate=annotate)  # fmt: skip
            with FileLock(str(folder / ".visit.lock"), timeout=300):
                promote_run(run, visit_clip_dir(folder, clip.label, clip.movement, clip.side))
                update_visit_comparisons(folder)
            data = result.to_dict()
            clip.rom_deg, clip.uncertainty_deg = data["rom_deg"], data["uncertainty_deg"]
            clip.verdict, clip.status = data["quality"]["verdict"], "done"
        except Exception as error:  # any failure becomes a one-line message on the clip
            log.warning("analysis of clip %s failed: %s", clip_id, error)
            clip.status, clip.error = "failed", _first_line(error)
        clip.finished = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        db.commit()
        return clip.status


class AnalysisQueue:
    """A pool of analysis processes fed from the clips table."""

    def __init__(self, url: str, data_dir: Path, workers: int = 1,
                 model: str | None = None, annotate: bool = True) -> None:  # fmt: skip
        self.url, self.data_dir, self.model, self.annotate = url, str(data_dir), model, annotate
        self.workers, self._closed, self._lock = max(1, workers), False, threading.Lock()
        self._pool = self._new_pool()
        self.futures: dict[int, Future] = {}

    def _new_pool(self) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded server
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=context)

    def submit(self, clip_id: int) -> Future:
        pool = self._pool
        future = pool.submit(
            analyze_clip, self.url, self.data_dir, clip_id, self.model, self.annotate
        )
        self.futures[clip_id] = future
        future.add_done_callback(lambda done: self._finished(clip_id, done, pool))
        return future

    def _finished(self, clip_id: int, future: Future, pool: ProcessPoolExecutor) -> None:
        """A worker that died (e.g. out of memory) fails its clip; queued ones go on."""
        from concurrent.futures import CancelledError
        from concurrent.futures.process import BrokenProcessPool

        from rom_measure.web.models import Clip

        try:
            error = future.exception()
        except CancelledError:
            return  # shutting down: the clip stays pending and resumes at the next start
        if error is None or self._closed:
            return
        with _session(self.url) as db:
            clip = db.get(Clip, clip_id)
            if clip is None or clip.status in ("done", "failed"):
                return
            if clip.status == "running" or not isinstance(error, BrokenProcessPool):
                clip.status, clip.error = "failed", f"the analysis process stopped: {error}"[:500]
                db.commit()
                return
        with self._lock:  # a queued clip of a broken pool: a fresh pool takes it
            if self._pool is pool:
                self._pool = self._new_pool()
        self.submit(clip_id)

    def resume(self, session: Any) -> list[int]:
        """Resubmit every queued or running clip (after a crash or a restart)."""
        from rom_measure.web.models import Clip

        pending = session.scalars(
            select(Clip.id).where(Clip.status.in_(("queued", "running"))).order_by(Clip.id)
        ).all()
        for clip_id in pending:
            self.submit(clip_id)
        if pending:
            log.info("resumed %d queued analyses", len(pending))
        return list(pending)

    def shutdown(self, wait: bool = False) -> None:
        self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def kill(self) -> None:
        """Stop the workers at once (a crash, for tests); their clips stay pending."""
        self._closed = True
        for process in list(getattr(self._pool, "_processes", {}).values()):
            process.kill()
        self._pool.shutdown(wait=False, cancel_futures=True)
