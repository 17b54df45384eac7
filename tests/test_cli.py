"""The command line: one clear line for every bad input, no traceback, no partial output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rom_measure.cli import main
from rom_measure.media.landmark_file import save_landmarks


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, pattern: str) -> None:
    import re

    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert re.search(pattern, lines[0]), lines[0]


def test_missing_video(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "analyze", str(tmp_path / "x.mp4"), "-m", "hip-flexion",
                       "-s", "left", "-o", str(tmp_path / "out"))  # fmt: skip
    assert_one_line_error(code, err, "video not found")
    assert not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("name", ["not_video", "empty", "truncated"])
def test_unreadable_videos(capsys, tmp_path: Path, test_videos: dict[str, Path], name: str):
    out = tmp_path / "out"
    code, _, err = run(capsys, "analyze", str(test_videos[name]), "-m", "hip-flexion",
                       "-s", "left", "-o", str(out))  # fmt: skip
    assert_one_line_error(code, err, "cannot read|truncated|no decodable")
    assert list(out.iterdir()) == []


def test_unknown_movement(capsys, tmp_path: Path, test_videos: dict[str, Path]) -> None:
    code, _, err = run(capsys, "analyze", str(test_videos["plain"]), "-m", "knee-bend", "-s",
                       "left")  # fmt: skip
    assert_one_line_error(code, err, "unknown movement 'knee-bend'")


def test_unknown_side_is_rejected_by_the_parser(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["analyze", "x.mp4", "-m", "hip-flexion", "-s", "up"])
    assert stop.value.code == 2
    assert "invalid choice: 'up'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["analyze", "x.mp4", "-m", "hip-flexion", "-s", "left", "--lowpass-hz", "-1"],
         "--lowpass-hz: must be above 0, not -1"),
        (["analyze", "x.mp4", "-m", "hip-flexion", "-s", "left", "--lowpass-hz", "0"],
         "--lowpass-hz: must be above 0, not 0"),
        (["analyze", "x.mp4", "-m", "hip-flexion", "-s", "left", "--lowpass-hz", "nan"],
         "--lowpass-hz: must be finite, not nan"),
        (["batch", "folder", "--lowpass-hz", "inf"], "--lowpass-hz: must be finite, not inf"),
        (["batch", "folder", "--workers", "0"], "must be at least 1, not 0"),
        (["validate", "--workers", "two"], "--workers: must be a whole number, not 'two'"),
        (["record", "--out", "v", "--max-seconds", "0"], "--max-seconds: must be above 0, not 0"),
    ],
)  # fmt: skip
def test_numbers_out_of_range_are_refused_by_the_parser(capsys, argv, message) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and message in err and "Traceback" not in err


def test_unwritable_output_folder(capsys, tmp_path: Path, test_videos: dict[str, Path]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run(capsys, "analyze", str(test_videos["plain"]), "-m", "hip-flexion",
                       "-s", "left", "-o", str(blocker / "out"))  # fmt: skip
    assert_one_line_error(code, err, "cannot write to output folder")


def test_bad_landmark_file(capsys, tmp_path: Path) -> None:
    bogus = tmp_path / "landmarks.npz"
    bogus.write_bytes(b"PK\x03\x04 not really")
    code, _, err = run(capsys, "analyze", "--landmarks", str(bogus), "-m", "hip-flexion",
                       "-s", "left")  # fmt: skip
    assert_one_line_error(code, err, "not a rom_measure landmark file")


def test_bad_model_file(capsys, tmp_path: Path, test_videos: dict[str, Path]) -> None:
    fake = tmp_path / "model.task"
    fake.write_text("nope")
    code, _, err = run(capsys, "analyze", str(test_videos["plain"]), "-m", "hip-flexion",
                       "-s", "left", "--model", str(fake))  # fmt: skip
    assert_one_line_error(code, err, "not a MediaPipe .task bundle")


def test_movements_lists_every_definition(capsys) -> None:
    from rom_measure import MOVEMENTS

    code, out, _ = run(capsys, "movements")
    assert code == 0
    for name in MOVEMENTS:
        assert name in out
    assert "sign:" in out and "normal:" in out


def test_console_script_error_has_no_traceback(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "rom_measure.cli", "analyze",
                           str(tmp_path / "missing.mp4"), "-m", "hip-flexion", "-s", "left"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == f"rom-measure: error: video not found: {tmp_path}/missing.mp4"


def test_reanalysis_from_saved_landmarks(capsys, tmp_path: Path) -> None:
    from .stick_figure import ideal_camera, movement_clip

    series, _ = movement_clip("hip-flexion", "left", 50.0, ideal_camera("hip-flexion", "left"))
    saved = tmp_path / "landmarks.npz"
    save_landmarks(series, saved)
    code, out, _ = run(capsys, "analyze", "--landmarks", str(saved), "-m", "hip-flexion",
                       "-s", "left", "-o", str(tmp_path / "res"), "--no-calibration")  # fmt: skip
    assert code == 0
    result = json.loads((tmp_path / "res" / "results.json").read_text())
    assert result["rom_deg"] == pytest.approx(50.0, abs=1.0)
    assert result["quality"]["verdict"] == "ok"
    assert "ROM" in out
    assert sorted(p.name for p in (tmp_path / "res").iterdir()) == [
        "angles.csv",
        "angles.mot",
        "angles.png",
        "landmarks.npz",
        "results.json",
    ]


def test_one_frame_clip_is_rejected_cleanly(capsys, tmp_path: Path) -> None:
    from .stick_figure import ideal_camera, movement_clip

    series, _ = movement_clip("hip-flexion", "left", 50.0, ideal_camera("hip-flexion", "left"))
    one = series.take(slice(0, 1))
    saved = tmp_path / "one.npz"
    save_landmarks(one, saved)
    code, _, err = run(capsys, "analyze", "--landmarks", str(saved), "-m", "hip-flexion",
                       "-s", "left", "-o", str(tmp_path / "res"))  # fmt: skip
    assert code == 1 and "Traceback" not in err
    saved_result = json.loads((tmp_path / "res" / "results.json").read_text())
    assert saved_result["quality"]["verdict"] == "rejected"
    assert saved_result["rom_deg"] is None


def test_json_output_for_analyze_and_compare(capsys, tmp_path: Path) -> None:
    from .stick_figure import ideal_camera, movement_clip

    for label, peak in (("pre", 40.0), ("post", 60.0)):
        series, _ = movement_clip("hip-flexion", "left", peak, ideal_camera("hip-flexion", "left"))
        save_landmarks(series, tmp_path / f"{label}.npz")
        code, out, err = run(capsys, "analyze", "--landmarks", str(tmp_path / f"{label}.npz"),
                             "-m", "hip-flexion", "-s", "left", "-o", str(tmp_path / label),
                             "--json")  # fmt: skip
        assert code == 0
        printed = json.loads(out)  # stdout is the JSON alone; the "written to" line is on stderr
        saved = json.loads((tmp_path / label / "results.json").read_text())
        assert {k: v for k, v in printed.items() if k != "created_utc"} == \
            {k: v for k, v in saved.items() if k != "created_utc"}  # fmt: skip
        assert printed["schema"] == "rom_measure.result" and "results.json" in err
    code, out, _ = run(capsys, "compare", str(tmp_path / "pre"), str(tmp_path / "post"), "--json")
    assert code == 0
    comparison = json.loads(out)
    assert comparison["movement"] == "hip-flexion"
    assert comparison["change_deg"] == pytest.approx(20.0, abs=2.0)
    code, out, _ = run(capsys, "compare", str(tmp_path / "pre"), str(tmp_path / "post"))
    assert "MDC95" in out and not out.lstrip().startswith("{")


def _landmark_result(capsys, folder: Path, peak: float) -> Path:
    from .stick_figure import ideal_camera, movement_clip

    series, _ = movement_clip("hip-flexion", "left", peak, ideal_camera("hip-flexion", "left"))
    save_landmarks(series, folder.with_suffix(".npz"))
    code, _, _ = run(capsys, "analyze", "--landmarks", str(folder.with_suffix(".npz")),
                     "-m", "hip-flexion", "-s", "left", "-o", str(folder))  # fmt: skip
    assert code == 0
    return folder


def test_compare_names_a_missing_input_and_refuses_the_same_one_twice(capsys, tmp_path) -> None:
    pre = _landmark_result(capsys, tmp_path / "pre", 40.0)
    code, _, err = run(capsys, "compare", str(pre), str(tmp_path / "nowhere"))
    assert_one_line_error(code, err, "post not found: .*nowhere")
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "compare", str(tmp_path / "empty"), str(pre))
    assert_one_line_error(code, err, "pre folder .*empty holds no results.json")
    code, _, err = run(capsys, "compare", str(pre), str(pre / "results.json"))
    assert_one_line_error(code, err, "pre and post are the same clip")


def test_result_files_are_not_compared_into_a_visit_folder(capsys, tmp_path) -> None:
    pre = _landmark_result(capsys, tmp_path / "pre", 40.0)
    post = _landmark_result(capsys, tmp_path / "post", 60.0)
    visit = tmp_path / "visit"
    (visit / "pre" / "hip-flexion_left").mkdir(parents=True)
    (visit / "pre" / "hip-flexion_left" / "results.json").write_text("{}")
    code, _, err = run(capsys, "compare", str(pre), str(post), "-o", str(visit))
    assert_one_line_error(code, err, "holds a visit's analyses")
    assert not (visit / "comparison.json").exists()
    code, _, _ = run(capsys, "compare", str(pre), str(post), "-o", str(tmp_path / "elsewhere"))
    assert code == 0 and (tmp_path / "elsewhere" / "comparison.json").is_file()


def test_a_bad_post_clip_leaves_the_visit_pair_as_it_was(
    capsys, tmp_path: Path, test_videos: dict[str, Path]
) -> None:
    visit = tmp_path / "visit"
    args = ["-m", "hip-flexion", "-s", "left", "-o", str(visit), "--no-annotate"]
    run(capsys, "compare", str(test_videos["plain"]), str(test_videos["vfr"]), *args)
    pre_file = visit / "pre" / "hip-flexion_left" / "results.json"
    before = json.loads(pre_file.read_text())["run"]["id"]
    for bad in ("not_video", "truncated"):
        code, _, err = run(capsys, "compare", str(test_videos["vfr"]), str(test_videos[bad]),
                           *args)  # fmt: skip
        assert code != 0 and "Traceback" not in err
        assert json.loads(pre_file.read_text())["run"]["id"] == before  # pre not replaced
    leftovers = [p for p in visit.rglob(".rom-measure-run-*")]
    assert not leftovers


def _cli() -> str:
    return str(Path(sys.executable).with_name("rom-measure"))


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_stdout_is_a_one_line_error() -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run([_cli(), "movements"], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=60)  # fmt: skip
    assert done.returncode == 4 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "rom-measure: error: cannot write the output: No space left on device"
    ]


def test_a_reader_that_stops_early_ends_the_command_quietly() -> None:
    command = subprocess.Popen([_cli(), "movements"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)  # fmt: skip
    command.stdout.close()  # the reader is gone before the command writes (its imports)
    err = command.stderr.read()
    command.wait(timeout=60)
    assert command.returncode == 141 and b"Traceback" not in err and not err.strip()


def test_models_checks_the_model_it_is_given(capsys, tmp_path: Path) -> None:
    junk = tmp_path / "junk.task"
    junk.write_text("not a model\n")
    code, _, err = run(capsys, "models", "--model", str(junk))
    assert_one_line_error(code, err, "junk.task is not a MediaPipe .task bundle")
    code, _, err = run(capsys, "models", "--model", str(tmp_path / "missing.task"))
    assert_one_line_error(code, err, "model file not found")


def test_an_undecodable_file_gives_the_one_line_error_alone(test_videos) -> None:
    for name in ("not_video", "empty"):
        argv = [_cli(), "analyze", str(test_videos[name]), "-m", "hip-flexion", "-s", "left"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1, done.stderr  # no FFmpeg/OpenCV lines
        assert lines[0].startswith("rom-measure: error: cannot read")


def test_a_failed_swap_of_the_post_clip_keeps_the_whole_earlier_pair(
    capsys, tmp_path: Path, test_videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from rom_measure._fileio import OutputRun

    visit = tmp_path / "visit"
    args = ["-m", "hip-flexion", "-s", "left", "-o", str(visit), "--no-annotate"]
    run(capsys, "compare", str(test_videos["plain"]), str(test_videos["vfr"]), *args)
    ids = {label: json.loads((visit / label / "hip-flexion_left" / "results.json").read_text())
           ["run"]["id"] for label in ("pre", "post")}  # fmt: skip
    real_mark, marks = OutputRun.mark_commit, []

    def full_on_second(self: OutputRun) -> list[str]:
        marks.append(self.folder)
        if len(marks) == 2:  # pre is marked, post's mark hits a full disk
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_mark(self)

    monkeypatch.setattr(OutputRun, "mark_commit", full_on_second)
    code, _, err = run(capsys, "compare", str(test_videos["vfr"]), str(test_videos["plain"]),
                       *args)  # fmt: skip
    assert_one_line_error(code, err, "cannot write the outputs to .*post.*no space left")
    assert len(marks) == 2
    for label in ("pre", "post"):
        saved = json.loads((visit / label / "hip-flexion_left" / "results.json").read_text())
        assert saved["run"]["id"] == ids[label]
    assert not list(visit.rglob(".rom-measure-run-*"))
