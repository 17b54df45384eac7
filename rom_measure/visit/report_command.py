"""The ``rom-measure report`` command (thin: arguments in, :func:`write_report` out)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rom_measure.visit.report import write_report

__all__ = ["cmd_report", "register"]


def cmd_report(args: argparse.Namespace) -> int:
    """``rom-measure report VISIT_DIR ...``: write the visit's report.html."""
    info = {"patient": args.patient, "clinician": args.clinician, "notes": args.notes,
            "date": args.date}  # fmt: skip
    path = write_report(args.visit_dir, info, blur_faces=args.blur_faces)
    print(f"report written to {path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` command to the CLI's subparsers."""
    p = sub.add_parser("report", help="write the visit's clinical report (report.html)")
    p.add_argument("visit_dir", type=Path, help="visit folder (pre/, post/ analyses)")
    p.add_argument("--patient", help="pseudonymous patient id (e.g. P-017); no names")
    p.add_argument("--clinician", help="clinician's initials")
    p.add_argument("--notes", help="free-text visit notes")
    p.add_argument("--date", help="visit date YYYY-MM-DD (default: stored, else today)")
    p.add_argument("--blur-faces", action="store_true",
                   help="blur the face in key frames and link face-blurred videos")  # fmt: skip
    p.set_defaults(func=cmd_report)
