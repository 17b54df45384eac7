"""Storage operations on patients, visits and clips (rows and their files together)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session as DbSession

from rom_measure.errors import InputError
from rom_measure.web import files
from rom_measure.web.models import Clip, Patient, Visit

__all__ = [
    "clip_to_dict",
    "create_patient",
    "create_visit",
    "delete_patient",
    "export_patient_zip",
    "history",
    "patient_to_dict",
    "search_patients",
    "study_csv",
    "visit_to_dict",
]

LABELS = ("pre", "post")


def _text(value: Any, field: str, limit: int, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise InputError(f"{field} is required")
    if len(text) > limit:
        raise InputError(f"{field} is longer than {limit} characters")
    return text


def check_clip_fields(label: str, movement: str, side: str) -> None:
    """One message naming every invalid field (label, movement, side)."""
    from rom_measure.measure.movements import MOVEMENTS

    problems = []
    if label not in LABELS:
        problems.append("label must be pre or post")
    if movement not in MOVEMENTS:
        problems.append(f"unknown movement {movement[:40]!r}")
    if side not in ("left", "right"):
        problems.append("side must be left or right")
    if problems:
        raise InputError("; ".join(problems))


def create_patient(db: DbSession, code: Any, name: Any = "") -> Patient:
    code = _text(code, "code", 64, required=True)
    if db.scalar(select(Patient.id).where(Patient.code == code)) is not None:
        raise InputError(f"a patient with code {code!r} exists already")
    patient = Patient(uid=files.new_uid(), code=code, name=_text(name, "name", 200))
    db.add(patient)
    db.commit()
    return patient


def search_patients(db: DbSession, query: str = "") -> list[Patient]:
    statement = select(Patient).order_by(Patient.code)
    if query.strip():
        like = f"%{query.strip().lower()}%"
        statement = statement.where(or_(Patient.code.ilike(like), Patient.name.ilike(like)))
    return list(db.scalars(statement.limit(500)))


def create_visit(db: DbSession, patient: Patient, data: dict[str, Any]) -> Visit:
    date = _text(data.get("date") or dt.date.today().isoformat(), "date", 10)
    try:
        date = dt.date.fromisoformat(date).isoformat()
    except ValueError:
        raise InputError(f"invalid date {date!r}: use YYYY-MM-DD") from None
    planned = data.get("planned") or []
    if isinstance(planned, str):
        planned = [p for p in planned.split(",") if p.strip()]
    for item in planned:
        movement, _, side = str(item).partition(":")
        check_clip_fields("pre", movement.strip(), side.strip())
    visit = Visit(uid=files.new_uid(), patient=patient, date=date,
                  clinician=_text(data.get("clinician"), "clinician", 200),
                  notes=_text(data.get("notes"), "notes", 10_000),
                  planned=",".join(str(p).strip() for p in planned))  # fmt: skip
    db.add(visit)
    db.commit()
    return visit


def visit_folder(data_dir: Path, visit: Visit) -> Path:
    return files.visit_dir(data_dir, visit.patient.uid, visit.uid)


def patient_to_dict(patient: Patient) -> dict[str, Any]:
    return {"id": patient.id, "code": patient.code, "name": patient.name,
            "visits": len(patient.visits)}  # fmt: skip


def visit_to_dict(visit: Visit) -> dict[str, Any]:
    return {
        "id": visit.id, "patient_id": visit.patient_id, "date": visit.date,
        "clinician": visit.clinician, "notes": visit.notes,
        "planned": [p for p in visit.planned.split(",") if p],
        "clips": [clip_to_dict(c, None) for c in visit.clips],
    }  # fmt: skip


def clip_result(data_dir: Path, clip: Clip) -> dict[str, Any] | None:
    path = visit_folder(data_dir, clip.visit) / "runs" / clip.uid / "results.json"
    if clip.status != "done" or not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def clip_to_dict(clip: Clip, data_dir: Path | None) -> dict[str, Any]:
    data = {
        "id": clip.id, "visit_id": clip.visit_id, "label": clip.label,
        "movement": clip.movement, "side": clip.side, "status": clip.status,
        "file_name": clip.original_name, "size_bytes": clip.size_bytes,
        "rom_deg": clip.rom_deg, "uncertainty_deg": clip.uncertainty_deg,
        "verdict": clip.verdict or None, "error": clip.error or None,
    }  # fmt: skip
    if data_dir is not None:
        data["result"] = clip_result(data_dir, clip)
    return data


def current_clips(visit: Visit) -> dict[tuple[str, str, str], Clip]:
    """The latest finished clip of each (label, movement, side) of the visit."""
    latest: dict[tuple[str, str, str], Clip] = {}
    for clip in visit.clips:
        if clip.status == "done":
            latest[(clip.label, clip.movement, clip.side)] = clip
    return latest


def _asymmetry(left: Clip | None, right: Clip | None) -> dict[str, Any] | None:
    if not (left and right) or left.rom_deg is None or right.rom_deg is None:
        return None
    diff = left.rom_deg - right.rom_deg
    larger = max(abs(left.rom_deg), abs(right.rom_deg))
    return {"left_deg": left.rom_deg, "right_deg": right.rom_deg,
            "difference_deg": round(diff, 2),
            "difference_pct": round(100 * diff / larger, 1) if larger else None}  # fmt: skip


def history(db: DbSession, data_dir: Path, patient: Patient, movement: str,
            side: str) -> dict[str, Any]:  # fmt: skip
    """One entry per visit: pre/post ROM and uncertainty, the comparison, and asymmetry."""
    from rom_measure.measure.movements import get_movement
    from rom_measure.visit.compare import compare_results, comparison_to_dict

    check_clip_fields("pre", movement, side)
    move = get_movement(movement)
    mdc = max((m.mdc95_deg for m in move.mdc), default=None) if move.mdc else None
    entries = []
    for visit in patient.visits:
        current = current_clips(visit)
        row: dict[str, Any] = {"visit_id": visit.id, "date": visit.date}
        for label in LABELS:
            clip = current.get((label, movement, side))
            row[label] = None if clip is None else {
                "rom_deg": clip.rom_deg, "uncertainty_deg": clip.uncertainty_deg,
                "verdict": clip.verdict, "clip_id": clip.id}  # fmt: skip
        pre, post = current.get(("pre", movement, side)), current.get(("post", movement, side))
        row["comparison"] = None
        if pre and post:
            pre_r, post_r = clip_result(data_dir, pre), clip_result(data_dir, post)
            if pre_r and post_r:
                row["comparison"] = comparison_to_dict(compare_results(pre_r, post_r))
        row["asymmetry"] = {
            label: _asymmetry(current.get((label, movement, "left")),
                              current.get((label, movement, "right")))
            for label in LABELS
        }  # fmt: skip
        if any(row[label] for label in LABELS) or any(row["asymmetry"].values()):
            entries.append(row)
    return {"patient_id": patient.id, "movement": movement, "side": side,
            "literature_mdc95_deg": mdc, "visits": entries}  # fmt: skip


def delete_patient(db: DbSession, data_dir: Path, patient: Patient) -> None:
    """Erase the patient's rows and every file of theirs."""
    folder = files.patient_dir(data_dir, patient.uid)
    db.delete(patient)
    db.commit()
    files.remove_tree(folder)


