"""The synthetic subject: the CC0 MakeHuman body, its rig and skinning weights.

The raw assets (``base.obj`` in decimetres, y up, facing +z; ``rig.mixamo.json``;
``weights.mixamo.json`` with 0-based vertex indices) are turned once into a compact
:class:`BodyModel` (metres, floor at y = 0, only the rendered triangles, normalised
weights, per-vertex materials) that is cached as an ``.npz`` under the cache folder.

Body frame: x = subject's left, y = up, z = forward (anterior); right-handed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rom_measure._fileio import atomic_path
from rom_measure.errors import AssetError

__all__ = ["MATERIALS", "BodyModel", "load_body"]

_FORMAT_VERSION = 12
_PREFIX = "mixamorig:"

#: Material ids stored per vertex (index into the palette of :mod:`.look`).
MATERIALS = (
    "skin",
    "shirt",
    "trousers",
    "socks",
    "eye_white",
    "iris",
    "hair",
    "brow",
    "lips",
    "lashes",
    "chair",
)
_MAT = {name: i for i, name in enumerate(MATERIALS)}

_SHIRT_BONES = ("Spine", "Spine1", "Spine2", "LeftShoulder", "RightShoulder", "LeftArm", "RightArm")
_TROUSER_BONES = ("Hips", "LeftUpLeg", "RightUpLeg", "LeftLeg", "RightLeg")
_SOCK_BONES = ("LeftFoot", "RightFoot", "LeftToeBase", "RightToeBase")
_RENDERED_HELPERS = (
    "helper-l-eye",
    "helper-r-eye",
    "helper-l-eyelashes-1",
    "helper-l-eyelashes-2",
    "helper-r-eyelashes-1",
    "helper-r-eyelashes-2",
)


@dataclass(frozen=True)
class BodyModel:
    """Rest-pose body ready for skinning and rendering.

    Attributes:
        vertices_m: (n, 3) rest vertices in metres, body frame, floor at y = 0.
        faces: (m, 3) triangles (counter-clockwise seen from outside).
        material: (n,) material id per vertex (see :data:`MATERIALS`).
        weights: (n, b) skinning weights, rows sum to 1.
        bone_names: names of the b bones without the ``mixamorig:`` prefix.
        bone_parents: (b,) parent index, -1 for the root.
        bone_heads_m: (b, 3) rest joint centres (bone heads), metres.
        bone_tails_m: (b, 3) rest bone tails, metres.
        landmark_vertices: named surface points (nose, eyes, ears, heels, toes, ...)
            as vertex indices into ``vertices_m``.
        split_field: (n,) signed field whose zero set is a material boundary (shirt
            hem, hairline, brows, lips); renderers split triangles along it per pixel.
        split_inside: (n,) material where the field is positive.
        split_outside: (n,) material where the field is not positive.
    """

    vertices_m: np.ndarray
    faces: np.ndarray
    material: np.ndarray
    weights: np.ndarray
    bone_names: tuple[str, ...]
    bone_parents: np.ndarray
    bone_heads_m: np.ndarray
    bone_tails_m: np.ndarray
    landmark_vertices: dict[str, int]
    split_field: np.ndarray
    split_inside: np.ndarray
    split_outside: np.ndarray

    def bone(self, name: str) -> int:
        """Index of a bone by name (without prefix)."""
        return self.bone_names.index(name)


# ----------------------------------------------------------------------------- parsing


def _parse_obj(path: Path) -> tuple[np.ndarray, dict[str, list[list[int]]]]:
    verts: list[list[float]] = []
    groups: dict[str, list[list[int]]] = {}
    current = ""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("v "):
                verts.append([float(t) for t in line.split()[1:4]])
            elif line.startswith("g "):
                current = line[2:].strip()
            elif line.startswith("f "):
                face = [int(t.split("/")[0]) - 1 for t in line.split()[1:]]
                groups.setdefault(current, []).append(face)
    return np.asarray(verts, dtype=np.float64), groups


def _triangulate(faces: list[list[int]]) -> np.ndarray:
    tris = [[f[0], f[i], f[i + 1]] for f in faces for i in range(1, len(f) - 1)]
    return np.asarray(tris, dtype=np.int64).reshape(-1, 3)


def _group_vertices(groups: dict[str, list[list[int]]], name: str) -> np.ndarray:
    if name not in groups:
        raise AssetError(f"body mesh has no group {name!r}")
    return np.unique(np.concatenate([np.asarray(f) for f in groups[name]]))


def _joint_position(
    spec: dict, verts: np.ndarray, groups: dict[str, list[list[int]]]
) -> np.ndarray:
    strategy = spec.get("strategy")
    if strategy == "CUBE":
        return verts[_group_vertices(groups, spec["cube_name"])].mean(axis=0)
    if strategy == "MEAN":
        return verts[np.asarray(spec["vertex_indices"], dtype=np.int64)].mean(axis=0)
    raise AssetError(f"unknown joint strategy {strategy!r} in rig")


def _sorted_bones(bones: dict[str, dict]) -> list[str]:
    """Bone names with every parent before its children."""
    order: list[str] = []
    placed: set[str] = set()
    pending = sorted(bones)
    while pending:
        rest = []
        for name in pending:
            parent = bones[name].get("parent") or ""
            if not parent or parent in placed:
                order.append(name)
                placed.add(name)
            else:
                rest.append(name)
        if len(rest) == len(pending):
            raise AssetError("rig hierarchy has a cycle or a missing parent")
        pending = rest
    return order


# ----------------------------------------------------------------------------- building


def _dense_weights(raw: dict[str, list], names: list[str], n_verts: int) -> np.ndarray:
    weights = np.zeros((n_verts, len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        for vertex, value in raw.get(name, []):
            weights[int(vertex), j] += float(value)
    return weights


def _dominant(weights: np.ndarray, short: list[str]) -> np.ndarray:
    return np.asarray(short, dtype=object)[np.argmax(weights, axis=1)]


def _tights_faces(
    quads: list[list[int]],
    dominant: np.ndarray,
    verts: np.ndarray,
    waist_y: float,
    neck: np.ndarray,
) -> tuple[list[list[int]], dict[int, int]]:
    """Tight clothing faces kept (shirt, trousers, socks) and their vertex materials.

    Forearms and hands stay bare; the shirt has a symmetric crew neckline below the
    base of the neck (``neck``, rest position).
    """
    clothed = (*_SHIRT_BONES, *_TROUSER_BONES, *_SOCK_BONES, "Neck")
    collar = (
        neck[1]
        - 0.035
        + 0.45 * np.abs(verts[:, 0])
        - 0.25 * np.clip(verts[:, 2] - neck[2], 0, None)
    )
    kept = [q for q in quads if all(dominant[v] in clothed and verts[v, 1] < collar[v] for v in q)]
    mat: dict[int, int] = {}
    for quad in kept:
        for v in quad:
            bone = dominant[v]
            if bone in _SOCK_BONES:
                mat[v] = _MAT["socks"]
            elif bone in (*_SHIRT_BONES[2:], "Neck"):
                mat[v] = _MAT["shirt"]
            elif bone in ("Hips", "Spine", "Spine1"):
                mat[v] = _MAT["shirt"] if verts[v, 1] > waist_y else _MAT["trousers"]
            else:
                mat[v] = _MAT["trousers"]
    return kept, mat


def _boundary_vertices(quads: list[list[int]]) -> np.ndarray:
    edges: dict[tuple[int, int], int] = {}
    for q in quads:
        for a, b in zip(q, q[1:] + q[:1], strict=True):
            key = (min(a, b), max(a, b))
            edges[key] = edges.get(key, 0) + 1
    return np.array(sorted({v for e, n in edges.items() if n == 1 for v in e}), dtype=np.int64)


def _quad_normals(verts: np.ndarray, quads: list[list[int]]) -> np.ndarray:
    tris = _triangulate(quads)
    v = verts[tris]
    fn = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    n = np.zeros_like(verts)
    for i in range(3):
        np.add.at(n, tris[:, i], fn)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def _face_fields(
    verts: np.ndarray, body_idx: np.ndarray, head_w: np.ndarray, anchors: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Hair, brows and lips on the head's skin as signed fields (positive inside).

    Returns:
        (field, material) for the vertices ``body_idx``: the largest feature field at
        each vertex (-1 away from the head) and the material of that feature.
    """
    p = verts[body_idx]
    eye_l, eye_r, mouth = anchors["eye_l"], anchors["eye_r"], anchors["mouth"]
    eye_y = 0.5 * (eye_l[1] + eye_r[1])
    head = (head_w[body_idx] > 0.05) & (p[:, 1] > eye_y - 0.10)
    eye_z = 0.5 * (eye_l[2] + eye_r[2])
    top = p[head, 1].max()
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    front = z > p[head, 2].max() - 0.022
    # short hair: scalp above a line from the forehead down to the nape, arching over
    # the ears (centred 8.5 cm behind the eyes)
    hairline_front = eye_y + 0.45 * (top - eye_y)
    slope = (hairline_front - (eye_y - 0.02)) / 0.16
    hairline = hairline_front - slope * np.clip(eye_z + 0.02 - z, 0.0, 0.16)
    hairline += 0.028 * np.exp(-(((z - (eye_z - 0.085)) / 0.03) ** 2))
    fields = [y - hairline]
    materials = [_MAT["hair"]]
    # brows: a thin arch above each eye on the front of the face
    for eye in (eye_l, eye_r):
        dx = (x - eye[0]) / 0.026
        dy = (y - (eye[1] + 0.020 + 0.004 * (1 - dx**2))) / 0.0055
        fields.append(np.where(z > eye[2] - 0.005, 0.004 * (1.0 - dx**2 - dy**2), -1.0))
        materials.append(_MAT["brow"])
    # lips: an ellipse around the mouth on the front of the face
    dx = (x - mouth[0]) / 0.024
    dy = (y - mouth[1]) / 0.0105
    fields.append(np.where(front, 0.006 * (1.0 - dx**2 - dy**2), -1.0))
    materials.append(_MAT["lips"])
    stack = np.where(head[None, :], np.stack(fields), -1.0)
    best = np.argmax(stack, axis=0)
    return stack[best, np.arange(len(p))], np.asarray(materials, dtype=np.uint8)[best]


