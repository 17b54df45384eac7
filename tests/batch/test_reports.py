"""Visit reports at the end of a batch: one visit's failure leaves the others'."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from rom_measure.batch.reports import visit_reports


@pytest.mark.parametrize("workers", [1, 2])
def test_a_visit_without_analyses_gets_a_note_and_the_others_a_report(
    tmp_path: Path, workers: int
) -> None:
    good, empty = tmp_path / "P1" / "v1", tmp_path / "P2" / "v1"
    clip = good / "pre" / "hip-flexion_left"
    clip.mkdir(parents=True)
    (clip / "results.json").write_text("{not json")  # unreadable: the report says so
    empty.mkdir(parents=True)
    reports, notes = visit_reports([good, empty], workers=workers)
    assert list(reports) == [good] and reports[good].is_file()
    assert "cannot be read" in reports[good].read_text(encoding="utf-8")
    assert len(notes) == 1 and notes[0].startswith(f"no report for {empty}: ")
    again, _ = visit_reports([good], workers=workers)  # newer than its analyses: kept
    assert again[good].stat().st_mtime_ns == reports[good].stat().st_mtime_ns


class _CountingPool(ProcessPoolExecutor):
    """A real process pool that counts what it is given."""

    def __init__(self) -> None:
        super().__init__(1, mp_context=multiprocessing.get_context("spawn"))
        self.submitted = 0

    def submit(self, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        self.submitted += 1
        return super().submit(*args, **kwargs)


def test_the_reports_are_written_on_the_pool_they_are_given(tmp_path: Path) -> None:
    """The batch hands its warm worker pool over: no second pool starts for the reports."""
    good, empty = tmp_path / "P1" / "v1", tmp_path / "P2" / "v1"
    clip = good / "pre" / "hip-flexion_left"
    clip.mkdir(parents=True)
    (clip / "results.json").write_text("{not json")
    empty.mkdir(parents=True)
    with _CountingPool() as pool:
        reports, notes = visit_reports([good, empty], workers=2, executor=lambda: pool)
        assert pool.submitted == 2
    assert list(reports) == [good] and "cannot be read" in reports[good].read_text("utf-8")
    assert len(notes) == 1 and notes[0].startswith(f"no report for {empty}: ")
