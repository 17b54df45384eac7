"""An output folder holds one run's complete set or the previous one (issue 13, faults 1-2).

Disk full (a real tiny tmpfs when the machine allows mounting one, else a writer
raising ENOSPC) and ``kill -9`` of a real ``rom-measure analyze`` process.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rom_measure import analyze_landmarks
from rom_measure._fileio import STAGE_PREFIX, OutputRun, recover_folder
from rom_measure.cli import main
from rom_measure.visit import outputs
from rom_measure.visit.outputs import OUTPUT_NAMES, analyze_to_folder, write_outputs

from ..conftest import ffmpeg, make_test_video
from ..stick_figure import ideal_camera, movement_clip


def _stick_result(angle: float = 50.0):
    series, _ = movement_clip("hip-flexion", "left", angle, ideal_camera("hip-flexion", "left"))
    return analyze_landmarks(series, "hip-flexion", "left")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_complete_set(folder: Path) -> str:
    """Check ``folder`` holds exactly one run's outputs, each as written; its run id."""
    data = json.loads((folder / "results.json").read_text())
    files = data["run"]["files"]
    for name, digest in files.items():
        assert _sha256(folder / name) == digest, f"{name} is not from run {data['run']['id']}"
    present = {p.name for p in folder.iterdir() if p.name in OUTPUT_NAMES}
    assert present == {*files, "results.json"}
    return str(data["run"]["id"])


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "rom_measure.cli", "analyze", *args]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 400 kB tmpfs (skipped where mounting is not allowed)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(disk)],
                          capture_output=True, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here; see test_enospc_from_a_writer")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.fixture(scope="module")
def noise_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """No person, and noise: its annotated video is about 1 MB."""
    folder = tmp_path_factory.mktemp("noise")
    return make_test_video(folder / "noise.mp4", "-vf", "noise=alls=80:allf=t",
                           frames=45, size="320x240")  # fmt: skip


@pytest.mark.slow
def test_disk_full_while_the_video_is_written(small_disk: Path, noise_clip: Path) -> None:
    out = small_disk / "out"
    write_outputs(_stick_result(), out)
    earlier = one_complete_set(out)
    done = subprocess.run(_cli(str(noise_clip), "-m", "hip-flexion", "-s", "left", "-o", str(out)),
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 4
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("rom-measure: error: cannot write")
    assert "no space left on the device" in lines[0]
    assert "ROM" not in done.stdout
    assert one_complete_set(out) == earlier
    assert _leftovers(out) == []


def test_enospc_from_a_writer(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    write_outputs(_stick_result(), out)
    earlier = one_complete_set(out)
    series, _ = movement_clip("hip-flexion", "left", 30.0, ideal_camera("hip-flexion", "left"))
    saved = tmp_path / "landmarks.npz"
    outputs.save_landmarks(series, saved)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outputs, "write_plot", full)
    code = main(["analyze", "--landmarks", str(saved), "-m", "hip-flexion", "-s", "left",
                 "-o", str(out)])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 4
    assert captured.err.strip().splitlines() == [
        f"rom-measure: error: cannot write the outputs to {out}: no space left on the device"
    ]
    assert one_complete_set(out) == earlier
    assert _leftovers(out) == []


@pytest.mark.slow
def test_enospc_while_the_closing_card_is_encoded(
    capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, noise_clip: Path
) -> None:
    """The other outputs are written while ffmpeg encodes the card: a failure there
    stops ffmpeg too and leaves the previous set (no hang, no half video)."""
    out = tmp_path / "out"
    write_outputs(_stick_result(), out)
    earlier = one_complete_set(out)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outputs, "write_plot", full)
    code = main(["analyze", str(noise_clip), "-m", "hip-flexion", "-s", "left", "-o", str(out)])
    assert code == 4
    assert capsys.readouterr().err.strip().endswith("no space left on the device")
    assert one_complete_set(out) == earlier
    assert _leftovers(out) == []


@pytest.mark.slow
def test_kill_9_mid_run_leaves_the_previous_set(tmp_path: Path, pose_model: Path) -> None:
    out = tmp_path / "out"
    write_outputs(_stick_result(), out)
    (out / "clip-notes.txt").write_text("not ours\n")
    earlier = one_complete_set(out)
    earlier_rom = json.loads((out / "results.json").read_text())["rom_deg"]
    clip = make_test_video(tmp_path / "long.mp4", frames=600, size="320x240")
    process = subprocess.Popen(_cli(str(clip), "-m", "hip-flexion", "-s", "left", "-o", str(out),
                                    "--model", str(pose_model)),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob(f"{STAGE_PREFIX}*/annotated.mp4")):  # frames are flowing
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert one_complete_set(out) == earlier
    assert any(name.startswith(STAGE_PREFIX) for name in _leftovers(out))
    newer = write_outputs(_stick_result(40.0), out)  # the next run cleans up
    assert one_complete_set(out) not in (earlier, "")
    assert _leftovers(out) == []
    assert (out / "clip-notes.txt").read_text() == "not ours\n"
    assert json.loads(newer["results"].read_text())["rom_deg"] < earlier_rom


