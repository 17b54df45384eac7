"""Benchmark the synthetic renderer: body load time and seconds per frame.

Run: ``python bench/render.py`` (uses the provisioned body; set ROM_MEASURE_CACHE to
reuse a cache folder).
"""

from __future__ import annotations

import time

from rom_measure.synth import ClipSpec, SyntheticClip
from rom_measure.synth import body as body_module


def _load_time() -> tuple[float, float]:
    start = time.perf_counter()
    body_module.load_body()
    first = time.perf_counter() - start
    body_module._CACHE.clear()
    start = time.perf_counter()
    body_module.load_body()
    return first, time.perf_counter() - start


def _seconds_per_frame(spec: ClipSpec, frames: int = 6) -> float:
    clip = SyntheticClip(spec)
    posed = [clip.pose(a) for a in (0.3 * spec.peak, 0.6 * spec.peak, spec.peak)]
    clip.renderer.render(posed[0].vertices_m)  # warm-up (background, caches)
    start = time.perf_counter()
    for i in range(frames):
        clip.renderer.render(posed[i % len(posed)].vertices_m)
    return (time.perf_counter() - start) / frames


def main() -> None:
    first, cached = _load_time()
    print(f"load body: {first:.3f} s (first in process), {cached:.3f} s (from the npz cache)")
    sizes = [(640, 480), (480, 640), (1280, 720), (720, 1280)]
    for movement, side in (("hip-flexion", "left"), ("neck-rotation", "left")):
        for w, h in sizes:
            spec = ClipSpec(movement, side, width_px=w, height_px=h)
            print(f"{movement:14s} {w:4d}x{h:<4d}: {_seconds_per_frame(spec):.3f} s/frame")


if __name__ == "__main__":
    main()