def export_patient_zip(data_dir: Path, patient: Patient) -> bytes:
    """A zip of the patient's record (patient.json) and folder (clips, results, reports)."""
    buffer = io.BytesIO()
    folder = files.patient_dir(data_dir, patient.uid)
    record = {**patient_to_dict(patient), "visits": [visit_to_dict(v) for v in patient.visits]}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("patient.json", json.dumps(record, indent=2))
        visit_names = {v.uid: f"{v.date}_visit{v.id}" for v in patient.visits}
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            relative = path.relative_to(folder)
            if path.is_file() and not any(p.startswith(".") for p in relative.parts):
                parts = (visit_names.get(relative.parts[0], relative.parts[0]), *relative.parts[1:])
                archive.write(path, "/".join(parts))
    return buffer.getvalue()


STUDY_COLUMNS = ("patient_code", "visit_id", "date", "clinician", "label", "movement", "side",
                 "rom_deg", "uncertainty_deg", "verdict", "clip_id")  # fmt: skip


def study_csv(db: DbSession) -> str:
    """Every current finished measurement of every patient, one row each."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(STUDY_COLUMNS)
    for patient in db.scalars(select(Patient).order_by(Patient.code)):
        for visit in patient.visits:
            for (label, movement, side), clip in sorted(current_clips(visit).items()):
                writer.writerow([patient.code, visit.id, visit.date, visit.clinician, label,
                                 movement, side, clip.rom_deg, clip.uncertainty_deg,
                                 clip.verdict, clip.id])  # fmt: skip
    return buffer.getvalue()
