"""The tables: accounts, sessions, patients, visits and clips (one analysis each)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = ["Account", "Base", "Clip", "Patient", "Session", "Visit"]

CLIP_STATUSES = ("queued", "running", "done", "failed")


class Base(DeclarativeBase):
    pass


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Account(Base):
    """A clinician who may log in (required when serving beyond loopback)."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created: Mapped[dt.datetime] = mapped_column(default=_now, server_default=func.now())


class Session(Base):
    """A logged-in browser: the sha256 of its cookie token."""

    __tablename__ = "sessions"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    expires: Mapped[dt.datetime] = mapped_column()


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)  # names the patient's folder
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created: Mapped[dt.datetime] = mapped_column(default=_now, server_default=func.now())
    visits: Mapped[list[Visit]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="Visit.date"
    )


class Visit(Base):
    __tablename__ = "visits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"))
    date: Mapped[str] = mapped_column(String(10))  # ISO YYYY-MM-DD
    clinician: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    planned: Mapped[str] = mapped_column(Text, default="")  # "movement:side,..." planned
    patient: Mapped[Patient] = relationship(back_populates="visits")
    clips: Mapped[list[Clip]] = relationship(
        back_populates="visit", cascade="all, delete-orphan", order_by="Clip.id"
    )


class Clip(Base):
    """One uploaded clip and its analysis (status queued -> running -> done | failed)."""

    __tablename__ = "clips"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(4))  # pre | post
    movement: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(5))
    video_name: Mapped[str] = mapped_column(String(64))  # generated file name in the visit
    original_name: Mapped[str] = mapped_column(String(255), default="")  # shown, never a path
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(8), default="queued")
    error: Mapped[str] = mapped_column(Text, default="")
    rom_deg: Mapped[float | None] = mapped_column(default=None)
    uncertainty_deg: Mapped[float | None] = mapped_column(default=None)
    verdict: Mapped[str] = mapped_column(String(10), default="")
    created: Mapped[dt.datetime] = mapped_column(default=_now, server_default=func.now())
    finished: Mapped[dt.datetime | None] = mapped_column(default=None)
    visit: Mapped[Visit] = relationship(back_populates="clips")