def test_a_swap_cut_short_is_completed_by_the_next_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_outputs(_stick_result(), out)
    (out / "annotated.mp4").write_bytes(b"from no run")  # a stale output, not in the set
    run = OutputRun(out, OUTPUT_NAMES, "results.json")
    for name in ("angles.csv", "landmarks.npz", "results.json"):
        (run.stage / name).write_text(f"{run.run_id} {name}")
    run.mark_commit()
    (out / "results.json").unlink()  # killed right after the first step of the swap
    os.replace(run.stage / "angles.csv", out / "angles.csv")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (run.stage / "owner.pid").write_text(f"{dead.pid}\n")
    recover_folder(out)
    assert sorted(p.name for p in out.iterdir()) == ["angles.csv", "landmarks.npz",
                                                      "results.json"]  # fmt: skip
    for path in out.iterdir():
        assert path.read_text() == f"{run.run_id} {path.name}"


def test_a_live_run_is_not_cleaned_away(tmp_path: Path) -> None:
    run = OutputRun(tmp_path, OUTPUT_NAMES, "results.json")
    recover_folder(tmp_path)
    assert run.stage.is_dir()
    (tmp_path / ".angles.partial-abc.csv").write_text("half")
    run.discard()
    recover_folder(tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_the_review_video_of_a_60_fps_clip_keeps_every_second_frame(
    tmp_path: Path, pose_model: Path
) -> None:
    clip = make_test_video(tmp_path / "fast.mp4", "-r", "60", frames=60, size="320x240")
    result, paths = analyze_to_folder("hip-flexion", "left", tmp_path / "out", video=clip,
                                      model=pose_model)  # fmt: skip
    assert result.series.frames == 60  # the measurement keeps every frame
    probe = subprocess.run([ffmpeg(), "-i", str(paths["video"]), "-map", "0:v", "-f", "null", "-"],
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert "30 fps" in probe.stderr
    frames = int(probe.stderr.rsplit("frame=", 1)[1].split()[0])
    assert frames == 30 + round(2.5 * 30)


@pytest.mark.slow
def test_annotated_video_in_one_pass(tmp_path: Path, pose_model: Path) -> None:
    clip = make_test_video(tmp_path / "plain.mp4", frames=45, size="320x240")
    result, paths = analyze_to_folder("hip-flexion", "left", tmp_path / "out", video=clip,
                                      model=pose_model)  # fmt: skip
    video = paths["video"]
    one_complete_set(tmp_path / "out")
    probe = subprocess.run([ffmpeg(), "-i", str(video), "-map", "0:v", "-f", "null", "-"],
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert "h264" in probe.stderr and "yuv420p" in probe.stderr
    frames = int(probe.stderr.rsplit("frame=", 1)[1].split()[0])
    card = round(2.5 * 30)
    assert frames == result.series.frames + card
    import cv2

    capture = cv2.VideoCapture(str(video))
    ok, first = capture.read()
    capture.set(cv2.CAP_PROP_POS_FRAMES, frames - 1)
    ok_last, last = capture.read()
    capture.release()
    source = cv2.VideoCapture(str(clip))
    ok_source, original = source.read()
    source.release()
    assert ok and ok_source and first.shape == original.shape
    # The picture is the clip's (no channel swap; tests/media/test_annotate.py checks
    # colours closely); the lower half is clear of the overlay's text.
    below = np.s_[120:, :]
    drift = np.abs(first[below].reshape(-1, 3).mean(0) - original[below].reshape(-1, 3).mean(0))
    assert drift.max() < 4, drift
    assert ok_last and last.shape == (240, 320, 3)
    assert float(np.mean(last)) < 100  # the darkened closing card
    write_outputs(result, tmp_path / "out")  # a later run without a video
    assert not (tmp_path / "out" / "annotated.mp4").exists()
    one_complete_set(tmp_path / "out")


@pytest.mark.parametrize(("fps", "step"), [(24.0, 1), (30.0, 1), (30.2, 1), (40.0, 2),
                                           (59.94, 2), (75.0, 3), (120.0, 4)])  # fmt: skip
def test_the_review_video_step_keeps_it_at_most_30_fps(fps: float, step: int) -> None:
    from rom_measure.media.annotate import MAX_VIDEO_FPS, video_step

    assert video_step(fps) == step
    assert fps / step <= MAX_VIDEO_FPS * 1.01


def test_a_staged_analysis_not_committed_leaves_the_previous_run(tmp_path: Path) -> None:
    from rom_measure.media.landmark_file import save_landmarks
    from rom_measure.visit.outputs import staged_analysis

    saved = tmp_path / "clip.npz"
    for angle in (40.0, 60.0):
        series, _ = movement_clip("hip-flexion", "left", angle, ideal_camera("hip-flexion", "left"))
        save_landmarks(series, saved)
        if angle == 40.0:
            first, _ = analyze_to_folder("hip-flexion", "left", tmp_path / "out", landmarks=saved)
            kept = (tmp_path / "out" / "results.json").read_bytes()
            continue
        staged = staged_analysis("hip-flexion", "left", tmp_path / "out", landmarks=saved)
        with contextlib.suppress(KeyboardInterrupt), staged as run:
            assert abs(run.result.rom_deg - first.rom_deg) > 10  # a different result ...
            run.seal()
            raise KeyboardInterrupt  # ... interrupted before its commit
    assert (tmp_path / "out" / "results.json").read_bytes() == kept
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(STAGE_PREFIX)]
    with staged_analysis("hip-flexion", "left", tmp_path / "out", landmarks=saved) as run:
        run.seal()
        run.commit()
    assert json.loads((tmp_path / "out" / "results.json").read_text())["rom_deg"] == \
        pytest.approx(run.result.rom_deg, abs=0.01)  # fmt: skip
