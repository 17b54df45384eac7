"""Guided recording: the full flow under a virtual X display, and its fault cases.

The live-window tests start their own Xvfb (Debian package ``xvfb``) and run the
``record`` command in a subprocess with ``--source`` (a file plays like a camera) and
``--auto`` (no key presses). The recorded clip is decoded again and compared with the
source frame for frame.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rom_measure.capture.live import INSTRUCTIONS, instructions
from rom_measure.capture.record import TakeFlow, protocol_steps
from rom_measure.cli import main
from rom_measure.errors import RomMeasureError
from rom_measure.measure.movements import MOVEMENTS
from tests.conftest import ffmpeg, make_test_video

REPO = Path(__file__).resolve().parents[2]


# -- fixtures -------------------------------------------------------------------------------


def _free_display() -> int:
    for number in range(99, 160):
        if not (Path(f"/tmp/.X{number}-lock").exists() or
                Path(f"/tmp/.X11-unix/X{number}").exists()):  # fmt: skip
            return number
    pytest.skip("no free X display number for Xvfb")


@pytest.fixture(scope="module")
def xvfb() -> str:
    """A private virtual X display (skips when the Xvfb binary is not installed)."""
    binary = shutil.which("Xvfb")
    if binary is None:
        pytest.skip("Xvfb not installed (Debian package 'xvfb'): live-window tests skipped")
    number = _free_display()
    command = [binary, f":{number}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    socket_path = Path(f"/tmp/.X11-unix/X{number}")
    deadline = time.monotonic() + 10
    while not socket_path.exists() and server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not socket_path.exists():
        server.kill()
        pytest.fail(f"Xvfb did not start: {server.stderr.read().decode()[-300:]}")
    yield f":{number}"
    server.terminate()
    server.wait(10)


@pytest.fixture(scope="module")
def person_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float | None]:
    """A short side-view hip-flexion clip: synthetic (with its true ROM) or a real one."""
    folder = tmp_path_factory.mktemp("record_clips")
    try:
        from rom_measure.synth import ClipSpec, render_clip

        spec = ClipSpec("hip-flexion", "left", peak_deg=70.0, width_px=640, height_px=360,
                        supersample=1, still_s=1.0, ramp_s=0.8, hold_s=0.3)  # fmt: skip
        truth = render_clip(spec, folder / "hip.mp4")
        return folder / "hip.mp4", truth.rom_deg
    except (ImportError, RomMeasureError) as error:
        real = REPO.parent / "shared/data/pose2sim_single/cam02.mp4"
        if not real.is_file():
            pytest.skip(f"no synthetic body ({error}) and no real clip at {real}")
        small = folder / "cam02_small.mp4"
        command = [ffmpeg(), "-v", "error", "-y", "-i", str(real), "-vf", "scale=270:480",
                   "-c:v", "libx264", "-pix_fmt", "yuv420p", str(small)]  # fmt: skip
        subprocess.run(command, check=True)
        return small, None


def _env(display: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    if display:
        env["DISPLAY"] = display
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-u", "-m", "rom_measure.cli", "record", *args]


def _green_pixels(image) -> int:
    """Pixels of the green traffic-light colour (BGR 60, 200, 60) in a screenshot."""
    rgb = np.asarray(image.convert("RGB")).astype(int)
    return int((np.abs(rgb - [60, 200, 60]).sum(axis=2) < 30).sum())


def _decoded_frames(path: Path) -> int:
    from rom_measure.media.sources import VideoFileSource

    source = VideoFileSource(path)
    count = sum(1 for _ in source)
    source.close()
    return count


def _check_take(folder: Path, frames: int) -> dict:
    """The clip, its timestamps and metadata agree; return the metadata."""
    meta = json.loads((folder / "recording.json").read_text())
    assert _decoded_frames(folder / "clip.mp4") == frames
    with open(folder / "clip.timestamps.csv") as handle:
        times = [float(row["time_s"]) for row in csv.DictReader(handle)]
    assert (
        len(times) == frames == meta["timing"]["frames_saved"] == meta["timing"]["frames_captured"]
    )
    assert times[0] == 0.0 and np.all(np.diff(times) > 0)
    assert meta["frame_times_s"] == pytest.approx(times, abs=1e-6)
    assert not list(folder.glob(".*partial*")), "a temporary file was left behind"
    return meta


# -- the full flow with the live window -----------------------------------------------------


@pytest.mark.slow
def test_full_flow_with_live_window(xvfb: str, person_clip, tmp_path: Path) -> None:
    from PIL import ImageGrab

    clip, true_rom = person_clip
    session = tmp_path / "visits" / "P-001" / "2026-11-25"
    command = _cli("--movement", "hip-flexion", "--side", "left", "--label", "pre", "--session",
                   str(session), "--source", str(clip), "--auto", "3", "--countdown", "0.5",
                   "--still-seconds", "0.5", "--no-annotate")  # fmt: skip
    process = subprocess.Popen(command, env=_env(xvfb), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=tmp_path)  # fmt: skip
    lines, shot = [], None
    for line in process.stdout:  # type: ignore[union-attr]
        lines.append(line)
        if line.startswith("now move") and shot is None:
            time.sleep(0.8)  # the knee is up
            for _ in range(3):  # a grab may catch the window mid-repaint
                shot = ImageGrab.grab(xdisplay=xvfb)
                if _green_pixels(shot) > 200:
                    break
            shot.save(tmp_path / "record-window.png")
    code = process.wait(120)
    out, err = "".join(lines), process.stderr.read()  # type: ignore[union-attr]
    assert code == 0, out + err
    assert "Traceback" not in err

    # the live window was drawn: camera picture, green lights and the instruction band
    assert shot is not None, out
    assert _green_pixels(shot) > 200, "no green traffic lights in the window"
    rgb = np.asarray(shot.convert("RGB")).astype(int)
    band = rgb[370:480, :400]  # the text band below the 640x360 picture (window at 0,0)
    assert band.std() > 5

    folder = session / "pre" / "hip-flexion_left"
    meta = _check_take(folder, _decoded_frames(clip))
    assert meta["movement"] == "hip-flexion" and meta["side"] == "left"
    assert meta["label"] == "pre" and meta["session"] == str(session)
    assert meta["source"] == {"kind": "file", "name": str(clip), "target": str(clip)}
    assert meta["ended_by"] == "source_end" and meta["interrupted"] is False
    assert meta["timing"]["measured_fps"] == pytest.approx(30.0, rel=0.01)
    assert meta["preview"]["shown"] is True and meta["preview"]["fps"] > 5
    result = json.loads((folder / "results.json").read_text())
    assert (
        result["movement"] == "hip-flexion" and result["frames"] == meta["timing"]["frames_saved"]
    )
    if true_rom is not None:
        assert result["quality"]["verdict"] != "rejected", result["quality"]["reasons"]
        assert abs(result["rom_deg"] - true_rom) < 15
        assert f"{result['rom_deg']:.1f}" in out  # the ROM was printed
    else:
        assert result["rom_deg"] is not None or result["quality"]["reasons"]

    # the same clip again as "post", without a window: the comparison is written and printed
    done = subprocess.run(_cli("-m", "hip-flexion", "-s", "left", "-l", "post", "--session",
                               str(session), "--source", str(clip), "--no-preview",
                               "--countdown", "0", "--still-seconds", "0.5", "--no-annotate"),
                          env=_env(None), capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    comparison = json.loads((session / "comparison.json").read_text())
    assert "pre -> post" in done.stdout and "verdict" in done.stdout
    rows = comparison["comparisons"]
    assert [(r["movement"], r["side"]) for r in rows] == [("hip-flexion", "left")]
    if true_rom is not None:  # the same clip twice
        assert rows[0]["verdict"] == "no detectable change"
        assert "no detectable change" in done.stdout.lower()


# -- fault cases ----------------------------------------------------------------------------


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], pattern: str) -> None:
    import re

    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert re.search(pattern, err[0]), err[0]


def test_bad_camera_index(capsys, tmp_path: Path) -> None:
    _one_line_error(capsys, ["record", "-m", "hip-flexion", "-s", "left", "-l", "pre",
                             "--session", str(tmp_path / "s"), "--camera", "7", "--no-preview"],
                    r"cannot open a camera; sources tried: camera 7")  # fmt: skip
    assert not (tmp_path / "s" / "pre").exists()


def test_headless_without_no_preview(capsys, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    if not sys.platform.startswith("linux"):
        pytest.skip("the display check is for Linux")
    _one_line_error(capsys, ["record", "-m", "hip-flexion", "-s", "left", "-l", "pre",
                             "--session", str(tmp_path / "s"), "--source", "x.mp4"],
                    r"no display .*--no-preview")  # fmt: skip


def test_unreachable_display(capsys, monkeypatch, tmp_path: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("the display check is for Linux")
    monkeypatch.setenv("DISPLAY", f":{_free_display()}")
    _one_line_error(capsys, ["record", "-m", "hip-flexion", "-s", "left", "-l", "pre",
                             "--session", str(tmp_path / "s"), "--source", "x.mp4"],
                    r"cannot reach the display .*--no-preview")  # fmt: skip


def test_no_preview_records_headless(capsys, monkeypatch, tmp_path, test_videos) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    session = tmp_path / "s"
    code = main(["record", "-m", "ankle-lunge", "-s", "right", "-l", "pre", "--session",
                 str(session), "--source", str(test_videos["plain"]), "--no-preview",
                 "--countdown", "0", "--still-seconds", "0.3", "--no-annotate"])  # fmt: skip
    out = capsys.readouterr().out
    folder = session / "pre" / "ankle-lunge_right"
    meta = _check_take(folder, 60)
    assert meta["preview"]["shown"] is False and meta["ended_by"] == "source_end"
    result = json.loads((folder / "results.json").read_text())
    assert code == 1 and result["quality"]["verdict"] == "rejected"  # a test pattern, no person
    assert result["rom_deg"] is None and result["quality"]["reasons"]
    assert "saved" in out and "ROM" in out


def test_source_that_ends_early(capsys, tmp_path: Path) -> None:
    clip = make_test_video(tmp_path / "long.mp4", "-movflags", "+faststart", frames=90)
    data = clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    code = main(["record", "-m", "hip-flexion", "-s", "left", "-l", "pre", "--session",
                 str(tmp_path / "s"), "--source", str(cut), "--no-preview", "--countdown", "0",
                 "--still-seconds", "0.2", "--no-annotate"])  # fmt: skip
    out = capsys.readouterr().out
    folder = tmp_path / "s" / "pre" / "hip-flexion_left"
    meta = json.loads((folder / "recording.json").read_text())
    kept = meta["timing"]["frames_saved"]
    assert 0 < kept < 90
    _check_take(folder, kept)
    assert meta["ended_by"] == "source_stopped" and "truncated" in meta["stopped_early"]
    assert f"the {kept} frames recorded so far were kept" in out
    assert code == 1 and (folder / "results.json").is_file()


# The child's Ctrl-C handling is set explicitly: a process started with SIGINT ignored (a
# background shell, nohup) passes that on, and ``record`` keeps ignoring it (Unix convention).
_SIGINT_DEFAULT = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                   "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])")  # fmt: skip
_IGNORING_PARENT = ("import signal, subprocess, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                    "sys.exit(subprocess.call(sys.argv[1:]))")  # fmt: skip


def _interrupt_when(
    trigger: str, delay_s: float, *args: str, parent_ignores_sigint: bool = False
) -> tuple[subprocess.Popen[str], str, str]:
    """Run ``record`` with ``args`` and press Ctrl-C ``delay_s`` after it prints ``trigger``.

    Ctrl-C goes to the child's whole process group, as a terminal sends it. With
    ``parent_ignores_sigint`` the child is started by a parent that ignores SIGINT.
    """
    command = [sys.executable, "-c", _SIGINT_DEFAULT, *_cli(*args)[1:]]
    if parent_ignores_sigint:
        command = [sys.executable, "-c", _IGNORING_PARENT, *command]
    process = subprocess.Popen(command, env=_env(None), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, process_group=0)  # fmt: skip
    for line in process.stdout:  # type: ignore[union-attr]
        if line.startswith(trigger):
            time.sleep(delay_s)
            os.killpg(process.pid, signal.SIGINT)
            break
    out, err = process.communicate(timeout=60)
    return process, out, err


def test_ctrl_c_keeps_a_valid_clip(tmp_path: Path) -> None:
    clip = make_test_video(tmp_path / "long.mp4", "-movflags", "+faststart", frames=240)
    folder = tmp_path / "s" / "pre" / "hip-flexion_left"
    process, out, err = _interrupt_when(
        "now move", 0.7, "-m", "hip-flexion", "-s", "left", "-l", "pre", "--session",
        str(tmp_path / "s"), "--source", str(clip), "--no-preview", "--countdown", "0",
        "--still-seconds", "0.3",
    )  # fmt: skip
    assert process.returncode == 130, out + err
    assert "interrupted: kept the" in out and "Traceback" not in err
    meta = json.loads((folder / "recording.json").read_text())
    assert meta["interrupted"] is True and meta["ended_by"] == "interrupted"
    assert 10 < meta["timing"]["frames_saved"] < 240
    _check_take(folder, meta["timing"]["frames_saved"])
    assert not (folder / "results.json").exists()  # not analysed


def test_ctrl_c_stops_a_child_of_a_parent_that_ignores_it(tmp_path: Path) -> None:
    """The test's own Ctrl-C set-up holds even when its parent ignores SIGINT."""
    clip = make_test_video(tmp_path / "long.mp4", "-movflags", "+faststart", frames=240)
    folder = tmp_path / "s" / "pre" / "hip-flexion_left"
    process, out, err = _interrupt_when(
        "now move", 0.5, "-m", "hip-flexion", "-s", "left", "-l", "pre", "--session",
        str(tmp_path / "s"), "--source", str(clip), "--no-preview", "--countdown", "0",
        "--still-seconds", "0.3", parent_ignores_sigint=True,
    )  # fmt: skip
    assert process.returncode == 130, out + err
    assert "interrupted: kept the" in out
    meta = json.loads((folder / "recording.json").read_text())
    assert meta["ended_by"] == "interrupted" and meta["timing"]["frames_saved"] < 240


