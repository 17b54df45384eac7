"""Passwords (argon2), login sessions and CSRF tokens.

Every browser gets a random ``rm_sid`` cookie (HttpOnly, SameSite=Strict; Secure over
HTTPS). Its CSRF token is an HMAC of that id with the server secret, so a forged
request from another site, which cannot read the page, cannot supply it. A login
stores the sha256 of the id with the account, for a limited time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session as DbSession

from rom_measure.errors import InputError
from rom_measure.web.models import Account, Session

__all__ = [
    "SESSION_COOKIE",
    "add_account",
    "csrf_token",
    "has_accounts",
    "load_secret",
    "login",
    "logout",
    "session_account",
    "verify_csrf",
]

SESSION_COOKIE = "rm_sid"
CSRF_HEADER = "x-csrf-token"
SESSION_DAYS = 1
MIN_PASSWORD = 8


def load_secret(data_dir: Path) -> bytes:
    """The server secret (created once, readable by the owner only)."""
    path = Path(data_dir) / "secret.key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    return path.read_bytes()


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def csrf_token(secret: bytes, session_id: str) -> str:
    return hmac.new(secret, f"csrf:{session_id}".encode(), hashlib.sha256).hexdigest()


def verify_csrf(secret: bytes, session_id: str | None, token: str | None) -> bool:
    if not session_id or not token:
        return False
    return hmac.compare_digest(csrf_token(secret, session_id), token)


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def _sha(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def has_accounts(db: DbSession) -> bool:
    return db.scalar(select(Account.id).limit(1)) is not None


def add_account(db: DbSession, name: str, password: str) -> Account:
    """Create (or reset the password of) a clinician account."""
    name = name.strip()
    if not name or len(name) > 80:
        raise InputError("an account name needs 1 to 80 characters")
    if len(password) < MIN_PASSWORD:
        raise InputError(f"a password needs at least {MIN_PASSWORD} characters")
    account = db.scalar(select(Account).where(Account.name == name))
    if account is None:
        account = Account(name=name, password_hash="")
        db.add(account)
    account.password_hash = _hasher().hash(password)
    db.commit()
    return account


def login(db: DbSession, name: str, password: str, session_id: str) -> Account | None:
    """Check the password; on success bind ``session_id`` to the account."""
    from argon2.exceptions import InvalidHashError, VerificationError

    account = db.scalar(select(Account).where(Account.name == name.strip()))
    hasher = _hasher()
    if account is None:
        hasher.hash(password)  # same cost whether or not the name exists
        return None
    try:
        hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    db.execute(delete(Session).where(Session.expires < _now()))
    db.merge(Session(token_sha256=_sha(session_id), account_id=account.id,
                     expires=_now() + dt.timedelta(days=SESSION_DAYS)))  # fmt: skip
    db.commit()
    return account


def logout(db: DbSession, session_id: str | None) -> None:
    if session_id:
        db.execute(delete(Session).where(Session.token_sha256 == _sha(session_id)))
        db.commit()


def session_account(db: DbSession, session_id: str | None) -> Account | None:
    """The account logged in with ``session_id``, if the session is still valid."""
    if not session_id:
        return None
    row = db.get(Session, _sha(session_id))
    if row is None or row.expires < _now():
        return None
    return db.get(Account, row.account_id)
