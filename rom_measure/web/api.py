"""The JSON API (the pages use it; documented for integration with records systems)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session as DbSession

from rom_measure._version import __version__
from rom_measure.errors import InputError
from rom_measure.web import crud, files
from rom_measure.web.models import Clip, Patient, Visit

__all__ = ["router"]

router = APIRouter(prefix="/api")


def get_db(request: Request) -> Iterator[DbSession]:
    with request.app.state.sessions() as db:
        yield db


Db = Annotated[DbSession, Depends(get_db)]


def data_dir(request: Request) -> Path:
    return Path(request.app.state.settings.data_dir)


def _get(db: DbSession, model: type, item_id: int, what: str) -> Any:
    row = db.get(model, item_id)
    if row is None:
        raise HTTPException(404, f"{what} {item_id} not found")
    return row


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise InputError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise InputError("the body must be a JSON object")
    return body


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/session")
def session(request: Request) -> dict[str, Any]:
    """The CSRF token for this browser (send it as ``X-CSRF-Token``) and the login state."""
    account = request.state.account
    return {"csrf_token": request.state.csrf, "account": account.name if account else None,
            "login_required": request.state.login_needed}  # fmt: skip


@router.post("/login")
async def login(request: Request, db: Db) -> dict[str, Any]:
    """``{"name", "password"}`` -> binds this browser's session to the account."""
    from rom_measure.web import security

    body = await _json_body(request)
    account = security.login(db, str(body.get("name", "")), str(body.get("password", "")),
                             request.state.sid)  # fmt: skip
    if account is None:
        raise HTTPException(401, "wrong name or password")
    return {"account": account.name}


@router.post("/logout")
def logout(request: Request, db: Db) -> dict[str, Any]:
    from rom_measure.web import security

    security.logout(db, request.state.sid)
    return {"account": None}


@router.get("/movements")
def movements(request: Request, side: str = "left") -> list[dict[str, str]]:
    """Every movement, with its camera and movement instructions for ``side``."""
    from rom_measure.measure.movements import MOVEMENTS

    hooks = request.app.state.live
    rows = []
    for m in MOVEMENTS.values():
        camera, move = hooks.instructions(m.name, side) if hooks else ("", "")
        rows.append({"name": m.name, "title": m.title, "view": m.view,
                     "camera": camera, "movement": move})  # fmt: skip
    return rows


@router.post("/patients")
async def create_patient(request: Request, db: Db) -> dict[str, Any]:
    body = await _json_body(request)
    patient = crud.create_patient(db, body.get("code"), body.get("name"))
    return {"id": patient.id}


@router.get("/patients")
def list_patients(db: Db, q: str = "") -> list[dict[str, Any]]:
    return [crud.patient_to_dict(p) for p in crud.search_patients(db, q)]


@router.get("/patients/{patient_id}")
def get_patient(patient_id: int, db: Db) -> dict[str, Any]:
    patient = _get(db, Patient, patient_id, "patient")
    return {**crud.patient_to_dict(patient),
            "visits": [crud.visit_to_dict(v) for v in patient.visits]}  # fmt: skip


@router.delete("/patients/{patient_id}")
def delete_patient(request: Request, patient_id: int,
                   db: Db) -> dict[str, Any]:  # fmt: skip
    crud.delete_patient(db, data_dir(request), _get(db, Patient, patient_id, "patient"))
    return {"deleted": patient_id}


@router.post("/patients/{patient_id}/visits")
async def create_visit(request: Request, patient_id: int,
                       db: Db) -> dict[str, Any]:  # fmt: skip
    patient = _get(db, Patient, patient_id, "patient")
    visit = crud.create_visit(db, patient, await _json_body(request))
    return {"id": visit.id}


@router.get("/visits/{visit_id}")
def get_visit(visit_id: int, request: Request, db: Db) -> dict[str, Any]:
    visit = _get(db, Visit, visit_id, "visit")
    return {**crud.visit_to_dict(visit),
            "clips": [crud.clip_to_dict(c, None) for c in visit.clips]}  # fmt: skip


