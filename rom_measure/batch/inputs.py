"""Inputs of a batch: a folder of clips named by a pattern, or a CSV manifest.

Folder
    Scanned recursively; every clip's file name must follow::

        <subject>_<visit>_<label>_<movement>_<side>.<ext>

    split on underscores (movement names contain hyphens, so ids must not contain
    ``_``): ``subject`` and ``visit`` are letters, digits, ``-`` and ``.``;
    ``label`` is ``pre`` or ``post``; ``movement`` is a name from
    ``rom-measure movements``; ``side`` is ``left`` or ``right``; ``ext`` is a video
    extension (mp4, mov, m4v, avi, mkv, webm). Example: ``P07_visit2_pre_hip-flexion_left.mp4``.
    Label, movement and side are case-insensitive. Files that do not match are
    listed as skipped with the reason; hidden files and folders (``.name``) and the
    output folder are left out.

Manifest
    A CSV file (UTF-8, comma separated, header row) with the columns ``subject``,
    ``visit``, ``label``, ``movement``, ``side``, ``path`` (extra columns are
    ignored). ``path`` is relative to the manifest's folder (or absolute) and must
    lie inside an allowed root: the manifest's folder, plus any ``--allow-root``.
    Every bad entry is reported at once, naming its row (numbered as in a
    spreadsheet: the header is row 1) and column.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rom_measure.errors import InputError

__all__ = [
    "FILENAME_PATTERN",
    "LABELS",
    "MANIFEST_COLUMNS",
    "VIDEO_EXTENSIONS",
    "BatchInputs",
    "ClipJob",
    "SkippedFile",
    "collect_inputs",
    "parse_clip_name",
    "read_manifest",
    "resolve_inside",
    "scan_folder",
]

FILENAME_PATTERN = "<subject>_<visit>_<label>_<movement>_<side>.<ext>"
LABELS = ("pre", "post")
MANIFEST_COLUMNS = ("subject", "visit", "label", "movement", "side", "path")
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm"})
_FILE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")  # subject/visit in a file name
_MANIFEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # ... in a manifest (also '_')
_MAX_PROBLEMS_SHOWN = 50


@dataclass(frozen=True)
class ClipJob:
    """One clip to analyse and where it came from.

    Attributes:
        subject: subject id (a folder name in the output).
        visit: visit id (a folder name in the output).
        label: ``pre`` or ``post``.
        movement: movement name.
        side: ``left`` or ``right``.
        path: the video, absolute and resolved.
        given: the path as the user wrote it (manifest) or relative to the folder.
        origin: where the entry came from, e.g. ``manifest.csv row 4``.
    """

    subject: str
    visit: str
    label: str
    movement: str
    side: str
    path: Path
    given: str
    origin: str

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.subject, self.visit, self.label, self.movement, self.side)

    @property
    def name(self) -> str:
        """``subject/visit/label/movement_side``: the clip's place in the output."""
        return f"{self.subject}/{self.visit}/{self.label}/{self.movement}_{self.side}"

    def visit_dir(self, out_root: Path) -> Path:
        return Path(out_root) / self.subject / self.visit

    def out_dir(self, out_root: Path) -> Path:
        """``OUT/<subject>/<visit>/<label>/<movement>_<side>/`` (a visit folder layout)."""
        from rom_measure.visit.compare import visit_clip_dir

        return visit_clip_dir(self.visit_dir(out_root), self.label, self.movement, self.side)


