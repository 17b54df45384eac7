"""The 468-point face mesh (MediaPipe's legacy ``face_landmark.tflite``) on a pose-guided crop.

The crop comes from the pose model's face landmarks of the same frame (nose, eyes, ears,
mouth corners): a square 1.5x the face's extent, turned so that the face is upright (the
eye line level, as MediaPipe's face ROI does), resampled to the model's 192x192 RGB input
in [0, 1]. The model's points (x, y in input pixels, z relative depth in the same units)
are mapped back to image pixels; z is scaled like x. Run with a plain TFLite interpreter
(``ai_edge_litert``): the Tasks FaceLandmarker misreads this legacy model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rom_measure.errors import AssetError

__all__ = ["FACE_POINTS", "FaceMesh", "FaceMeshTrack", "face_crop"]

FACE_POINTS = 468
INPUT_PX = 192
MARGIN = 1.5  # crop side / face extent, like MediaPipe's face ROI
OUT_OF_FRAME = 0.25  # share of the crop side allowed beyond the image border
_FACE = list(range(11))  # BlazePose nose, eyes, ears, mouth corners
_EYES = (2, 5)  # left, right eye
_MOUTH = (9, 10)


@dataclass(frozen=True)
class Crop:
    """A square, rotated crop: centre (px), side (px), angle (rad, image x toward the eye line)."""

    centre: np.ndarray
    side: float
    angle: float

    def matrix(self) -> np.ndarray:
        """2x3 affine map from model input pixels to image pixels."""
        scale = self.side / INPUT_PX
        c, s = np.cos(self.angle) * scale, np.sin(self.angle) * scale
        half = INPUT_PX / 2.0
        return np.array(
            [[c, -s, self.centre[0] - c * half + s * half],
             [s, c, self.centre[1] - s * half - c * half]]
        )  # fmt: skip

    def to_image(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) model-input points -> image pixels (z scaled like x)."""
        out = np.empty_like(points, dtype=np.float64)
        out[:, :2] = points[:, :2] @ self.matrix()[:, :2].T + self.matrix()[:, 2]
        out[:, 2] = points[:, 2] * (self.side / INPUT_PX)
        return out

    def inside(self, width: int, height: int) -> bool:
        """The crop lies in the frame, up to ``OUT_OF_FRAME`` of its side beyond a border."""
        inset = self.side * (0.5 - OUT_OF_FRAME)
        x, y = self.centre
        return bool(inset <= x <= width - inset and inset <= y <= height - inset)


def face_crop(face_px: np.ndarray) -> Crop | None:
    """The model's crop from the 11 pose face landmarks of one frame ((11, 2) pixels).

    The face's "up" is the mouth->eye direction combined with the eye line (either
    alone fails: the eye line vanishes in profile, the mouth->eye line under pitch).
    The side is 1.5x the larger of the landmarks' extent (in image axes) and twice the
    eye-mouth distance (a face is about twice as tall as its eye-to-mouth span).
    """
    if not np.isfinite(face_px).all():
        return None
    eyes = face_px[list(_EYES)]
    mouth = face_px[list(_MOUTH)].mean(axis=0)
    eye_line = eyes[0] - eyes[1]  # right -> left eye (image right when facing the camera)
    down = mouth - eyes.mean(axis=0)
    right_of_down = np.array([down[1], -down[0]])  # "down" turned to the face's image right
    if eye_line @ right_of_down < 0:  # eyes labelled the other way round (a mirrored view)
        eye_line = -eye_line
    across = eye_line + right_of_down
    if not np.linalg.norm(across) > 0:
        return None
    extent = float(np.max(face_px.max(axis=0) - face_px.min(axis=0)))
    side = MARGIN * max(extent, 2.0 * float(np.linalg.norm(down)))
    centre = 0.5 * (face_px.max(axis=0) + face_px.min(axis=0))
    return Crop(centre, side, float(np.arctan2(across[1], across[0])))


class FaceMesh:
    """The face mesh model with a TFLite interpreter (single-threaded; one per clip)."""

    def __init__(self, model_path: str | Path | None = None, threads: int = 1) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as error:
            raise AssetError("the face mesh needs the ai-edge-litert package") from error
        if model_path is None:
            from rom_measure.media.assets import face_model_path

            model_path = face_model_path()
        from rom_measure.media.pose import quiet_native_logs

        self.model_path = Path(model_path)
        with quiet_native_logs():  # LiteRT's "Created ... delegate" INFO line
            self._interpreter = Interpreter(model_path=str(model_path), num_threads=threads)
            self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = self._interpreter.get_output_details()
        by_size = sorted(outputs, key=lambda o: int(np.prod(o["shape"])))
        self._score, self._points = by_size[0]["index"], by_size[-1]["index"]

    def run(self, rgb: np.ndarray, crop: Crop) -> tuple[np.ndarray, float]:
        """(468, 3) image-pixel points and the face-presence probability for one crop."""
        import cv2

        patch = cv2.warpAffine(
            rgb, crop.matrix(), (INPUT_PX, INPUT_PX),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
        )  # fmt: skip
        self._interpreter.set_tensor(self._input, (patch[None] / np.float32(255.0)))
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._points).reshape(FACE_POINTS, 3)
        logit = float(self._interpreter.get_tensor(self._score).ravel()[0])
        return crop.to_image(raw), float(1.0 / (1.0 + np.exp(-logit)))

    def frame(self, rgb: np.ndarray, pose_px: np.ndarray) -> tuple[np.ndarray, float]:
        """Points and presence score for one frame from its pose landmarks ((33, >=2) pixels).

        NaN when there is no usable crop. The points are kept whatever the score (in
        profile the score is low but the points still follow the head); consumers gate
        on the score themselves.
        """
        crop = face_crop(np.asarray(pose_px, dtype=np.float64)[_FACE, :2])
        height, width = rgb.shape[:2]
        if crop is None or not crop.inside(width, height):
            return np.full((FACE_POINTS, 3), np.nan), float("nan")
        return self.run(rgb, crop)


class FaceMeshTrack:
    """A frame callback (as for ``estimate_landmarks``) collecting the mesh of each frame."""

    def __init__(self, mesh: FaceMesh | None = None) -> None:
        self.mesh = mesh or FaceMesh()
        self.points: list[np.ndarray] = []
        self.scores: list[float] = []

    def __call__(self, frame: Any, people: Any, subject: Any) -> None:
        if subject is None:
            self.points.append(np.full((FACE_POINTS, 3), np.nan, dtype=np.float32))
            self.scores.append(float("nan"))
            return
        rgb = frame.rgb if frame.rgb is not None else frame.bgr[..., ::-1]
        height, width = rgb.shape[:2]
        pixels = subject.image[:, :2] * np.array([width, height])
        points, score = self.mesh.frame(np.ascontiguousarray(rgb), pixels)
        self.points.append(points.astype(np.float32))
        self.scores.append(score)

    def array(self) -> np.ndarray:
        """(T, 468, 3) float32 image-pixel points."""
        return np.stack(self.points) if self.points else np.empty((0, FACE_POINTS, 3), np.float32)

    def score_array(self) -> np.ndarray:
        """(T,) float32 face-presence probabilities (NaN where no crop was usable)."""
        return np.asarray(self.scores, dtype=np.float32)
