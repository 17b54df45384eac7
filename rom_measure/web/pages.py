"""HTML pages (Jinja2) over the JSON API."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter()
