"""HTML pages (Jinja2) over the JSON API; the JavaScript in ``static/`` does the rest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from rom_measure.web import crud
from rom_measure.web.api import Db, _get
from rom_measure.web.models import Patient, Visit

__all__ = ["router"]

router = APIRouter()
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))


def _page(request: Request, name: str, **context: Any) -> HTMLResponse:
    account = request.state.account
    context.update(csrf=request.state.csrf, account=account.name if account else None)
    return templates.TemplateResponse(request, name, context)


def _movements() -> list[Any]:
    from rom_measure.measure.movements import MOVEMENTS

    return list(MOVEMENTS.values())


@router.get("/", response_class=HTMLResponse)
def patients(request: Request, db: Db, q: str = "") -> HTMLResponse:
    return _page(request, "patients.html.j2", patients=crud.search_patients(db, q), q=q)


@router.get("/login", response_class=HTMLResponse)
def login(request: Request) -> HTMLResponse:
    return _page(request, "login.html.j2")


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient(request: Request, patient_id: int, db: Db) -> HTMLResponse:
    record = _get(db, Patient, patient_id, "patient")
    titles = {m.name: m.title for m in _movements()}
    measured = sorted({(c.movement, c.side) for v in record.visits for c in v.clips
                       if c.status == "done"})  # fmt: skip
    series = [[m, s, titles.get(m, m)] for m, s in measured]
    return _page(request, "patient.html.j2", patient=record, movements=_movements(),
                 series=series, today=dt.date.today().isoformat())  # fmt: skip


def _planned(visit: Visit) -> list[tuple[str, str]]:
    items = [tuple(p.split(":", 1)) for p in visit.planned.split(",") if ":" in p]
    seen = {(c.movement, c.side) for c in visit.clips}
    return list(dict.fromkeys([*items, *sorted(seen)]))  # type: ignore[list-item]


@router.get("/visits/{visit_id}", response_class=HTMLResponse)
def visit(request: Request, visit_id: int, db: Db) -> HTMLResponse:
    record = _get(db, Visit, visit_id, "visit")
    movements = _movements()
    return _page(request, "visit.html.j2", visit=record, movements=movements,
                 planned=_planned(record), titles={m.name: m.title for m in movements})  # fmt: skip


@router.get("/visits/{visit_id}/record", response_class=HTMLResponse)
def record(
    request: Request,
    visit_id: int,
    label: str,
    movement: str,
    side: str,
    db: Db,
    countdown: float = 3.0,
    still: float = 2.0,
    duration: float = 0.0,
) -> HTMLResponse:
    """The recording page; ``duration`` > 0 stops by itself after that many seconds."""
    from rom_measure.measure.movements import get_movement

    crud.check_clip_fields(label, movement, side)
    if not (0 <= countdown <= 10 and 0 <= still <= 10 and 0 <= duration <= 120):
        raise HTTPException(400, "countdown, still and duration must be short (seconds)")
    hooks = request.app.state.live
    camera_text, move_text = hooks.instructions(movement, side) if hooks else ("", "")
    return _page(request, "record.html.j2", visit=_get(db, Visit, visit_id, "visit"),
                 label=label, movement=movement, side=side, title=get_movement(movement).title,
                 camera_text=camera_text, move_text=move_text, countdown=countdown,
                 still=still, duration=duration)  # fmt: skip
