"""bench/pipeline.py still times the stages of analyze as it runs (no time is asserted)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_pipeline", REPO / "bench" / "pipeline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_stage_is_timed_on_a_real_clip(shared_data: Path, pose_model: Path, tmp_path: Path):
    from rom_measure.media import pipeline

    clip = shared_data / "pose2sim_single" / "cam01.mp4"
    second_looks = pipeline.second_looks
    spent = _bench_module().stages(str(clip), "hip-extension", "right", str(tmp_path / "out"))
    assert spent["frames"] == 100
    stages = {k: v for k, v in spent.items() if k not in ("frames", "total")}
    assert len(stages) == 5  # pose, analysis, second looks, outputs, annotation tail
    assert all(math.isfinite(v) and v > 0 for v in stages.values())
    assert sum(stages.values()) <= spent["total"]
    assert pipeline.second_looks is second_looks  # the timing wrappers are taken off again
