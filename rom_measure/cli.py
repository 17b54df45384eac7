"""Command-line interface (thin: parses, calls the library, formats, exits)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rom_measure._options import number
from rom_measure._version import __version__
from rom_measure.config import Settings, apply_to_parsers, find_config, load_settings
from rom_measure.console import print_comparison, print_json, print_result
from rom_measure.errors import InputError, OutputError, RomMeasureError

__all__ = ["main"]

log = logging.getLogger("rom_measure")


def cmd_analyze(args: argparse.Namespace) -> int:
    from rom_measure.measure.movements import check_side, get_movement
    from rom_measure.media.pipeline import landmarks_for, measure_series
    from rom_measure.visit.outputs import analyze_to_folder

    if not (args.video or args.landmarks):
        raise InputError("give a VIDEO or --landmarks FILE")
    settings = dataclasses.replace(args.settings.analysis, lowpass_hz=args.lowpass_hz,
                                   calibrate=args.calibrate)  # fmt: skip
    if args.out:
        result, paths = analyze_to_folder(
            args.movement,
            args.side,
            args.out,
            video=args.video,
            landmarks=args.landmarks,
            model=args.model,
            settings=settings,
            annotate=args.annotate,
        )
    else:
        movement, side = get_movement(args.movement), check_side(args.side)
        series = landmarks_for(args.video, args.landmarks, args.model,
                               face_mesh=movement.face_mesh)  # fmt: skip
        again = args.video if args.landmarks is None else None  # the video to look at again
        result = measure_series(series, again, movement, side, args.model, settings)
        paths = {}
    if args.json:  # the saved results.json when there is one (it lists the run's files)
        saved = paths.get("results") if paths else None
        print_json(json.loads(saved.read_text(encoding="utf-8")) if saved else result.to_dict())
    else:
        print_result(result)
    if paths:
        print(f"\nwritten to {args.out}/: " + ", ".join(p.name for p in paths.values()),
              file=sys.stderr if args.json else sys.stdout)  # fmt: skip
    return 1 if result.rejected else 0


def _is_result(path: Path) -> bool:
    return path.suffix == ".json" or (path.is_dir() and (path / "results.json").is_file())


def _check_compare_input(label: str, target: Path, args: argparse.Namespace) -> None:
    """A clear error for a missing pre/post input before anything runs."""
    if not target.exists():
        raise InputError(f"{label} not found: {target}")
    if target.is_dir() and not (target / "results.json").is_file():
        raise InputError(f"{label} folder {target} holds no results.json")
    if not _is_result(target):
        if not (args.movement and args.side):
            raise InputError("--movement and --side are needed to analyse videos")
        from rom_measure.media.sources import VideoFileSource

        VideoFileSource(target).close()  # an unreadable clip fails before any analysis


def _same_clip(pre: Path, post: Path) -> bool:
    from rom_measure._fileio import sha256_file

    def file(path: Path) -> Path:
        return (path / "results.json" if path.is_dir() else path).resolve()

    if file(pre) == file(post):
        return True
    if _is_result(pre) or _is_result(post):
        return False  # compared by the clips' SHA-256 in the results, once read
    return sha256_file(pre) == sha256_file(post)


def _same_clip_error(detail: str) -> InputError:
    return InputError(f"pre and post are the same clip ({detail}): compare a clip filmed "
                      "before treatment with one filmed after it")  # fmt: skip


def _refuse_same_clip(pre: dict, post: dict) -> None:
    digests = [(r.get("source") or {}).get("sha256") for r in (pre, post)]
    if digests[0] and digests[0] == digests[1]:
        raise _same_clip_error("same SHA-256")


def _result_for(
    label: str, target: Path, args: argparse.Namespace, out: Path | None,
    stack: contextlib.ExitStack, staged: list,
) -> dict[str, object]:  # fmt: skip
    """A results dict for ``target``: read it, or analyse the video into the visit folder
    (staged there: ``staged`` collects the analyses to swap in once both are done)."""
    from rom_measure.visit.compare import load_result, visit_clip_dir
    from rom_measure.visit.outputs import staged_analysis

    if _is_result(target):
        return load_result(target)
    if out is None:
        from rom_measure.media.pipeline import analyze_video

        return analyze_video(target, args.movement, args.side, args.model,
                             args.settings.analysis).to_dict()  # fmt: skip
    folder = visit_clip_dir(out, label, args.movement, args.side)
    analysis = stack.enter_context(staged_analysis(
        args.movement, args.side, folder, video=target, model=args.model,
        settings=args.settings.analysis, annotate=args.annotate))  # fmt: skip
    staged.append(analysis)
    return analysis.result.to_dict()


def _swap_in_together(staged: list) -> None:
    """Seal, then mark, then commit every staged analysis: a failure before the last mark
    takes the marks back, so the visit keeps its earlier pair whole."""
    for analysis in staged:
        analysis.seal()
    marked = []
    try:
        for analysis in staged:
            analysis.mark()
            marked.append(analysis)
    except BaseException:
        for analysis in marked:
            analysis.unmark()
        raise
    for analysis in staged:
        analysis.commit()


def _holds_visit(folder: Path) -> bool:
    return any(any((folder / label).glob("*/results.json")) for label in ("pre", "post"))


def cmd_compare(args: argparse.Namespace) -> int:
    from rom_measure.visit.compare import (
        compare_results,
        comparison_to_dict,
        update_visit_comparisons,
        write_comparisons,
    )
    from rom_measure.visit.outputs import prepare_output_dir

    for label, target in (("pre", args.pre), ("post", args.post)):
        _check_compare_input(label, target, args)
    if _same_clip(args.pre, args.post):
        raise _same_clip_error(str(args.post))
    files_only = _is_result(args.pre) and _is_result(args.post)
    out = prepare_output_dir(args.out) if args.out else None
    if out is not None and files_only and _holds_visit(out):
        raise InputError(f"{out} holds a visit's analyses (pre/, post/); write a comparison "
                         "of result files to another folder")  # fmt: skip
    with contextlib.ExitStack() as stack:
        staged: list = []
        pre = _result_for("pre", args.pre, args, out, stack, staged)
        post = _result_for("post", args.post, args, out, stack, staged)
        _refuse_same_clip(pre, post)
        _swap_in_together(staged)
    comparison = compare_results(pre, post)
    print_json(comparison_to_dict(comparison)) if args.json else print_comparison(comparison)
    if out is not None:
        if files_only:
            write_comparisons([comparison], out)
        else:
            update_visit_comparisons(out)
        print(f"\nwritten to {out}/: comparison.json, comparison.csv",
              file=sys.stderr if args.json else sys.stdout)  # fmt: skip
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from rom_measure.config import settings_toml

    print(settings_toml(args.settings, args.config_source), end="")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from rom_measure.synth.demo import run_demo

    rows = run_demo(args.out, args.cases, annotate=args.annotate, report=args.report)
    return 0 if all(r["verdict"] != "rejected" for r in rows) else 1


def cmd_validate(args: argparse.Namespace) -> int:
    from rom_measure.synth.validate import read_cases, run_validation, suite, write_validation
    from rom_measure.synth.validation_report import report
    from rom_measure.visit.outputs import prepare_output_dir

    if args.report_from:  # re-report earlier runs without rendering or measuring
        print(report([row for path in args.report_from for row in read_cases(path)]))
        return 0
    out = prepare_output_dir(args.out)
    cases = suite(quick=args.quick, split=args.split, per_movement=args.per_movement)
    print(f"validating {len(cases)} rendered cases (rendered once, then cached) ...")

    def progress(row: dict) -> None:
        measured = row["measured_rom_deg"]
        shown = "—" if measured is None else f"{measured:.1f}°"
        print(f"  {row['split']:<8} {row['movement']:<21} {row['side']:<5} "
              f"{row['body']:<18} {row['camera']:<13} off {row['off_plane_deg']:>2.0f}°: true "
              f"{row['true_rom_deg']:.1f}°, measured {shown} [{row['verdict']}] {row['flags']}",
              flush=True)  # fmt: skip

    rows = run_validation(cases, workers=args.workers, progress=progress)
    paths = write_validation(rows, out)
    pair_rows = [] if args.quick else _validate_pairs(args.split, args.workers)
    print()
    print(report(rows))
    if pair_rows:
        from rom_measure.synth.pairs import summarize as summarize_pairs
        from rom_measure.synth.pairs import write_pairs

        print("### pre/post pairs: the verdict each true change calls for\n")
        print(summarize_pairs(pair_rows))
        paths["pairs"] = write_pairs(pair_rows, out)
    print("written: " + ", ".join(str(p) for p in paths.values()))
    return 0


def _validate_pairs(split: str | None, workers: int) -> list[dict]:
    from rom_measure.synth.pairs import pair_cases, run_pairs

    pairs = pair_cases(split or "held-out")  # nothing is fitted on pairs: report held-out
    print(f"comparing {len(pairs)} pre/post pairs at known changes ...")

    def progress(row: dict) -> None:
        shown = row["measured_change_deg"]
        print(f"  {row['split']:<8} {row['movement']:<21} {row['body']:<18} {row['camera']:<13}"
              f" true change {row['true_change_deg']:+.1f}°, measured "
              f"{'—' if shown is None else f'{shown:+.1f}°'}: {row['verdict']}"
              f"{' (doubtful)' if row['doubtful'] else ''}, expected {row['expected']}",
              flush=True)  # fmt: skip

    return run_pairs(pairs, workers=workers, progress=progress)


def cmd_movements(args: argparse.Namespace) -> int:
    from rom_measure.measure.movements import MOVEMENTS

    for m in MOVEMENTS.values():
        norms = "; ".join(f"{n.label} ({n.source})" for n in m.normal)
        print(f"{m.name}  [{m.region}, {m.view} view, {m.plane} plane]")
        print(f"    angle: {m.definition}")
        print(f"    zero:  {m.zero_reference}; sign: {m.sign}")
        print(f"    side:  {m.side_meaning}")
        print(f"    normal: {norms}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from rom_measure.media.assets import (
        body_dir,
        cache_dir,
        cached_assets,
        face_model_path,
        model_sha256,
        pose_model_path,
    )

    if args.action == "fetch":
        model = pose_model_path(args.model)
        print(f"pose model: {model} (sha256 {model_sha256(model)})")
        face = face_model_path()
        print(f"face mesh model: {face} (sha256 {model_sha256(face)})")
        if args.body:
            print(f"body model: {body_dir()}")
        return 0
    if args.model:  # the model named (or set in the config file), checked as analyze loads it
        model = pose_model_path(args.model)
        print(f"pose model: {model} (sha256 {model_sha256(model)})")
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
    p.add_argument(
        "--lowpass-hz",
        type=number(float, 0.0, strict=True),
        default=None,
        help="low-pass cut-off override (Hz)",
    )
    p.add_argument(
        "--no-calibration",
        dest="calibrate",
        action="store_false",
        help="report the model's raw ROM, without the gain measured on ground truth",
    )
    p.add_argument("--no-annotate", dest="annotate", action="store_false",
                   help="do not write the annotated video")  # fmt: skip
    p.add_argument("--json", action="store_true",
                   help="print the result JSON on stdout instead of the table")  # fmt: skip
    p.set_defaults(func=cmd_analyze)


def _live_hooks() -> object:
    """The capture wing's live lights and instructions, for the web app's recording page."""
    from rom_measure.capture.live import LiveAnalyzer, instructions
    from rom_measure.web.live import LiveHooks

    return LiveHooks(lambda move, side, backend: LiveAnalyzer(move, side, backend, max_side_px=480),
                     instructions)  # fmt: skip


_CONFIG_HELP = "TOML settings file (default: ./rom-measure.toml if there); flags override it"


def build_parser(
    settings: Settings | None = None, config_source: Path | None = None
) -> argparse.ArgumentParser:
    """The parser; ``settings`` (from the config file) become the options' defaults."""
    settings = settings or Settings()
    parser = argparse.ArgumentParser(
        prog="rom-measure",
        description="Joint range of motion from video, with quality verdicts and uncertainty.",
    )
    parser.add_argument("--version", action="version", version=f"rom-measure {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    parser.add_argument("--config", metavar="FILE", help=_CONFIG_HELP)
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
    p = sub.add_parser("compare", help="compare a pre and a post clip (or their results.json)")
    p.add_argument("pre", type=Path, help="video, results.json or an analysis folder")
    p.add_argument("post", type=Path, help="video, results.json or an analysis folder")
    p.add_argument("--movement", "-m", help="needed when PRE/POST are videos")
    p.add_argument("--side", "-s", choices=["left", "right"])
    p.add_argument("--out", "-o", type=Path, help="visit folder (pre/, post/, comparison.*)")
    p.add_argument("--model", help="pose landmarker .task file")
    p.add_argument("--no-annotate", dest="annotate", action="store_false")
    p.add_argument("--json", action="store_true",
                   help="print the comparison JSON on stdout instead of the table")  # fmt: skip
    p.set_defaults(func=cmd_compare)
    p = sub.add_parser("demo", help="render and analyse a synthetic pre/post visit (offline)")
    p.add_argument("--out", "-o", type=Path, default=Path("rom-measure-demo"))
    p.add_argument("--cases", type=Path, help="demo manifest (default: the packaged one)")
    p.add_argument("--no-annotate", dest="annotate", action="store_false")
    p.add_argument("--no-report", dest="report", action="store_false")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("validate", help="accuracy against rendered ground truth")
    p.add_argument("--quick", action="store_true", help="6 cases (CI) instead of the full suite")
    p.add_argument("--split", choices=("training", "held-out"), help="only this split")
    p.add_argument(
        "--per-movement", type=number(int, 1), help="cases per movement and split (a subset)"
    )
    p.add_argument("--report-from", nargs="+", type=Path, metavar="CASES_CSV",
                   help="print the report of earlier validation_cases.csv and stop")  # fmt: skip
    p.add_argument("--out", "-o", type=Path, default=Path("rom-measure-validation"))
    p.add_argument("--workers", type=number(int, 1), default=1, help="parallel processes")
    p.set_defaults(func=cmd_validate)
    # Commands whose thin CLI part lives beside their logic.
    from rom_measure.batch import command as batch
    from rom_measure.capture import command as record
    from rom_measure.visit import report_command as report

    for module in (report, record, batch):
        module.register(sub)
    from rom_measure.web import serve  # light: the web extra is imported by the command

    serve.register(sub, live_hooks=_live_hooks)
    p = sub.add_parser("config", help="show the settings in force (defaults and config file)")
    p.add_argument("--show", action="store_true", help="print them as TOML (the default)")
    p.set_defaults(func=cmd_config)
    for command in sub.choices.values():  # --config is accepted after the command too
        command.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                             help=_CONFIG_HELP)  # fmt: skip
    apply_to_parsers(sub.choices, settings)
    parser.set_defaults(settings=settings, config_source=config_source)
    return parser


