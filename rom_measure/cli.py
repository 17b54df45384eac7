"""Command-line interface (thin: parses, calls the library, formats, exits)."""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ._version import __version__
from .errors import RomMeasureError

__all__ = ["main"]

log = logging.getLogger("rom_measure")


def _fmt(value: float | None, unit: str = "°") -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.1f}{unit}"


def print_result(result) -> None:
    """A short table: the numbers, then the verdict with its reasons."""
    rom = result.rom
    rejected = result.rejected
    rows = [
        ("movement", f"{result.movement.name} ({result.side})"),
        ("ROM", "not reported" if rejected else
         f"{_fmt(rom.rom_deg)} ± {_fmt(rom.uncertainty_deg)} (best of {len(rom.repetitions)})"),
        ("mean ± SD", "—" if rejected or len(rom.repetitions) < 2 else
         f"{_fmt(rom.rom_mean_deg)} ± {_fmt(rom.rom_sd_deg)}"),
        ("neutral", "—" if rejected else _fmt(rom.neutral.angle_deg)),
        ("peak", "—" if rejected else _fmt(rom.peak_deg)),
        ("repetitions", "—" if rejected else ", ".join(_fmt(r.rom_deg) for r in rom.repetitions)),
        ("frames used", f"{result.frames_used}/{result.series.frames} at "
                        f"{result.series.fps:.1f} fps"),
        ("view", f"{_fmt(result.view.off_plane_deg)} off the ideal, facing {result.view.facing}"),
        ("quality", result.quality.verdict.upper()),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    for reason in result.quality.reasons:
        print(f"  {'':<{width}}  - {reason}")


def cmd_analyze(args: argparse.Namespace) -> int:
    from .analysis import AnalysisSettings, analyze_landmarks, video_landmarks
    from .landmarks import load_landmarks
    from .movements import check_side, get_movement
    from .outputs import prepare_output_dir, write_outputs

    movement = get_movement(args.movement)
    side = check_side(args.side)
    out_dir = prepare_output_dir(args.out) if args.out else None
    if args.landmarks:
        series = load_landmarks(args.landmarks)
    elif args.video:
        series = video_landmarks(args.video, args.model)
    else:
        raise RomMeasureError("give a VIDEO or --landmarks FILE")
    settings = AnalysisSettings(lowpass_hz=args.lowpass_hz)
    result = analyze_landmarks(series, movement, side, settings)
    print_result(result)
    if out_dir is not None:
        paths = write_outputs(result, out_dir)
        if args.annotate and args.video:
            from .annotate import write_annotated_video

            paths["video"] = write_annotated_video(
                result, Path(args.video), out_dir / "annotated.mp4"
            )
        print(f"\nwritten to {out_dir}/: " + ", ".join(p.name for p in paths.values()))
    return 1 if result.rejected else 0


def cmd_movements(args: argparse.Namespace) -> int:
    from .movements import MOVEMENTS

    for m in MOVEMENTS.values():
        norms = "; ".join(f"{n.label} ({n.source})" for n in m.normal)
        print(f"{m.name}  [{m.region}, {m.view} view, {m.plane} plane]")
        print(f"    angle: {m.definition}")
        print(f"    zero:  {m.zero_reference}; sign: {m.sign}")
        print(f"    side:  {m.side_meaning}")
        print(f"    normal: {norms}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .assets import body_dir, cache_dir, cached_assets, pose_model_path

    if args.action == "fetch":
        print(f"pose model: {pose_model_path(args.model)}")
        if args.body:
            print(f"body model: {body_dir()}")
        return 0
    print(f"cache: {cache_dir()}")
    assets = cached_assets()
    if not assets:
        print("  (empty: the pose model is built on first use, or run 'rom-measure models fetch')")
    for asset in assets:
        print(
            f"  {asset.name}: {asset.path} ({asset.size_bytes / 1e6:.1f} MB, from {asset.origin})"
        )
    return 0


def _add_analyze(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="measure one movement in a video")
    p.add_argument("video", nargs="?", help="video file")
    p.add_argument("--movement", "-m", required=True, help="see 'rom-measure movements'")
    p.add_argument("--side", "-s", required=True, choices=["left", "right"])
    p.add_argument("--out", "-o", type=Path, help="output folder (results.json, angles.csv, ...)")
    p.add_argument("--landmarks", type=Path, help="re-analyse a saved landmarks.npz (no model)")
    p.add_argument("--model", help="pose landmarker .task file (default: cached full model)")
    p.add_argument("--lowpass-hz", type=float, default=None, help="low-pass cut-off override")
    p.add_argument("--no-annotate", dest="annotate", action="store_false",
                   help="do not write the annotated video")  # fmt: skip
    p.set_defaults(func=cmd_analyze)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rom-measure",
        description="Joint range of motion from video, with quality verdicts and uncertainty.",
    )
    parser.add_argument("--version", action="version", version=f"rom-measure {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_analyze(sub)
    sub.add_parser("movements", help="list the movements and their definitions").set_defaults(
        func=cmd_movements
    )
    p = sub.add_parser("models", help="show or fetch the cached models")
    p.add_argument("action", nargs="?", choices=["list", "fetch"], default="list")
    p.add_argument("--model", help="check this .task file instead of the cached one")
    p.add_argument("--body", action="store_true", help="also fetch the synthetic body")
    p.set_defaults(func=cmd_models)
    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")  # fmt: skip
    try:
        return int(args.func(args) or 0)
    except RomMeasureError as error:
        print(f"rom-measure: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("rom-measure: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
