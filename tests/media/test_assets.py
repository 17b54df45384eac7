"""Offline pose-model provisioning: metadata written, cache safe under concurrency."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rom_measure import AssetError
from rom_measure.media.assets import POSE_WHEEL, model_provenance, pose_model_path, sha256_of
from rom_measure.media.pose import MediaPipePose


def read_normalisation(model: bytes) -> tuple[list[float], list[float]]:
    from mediapipe.tasks.metadata import metadata_schema_py_generated as mfb
    from mediapipe.tasks.metadata import schema_py_generated as tfl

    parsed = tfl.ModelT.InitFromObj(tfl.Model.GetRootAs(model, 0))
    entries = [m for m in parsed.metadata if m.name == b"TFLITE_METADATA"]
    assert len(entries) == 1
    raw = bytes(parsed.buffers[entries[0].buffer].data)
    meta = mfb.ModelMetadataT.InitFromObj(mfb.ModelMetadata.GetRootAs(raw, 0))
    options = meta.subgraphMetadata[0].inputTensorMetadata[0].processUnits[0].options
    return list(np.asarray(options.mean)), list(np.asarray(options.std))


def test_bundle_carries_the_input_normalisation(pose_model: Path) -> None:
    with zipfile.ZipFile(pose_model) as bundle:
        assert sorted(bundle.namelist()) == [
            "pose_detector.tflite",
            "pose_landmarks_detector.tflite",
        ]
        assert read_normalisation(bundle.read("pose_detector.tflite")) == ([127.5], [127.5])
        assert read_normalisation(bundle.read("pose_landmarks_detector.tflite")) == ([0.0], [255.0])


def test_extracted_models_match_their_pinned_digests(pose_model: Path) -> None:
    folder = pose_model.parent / "mediapipe-0.10.21"
    for member, digest in POSE_WHEEL.members.items():
        assert sha256_of(folder / Path(member).name) == digest


def test_explicit_model_path_is_checked(tmp_path: Path, pose_model: Path) -> None:
    assert pose_model_path(pose_model) == pose_model
    with pytest.raises(AssetError, match="model file not found"):
        pose_model_path(tmp_path / "missing.task")
    not_pose = tmp_path / "other.task"
    with zipfile.ZipFile(not_pose, "w") as bundle:
        bundle.writestr("face_detector.tflite", b"")
    with pytest.raises(AssetError, match="not a pose landmarker bundle"):
        pose_model_path(not_pose)


def _provision(cache: Path, extra_env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "ROM_MEASURE_CACHE": str(cache), **(extra_env or {})}
    env.pop("ROM_MEASURE_MODEL", None)
    code = "from rom_measure.media.assets import pose_model_path, sha256_of; " \
           "p = pose_model_path(); print(sha256_of(p))"  # fmt: skip
    return subprocess.Popen([sys.executable, "-c", code], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


@pytest.mark.slow
def test_concurrent_first_runs_share_one_good_bundle(tmp_path: Path) -> None:
    runs = [_provision(tmp_path / "cache") for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    digests = {out.strip() for out, _ in outputs}
    assert len(digests) == 1
    assert not list((tmp_path / "cache").rglob("*partial*"))


def test_failed_download_says_what_failed_and_what_to_do(tmp_path: Path) -> None:
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(empty), "PIP_CONFIG_FILE": os.devnull}
    run = _provision(tmp_path / "cache", env)
    _, err = run.communicate(timeout=300)
    assert run.returncode != 0
    last = err.strip().splitlines()[-1]
    assert "pip could not download mediapipe==0.10.21" in last
    assert "--model PATH" in last


def _cache_copy(pose_model: Path, tmp_path: Path) -> Path:
    """A private cache holding a copy of the cached bundle and its wheel members."""
    cache = tmp_path / "cache"
    cache.mkdir()
    for item in pose_model.parent.glob(f"{pose_model.name}*"):  # the bundle and its sidecar
        shutil.copy2(item, cache / item.name)
    shutil.copytree(pose_model.parent / "mediapipe-0.10.21", cache / "mediapipe-0.10.21")
    return cache


def _zero_100_bytes(path: Path, offset: int) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(bytes(100))


def test_corrupted_cached_bundle_is_rebuilt(
    tmp_path: Path, pose_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = sha256_of(pose_model)
    cache = _cache_copy(pose_model, tmp_path)
    monkeypatch.setenv("ROM_MEASURE_CACHE", str(cache))
    monkeypatch.delenv("ROM_MEASURE_MODEL", raising=False)
    bundle = pose_model_path()
    assert bundle.parent == cache and sha256_of(bundle) == good
    _zero_100_bytes(bundle, bundle.stat().st_size // 2)  # inside a model's weights
    assert sha256_of(bundle) != good

    loaded = pose_model_path()
    assert sha256_of(loaded) == good
    assert model_provenance(MediaPipePose(loaded))["model_sha256"] == good


def test_corrupted_bundle_that_cannot_be_rebuilt_is_refused(
    tmp_path: Path, pose_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = _cache_copy(pose_model, tmp_path)
    monkeypatch.setenv("ROM_MEASURE_CACHE", str(cache))
    monkeypatch.delenv("ROM_MEASURE_MODEL", raising=False)
    pose_model_path()  # the sidecar exists from here on
    bundle = cache / pose_model.name
    _zero_100_bytes(bundle, 4096)
    shutil.rmtree(cache / "mediapipe-0.10.21")  # nothing to rebuild from, and no index:
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(empty),
           "PIP_CONFIG_FILE": os.devnull}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "rom_measure.cli", "models", "fetch"], env=env,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 3 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"cached pose model {bundle} is corrupted (sha256 " in lines[0]
    assert "could not be rebuilt" in lines[0] and "--model PATH" in lines[0]
    assert not bundle.exists()  # a corrupted bundle is never left to be used


def test_model_digest_is_recorded_in_landmarks_and_results(
    tmp_path: Path, pose_model: Path, test_videos: dict[str, Path]
) -> None:
    from rom_measure.measure.analysis import analyze_landmarks
    from rom_measure.media.landmark_file import load_landmarks, save_landmarks
    from rom_measure.media.pipeline import video_landmarks

    series = video_landmarks(test_videos["plain"])
    assert series.meta["model_sha256"] == sha256_of(pose_model)
    save_landmarks(series, tmp_path / "landmarks.npz")
    again = load_landmarks(tmp_path / "landmarks.npz")
    assert again.meta["model_sha256"] == sha256_of(pose_model)
    result = analyze_landmarks(again, "hip-flexion", "left").to_dict()
    assert (result["model"], result["model_sha256"]) == (pose_model.name, sha256_of(pose_model))


def test_corrupted_face_model_is_fetched_again(
    tmp_path: Path, pose_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rom_measure.media.assets import FACE_MEMBER, face_model_path

    cache = _cache_copy(pose_model, tmp_path)
    monkeypatch.setenv("ROM_MEASURE_CACHE", str(cache))
    face = face_model_path()
    assert face.parent.parent == cache
    assert sha256_of(face) == POSE_WHEEL.members[FACE_MEMBER]
    _zero_100_bytes(face, face.stat().st_size // 2)
    assert sha256_of(face_model_path()) == POSE_WHEEL.members[FACE_MEMBER]
