"""The angle series as an OpenSim motion file (``angles.mot``), and a reader for it.

The file is OpenSim's tab-separated "Storage" format, version 1: a name line, then
``version=1``, ``nRows``, ``nColumns`` (the time column included), ``inDegrees=yes``,
free comment lines and ``endheader``, then one line of column labels and the rows.
It opens in OpenSim (File > Load Motion, or ``opensim.Storage``/``TimeSeriesTable``),
in Sports2D/Pose2Sim tooling and in any spreadsheet.

Columns, for e.g. hip-flexion on the left::

    time  hip_flexion_left_raw  hip_flexion_left_filtered  raw_valid  filtered_valid

The angles are those of ``angles.csv`` (rom_measure's definition of the movement, in
degrees, calibration gain applied, not neutral-subtracted); they are not OpenSim model
coordinates, so the labels deliberately match none.

Frames that were not measured: OpenSim stops plotting at the first NaN and spreads it
through splines, so the file holds no NaN. ``filtered`` is linearly interpolated in time
between the nearest measured frames (held flat before the first and after the last);
``raw`` takes that same value where the raw angle was not measured. ``raw_valid`` and
``filtered_valid`` are 1 where the value is measured and 0 where it was filled in, so
nothing invented passes for a measurement. A clip with no measured frame at all is
written with zeros and every valid flag 0. The header names the quality verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rom_measure._fileio import atomic_write_text
from rom_measure._version import __version__
from rom_measure.errors import InputError
from rom_measure.measure.analysis import Result

__all__ = ["MOT_NAME", "MotData", "angle_label", "mot_columns", "read_mot", "write_mot"]

MOT_NAME = "angles.mot"
_DIGITS = 6


@dataclass(frozen=True, eq=False)
class MotData:
    """A motion file as read back: its name, header fields, column labels and rows."""

    name: str
    header: dict[str, str]
    labels: list[str]
    data: np.ndarray  # (nRows, nColumns), the time column first
    comments: list[str] = field(default_factory=list)

    def column(self, label: str) -> np.ndarray:
        try:
            return self.data[:, self.labels.index(label)]
        except ValueError:
            raise KeyError(f"no column {label!r} (columns: {', '.join(self.labels)})") from None


def angle_label(result: Result) -> str:
    """``hip-flexion`` on the ``left`` -> ``hip_flexion_left``."""
    return f"{result.movement.name.replace('-', '_')}_{result.side}"


def _filled(time_s: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` with NaNs linearly interpolated in time, held flat at the ends."""
    valid = np.isfinite(values)
    if not valid.any():
        return np.zeros_like(values, dtype=np.float64)
    return np.interp(time_s, time_s[valid], values[valid])


def mot_columns(result: Result) -> dict[str, np.ndarray]:
    """The file's columns by label, in order (no NaN; see the module notes)."""
    time_s = np.asarray(result.time_s, dtype=np.float64)
    raw = np.asarray(result.raw_deg, dtype=np.float64)
    filtered = np.asarray(result.filtered_deg, dtype=np.float64)
    filtered_out = _filled(time_s, filtered)
    raw_valid, filtered_valid = np.isfinite(raw), np.isfinite(filtered)
    label = angle_label(result)
    return {
        "time": time_s,
        f"{label}_raw": np.where(raw_valid, raw, filtered_out),
        f"{label}_filtered": filtered_out,
        "raw_valid": raw_valid.astype(np.float64),
        "filtered_valid": filtered_valid.astype(np.float64),
    }


def _cell(value: float, is_flag: bool) -> str:
    return str(int(value)) if is_flag else f"{value:.{_DIGITS}f}"


def write_mot(result: Result, path: Path) -> Path:
    """Write ``result``'s angle series to ``path`` (atomically); return ``path``."""
    columns = mot_columns(result)
    rows = len(columns["time"])
    flags = [label.endswith("_valid") for label in columns]
    measured = int(columns["filtered_valid"].sum())
    lines = [
        f"{angle_label(result)}",
        "version=1",
        f"nRows={rows}",
        f"nColumns={len(columns)}",
        "inDegrees=yes",
        "",
        f"rom_measure {__version__}: {result.movement.name} ({result.side}), "
        f"quality {result.quality.verdict}, {measured} of {rows} frames measured.",
        "Angles in degrees by rom_measure's definition of the movement (see results.json); "
        "they are not OpenSim model coordinates.",
        "Frames not measured (raw_valid or filtered_valid 0) hold values interpolated "
        "from the measured frames.",
        "endheader",
        "\t".join(columns),
    ]
    table = np.column_stack(list(columns.values()))
    lines += ["\t".join(_cell(v, f) for v, f in zip(row, flags, strict=True)) for row in table]
    atomic_write_text(Path(path), "\n".join(lines) + "\n")
    return Path(path)


def _header_field(line: str) -> tuple[str, str] | None:
    key, sep, value = line.partition("=")
    return (key.strip(), value.strip()) if sep and key.strip() and " " not in key.strip() else None


def read_mot(path: Path) -> MotData:
    """Read an OpenSim version-1 ``.mot``/``.sto`` file (tab- or space-separated)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read motion file {path}: {error}") from error
    lines = text.splitlines()
    try:
        end = next(i for i, line in enumerate(lines) if line.strip().lower() == "endheader")
    except StopIteration:
        raise InputError(f"{path} is not an OpenSim motion file (no 'endheader' line)") from None
    if end == 0 or end + 1 >= len(lines):
        raise InputError(f"{path} is not an OpenSim motion file (no name or no column labels)")
    header: dict[str, str] = {}
    comments: list[str] = []
    for line in lines[1:end]:
        found = _header_field(line)
        if found:
            header[found[0]] = found[1]
        elif line.strip():
            comments.append(line.strip())
    labels = lines[end + 1].split()
    try:
        data = np.array([[float(v) for v in line.split()] for line in lines[end + 2 :]
                         if line.strip()], dtype=np.float64).reshape(-1, len(labels))  # fmt: skip
    except ValueError as error:
        raise InputError(f"{path}: bad data row ({error})") from error
    for key, actual in (("nRows", data.shape[0]), ("nColumns", data.shape[1])):
        if key in header and header[key] != str(actual):
            raise InputError(f"{path}: header says {key}={header[key]}, the file holds {actual}")
    return MotData(lines[0].strip(), header, labels, data, comments)
