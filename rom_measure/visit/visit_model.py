"""A visit folder read back: its visit information, clips and per-movement entries.

The visit folder holds ``pre/<movement>_<side>/`` and ``post/<movement>_<side>/``
analyses (see :func:`rom_measure.visit.compare.visit_clip_dir`) and ``visit.json``
(patient, date, clinician, notes). :func:`collect_visit` pairs the clips of each
movement and side and compares them; the report's figures, key frames and page
are built from these entries.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rom_measure._fileio import atomic_write_json
from rom_measure.errors import InputError
from rom_measure.measure.movements import MOVEMENTS, Movement, get_movement
from rom_measure.visit.compare import Comparison, compare_results, load_result

__all__ = [
    "LABELS",
    "VERDICTS",
    "VISIT_INFO_FILE",
    "VISIT_KEYS",
    "Clip",
    "Entry",
    "clip_rom",
    "collect_visit",
    "deg",
    "is_finite",
    "load_visit_info",
    "merged_visit_info",
    "save_visit_info",
]

VISIT_INFO_FILE = "visit.json"
LABELS = {"pre": "Before", "post": "After"}
VERDICTS = {  # verdict -> (css class, colour for plots, short label)
    "improved": ("improved", "#1e7b45", "Improved"),
    "no detectable change": ("nochange", "#5b6b7b", "No detectable change"),
    "decreased": ("decreased", "#b3261e", "Decreased"),
    "not comparable": ("notcomparable", "#b06a00", "Not comparable"),
    "not available": ("notavailable", "#8c8c8c", "Not available"),
}
VISIT_KEYS = ("patient", "date", "clinician", "notes")


# -- visit information (visit.json) ------------------------------------------------------


def load_visit_info(visit_dir: Path) -> dict[str, str]:
    """The stored ``visit.json`` (patient, date, clinician, notes), or an empty dict."""
    path = Path(visit_dir) / VISIT_INFO_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {path}: {error}") from error
    if not isinstance(data, dict):
        raise InputError(f"{path} is not a visit information file")
    return {k: str(data[k]) for k in VISIT_KEYS if data.get(k) not in (None, "")}


def save_visit_info(visit_dir: Path, info: dict[str, str]) -> None:
    """Write ``visit.json`` atomically (only the known keys)."""
    data = {"schema": "rom_measure.visit", "schema_version": "1.0"}
    data.update({k: info[k] for k in VISIT_KEYS if info.get(k)})
    atomic_write_json(Path(visit_dir) / VISIT_INFO_FILE, data)


def _check_date(value: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise InputError(f"invalid date {value!r}: use YYYY-MM-DD") from None


def merged_visit_info(visit_dir: Path, given: dict[str, str | None] | None) -> dict[str, str]:
    """Stored values, overridden by the given non-empty ones; the date defaults to today."""
    info = load_visit_info(visit_dir)
    info.update({k: str(v) for k, v in (given or {}).items() if k in VISIT_KEYS and v})
    info["date"] = _check_date(info.get("date") or dt.date.today().isoformat())
    return info


# -- collecting the visit ----------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    """One analysis of the visit (``pre`` or ``post``); ``error`` when unreadable."""

    label: str
    folder: Path
    result: dict[str, Any] | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result["quality"]["verdict"] != "rejected"


@dataclass(frozen=True)
class Entry:
    """One movement and side of the visit, with its clips and comparison."""

    movement: Movement
    side: str
    clips: dict[str, Clip]
    comparison: Comparison | None
    verdict: str
    reasons: tuple[str, ...]


def _clip_folders(visit_dir: Path) -> tuple[dict[str, dict[str, Path]], list[str]]:
    """Complete analysis folders by name and label, and notes on incomplete ones."""
    folders: dict[str, dict[str, Path]] = {}
    notes = []
    for label in LABELS:
        root = visit_dir / label
        for folder in sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []:
            if (folder / "results.json").is_file():
                folders.setdefault(folder.name, {})[label] = folder
            else:
                notes.append(f"{label}/{folder.name}: no results.json (incomplete analysis), "
                             "not included")  # fmt: skip
    return folders, notes


def _load_clip(label: str, folder: Path) -> Clip:
    try:
        return Clip(label, folder, load_result(folder))
    except InputError as error:
        return Clip(label, folder, None, str(error))


def _identity(name: str, clips: dict[str, Clip]) -> tuple[Movement, str] | None:
    for clip in clips.values():
        if clip.result is not None:
            return get_movement(clip.result["movement"]), clip.result["side"]
    movement, _, side = name.rpartition("_")
    return (MOVEMENTS[movement], side) if movement in MOVEMENTS else None


def _entry(movement: Movement, side: str, clips: dict[str, Clip]) -> Entry:
    missing = [LABELS[k].lower() for k in LABELS if k not in clips]
    unreadable = [f"the {LABELS[k].lower()}-treatment analysis cannot be read ({c.error})"
                  for k, c in clips.items() if c.result is None]  # fmt: skip
    if missing or unreadable:
        reasons = [f"no {m}-treatment clip was recorded" for m in missing] + unreadable
        return Entry(movement, side, clips, None, "not available", tuple(reasons))
    try:
        comparison = compare_results(clips["pre"].result, clips["post"].result)  # type: ignore[arg-type]
    except InputError as error:
        return Entry(movement, side, clips, None, "not available", (str(error),))
    return Entry(movement, side, clips, comparison, comparison.verdict, comparison.reasons)


def collect_visit(visit_dir: Path) -> tuple[list[Entry], list[str]]:
    """Every movement/side analysed before and/or after, in the movements' order."""
    folders, notes = _clip_folders(Path(visit_dir))
    entries = []
    for name, by_label in folders.items():
        clips = {label: _load_clip(label, folder) for label, folder in by_label.items()}
        identity = _identity(name, clips)
        if identity is None:
            notes.append(f"{name}: unknown movement, not included")
            continue
        entries.append(_entry(*identity, clips))
    order = list(MOVEMENTS)
    entries.sort(key=lambda e: (order.index(e.movement.name), e.side))
    return entries, notes


# -- numbers -----------------------------------------------------------------------------


def is_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def deg(value: Any, signed: bool = False) -> str:
    """``41.2°`` (one decimal), ``+5.0°`` when signed, ``—`` when missing."""
    if not is_finite(value):
        return "—"
    value = 0.0 if abs(value) < 0.05 else value  # no "-0.0°"
    return f"{value:+.1f}°" if signed else f"{value:.1f}°"


def clip_rom(result: dict[str, Any] | None) -> float:
    """Mean ROM over the repetitions (what the comparison uses)."""
    if not result:
        return math.nan
    reps = [r["rom_deg"] for r in result.get("repetitions", []) if is_finite(r.get("rom_deg"))]
    return float(np.mean(reps)) if reps else math.nan
