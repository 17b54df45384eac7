"""The ``record`` command line (thin): arguments in, :func:`record_session` out."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from rom_measure._options import number
from rom_measure.capture.session import PROTOCOLS, RecordOptions, protocol_steps, record_session
from rom_measure.errors import InputError

__all__ = ["cmd_record", "register"]


def _resolution(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1280x720") from None
    return width, height


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``record`` command."""
    p = sub.add_parser(
        "record",
        help="record (and analyse) clips with a guided live preview",
        description="Record one movement, or every movement of a region with "
        "--protocol, into SESSION/<label>/<movement>_<side>/ and analyse it.",
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--movement", "-m", help="see 'rom-measure movements'")
    what.add_argument("--protocol", choices=PROTOCOLS, help="every movement of a region in turn")
    p.add_argument(
        "--side",
        "-s",
        choices=["left", "right"],
        help="limb or direction (not needed for neck flexion/extension)",
    )
    p.add_argument("--label", "-l", required=True, help="e.g. pre or post")
    p.add_argument("--session", required=True, type=Path, help="visit folder")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--camera", type=int, help="camera index (default: try 0, 1, 2)")
    src.add_argument("--source", help="video file or stream URL instead of a camera")
    p.add_argument(
        "--resolution",
        type=_resolution,
        default=(1280, 720),
        help="camera resolution to ask for (default 1280x720)",
    )
    p.add_argument(
        "--no-preview",
        dest="preview",
        action="store_false",
        help="record without a window (Enter or --max-seconds stops)",
    )
    p.add_argument("--countdown", type=number(float, 0), default=3.0, help="seconds (default 3)")
    p.add_argument(
        "--still-seconds",
        type=float,
        default=2.0,
        help="still neutral phase at the start (default 2)",
    )
    p.add_argument(
        "--max-seconds",
        type=number(float, 0, strict=True),
        default=20.0,
        help="longest take (default 20)",
    )
    p.add_argument(
        "--auto",
        type=float,
        nargs="?",
        const=5.0,
        default=None,
        metavar="SECONDS",
        help="no keys needed: start when the lights are green or after SECONDS "
        "(default 5), then go on by itself",
    )
    p.add_argument("--model", help="pose landmarker .task file")
    p.add_argument("--no-annotate", dest="annotate", action="store_false")
    p.set_defaults(func=cmd_record)  # fmt: skip


class _PrintReporter:
    def say(self, text: str) -> None:
        print(text, flush=True)

    def result(self, result: Any, folder: Path) -> None:
        from rom_measure.console import print_result

        print_result(result)
        print(f"  written to {folder}/", flush=True)

    def comparison(self, comparison: Any) -> None:
        from rom_measure.console import print_comparison

        print("\npre -> post:")
        print_comparison(comparison)
        sys.stdout.flush()


def cmd_record(args: argparse.Namespace) -> int:
    from rom_measure.measure.movements import check_side, get_movement

    if args.protocol:
        steps = protocol_steps(args.protocol)
    else:
        move = get_movement(args.movement)
        if args.side is None and not move.side_meaning.startswith("ignored"):
            raise InputError(f"--side left|right is needed for {move.name}")
        steps = [(move.name, check_side(args.side or "left"))]
    if not args.label.replace("-", "").replace("_", "").isalnum():
        raise InputError(f"--label {args.label!r}: use letters, digits, - and _ only")
    for name, value in (("--countdown", args.countdown), ("--still-seconds", args.still_seconds),
                        ("--max-seconds", args.max_seconds)):  # fmt: skip
        if not (math.isfinite(value) and value >= 0):
            raise InputError(f"{name} must be a number of seconds >= 0")
    if args.max_seconds <= args.still_seconds:
        raise InputError("--max-seconds must be longer than --still-seconds")
    options = RecordOptions(
        steps=steps, label=args.label, session=args.session, source=args.source,
        camera=args.camera, resolution=args.resolution, preview=args.preview,
        countdown_s=args.countdown, still_s=args.still_seconds, max_s=args.max_seconds,
        auto_s=args.auto, model=args.model, annotate=args.annotate, protocol=args.protocol,
    )  # fmt: skip
    outcomes = record_session(options, _PrintReporter())
    if not outcomes:
        return 1
    bad = [o for o in outcomes if o.clip is None or o.result is None or o.result.rejected]
    return 1 if bad or len(outcomes) < len(steps) else 0
