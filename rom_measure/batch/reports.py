"""The visit reports a batch writes at the end, several visits at once."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from pathlib import Path

from rom_measure.batch.state import STATE_FILE
from rom_measure.errors import RomMeasureError

__all__ = ["visit_reports"]


def _report_is_current(report: Path, visit_dir: Path) -> bool:
    """The report exists and is newer than every finished analysis in the visit."""
    try:
        written = report.stat().st_mtime_ns
        return all(
            state.stat().st_mtime_ns <= written for state in visit_dir.glob(f"*/*/{STATE_FILE}")
        )
    except OSError:
        return False


def _one_report(visit_dir: Path) -> tuple[Path | None, str]:
    """(the report, "") or (None, why not) for one visit folder; never raises, so that
    one visit's failure leaves the others' reports and the index."""
    from rom_measure.visit.report import write_report

    try:  # the visit id goes in the notes: the report's date is not the visit's
        info = {"patient": visit_dir.parent.name, "notes": f"visit {visit_dir.name}"}
        target = write_report(visit_dir, info)
    except RomMeasureError as error:
        return None, f"no report for {visit_dir}: {error}"
    except Exception as error:  # failure isolation, as for the clips
        return None, f"no report for {visit_dir}: {type(error).__name__}: {error}"
    if target is not None and Path(target).is_file():
        return Path(target), ""
    return None, f"write_report({visit_dir}) gave no report file"


def _written(
    todo: list[Path], workers: int, threads: int, executor: Callable[[], Executor] | None = None
) -> list[tuple[Path | None, str]]:
    """Each visit's report: on ``executor()`` (the batch's warm worker pool) if given,
    else in ``workers`` new processes (set up as the batch's workers: ``threads``
    OpenCV/BLAS threads, ending with the batch) when there are several visits, else
    here; a report decodes key frames and draws curves, about 2 s for 4 clips."""
    if not todo:
        return []
    if executor is not None:
        return _collected(todo, executor())
    if workers <= 1 or len(todo) <= 1:
        return [_one_report(v) for v in todo]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from rom_measure.batch.worker import init_worker

    context = multiprocessing.get_context("spawn")  # no fork of a threaded process
    processes = min(workers, len(todo))
    setup = {"initializer": init_worker, "initargs": (threads, None)}
    with ProcessPoolExecutor(processes, mp_context=context, **setup) as pool:
        return _collected(todo, pool)


def _collected(todo: list[Path], pool: Executor) -> list[tuple[Path | None, str]]:
    """The reports of ``todo`` written on ``pool``, in order; a dead process is a note."""
    futures = [pool.submit(_one_report, v) for v in todo]
    out = []
    for visit_dir, future in zip(todo, futures, strict=True):
        try:
            out.append(future.result())
        except Exception as error:  # e.g. the process died
            out.append((None, f"no report for {visit_dir}: {type(error).__name__}: {error}"))
    return out


def visit_reports(
    visit_dirs: Sequence[Path],
    workers: int = 1,
    threads: int = 1,
    executor: Callable[[], Executor] | None = None,
) -> tuple[dict[Path, Path], list[str]]:
    """Each visit's HTML report via ``rom_measure.visit.report.write_report`` (on
    ``executor()`` if given: see :func:`_written`).

    A report newer than all of its visit's analyses is kept (a resumed batch that
    analysed nothing new in a visit does not rewrite it).
    """
    if importlib.util.find_spec("rom_measure.visit.report") is None:
        return {}, [
            "per-visit reports are not available in this version (no "
            "rom_measure.visit.report module); index.html links the visit folders instead"
        ]
    from rom_measure.visit.report import REPORT_FILE

    reports: dict[Path, Path] = {}
    todo = []
    for visit_dir in visit_dirs:
        existing = visit_dir / REPORT_FILE
        if _report_is_current(existing, visit_dir):
            reports[visit_dir] = existing
        else:
            todo.append(visit_dir)
    notes = []
    written = _written(todo, workers, threads, executor)
    for visit_dir, (target, why) in zip(todo, written, strict=True):
        if target is not None:
            reports[visit_dir] = target
        else:
            notes.append(why)
    return reports, notes