@router.post("/visits/{visit_id}/clips")
async def upload_clip(
    request: Request,
    visit_id: int,
    file: Annotated[UploadFile, File()],
    label: Annotated[str, Form()],
    movement: Annotated[str, Form()],
    side: Annotated[str, Form()],
    db: Db,
) -> dict[str, Any]:
    """Store a clip (checked to be video, size-limited) and queue its analysis."""
    visit = _get(db, Visit, visit_id, "visit")
    crud.check_clip_fields(label, movement, side)
    uid = files.new_uid()
    name = uid + files.safe_suffix(file.filename)
    folder = crud.visit_folder(data_dir(request), visit)
    limit = request.app.state.settings.max_upload_bytes
    size = await files.save_upload(file, folder / "clips" / name, limit)
    clip = Clip(uid=uid, visit=visit, label=label, movement=movement, side=side,
                video_name=name, original_name=Path(file.filename or "").name[:255],
                size_bytes=size, status="queued")  # fmt: skip
    db.add(clip)
    db.commit()
    if request.app.state.queue is not None:
        request.app.state.queue.submit(clip.id)
    return {"id": clip.id, "status": clip.status}


@router.get("/clips/{clip_id}")
def get_clip(clip_id: int, request: Request, db: Db) -> dict[str, Any]:
    return crud.clip_to_dict(_get(db, Clip, clip_id, "clip"), data_dir(request))


@router.get("/clips/{clip_id}/annotated.mp4")
def clip_video(clip_id: int, request: Request, db: Db) -> Response:
    from fastapi.responses import FileResponse

    clip = _get(db, Clip, clip_id, "clip")
    path = crud.visit_folder(data_dir(request), clip.visit) / "runs" / clip.uid / "annotated.mp4"
    if not path.is_file():
        raise HTTPException(404, "no annotated video for this clip")
    return FileResponse(path, media_type="video/mp4")


def _comparisons(request: Request, visit: Visit) -> dict[str, Any]:
    from filelock import FileLock

    from rom_measure.visit.compare import update_visit_comparisons

    folder = crud.visit_folder(data_dir(request), visit)
    info = {"patient": visit.patient.code, "date": visit.date, "clinician": visit.clinician}
    with FileLock(str(folder / ".visit.lock"), timeout=60):
        folder.mkdir(parents=True, exist_ok=True)
        if not update_visit_comparisons(folder, info):
            return {"schema": "rom_measure.comparison", "visit": info, "comparisons": []}
    return json.loads((folder / "comparison.json").read_text(encoding="utf-8"))


@router.get("/visits/{visit_id}/comparisons")
def comparisons(visit_id: int, request: Request, db: Db) -> Any:
    return _comparisons(request, _get(db, Visit, visit_id, "visit"))


@router.get("/visits/{visit_id}/report")
def report(visit_id: int, request: Request, db: Db, download: bool = False) -> HTMLResponse:
    from filelock import FileLock

    from rom_measure.visit.report import write_report

    visit = _get(db, Visit, visit_id, "visit")
    folder = crud.visit_folder(data_dir(request), visit)
    if not any((folder / label).is_dir() for label in crud.LABELS):
        raise HTTPException(404, "this visit has no finished analysis yet")
    info = {"patient": visit.patient.code, "date": visit.date, "clinician": visit.clinician,
            "notes": visit.notes}  # fmt: skip
    with FileLock(str(folder / ".visit.lock"), timeout=120):
        path = write_report(folder, info)
    name = f"report_{visit.date}_{visit.id}.html"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'} if download else {}
    return HTMLResponse(path.read_text(encoding="utf-8"), headers=headers)


@router.get("/patients/{patient_id}/history")
def history(patient_id: int, movement: str, side: str, request: Request,
            db: Db) -> dict[str, Any]:  # fmt: skip
    patient = _get(db, Patient, patient_id, "patient")
    return crud.history(db, data_dir(request), patient, movement, side)


@router.get("/patients/{patient_id}/export.zip")
def export(patient_id: int, request: Request, db: Db) -> Response:
    patient = _get(db, Patient, patient_id, "patient")
    return Response(crud.export_patient_zip(data_dir(request), patient),
                    media_type="application/zip",
                    headers=_attachment(f"patient_{patient.id}.zip"))  # fmt: skip


@router.get("/study.csv")
def study(db: Db) -> Response:
    return Response(crud.study_csv(db), media_type="text/csv",
                    headers=_attachment("study.csv"))  # fmt: skip
