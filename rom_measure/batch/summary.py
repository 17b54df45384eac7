"""What a batch writes at the end: summary.csv, comparisons.csv, visit reports, index.html."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rom_measure._fileio import atomic_write_text
from rom_measure._version import __version__
from rom_measure.batch.inputs import BatchInputs
from rom_measure.batch.reports import visit_reports
from rom_measure.batch.state import OUTPUT_FILES, STATUSES, BatchReport, ClipOutcome
from rom_measure.errors import InputError, RomMeasureError

__all__ = ["SUMMARY_COLUMNS", "finish", "write_comparisons_csv", "write_index", "write_summary"]

SUMMARY_COLUMNS = ("subject", "visit", "label", "movement", "side", "path", "status", "rom_deg",
                   "uncertainty_deg", "verdict", "reasons", "seconds", "output")  # fmt: skip


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


def finish(
    out: Path,
    report: BatchReport,
    reports_wanted: bool = True,
    workers: int = 1,
    threads: int = 1,
    executor: Callable[[], Executor] | None = None,
) -> BatchReport:
    """Summary, comparisons (batch and per visit), visit reports (on ``executor()``, the
    batch's still-open worker pool, else ``workers`` new processes of ``threads``
    threads) and the index."""
    from rom_measure.visit.compare import update_visit_comparisons

    paths = {"summary": write_summary(out, report.outcomes, report.inputs)}
    visit_dirs = sorted({o.job.visit_dir(out) for o in report.outcomes if o.has_result})
    for visit_dir in visit_dirs:
        subject, visit = visit_dir.parent.name, visit_dir.name
        update_visit_comparisons(visit_dir, {"subject": subject, "visit": visit})
    rows = _pair_rows(out, report.outcomes)
    paths["comparisons"] = write_comparisons_csv(out, rows)
    if reports_wanted:
        reports, notes = visit_reports(visit_dirs, workers, threads, executor)
    else:
        reports, notes = {}, ["per-visit reports were not written (--no-reports)"]
    report = replace(report, comparisons=tuple(rows), notes=report.notes + tuple(notes))
    paths["index"] = write_index(out, report, reports)
    return replace(report, paths=paths)