def _config_file(argv: Sequence[str]) -> Path | None:
    """The configuration file in force: ``--config FILE`` anywhere, or ./rom-measure.toml."""
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False, exit_on_error=False)
    pre.add_argument("--config")
    try:
        known, _ = pre.parse_known_args(argv)
    except argparse.ArgumentError:  # e.g. no FILE after --config: the full parser says so
        return None
    return find_config(known.config)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        source = _config_file(argv)
        settings = load_settings(source)
    except RomMeasureError as error:
        print(f"rom-measure: error: {error}", file=sys.stderr)
        return error.exit_code
    parser = build_parser(settings, source)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")  # fmt: skip
    quiet = {} if args.verbose else _QUIET_LIBRARIES  # the user's own values are kept
    saved = {name: os.environ.get(name) for name in quiet}
    os.environ.update({k: v for k, v in quiet.items() if saved[k] is None})
    real_stdout = sys.stdout
    watched = sys.stdout = _Watched(real_stdout) if real_stdout is not None else None
    try:
        return _run(args, watched)
    finally:
        sys.stdout = real_stdout
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)


#: OpenCV's and FFmpeg's own log lines would come before the one-line error.
_QUIET_LIBRARIES = {"OPENCV_LOG_LEVEL": "ERROR", "OPENCV_FFMPEG_LOGLEVEL": "-8"}


