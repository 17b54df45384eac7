"""Render a posed body seen by a camera: shaded, anti-aliased, in a room, with a shadow."""

from __future__ import annotations

import numpy as np

from rom_measure.synth.body import BodyModel
from rom_measure.synth.camera import Camera
from rom_measure.synth.look import Appearance, background, palette
from rom_measure.synth.raster import rasterize

__all__ = ["Renderer", "vertex_normals"]

_SHADOW_SCALE = 0.25  # shadows are drawn at a quarter of the output resolution
_TO_SRGB = (np.linspace(0.0, 1.0, 4096) ** (1.0 / 2.2) * 255.0 + 0.5).astype(np.uint8)


def _incidence(body: BodyModel):  # -> scipy.sparse.csr_matrix
    """Sparse vertex x face incidence matrix (sums face normals onto vertices)."""
    import scipy.sparse

    m = len(body.faces)
    rows = body.faces.reshape(-1)
    cols = np.repeat(np.arange(m), 3)
    return scipy.sparse.csr_matrix((np.ones(3 * m), (rows, cols)), shape=(len(body.vertices_m), m))


def vertex_normals(vertices: np.ndarray, faces: np.ndarray, incidence) -> np.ndarray:
    """Area-weighted unit vertex normals."""
    v = vertices[faces]
    fn = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    n = incidence @ fn
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