def test_ctrl_c_before_recording_saves_nothing(tmp_path: Path) -> None:
    clip = make_test_video(tmp_path / "c.mp4", frames=30)
    process, out, _ = _interrupt_when(
        "recording starts", 0.3, "-m", "hip-flexion", "-s", "left", "-l", "pre", "--session",
        str(tmp_path / "s"), "--source", str(clip), "--no-preview", "--countdown", "30",
    )  # fmt: skip
    assert process.returncode == 130
    assert "nothing was saved" in out
    assert not (tmp_path / "s" / "pre").exists()


@pytest.mark.slow
def test_protocol_records_every_movement_of_the_region(capsys, tmp_path, test_videos) -> None:
    session = tmp_path / "s"
    code = main(["record", "--protocol", "neck", "-l", "pre", "--session", str(session),
                 "--source", str(test_videos["plain"]), "--no-preview", "--countdown", "0",
                 "--still-seconds", "0.2", "--no-annotate"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1  # a test pattern: every analysis is rejected, but every take is saved
    folders = sorted(p.name for p in (session / "pre").iterdir())
    assert folders == sorted(f"{m}_{s}" for m, s in protocol_steps("neck"))
    for name in folders:
        assert (session / "pre" / name / "results.json").is_file()
        _check_take(session / "pre" / name, 60)
    assert "step 6/6" in out


# -- pure logic -----------------------------------------------------------------------------


def test_protocol_steps() -> None:
    assert protocol_steps("neck") == [
        ("neck-flexion", "left"), ("neck-extension", "left"),
        ("neck-lateral-flexion", "left"), ("neck-lateral-flexion", "right"),
        ("neck-rotation", "left"), ("neck-rotation", "right"),
    ]  # fmt: skip
    hip = protocol_steps("hip")
    assert len(hip) == 6 and ("hip-abduction", "right") in hip
    assert {m for m, _ in protocol_steps("ankle")} == {
        "ankle-dorsiflexion", "ankle-plantarflexion", "ankle-lunge"}  # fmt: skip


def test_instructions_for_every_movement() -> None:
    assert set(INSTRUCTIONS) == set(MOVEMENTS)
    placement, move = instructions("hip-flexion", "left")
    assert placement.startswith("Stand side-on, left side to the camera, whole body in view")
    assert "Raise your left knee" in move
    for name in MOVEMENTS:
        for side in ("left", "right"):
            assert "{" not in "".join(instructions(name, side))


def test_take_flow() -> None:
    flow = TakeFlow(countdown_s=3, still_s=2, max_s=10, ready_hold_s=1)
    flow.start(0.0)
    assert flow.tick(5.0, ready=False) == "waiting"  # no lights, no auto: keeps waiting
    assert flow.tick(5.5, ready=True) == "waiting"
    assert flow.tick(6.6, ready=True) == "countdown"  # green for 1 s
    assert flow.tick(9.0, ready=False) == "countdown"
    assert flow.tick(9.7, ready=False) == "still" and flow.recording
    assert flow.tick(11.8, ready=False) == "moving"
    assert flow.tick(19.6, ready=False) == "moving"
    assert flow.tick(19.8, ready=False) == "done" and flow.ended_by == "max_seconds"

    flow.start(0.0)
    assert flow.key(" ", 0.1) == "countdown"  # override the lights
    assert flow.key("r", 0.2) == "redo"
    flow.start(0.0)
    flow.key(" ", 0.0)
    flow.tick(3.0, ready=False)
    assert flow.key(" ", 4.0) == "done" and flow.ended_by == "key"

    auto = TakeFlow(countdown_s=0, still_s=1, max_s=5, auto_s=2)
    auto.start(0.0)
    assert auto.tick(1.9, ready=False) == "waiting"
    assert auto.tick(2.0, ready=False) == "still"  # auto start, no countdown
    assert auto.source_ended(2.5, "end") == "done" and auto.ended_by == "source_end"
    early = TakeFlow()
    early.start(0.0)
    assert early.source_ended(1.0, "stopped") == "failed"
    assert early.key("q", 1.0) == "quit"
