"""Files under MANGA_DATA_DIR: safe paths, atomic writes and image validation on the way in.

Every path the database stores is relative to the data directory (`raw/<manga>/<chapter>/NNN.ext`,
`output/...`). Nothing from user input reaches the filesystem without `resolve_path`.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from PIL import Image, UnidentifiedImageError

# Pillow format name → the extension we store.
ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
RAW_DIR = "raw"
OUTPUT_DIR = "output"
THUMB_DIR = "thumbs"


class StorageError(Exception):
    """A path or a write that the storage refuses."""


class InvalidImage(ValueError):
    """An image refused on the way in; the message says why, for the person who sent it."""


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    format: str
    extension: str
    size_bytes: int
    sha256: str


def data_root() -> Path:
    return Path(settings.MANGA_DATA_DIR)


def resolve_path(relative: str | PurePosixPath) -> Path:
    """The absolute path of `relative` under the data root; refuses anything that escapes it."""
    text = str(relative)
    if not text or "\x00" in text or text.startswith(("/", "\\")) or "\\" in text:
        raise StorageError(f"refusing path {text!r}")
    parts = PurePosixPath(text).parts
    if any(part in ("..", ".") for part in parts):
        raise StorageError(f"refusing path {text!r}")
    root = data_root().resolve()
    path = (root / text).resolve()
    if not path.is_relative_to(root) or path == root:
        raise StorageError(f"refusing path {text!r}")
    return path


def page_path(kind: str, manga_slug: str, chapter_slug: str, index: int, extension: str) -> str:
    """`raw/<manga>/<chapter>/007.jpg` — the relative path stored in the database."""
    if kind not in (RAW_DIR, OUTPUT_DIR, THUMB_DIR):
        raise StorageError(f"unknown storage area {kind!r}")
    for name in (manga_slug, chapter_slug):
        if not name or "/" in name or name in (".", ".."):
            raise StorageError(f"refusing path segment {name!r}")
    return f"{kind}/{manga_slug}/{chapter_slug}/{index:03d}.{extension}"


def job_output_path(*, manga_slug: str, chapter_slug: str, job_id: int, index: int, extension: str) -> str:
    """`output/<manga>/<chapter>/<job>/NNN.ext`: DESIGN §3's path with one folder per job.

    Two jobs of one chapter (another language, a re-run) never share a file, so deleting one
    job's rows (which deletes their files) never takes another job's pages.
    """
    base = page_path(OUTPUT_DIR, manga_slug, chapter_slug, index, extension)
    folder, name = base.rsplit("/", 1)
    return f"{folder}/{job_id}/{name}"


def webp_thumbnail_path(raw: str) -> str:
    """`thumbs/<manga>/<chapter>/NNN.webp` for `raw/<manga>/<chapter>/NNN.ext`: where a cover's thumbnail lives."""
    if not raw.startswith(f"{RAW_DIR}/") or "." not in raw.rsplit("/", 1)[-1]:
        raise StorageError(f"not a raw page path: {raw!r}")
    return f"{THUMB_DIR}/{raw[len(RAW_DIR) + 1 :].rsplit('.', 1)[0]}.webp"


def write_atomic(relative: str, data: bytes) -> Path:
    """Write to a temporary file beside the target, fsync, then rename over it."""
    path = resolve_path(relative)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def move(source: str, target: str) -> Path:
    """Rename one stored file onto another stored path, replacing it in one step."""
    source_path = resolve_path(source)
    target_path = resolve_path(target)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source_path, target_path)
    return target_path


def delete(relative: str) -> None:
    """Remove a stored file and the folders it leaves empty, up to the storage area."""
    path = resolve_path(relative)
    path.unlink(missing_ok=True)
    root = data_root().resolve()
    parent = path.parent
    while parent.parent != root and parent != root:
        try:
            parent.rmdir()
        except OSError:  # not empty, or already gone
            break
        parent = parent.parent


def validate_image(data: bytes, name: str = "image") -> ImageInfo:
    """Check an uploaded or imported image fully before anything is stored.

    Refuses: too many bytes, unknown or disallowed formats, more pixels than
    MANGA_MAX_IMAGE_PIXELS (checked from the header, before decoding), and files that
    fail to decode completely (corrupt or truncated).
    """
    max_bytes = settings.MANGA_MAX_IMAGE_BYTES
    if len(data) > max_bytes:
        raise InvalidImage(f"{name}: {len(data)} bytes is more than the limit of {max_bytes}")
    if not data:
        raise InvalidImage(f"{name}: the file is empty")
    max_pixels = settings.MANGA_MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow warns (and only later errors) on big images; we apply our own limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format or ""
                width, height = image.size
                if fmt not in ALLOWED_FORMATS:
                    allowed = ", ".join(sorted(ALLOWED_FORMATS))
                    raise InvalidImage(f"{name}: format {fmt or 'unknown'} is not allowed (allowed: {allowed})")
                if width * height > max_pixels:
                    raise InvalidImage(
                        f"{name}: {width}x{height} is {width * height} pixels, more than the limit of {max_pixels}"
                    )
                image.verify()
            # verify() checks structure only; a full decode finds truncated data.
            with Image.open(io.BytesIO(data)) as image:
                image.load()
    except InvalidImage:
        raise
    except Image.DecompressionBombError:
        raise InvalidImage(f"{name}: the image is a decompression bomb (too many pixels)") from None
    except UnidentifiedImageError:
        raise InvalidImage(f"{name}: not an image, or a format that cannot be read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(f"{name}: the image is corrupt or truncated ({exc})") from None
    if width < 1 or height < 1:
        raise InvalidImage(f"{name}: the image has no pixels")
    return ImageInfo(
        width=width,
        height=height,
        format=fmt,
        extension=ALLOWED_FORMATS[fmt],
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def ensure_thumbnail(source: str, thumbnail: str, *, max_side: int = 240) -> Path:
    """Return the path of a thumbnail of `source`, made once and kept under thumbs/.

    JPEG, or WebP when `thumbnail` ends in `.webp` (the library's covers).

    Raises FileNotFoundError when the source is missing and InvalidImage when it no longer decodes.
    """
    target = resolve_path(thumbnail)
    if target.exists():
        return target
    source_path = resolve_path(source)
    try:
        with Image.open(source_path) as image:
            image.thumbnail((max_side, max_side * 4))
            buffer = io.BytesIO()
            fmt = "WEBP" if thumbnail.endswith(".webp") else "JPEG"
            image.convert("RGB").save(buffer, format=fmt, quality=80)
    except FileNotFoundError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(f"{source}: the stored image cannot be decoded ({exc})") from None
    return write_atomic(thumbnail, buffer.getvalue())