class _Watched:
    """stdout, noting whether writing to it failed (to tell its errors from others)."""

    def __init__(self, stream: object) -> None:
        self.stream, self.failed = stream, False

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)  # type: ignore[attr-defined]
        except OSError:
            self.failed = True
            raise

    def flush(self) -> None:
        try:
            self.stream.flush()  # type: ignore[attr-defined]
        except OSError:
            self.failed = True
            raise

    def __getattr__(self, name: str) -> object:
        return getattr(self.stream, name)


def _run(args: argparse.Namespace, stdout: _Watched | None) -> int:
    try:
        code = int(args.func(args) or 0)
        if stdout is not None:
            stdout.flush()  # a full disk or closed pipe is reported here, not at exit
        return code
    except RomMeasureError as error:
        print(f"rom-measure: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("rom-measure: interrupted", file=sys.stderr)
        return 130
    except OSError as error:
        if stdout is None or not stdout.failed:
            raise  # not stdout's: a defect, shown in full
        _silence_stdout()
        if isinstance(error, BrokenPipeError):  # e.g. `rom-measure movements | head -1`
            return 141  # 128 + SIGPIPE, as a shell reports a command killed by it
        print(f"rom-measure: error: cannot write the output: {error.strerror or error}",
              file=sys.stderr)  # fmt: skip
        return OutputError.exit_code


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that Python's flush at exit does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
