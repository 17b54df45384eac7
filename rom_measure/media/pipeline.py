"""A video file through the pose model into a landmark series, and on to a result."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rom_measure.errors import InputError
from rom_measure.measure.analysis import AnalysisSettings, Result, analyze_landmarks
from rom_measure.measure.landmarks import LandmarkSeries
from rom_measure.measure.movements import Movement, check_side, get_movement
from rom_measure.media.landmark_file import load_landmarks
from rom_measure.media.sources import read_timestamps, timestamps_path

log = logging.getLogger(__name__)

__all__ = [
    "analyze_video",
    "landmarks_for",
    "measure_series",
    "pipeline_signature",
    "second_looks",
    "video_landmarks",
    "with_mirror_average",
    "with_second_opinion",
    "without_video",
]

# Poses the measuring landmarker is asked for. With two poses and one person in view
# MediaPipe runs its person detector on every frame (slow); with one it tracks, and a
# sparse PeopleCounter (media/pose.py) counts the people. The one-pose landmarks read
# some angles lower than two poses, so the gains (measure/movements.py CALIBRATION) were
# refitted for one pose on the training split; on the held-out split one pose with its
# gains was as accurate or more than two poses with theirs (bench/tracked_poses.py:
# held-out p90 |error| at most 7.3 deg against 13.7, no verdict-ok case off by more
# than 5 deg against two).
TRACKED_POSES = 1
#: Poses the mirrored second opinion (media/mirror.py) asks for.
MIRROR_POSES = 1


def pipeline_signature(model: str | Path | None = None, face_mesh: bool = False) -> dict[str, Any]:
    """What decides the landmarks :func:`video_landmarks` gives for a clip.

    Saved in the series' ``meta["pipeline"]``; a landmark cache keyed by it (e.g.
    the validation's) never reuses landmarks made by another tracker set-up.
    """
    from rom_measure.media.assets import pose_model_path
    from rom_measure.media.pose import COUNT_EVERY_S, MediaPipePose

    fields = MediaPipePose.__dataclass_fields__
    return {
        "model": Path(pose_model_path(model)).name,
        "tracked_poses": TRACKED_POSES,
        "people_count_every_s": COUNT_EVERY_S if TRACKED_POSES < 2 else None,
        "min_detection_confidence": fields["min_detection_confidence"].default,
        "min_tracking_confidence": fields["min_tracking_confidence"].default,
        "mirror_poses": MIRROR_POSES,
        # "scored": the mesh is kept at any presence score, with the score saved beside it
        "face_mesh": "scored" if face_mesh else False,
    }


def _warm_imports() -> None:
    """Import scipy.signal (about 1 s) in the background while the pose model runs."""
    import importlib
    import threading

    threading.Thread(target=importlib.import_module, args=("scipy.signal",), daemon=True).start()


def video_landmarks(
    path: str | Path,
    model: str | Path | None = None,
    on_frame: Callable[..., None] | None = None,
    backend: Any = None,
    count_people: bool = True,
    face_mesh: bool = False,
) -> LandmarkSeries:
    """Run the pose model over a video file (streamed) and return the subject's landmarks.

    A fresh MediaPipe landmarker is made per clip (about 0.1 s once the model file
    is cached), since its VIDEO mode tracks state between frames of one clip. It
    is asked for ``TRACKED_POSES`` people; with one, and ``count_people``, a second
    landmarker (two poses) counts the people in view every ``COUNT_EVERY_S`` in a
    background thread. With ``face_mesh`` the 468-point face mesh
    (:mod:`rom_measure.media.facemesh`) runs on each frame's face crop too (neck
    movements; about 3 ms a frame) and fills ``series.face``.
    """
    from rom_measure._priority import made_in_background
    from rom_measure.media.assets import model_sha256, pose_model_path, sha256_of
    from rom_measure.media.pose import MediaPipePose, PeopleCounter, estimate_landmarks
    from rom_measure.media.sources import VideoFileSource, prefetch, with_rgb

    source = VideoFileSource(path)
    _warm_imports()
    face_track = None
    if face_mesh:
        from rom_measure.media.facemesh import FaceMeshTrack

        face_track = FaceMeshTrack()
        on_frame = _both(face_track, on_frame)
    own_backend = backend is None
    counter = None
    meta: dict[str, Any] = {}
    if own_backend:
        meta["pipeline"] = pipeline_signature(model, face_mesh)
        model_path = pose_model_path(model)
        backend = MediaPipePose(model_path, max_people=TRACKED_POSES)
        if count_people and TRACKED_POSES < 2:
            counter = PeopleCounter(made_in_background(
                lambda: MediaPipePose(model_path, max_people=2)))  # fmt: skip
    try:
        info = {
            "path": str(Path(path)),
            "sha256": sha256_of(Path(path)),
            "declared_fps": round(source.fps_hint, 3),
            "image_size": list(source.size),
        }
        meta["source"] = info
        series = estimate_landmarks(prefetch(map(with_rgb, source)), backend, source.size,
                                    on_frame, meta=meta, counter=counter)  # fmt: skip
    finally:
        source.close()
        if own_backend:
            backend.close()
        if counter is not None:
            counter.close()
    if face_track is not None:
        meta = {**series.meta, "face_model": face_track.mesh.model_path.name,
                "face_model_sha256": model_sha256(face_track.mesh.model_path)}  # fmt: skip
        series = series.replace(face=face_track.array(), face_score=face_track.score_array(),
                                meta=meta)  # fmt: skip
    return _with_capture_times(series, Path(path))


def _both(first: Callable[..., None], then: Callable[..., None] | None) -> Callable[..., None]:
    """A frame callback calling ``first``, then ``then`` (when given)."""
    if then is None:
        return first

    def both(*args: Any) -> None:
        first(*args)
        then(*args)

    return both


def _with_capture_times(series: LandmarkSeries, video: Path) -> LandmarkSeries:
    """Use the exact capture times saved beside a recorded clip, when they fit it."""
    times = read_timestamps(video)
    if times is None:
        return series
    if times.shape != series.time_s.shape or not np.all(np.diff(times) > 0):
        log.warning("%s does not match the clip's %d frames; container times used",
                    timestamps_path(video), series.frames)  # fmt: skip
        return series
    meta = {**series.meta, "time_base": f"capture times from {timestamps_path(video).name}"}
    return series.replace(time_s=times, meta=meta)


def landmarks_for(
    video: str | Path | None = None,
    landmarks: str | Path | None = None,
    model: str | Path | None = None,
    on_frame: Callable[..., None] | None = None,
    face_mesh: bool = False,
) -> LandmarkSeries:
    """Saved landmarks when given (no model), else the pose model run over ``video``.

    ``face_mesh`` also runs the face mesh over the video (see :func:`video_landmarks`).
    """
    if landmarks is not None:
        return load_landmarks(Path(landmarks))
    if video is not None:
        return video_landmarks(video, model, on_frame, face_mesh=face_mesh)
    raise InputError("give a video or a landmarks file to analyse")


def analyze_video(
    path: str | Path,
    movement: str,
    side: str,
    model: str | Path | None = None,
    settings: AnalysisSettings | None = None,
) -> Result:
    """Detect landmarks in a video and measure ``movement`` on ``side``."""
    move = get_movement(movement)
    check_side(side)
    series = video_landmarks(path, model, face_mesh=move.face_mesh)
    return measure_series(series, path, movement, side, model, settings)


def measure_series(
    series: LandmarkSeries,
    video: str | Path | None,
    movement: str | Movement,
    side: str,
    model: str | Path | None = None,
    settings: AnalysisSettings | None = None,
) -> Result:
    """The measurement ``analyze`` makes from ``video``'s landmarks (second looks included).

    ``video`` None: landmarks saved earlier, with no video to look at again
    (:func:`without_video`).
    """
    result = analyze_landmarks(series, movement, side, settings)
    if video is None:
        return without_video(result)
    return second_looks(result, video, model, settings)


def second_looks(
    result: Result,
    video: str | Path,
    model: str | Path | None = None,
    settings: AnalysisSettings | None = None,
) -> Result:
    """What the mirrored picture adds: a second opinion on lost frames, then the average."""
    result = with_second_opinion(result, video, model, settings)
    return with_mirror_average(result, video, model)


def without_video(result: Result) -> Result:
    """A result measured from saved landmarks alone: the mirrored looks cannot be taken."""
    from rom_measure.measure.mirror_average import not_averaged

    return not_averaged(result, "measured from saved landmarks without the video")


def with_mirror_average(
    result: Result, video: str | Path, model: str | Path | None = None
) -> Result:
    """For a movement measured on both pictures, each repetition averaged with the mirrored.

    The pose model re-reads the mirrored frames of the end of the neutral window and of
    a short window around the largest peak only (:mod:`rom_measure.measure.mirror_average`).
    """
    from rom_measure.measure.mirror_average import (
        average_with_mirror,
        mirror_windows,
        not_averaged,
        to_be_averaged,
    )
    from rom_measure.media.mirror import mirrored_landmarks

    if not to_be_averaged(result):  # decided before the (costly) re-read
        return result
    try:
        mirrored = mirrored_landmarks(video, mirror_windows(result), model)
    except InputError:  # no detection in the mirrored frames
        return not_averaged(result, "the pose model found no one in the mirrored picture")
    return average_with_mirror(result, mirrored)


def with_second_opinion(
    result: Result,
    video: str | Path,
    model: str | Path | None = None,
    settings: AnalysisSettings | None = None,
) -> Result:
    """Re-measure a side-view clip whose model lost the limb, with the mirrored frames.

    Only when the lost-limb check dropped repetitions: the pose model runs again on
    the mirrored frames around the lost runs next to their peaks
    (:mod:`rom_measure.media.mirror`; lost frames away from every peak only warn and
    are not re-run), those landmarks
    replace the frames taken out, and the merged series goes through every check
    again (a second opinion that is no better is taken out the same way).

    Not for a limb on the far side (the ``far_side`` warning): hidden behind the body,
    it is a guess in either picture. On the sports2d demo clip (left hip measured, the
    right side facing the camera) the re-run turned 5.7 deg into 50 deg, and 6 deg at
    another frame stride; the lost repetitions stay out, and the finding says to film
    the measured side.
    """
    from rom_measure.measure import lost
    from rom_measure.media.mirror import mirrored_landmarks

    codes = {f.code for f in result.quality.findings}
    needed = "lost_limb" in codes and "far_side" not in codes and bool(result.lost_peaks_s)
    if not needed or result.movement.view != "side":
        return result
    windows = lost.recheck_windows(result.time_s, result.frame_status, result.lost_peaks_s)
    if not windows:
        return result
    second = mirrored_landmarks(video, windows, model)
    merged, replaced = lost.merge_second_opinion(result.series, second, result.frame_status)
    if not replaced:
        return result
    return analyze_landmarks(merged, result.movement, result.side, settings)
