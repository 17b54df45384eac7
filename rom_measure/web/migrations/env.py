"""Alembic environment: runs on the connection handed over by :func:`db.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from rom_measure.web.models import Base

config = context.config
connection = config.attributes.get("connection")


def _run(conn: object) -> None:
    context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:  # the alembic command line, with sqlalchemy.url in its ini file
    with create_engine(config.get_main_option("sqlalchemy.url")).connect() as conn:
        _run(conn)
