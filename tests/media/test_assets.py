"""Offline pose-model provisioning: metadata written, cache safe under concurrency."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rom_measure import AssetError
from rom_measure.media.assets import POSE_WHEEL, pose_model_path, sha256_of


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