@dataclass(frozen=True)
class SkippedFile:
    """A file in the input folder that is not a clip to analyse, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class BatchInputs:
    """The clips of a batch, the files left out, and the folder or manifest they came from."""

    jobs: tuple[ClipJob, ...]
    skipped: tuple[SkippedFile, ...]
    source: Path


def _movement_names() -> tuple[str, ...]:
    from rom_measure.measure.movements import MOVEMENTS

    return tuple(MOVEMENTS)


def _check_choice(value: str, choices: Sequence[str], what: str) -> str:
    lowered = value.strip().lower()
    if lowered not in choices:
        shown = ", ".join(choices) if len(choices) <= 3 else "see 'rom-measure movements'"
        raise ValueError(f"{value!r} is not a known {what} ({shown})")
    return lowered


def _check_id(value: str, what: str, pattern: re.Pattern[str]) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"{what} is empty")
    if not pattern.fullmatch(value):
        allowed = "letters, digits, '-', '.'" + (", '_'" if pattern is _MANIFEST_ID else "")
        raise ValueError(f"{what} {value!r} may only hold {allowed} and must start with a "
                         "letter or digit")  # fmt: skip
    return value


def parse_clip_name(name: str) -> tuple[str, str, str, str, str]:
    """(subject, visit, label, movement, side) from a file name; ValueError says why not."""
    path = Path(name)
    if path.suffix.lower() not in VIDEO_EXTENSIONS:
        raise ValueError(f"not a video file extension ({path.suffix or 'none'})")
    parts = path.stem.split("_")
    if len(parts) != 5:
        raise ValueError(f"name has {len(parts)} '_'-separated parts, expected 5: "
                         f"{FILENAME_PATTERN}")  # fmt: skip
    subject, visit, label, movement, side = parts
    return (
        _check_id(subject, "subject", _FILE_ID),
        _check_id(visit, "visit", _FILE_ID),
        _check_choice(label, LABELS, "label"),
        _check_choice(movement, _movement_names(), "movement"),
        _check_choice(side, ("left", "right"), "side"),
    )


def resolve_inside(raw: str, base: Path, roots: Sequence[Path]) -> Path:
    """Resolve ``raw`` (relative to ``base``) and require it inside one of ``roots``.

    Symbolic links are followed before the check, so neither ``..`` nor a link can
    lead outside the allowed folders. Raises ValueError with the reason.
    """
    text = raw.strip()
    if not text:
        raise ValueError("path is empty")
    path = Path(text).expanduser()
    full = (path if path.is_absolute() else Path(base) / path).resolve()
    resolved_roots = [Path(r).resolve() for r in roots]
    if not any(full.is_relative_to(root) for root in resolved_roots):
        allowed = ", ".join(str(r) for r in resolved_roots)
        raise ValueError(f"{text} resolves to {full}, outside the allowed folders ({allowed}); "
                         "add --allow-root DIR to allow another folder")  # fmt: skip
    if not full.exists():
        raise ValueError(f"{text} not found (looked for {full})")
    if not full.is_file():
        raise ValueError(f"{text} is not a file ({full})")
    return full


def _walk_files(folder: Path, exclude: Sequence[Path]) -> Iterable[Path]:
    """Files under ``folder`` (symbolic links to folders not followed; hidden entries skipped)."""
    excluded = {Path(e).resolve() for e in exclude}
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (here / d).resolve() not in excluded)  # fmt: skip
        for name in sorted(files):
            if not name.startswith("."):
                yield here / name


def scan_folder(
    folder: Path, exclude: Sequence[Path] = (), allow_roots: Sequence[Path] = ()
) -> BatchInputs:
    """Clips named ``FILENAME_PATTERN`` under ``folder``; everything else is skipped.

    Two files naming the same subject/visit/label/movement/side are both skipped
    (which one is meant cannot be known).
    """
    folder = Path(folder)
    roots = [folder, *allow_roots]
    found: dict[tuple[str, ...], list[ClipJob]] = {}
    skipped: list[SkippedFile] = []
    for file in _walk_files(folder, exclude):
        given = file.relative_to(folder).as_posix()
        try:
            subject, visit, label, movement, side = parse_clip_name(file.name)
            path = resolve_inside(given, folder, roots)
        except ValueError as error:
            skipped.append(SkippedFile(given, str(error)))
            continue
        job = ClipJob(subject, visit, label, movement, side, path, given, "file name")
        found.setdefault(job.key, []).append(job)
    jobs = []
    for same in found.values():
        if len(same) == 1:
            jobs.append(same[0])
            continue
        names = ", ".join(j.given for j in same)
        skipped += [SkippedFile(j.given, f"several clips for {j.name} ({names}): rename all "
                                "but one") for j in same]  # fmt: skip
    return BatchInputs(tuple(sorted(jobs, key=lambda j: j.key)), tuple(skipped), folder)


def _read_rows(manifest: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{manifest} is not UTF-8 text ({error.reason} at byte "
                         f"{error.start})") from None  # fmt: skip
    except OSError as error:
        raise InputError(f"cannot read manifest {manifest}: {error.strerror}") from None
    try:
        records = list(csv.reader(text.splitlines()))
    except csv.Error as error:
        raise InputError(f"{manifest} is not a readable CSV file: {error}") from None
    numbered = [(n, r) for n, r in enumerate(records, start=1) if any(c.strip() for c in r)]
    if not numbered:
        raise InputError(f"manifest {manifest} is empty")
    header = [c.strip().lower() for c in numbered[0][1]]
    return header, numbered[1:]


def _check_header(manifest: Path, header: list[str]) -> None:
    missing = [c for c in MANIFEST_COLUMNS if c not in header]
    if missing:
        semicolons = ";" in ",".join(header)
        hint = " (the file seems to use ';': save it with commas)" if semicolons else ""
        raise InputError(
            f"{manifest} row 1 (header) lacks the column(s) {', '.join(missing)}; expected "
            f"{','.join(MANIFEST_COLUMNS)}{hint}"
        )
    duplicated = sorted({c for c in header if c and header.count(c) > 1})
    if duplicated:
        raise InputError(f"{manifest} row 1 (header) repeats the column(s) {', '.join(duplicated)}")


def _parse_row(
    cells: dict[str, str], base: Path, roots: Sequence[Path]
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    checks = {
        "subject": lambda v: _check_id(v, "subject", _MANIFEST_ID),
        "visit": lambda v: _check_id(v, "visit", _MANIFEST_ID),
        "label": lambda v: _check_choice(v, LABELS, "label"),
        "movement": lambda v: _check_choice(v, _movement_names(), "movement"),
        "side": lambda v: _check_choice(v, ("left", "right"), "side"),
        "path": lambda v: str(resolve_inside(v, base, roots)),
    }
    values, problems = {}, []
    for column, check in checks.items():
        try:
            values[column] = check(cells[column])
        except ValueError as error:
            problems.append((column, str(error)))
    return values, problems


def read_manifest(manifest: Path, allow_roots: Sequence[Path] = ()) -> BatchInputs:
    """Read and validate a manifest; InputError lists every bad entry by row and column."""
    manifest = Path(manifest)
    header, rows = _read_rows(manifest)
    _check_header(manifest, header)
    base = manifest.resolve().parent
    roots = [base, *allow_roots]
    problems: list[str] = []
    jobs: list[ClipJob] = []
    first_row: dict[tuple[str, ...], int] = {}
    for number, record in rows:
        if len(record) != len(header):
            problems.append(f"row {number}: {len(record)} columns, the header has {len(header)}")
            continue
        values, bad = _parse_row(dict(zip(header, record, strict=True)), base, roots)
        problems += [f"row {number}, column '{column}': {why}" for column, why in bad]
        if bad:
            continue
        job = ClipJob(values["subject"], values["visit"], values["label"], values["movement"],
                      values["side"], Path(values["path"]), record[header.index("path")].strip(),
                      f"{manifest.name} row {number}")  # fmt: skip
        if job.key in first_row:
            problems.append(f"row {number}: {job.name} is already given in row "
                            f"{first_row[job.key]}")  # fmt: skip
            continue
        first_row[job.key] = number
        jobs.append(job)
    if problems:
        shown = problems[:_MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        raise InputError(
            f"{manifest} has {len(problems)} bad entr{'y' if len(problems) == 1 else 'ies'}:\n  "
            + "\n  ".join(shown)
            + (f"\n  ... and {more} more" if more else "")
        )
    if not jobs:
        raise InputError(f"manifest {manifest} lists no clips")
    return BatchInputs(tuple(jobs), (), manifest)


def collect_inputs(
    target: Path, out: Path | None = None, allow_roots: Sequence[Path] = ()
) -> BatchInputs:
    """The clips of a folder (scanned) or a ``.csv`` manifest (validated)."""
    target = Path(target)
    if target.is_dir():
        inputs = scan_folder(target, exclude=[out] if out else (), allow_roots=allow_roots)
        if not inputs.jobs:
            why = "; ".join(f"{s.path}: {s.reason}" for s in inputs.skipped[:3])
            raise InputError(f"no clips named {FILENAME_PATTERN} found in {target}"
                             + (f" ({len(inputs.skipped)} files skipped, e.g. {why})"
                                if inputs.skipped else ""))  # fmt: skip
        return inputs
    if not target.exists():
        raise InputError(f"not found: {target}")
    if target.suffix.lower() != ".csv":
        raise InputError(f"{target} is neither a folder of clips nor a .csv manifest")
    return read_manifest(target, allow_roots)
