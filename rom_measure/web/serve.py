"""``rom-measure serve``: start the clinic web app (thin: maps flags onto WebSettings)."""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rom_measure._options import number
from rom_measure.errors import InputError

__all__ = ["check_bind", "cmd_serve", "register"]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, has_accounts: bool) -> None:
    """Refuse to serve beyond loopback without clinician accounts."""
    if not is_loopback(host) and not has_accounts:
        message = (f"refusing to listen on {host} without clinician accounts: add one with "
                   "'rom-measure serve --add-user NAME' (then everyone must log in)")  # fmt: skip
        raise InputError(message)


def _password(name: str) -> str:
    env = os.environ.get("ROM_MEASURE_PASSWORD")
    if env:
        return env
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"password for {name}: ")
    if getpass.getpass("again: ") != first:
        raise InputError("the passwords differ")
    return first


def cmd_serve(args: argparse.Namespace) -> int:
    """Add an account, or check the bind address and run uvicorn until Ctrl-C."""
    try:
        import uvicorn

        from rom_measure.web import security
        from rom_measure.web.app import create_app
        from rom_measure.web.config import WebSettings
        from rom_measure.web.db import make_engine, migrate, session_factory
    except ImportError as error:
        raise InputError(f"the web app needs its extra: pip install 'rom-measure[web]' "
                         f"({error.name} is missing)") from None  # fmt: skip
    kwargs = {"data_dir": args.data_dir} if args.data_dir else {}
    settings = WebSettings(database_url=args.database, workers=args.workers, model=args.model,
                           require_login=not is_loopback(args.host), **kwargs)  # fmt: skip
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.url)
    migrate(engine)
    with session_factory(engine)() as db:
        if args.add_user:
            security.add_account(db, args.add_user, _password(args.add_user))
            print(f"account {args.add_user!r} saved")
            return 0
        check_bind(args.host, security.has_accounts(db))
    engine.dispose()
    url = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}/"
    print(f"rom-measure serve: {url} (data in {settings.data_dir}; Ctrl-C stops)")
    if not args.no_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, (url,)).start()
    live = args.live_hooks() if args.live_hooks else None
    uvicorn.run(
        create_app(settings, live=live), host=args.host, port=args.port, log_level="warning"
    )
    return 0


def register(sub: argparse._SubParsersAction, live_hooks: Callable[[], Any] | None = None) -> None:
    """Add ``serve``; ``live_hooks()`` builds the LiveHooks when the server starts."""
    from rom_measure.web.config import DEFAULT_PORT

    p = sub.add_parser("serve", help="the clinic web app (patients, visits, recording)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (beyond loopback needs accounts)")  # fmt: skip
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--data-dir", type=Path, help="where clips and results live "
                   "(default: the user data folder)")  # fmt: skip
    p.add_argument("--database", help="SQLAlchemy URL (default: SQLite in the data folder)")
    p.add_argument("--workers", type=number(int, 1), default=1, help="analysis processes")
    p.add_argument("--model", help="pose landmarker .task file")
    p.add_argument("--no-browser", action="store_true", help="do not open the browser")
    p.add_argument(
        "--add-user",
        metavar="NAME",
        help="create a clinician account (password asked, or $ROM_MEASURE_PASSWORD)",
    )
    p.set_defaults(func=cmd_serve, live_hooks=live_hooks)
