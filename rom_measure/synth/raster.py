"""A vectorised z-buffer triangle rasteriser in numpy.

Triangles are grouped by the (power-of-two or 1.5 times that) size of their pixel bounding box; each
group is evaluated at once on its bounding-box grid with edge functions, and the
nearest fragment per pixel wins (``np.maximum.at`` on inverse depth, exact for
planar triangles under perspective).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Fragments", "rasterize"]

_MAX_BLOCK = 1 << 22  # candidate samples evaluated at once


@dataclass(frozen=True)
class Fragments:
    """Visible surface per covered pixel.

    Attributes:
        pixel: (k,) flat pixel indices (row-major) of covered pixels.
        triangle: (k,) index of the visible triangle.
        bary: (k, 3) screen-space barycentric coordinates (float32; the perspective
            error is negligible for triangles a few pixels wide).
        width: raster width.
        height: raster height.
    """

    pixel: np.ndarray
    triangle: np.ndarray
    bary: np.ndarray
    width: int
    height: int


_SIZES = np.unique(np.concatenate([2 ** np.arange(16), 3 * 2 ** np.arange(15)]))


def _bucket(x: np.ndarray) -> np.ndarray:
    """Smallest size in {1, 2, 3, 4, 6, 8, 12, ...} not below x."""
    return _SIZES[np.searchsorted(_SIZES, x)]


def _edge_coefficients(tri: np.ndarray, area: np.ndarray) -> np.ndarray:
    """(m, 3, 3): barycentric b_i = A x + B y + C for each triangle."""
    out = np.empty((len(tri), 3, 3))
    for i in range(3):
        a = tri[:, (i + 1) % 3]
        b = tri[:, (i + 2) % 3]
        out[:, i, 0] = -(b[:, 1] - a[:, 1]) / area
        out[:, i, 1] = (b[:, 0] - a[:, 0]) / area
        out[:, i, 2] = ((b[:, 1] - a[:, 1]) * a[:, 0] - (b[:, 0] - a[:, 0]) * a[:, 1]) / area
    return out


def _group_fragments(
    ids: np.ndarray,
    x0: np.ndarray,
    y0: np.ndarray,
    w: np.ndarray,
    h: np.ndarray,
    bw: int,
    bh: int,
    coef: np.ndarray,
    inv_z: np.ndarray,
    width: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gy, gx = np.divmod(np.arange(bw * bh), bw)
    px = x0[:, None] + gx[None, :]
    py = y0[:, None] + gy[None, :]
    xs = px + 0.5
    ys = py + 0.5
    c = coef[ids]
    b0 = c[:, 0, 0, None] * xs + c[:, 0, 1, None] * ys + c[:, 0, 2, None]
    b1 = c[:, 1, 0, None] * xs + c[:, 1, 1, None] * ys + c[:, 1, 2, None]
    b2 = 1.0 - b0 - b1
    inside = (b0 >= 0) & (b1 >= 0) & (b2 >= 0)
    inside &= (gx[None, :] < w[:, None]) & (gy[None, :] < h[:, None])
    iz = inv_z[ids]
    depth = b0 * iz[:, 0, None] + b1 * iz[:, 1, None] + b2 * iz[:, 2, None]
    rows, cols = np.nonzero(inside)
    pix = py[rows, cols] * width + px[rows, cols]
    return pix, depth[rows, cols], ids[rows]


def rasterize(
    uv: np.ndarray,
    depth: np.ndarray,
    faces: np.ndarray,
    width: int,
    height: int,
    near: float = 0.05,
    cull_back: bool = True,
) -> Fragments:
    """Rasterise triangles with a z-buffer.

    Args:
        uv: (n, 2) vertex positions in raster pixels (u right, v down; pixel i spans
            [i, i + 1)).
        depth: (n,) camera depth of each vertex (> 0 in front of the camera).
        faces: (m, 3) vertex indices, counter-clockwise seen from the front.
        width: raster width in pixels.
        height: raster height in pixels.
        near: triangles with a vertex nearer than this are dropped.
        cull_back: drop triangles seen from behind.

    Returns:
        The visible triangle and barycentrics at every covered pixel.
    """
    tri = uv[faces]
    z = depth[faces]
    area = (tri[:, 1, 0] - tri[:, 0, 0]) * (tri[:, 2, 1] - tri[:, 0, 1]) - (
        tri[:, 2, 0] - tri[:, 0, 0]
    ) * (tri[:, 1, 1] - tri[:, 0, 1])
    keep = np.all(z > near, axis=1) & (np.abs(area) > 1e-9)
    if cull_back:
        keep &= area < 0  # counter-clockwise in a y-up view is clockwise with v down
    lo = np.floor(tri.min(axis=1) - 0.5).astype(np.int64) + 1
    hi = np.floor(tri.max(axis=1) - 0.5).astype(np.int64)
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, [width - 1, height - 1])
    size = hi - lo + 1
    keep &= np.all(size > 0, axis=1)
    ids = np.flatnonzero(keep)
    coef = np.zeros((len(faces), 3, 3))
    coef[ids] = _edge_coefficients(tri[ids], area[ids])
    inv_z = 1.0 / np.maximum(z, near)
    bw = _bucket(size[ids, 0])
    bh = _bucket(size[ids, 1])
    key = bw * 65536 + bh
    pixels, depths, owners = [], [], []
    for k in np.unique(key):
        sel = ids[key == k]
        gw, gh = int(k // 65536), int(k % 65536)
        step = max(1, _MAX_BLOCK // (gw * gh))
        for s in range(0, len(sel), step):
            part = sel[s : s + step]
            p, d, o = _group_fragments(
                part, lo[part, 0], lo[part, 1], size[part, 0], size[part, 1],
                gw, gh, coef, inv_z, width,
            )  # fmt: skip
            pixels.append(p)
            depths.append(d)
            owners.append(o)
    if not pixels:
        empty = np.zeros(0, dtype=np.int64)
        return Fragments(empty, empty, np.zeros((0, 3)), width, height)
    pix = np.concatenate(pixels)
    dep = np.concatenate(depths)
    own = np.concatenate(owners)
    zbuf = np.zeros(width * height)
    np.maximum.at(zbuf, pix, dep)
    win = dep >= zbuf[pix]
    idbuf = np.full(width * height, -1, dtype=np.int64)
    idbuf[pix[win]] = own[win]
    covered = np.flatnonzero(idbuf >= 0)
    t = idbuf[covered]
    ys, xs = np.divmod(covered, width)
    xs = xs.astype(np.float32) + np.float32(0.5)
    ys = ys.astype(np.float32) + np.float32(0.5)
    c = coef[:, :2].astype(np.float32)[t]  # screen-space barycentrics (tiny triangles)
    b = np.empty((len(t), 3), dtype=np.float32)
    b[:, 0] = c[:, 0, 0] * xs + c[:, 0, 1] * ys + c[:, 0, 2]
    b[:, 1] = c[:, 1, 0] * xs + c[:, 1, 1] * ys + c[:, 1, 2]
    np.clip(b[:, :2], 0.0, 1.0, out=b[:, :2])
    b[:, 2] = np.maximum(1.0 - b[:, 0] - b[:, 1], 0.0)
    return Fragments(covered, t, b, width, height)
