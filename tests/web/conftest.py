"""Web fixtures: an app on a real SQLite file, or on the real PostgreSQL of CI.

``ROM_MEASURE_TEST_POSTGRES`` (set by ``.ci/run``) is a SQLAlchemy URL of a server the
tests may create databases on; without it the PostgreSQL variants skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")

POSTGRES_ENV = "ROM_MEASURE_TEST_POSTGRES"


def _postgres_database() -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"no PostgreSQL server (set {POSTGRES_ENV}; .ci/run starts one)")
    name = f"rom_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """None (SQLite in the data folder) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
    else:
        yield from _postgres_database()


def make_client(data_dir: Path, database_url: str | None = None, **settings: object):
    """A TestClient on a fresh app (no analysis workers) and its CSRF token."""
    from fastapi.testclient import TestClient

    from rom_measure.web.app import create_app
    from rom_measure.web.config import WebSettings

    app = create_app(
        WebSettings(data_dir=data_dir, database_url=database_url, **settings), start_workers=False
    )
    client = TestClient(app, raise_server_exceptions=False)
    token = client.get("/api/session").json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return client


@pytest.fixture
def client(tmp_path: Path, database_url: str | None):
    with make_client(tmp_path / "data", database_url) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny real H.264 clip (test pattern): valid video, no person."""
    from tests.conftest import make_test_video

    return make_test_video(tmp_path_factory.mktemp("web") / "pattern.mp4", frames=10)
