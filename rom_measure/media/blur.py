"""Face de-identification: a strong pixelation plus Gaussian blur over the face.

The face box is built from the subject's face landmarks (nose, eyes, ears, mouth)
and enlarged to cover the whole head (forehead, chin, hair). When no face landmark
is known the whole image is blurred: a face is never shown unblurred by accident.
Only the tracked subject's face is found; other people in view are not blurred.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["FACE_LANDMARKS", "blur_face", "face_box", "face_points"]

FACE_LANDMARKS = tuple(range(11))  # BlazePose 0-10: nose, eyes, ears, mouth corners
BOX_SCALE = 2.6  # box side / largest extent of the face landmarks
MIN_BOX_FRAC = 0.06  # smallest box side, as a fraction of the image's longer side
PIXEL_BLOCKS = 8  # the face box is reduced to this many blocks across


def face_points(pixels: np.ndarray, frame: int, search: int = 15) -> np.ndarray:
    """(N, 2) face landmark pixels of ``frame``, or of the nearest frame that has them.

    Args:
        pixels: (T, 33, 2) landmark pixel coordinates (``LandmarkSeries.pixels()``).
        frame: frame index.
        search: how many frames to look before and after when ``frame`` has no face.

    Returns:
        The finite face points (possibly empty: then nothing locates the face).
    """
    frames = pixels.shape[0]
    for offset in range(search + 1):
        for index in {frame - offset, frame + offset}:
            if 0 <= index < frames:
                points = pixels[index, list(FACE_LANDMARKS)]
                points = points[np.isfinite(points).all(axis=1)]
                if len(points):
                    return points
    return np.empty((0, 2))


def face_box(
    face_points_px: np.ndarray, image_shape: tuple[int, ...]
) -> tuple[int, int, int, int] | None:
    """Square box (x0, y0, x1, y1) in pixels covering the head, clipped to the image.

    Returns None when no finite face point is given.
    """
    points = np.asarray(face_points_px, dtype=np.float64).reshape(-1, 2)
    points = points[np.isfinite(points).all(axis=1)]
    if not len(points):
        return None
    height, width = image_shape[:2]
    low, high = points.min(axis=0), points.max(axis=0)
    centre = 0.5 * (low + high)
    centre[1] -= 0.1 * (high - low).max()  # the landmarks sit low on the head (no forehead)
    side = max(BOX_SCALE * float((high - low).max()), MIN_BOX_FRAC * max(width, height))
    half = side / 2
    x0, y0 = math.floor(centre[0] - half), math.floor(centre[1] - half)
    x1, y1 = math.ceil(centre[0] + half), math.ceil(centre[1] + half)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1, y1


def _obscure(region: np.ndarray) -> np.ndarray:
    """Pixelate to a few blocks, then blur the blocks away."""
    import cv2

    height, width = region.shape[:2]
    scale = PIXEL_BLOCKS / min(width, height)
    small = cv2.resize(region, (max(1, round(width * scale)), max(1, round(height * scale))),
                       interpolation=cv2.INTER_AREA)  # fmt: skip
    coarse = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    sigma = max(2.0, min(width, height) / 12)
    return cv2.GaussianBlur(coarse, (0, 0), sigma)


def blur_face(image_bgr: np.ndarray, face_points_px: np.ndarray) -> np.ndarray:
    """A copy of ``image_bgr`` with the head around ``face_points_px`` made unrecognisable.

    Args:
        image_bgr: (H, W, 3) uint8 image.
        face_points_px: (N, 2) face landmark pixels (x, y) in the image; NaN rows are
            ignored. With no finite point the whole image is blurred.

    Returns:
        A new image; pixels outside the face box are unchanged.
    """
    out = image_bgr.copy()
    box = face_box(face_points_px, image_bgr.shape)
    if box is None:
        return _obscure(out) if out.size else out
    x0, y0, x1, y1 = box
    out[y0:y1, x0:x1] = _obscure(out[y0:y1, x0:x1])
    return out