class Renderer:
    """Renders frames of one body for one camera and appearance.

    The background is computed once; each frame rasterises the skinned mesh at
    ``supersample`` times the output resolution with a z-buffer, shades it per pixel
    (Gouraud: Lambert key light and hemispheric ambient per vertex, in linear light)
    and box-filters it down.
    """

    def __init__(
        self,
        body: BodyModel,
        camera: Camera,
        look: Appearance | None = None,
        supersample: int = 2,
        seed: int = 0,
    ) -> None:
        self.body = body
        self.camera = camera
        self.look = look or Appearance()
        self.supersample = int(supersample)
        self._incidence = _incidence(body)
        self._palette = palette(self.look).astype(np.float32)
        self._albedo = self._palette[body.material]
        f = body.split_field[body.faces]
        self._split_tri = (f.max(axis=1) > 0) & (f.min(axis=1) <= 0)
        self._background, self._floor = background(camera, self.look, seed=seed)
        self._floor_visible = bool(self._floor.any())
        yaw = np.radians(camera.yaw_deg)
        to_cam = np.array([np.sin(yaw), 0.0, np.cos(yaw)])
        side = np.array([np.cos(yaw), 0.0, -np.sin(yaw)])
        key = to_cam + 0.9 * np.array([0.0, 1.0, 0.0]) - 0.45 * side
        self._key = key / np.linalg.norm(key)
        shadow = -(0.35 * to_cam + 0.45 * side) - np.array([0.0, 1.0, 0.0])
        self._shadow_dir = shadow / np.linalg.norm(shadow)

    def _shadow_mask(self, points: np.ndarray, faces: np.ndarray | None, blur_m: float):
        """Blurred coverage (quarter resolution) of floor points: triangles or dots."""
        import cv2

        cam = self.camera
        w = max(2, round(cam.width_px * _SHADOW_SCALE))
        h = max(2, round(cam.height_px * _SHADOW_SCALE))
        uv = cam.project(points) * _SHADOW_SCALE
        mask = np.zeros(h * w, dtype=np.float32)
        if faces is not None:
            mask[rasterize(uv, np.ones(len(uv)), faces, w, h, cull_back=False).pixel] = 1.0
        else:
            ij = np.floor(uv).astype(np.int64)
            ok = (ij[:, 0] >= 0) & (ij[:, 0] < w) & (ij[:, 1] >= 0) & (ij[:, 1] < h)
            mask[ij[ok, 1] * w + ij[ok, 0]] = 1.0
        sigma = max(0.5, blur_m * cam.focal_px * _SHADOW_SCALE / max(cam.distance_m, 0.5))
        return cv2.GaussianBlur(mask.reshape(h, w), (0, 0), sigma)

    def _shadow(self, vertices: np.ndarray) -> np.ndarray:
        """Floor darkening (h, w) in 0..1: a soft cast shadow plus contact shadows."""
        import cv2

        d = self._shadow_dir
        cast = vertices - (vertices[:, 1:2] / d[1]) * d  # along the light onto y = 0
        low = vertices[vertices[:, 1] < 0.12] * np.array([1.0, 0.0, 1.0])
        total = np.maximum(
            np.clip(0.7 * self._shadow_mask(cast, self.body.faces, 0.03), 0.0, 0.45),
            np.clip(0.7 * self._shadow_mask(low, None, 0.008), 0.0, 0.45),
        )
        size = (self.camera.width_px, self.camera.height_px)
        return cv2.resize(total, size, interpolation=cv2.INTER_LINEAR)

    def _vertex_light(self, vertices_m: np.ndarray) -> np.ndarray:
        """Irradiance per vertex (Lambert key light with wrap + hemispheric ambient)."""
        n = vertex_normals(vertices_m, self.body.faces, self._incidence)
        diffuse = np.clip((n @ self._key + 0.15) / 1.15, 0.0, 1.0)
        return (0.22 + 0.10 * n[:, 1] + 0.85 * diffuse).astype(np.float32)

    def _split(self, frags, light: np.ndarray, lit: np.ndarray) -> None:
        """Material boundaries (hem, hairline, brows, lips) per pixel, not per vertex."""
        sel = np.flatnonzero(self._split_tri[frags.triangle])
        corners = self.body.faces[frags.triangle[sel]]
        b = frags.bary[sel]
        f = self.body.split_field[corners]
        rows = np.arange(len(sel))
        inside = self.body.split_inside[corners[rows, np.argmax(f, axis=1)]]
        outside = self.body.split_outside[corners[rows, np.argmin(f, axis=1)]]
        material = np.where((f * b).sum(axis=1) > 0, inside, outside)
        irradiance = (light[corners] * b).sum(axis=1)
        lit[sel] = self._palette[material] * irradiance[:, None]

    def render(self, vertices_m: np.ndarray) -> np.ndarray:
        """Render posed vertices (n, 3) to an RGB uint8 image (h, w, 3)."""
        import cv2

        cam = self.camera
        s = self.supersample
        w, h = cam.width_px * s, cam.height_px * s
        uv = cam.project(vertices_m) * s
        depth = cam.depth(vertices_m)
        frags = rasterize(uv, depth, self.body.faces, w, h)
        light = self._vertex_light(vertices_m)
        shade = self._albedo * light[:, None]
        corners = self.body.faces[frags.triangle]
        b = frags.bary.astype(np.float32)
        lit = shade[corners[:, 0]] * b[:, :1]
        lit += shade[corners[:, 1]] * b[:, 1:2]
        lit += shade[corners[:, 2]] * b[:, 2:3]
        self._split(frags, light, lit)
        colour = np.zeros((h * w, 3), dtype=np.float32)
        alpha = np.zeros(h * w, dtype=np.float32)
        colour[frags.pixel] = lit
        alpha[frags.pixel] = 1.0
        size = (cam.width_px, cam.height_px)
        colour = cv2.resize(colour.reshape(h, w, 3), size, interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha.reshape(h, w), size, interpolation=cv2.INTER_AREA)
        bg = self._background
        if self._floor_visible:
            bg = bg * (1.0 - self._shadow(vertices_m) * self._floor)[..., None]
        out = bg * (1.0 - alpha[..., None]) + colour
        index = (np.clip(out, 0.0, 1.0) * (len(_TO_SRGB) - 1) + 0.5).astype(np.int32)
        return _TO_SRGB[index]