def _iris(verts: np.ndarray, material: np.ndarray, eye_idx: np.ndarray) -> None:
    p = verts[eye_idx]
    front = p[:, 2] - p[:, 2].max()
    radius = p[:, 2].max() - p[:, 2].min()
    material[eye_idx] = np.where(front > -0.13 * radius, _MAT["iris"], _MAT["eye_white"])


def _landmarks(
    verts: np.ndarray,
    weights: np.ndarray,
    names: list[str],
    keep: np.ndarray,
    eyes: dict[str, np.ndarray],
    mouth: np.ndarray,
) -> dict[str, int]:
    """Surface landmark vertices (indices into the full vertex list)."""
    kept = np.zeros(len(verts), dtype=bool)
    kept[keep] = True
    head = (weights[:, names.index("Head")] > 0.6) & kept
    out: dict[str, int] = {}
    idx = np.flatnonzero(head)
    out["nose"] = int(idx[np.argmax(verts[idx, 2])])
    for side, sign in (("left", 1.0), ("right", -1.0)):
        out[f"{side}_eye"] = int(eyes[side][np.argmax(verts[eyes[side], 2])])
        corner = mouth + np.array([sign * 0.022, 0.0, 0.0])
        near = idx[np.abs(verts[idx] - corner)[:, :2].max(axis=1) < 0.006]
        out[f"mouth_{side}"] = int(near[np.argmax(verts[near, 2])])
        eye_y = verts[out[f"{side}_eye"], 1]
        # tragus: 1.2 cm in front of the auricle's front edge at ear-canal height
        # (1.8 cm below the eye); the auricle stands out beyond 90% of the head's width
        band = idx[np.abs(verts[idx, 1] - (eye_y - 0.018)) < 0.006]
        lateral = sign * verts[band, 0]
        auricle = band[lateral > 0.9 * lateral.max()]
        front = auricle[np.argmax(verts[auricle, 2])]
        target = verts[front] + np.array([0.0, 0.0, 0.012])
        near = band[lateral > 0.75 * lateral.max()]
        out[f"{side}_ear"] = int(near[np.argmin(np.linalg.norm(verts[near] - target, axis=1))])
        prefix = "Left" if side == "left" else "Right"
        foot = np.flatnonzero(
            (weights[:, names.index(f"{prefix}Foot")] > 0.5) & kept & (verts[:, 1] < 0.06)
        )
        out[f"{side}_heel"] = int(foot[np.argmin(verts[foot, 2] + 0.3 * verts[foot, 1])])
        toe = np.flatnonzero((weights[:, names.index(f"{prefix}ToeBase")] > 0.5) & kept)
        out[f"{side}_foot_index"] = int(toe[np.argmax(verts[toe, 2])])
    return out


