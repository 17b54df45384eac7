"""The FastAPI application: storage, analysis queue, sessions, CSRF and plain errors."""

from __future__ import annotations

import contextlib
import html
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from rom_measure.errors import InputError
from rom_measure.web import security
from rom_measure.web.config import WebSettings
from rom_measure.web.files import UploadTooLarge

__all__ = ["create_app"]

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
OPEN_PATHS = ("/api/health", "/login", "/static/", "/api/session", "/api/login")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(request: Request, status: int, message: str) -> Response:
    """A plain error: JSON for the API, a short HTML page otherwise; never a traceback."""
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    body = (
        f"<!doctype html><meta charset=utf-8><title>Error {status}</title>"
        f"<h1>Error {status}</h1><p>{html.escape(message)}</p><p><a href='/'>Patients</a>"
    )
    return HTMLResponse(body, status_code=status)  # fmt: skip


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(UploadTooLarge)
    async def _too_large(request: Request, error: UploadTooLarge) -> Response:
        return error_response(request, 413, str(error))

    @app.exception_handler(InputError)
    async def _input(request: Request, error: InputError) -> Response:
        return error_response(request, 400, str(error))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        return error_response(request, error.status_code, str(error.detail))

    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> Response:
        fields = ", ".join(".".join(str(p) for p in e["loc"][1:]) or "body" for e in error.errors())
        return error_response(request, 422, f"missing or invalid: {fields}")

    @app.exception_handler(Exception)
    async def _crash(request: Request, error: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return error_response(request, 500, "internal error (details are in the server log)")


def _too_large(request: Request) -> bool:
    """Refuse at once a body announced as larger than the upload limit (plus form overhead)."""
    length = request.headers.get("content-length", "")
    limit = request.app.state.settings.max_upload_bytes
    return length.isdigit() and int(length) > limit + 64 * 1024


def _install_sessions(app: FastAPI) -> None:
    @app.middleware("http")
    async def sessions(request: Request, call_next: Any) -> Response:
        state = app.state
        sid = request.cookies.get(security.SESSION_COOKIE)
        new_sid = None if sid else security.new_session_id()
        request.state.sid = sid or new_sid
        request.state.csrf = security.csrf_token(state.secret, request.state.sid)
        path = request.url.path
        with state.sessions() as db:
            account = security.session_account(db, sid)
            login_needed = state.settings.require_login or security.has_accounts(db)
        request.state.account = account
        request.state.login_needed = login_needed
        if request.method in UNSAFE:
            token = request.headers.get(security.CSRF_HEADER) or request.query_params.get("csrf")
            if not security.verify_csrf(state.secret, sid, token):
                return error_response(request, 403, "missing or invalid CSRF token")
        if request.method == "POST" and _too_large(request):
            limit = state.settings.max_upload_bytes
            return error_response(request, 413, f"the request is larger than the limit of "
                                  f"{limit / 1e6:.0f} MB")  # fmt: skip
        if login_needed and account is None and not path.startswith(OPEN_PATHS):
            if _wants_json(request):
                return error_response(request, 401, "login required")
            return RedirectResponse("/login", status_code=303)
        response = await call_next(request)
        if new_sid:
            response.set_cookie(security.SESSION_COOKIE, new_sid, httponly=True,
                                samesite="strict", secure=request.url.scheme == "https",
                                path="/")  # fmt: skip
        return response


def create_app(
    settings: WebSettings | None = None, start_workers: bool = True, live: Any = None
) -> FastAPI:
    """Build the app; the database is migrated and queued analyses resume at start-up.

    ``live`` is a :class:`rom_measure.web.live.LiveHooks` (instructions and live lights);
    without it the recording page works without lights.
    """
    from rom_measure.web.db import make_engine, migrate, session_factory
    from rom_measure.web.worker import AnalysisQueue

    settings = settings or WebSettings()
    data_dir = Path(settings.data_dir)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start_workers:
            app.state.queue = AnalysisQueue(settings.url, data_dir, settings.workers,
                                            settings.model, settings.annotate)  # fmt: skip
            with app.state.sessions() as db:
                app.state.queue.resume(db)
        try:
            yield
        finally:
            if app.state.queue is not None:
                app.state.queue.shutdown()

    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.url)
    migrate(engine)
    app = FastAPI(title="rom-measure", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)  # fmt: skip
    app.state.settings, app.state.engine = settings, engine
    app.state.sessions, app.state.queue, app.state.live = session_factory(engine), None, live
    app.state.secret = security.load_secret(data_dir)
    _install_errors(app)
    _install_sessions(app)
    from rom_measure.web import api, live, pages

    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(live.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return app
