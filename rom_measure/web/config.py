"""Typed settings of the web app (one place; the CLI maps its flags onto them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DEFAULT_PORT", "MAX_UPLOAD_BYTES", "WebSettings", "default_data_dir"]

DEFAULT_PORT = 8765
MAX_UPLOAD_BYTES = 500 * 1024 * 1024  # a few minutes of phone video


def default_data_dir() -> Path:
    """The per-user data folder (platformdirs), e.g. ``~/.local/share/rom-measure``."""
    from platformdirs import user_data_path

    return user_data_path("rom-measure", appauthor=False) / "clinic"


@dataclass(frozen=True)
class WebSettings:
    """Where the data lives and how the server behaves.

    ``database_url`` defaults to SQLite in ``data_dir``; any SQLAlchemy URL works
    (``postgresql+psycopg://user@host/db`` for a clinic with several rooms).
    """

    data_dir: Path = field(default_factory=default_data_dir)
    database_url: str | None = None
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    workers: int = 1  # analysis processes
    model: str | None = None  # pose model .task file (default: the cached model)
    annotate: bool = True  # write annotated.mp4 for each clip
    require_login: bool = False  # set when serving beyond loopback

    @property
    def url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(Path(self.data_dir) / 'rom-measure.sqlite3').as_posix()}"