def _build(folder: Path, shape: str = "base") -> dict[str, np.ndarray]:
    from scipy.spatial import cKDTree

    from rom_measure.synth.shapes import shape_offsets_dm

    verts_dm, groups = _parse_obj(folder / "base.obj")
    verts_dm = verts_dm + shape_offsets_dm(shape, len(verts_dm))  # joints follow the shape
    rig = json.loads((folder / "rig.mixamo.json").read_text(encoding="utf-8"))["bones"]
    raw_w = json.loads((folder / "weights.mixamo.json").read_text(encoding="utf-8"))["weights"]
    order = _sorted_bones(rig)
    short = [n.removeprefix(_PREFIX) for n in order]
    heads = np.array([_joint_position(rig[n]["head"], verts_dm, groups) for n in order])
    tails = np.array([_joint_position(rig[n]["tail"], verts_dm, groups) for n in order])
    parents = np.array([order.index(rig[n]["parent"]) if rig[n]["parent"] else -1 for n in order])

    weights = _dense_weights(raw_w, order, len(verts_dm))
    total = weights.sum(axis=1)
    body_idx = _group_vertices(groups, "body")
    tights_idx = _group_vertices(groups, "helper-tights")
    if np.any(total[np.concatenate([body_idx, tights_idx])] <= 0):
        raise AssetError("skinning weights do not cover the body and the tights")
    weights /= np.maximum(total, 1e-12)[:, None]
    dominant = _dominant(weights, short)

    material = np.zeros(len(verts_dm), dtype=np.uint8)
    verts_m = verts_dm / 10.0
    waist_y = heads[short.index("Spine"), 1] / 10.0 - 0.015
    neck = heads[short.index("Neck")] / 10.0
    tights_quads, tights_mat = _tights_faces(
        groups["helper-tights"], dominant, verts_m, waist_y, neck
    )
    for v, m in tights_mat.items():
        material[v] = m
    shown_tights = np.array(sorted(tights_mat), dtype=np.int64)
    # clothing floats 3 mm off the skin; skin well inside it is hidden (no poke-through)
    normals = _quad_normals(verts_m, tights_quads)
    verts_m[shown_tights] += 0.003 * normals[shown_tights]
    dist, _ = cKDTree(verts_m[shown_tights]).query(verts_m[body_idx])
    edge, _ = cKDTree(verts_m[_boundary_vertices(tights_quads)]).query(verts_m[body_idx])
    covered = np.zeros(len(verts_m), dtype=bool)
    covered[body_idx[(dist < 0.025) & (edge > 0.04)]] = True
    body_quads = [q for q in groups["body"] if not all(covered[v] for v in q)]

    def cube(name: str) -> np.ndarray:
        return verts_m[_group_vertices(groups, name)].mean(axis=0)

    anchors = {"eye_l": cube("joint-l-eye"), "eye_r": cube("joint-r-eye")}
    # the mesh's mouth slit lies ~6.2 cm below the eye centres (measured on base.obj)
    anchors["mouth"] = np.array(
        [0.0, 0.5 * (anchors["eye_l"][1] + anchors["eye_r"][1]) - 0.064, 0.0]
    )
    eyes = {
        "left": _group_vertices(groups, "helper-l-eye"),
        "right": _group_vertices(groups, "helper-r-eye"),
    }
    # material boundaries as zero sets of per-vertex fields (split per pixel by renderers)
    split_field = np.full(len(verts_m), -1.0)
    split_inside = material.copy()
    split_outside = material.copy()
    field, inside = _face_fields(verts_m, body_idx, weights[:, short.index("Head")], anchors)
    split_field[body_idx] = field
    split_inside[body_idx] = inside
    hem = np.isin(dominant, ("Hips", "Spine", "Spine1")) & np.isin(
        material, (_MAT["shirt"], _MAT["trousers"])
    )
    split_field[hem] = verts_m[hem, 1] - waist_y
    split_inside[hem] = _MAT["shirt"]
    split_outside[hem] = _MAT["trousers"]
    material = np.where(split_field > 0, split_inside, split_outside).astype(np.uint8)
    for side in ("left", "right"):
        _iris(verts_m, material, eyes[side])
    helper_quads: list[list[int]] = []
    for name in _RENDERED_HELPERS:
        helper_quads += groups[name]
        if "lashes" in name:
            material[_group_vertices(groups, name)] = _MAT["lashes"]

    faces_full = _triangulate(body_quads + tights_quads + helper_quads)
    used = np.unique(faces_full)
    remap = np.full(len(verts_m), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    floor = verts_m[used, 1].min()
    shift = np.array([0.0, -floor, 0.0])
    marks = _landmarks(verts_m, weights, short, used, eyes, anchors["mouth"])
    return {
        "vertices_m": (verts_m[used] + shift).astype(np.float64),
        "faces": remap[faces_full].astype(np.int32),
        "material": material[used],
        "weights": weights[used].astype(np.float32),
        "bone_names": np.array(short),
        "bone_parents": parents.astype(np.int32),
        "bone_heads_m": heads / 10.0 + shift,
        "bone_tails_m": tails / 10.0 + shift,
        "landmark_names": np.array(sorted(marks)),
        "landmark_index": np.array([remap[marks[k]] for k in sorted(marks)], dtype=np.int64),
        "split_field": split_field[used].astype(np.float32),
        "split_inside": split_inside[used],
        "split_outside": split_outside[used],
    }


def _digest(folder: Path, shape: str = "base") -> str:
    from rom_measure.synth.shapes import BODY_SHAPES

    h = hashlib.sha256(f"synth-body-v{_FORMAT_VERSION}".encode())
    if shape != "base":  # the unshaped body keeps its cache name
        h.update(repr((shape, BODY_SHAPES[shape])).encode())
    for name in ("base.obj", "rig.mixamo.json", "weights.mixamo.json"):
        h.update((folder / name).read_bytes())
    return h.hexdigest()[:16]


def _from_arrays(data: dict[str, np.ndarray]) -> BodyModel:
    names = [str(n) for n in data["landmark_names"]]
    return BodyModel(
        vertices_m=np.asarray(data["vertices_m"], dtype=np.float64),
        faces=np.asarray(data["faces"], dtype=np.int32),
        material=np.asarray(data["material"], dtype=np.uint8),
        weights=np.asarray(data["weights"], dtype=np.float32),
        bone_names=tuple(str(n) for n in data["bone_names"]),
        bone_parents=np.asarray(data["bone_parents"], dtype=np.int32),
        bone_heads_m=np.asarray(data["bone_heads_m"], dtype=np.float64),
        bone_tails_m=np.asarray(data["bone_tails_m"], dtype=np.float64),
        landmark_vertices={n: int(i) for n, i in zip(names, data["landmark_index"], strict=True)},
        split_field=np.asarray(data["split_field"], dtype=np.float32),
        split_inside=np.asarray(data["split_inside"], dtype=np.uint8),
        split_outside=np.asarray(data["split_outside"], dtype=np.uint8),
    )


_CACHE: dict[str, BodyModel] = {}


def load_body(folder: Path | None = None, shape: str = "base") -> BodyModel:
    """Load the body model, building and caching the preprocessed ``.npz`` on first use.

    Args:
        folder: folder with ``base.obj``, ``rig.mixamo.json``, ``weights.mixamo.json``;
            by default the provisioned body (:func:`rom_measure.media.assets.body_dir`).
        shape: a body preset of :data:`rom_measure.synth.shapes.BODY_SHAPES`
            (``base`` = the unshaped mesh).

    Returns:
        The body model (memoised per process).
    """
    from rom_measure.media.assets import body_dir, cache_dir
    from rom_measure.synth.shapes import BODY_SHAPES

    if shape not in BODY_SHAPES:
        raise AssetError(f"unknown body {shape!r}: choose one of {', '.join(BODY_SHAPES)}")
    folder = Path(folder) if folder is not None else body_dir()
    key = f"{folder.resolve()}|{shape}"
    if key in _CACHE:
        return _CACHE[key]
    target = cache_dir() / f"synth-body-{_digest(folder, shape)}.npz"
    if target.exists():
        with np.load(target, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    else:
        data = _build(folder, shape)
        with atomic_path(target) as tmp:
            np.savez_compressed(tmp, **data)
    model = _from_arrays(data)
    _CACHE[key] = model
    return model
