"""``rom-measure batch``: the thin command-line part (arguments, printed report)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from rom_measure._options import number
from rom_measure.batch.inputs import FILENAME_PATTERN, collect_inputs
from rom_measure.batch.progress import LineProgress, TerminalProgress
from rom_measure.batch.run import BatchOptions, default_workers, run_batch
from rom_measure.batch.state import STATUSES, BatchReport
from rom_measure.measure.analysis import AnalysisSettings

__all__ = ["cmd_batch", "print_report", "register"]

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

Workers: by default one local worker process per 1.2 usable cores, rounded
(2 cores: 2 workers, 4: 3, 8: 7, 16: 13), since each clip's pose model already
keeps about 1.2 cores busy on its own threads; at most one worker per 1 GB of
available memory. Usable cores and memory are this process's CPU affinity and
free memory, capped by a container's limits. Each worker gets cores / workers
OpenCV/BLAS threads. --workers and --threads-per-worker override both.

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
        settings=dataclasses.replace(
            getattr(getattr(args, "settings", None), "analysis", AnalysisSettings()),
            lowpass_hz=args.lowpass_hz,
        ),
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
        help=f"local worker processes (default: one per 1.2 cores, see above; "
        f"here {default_workers()})",
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
    p.add_argument(
        "--lowpass-hz",
        type=number(float, 0.0, strict=True),
        default=None,
        help="low-pass cut-off override (Hz)",
    )
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
