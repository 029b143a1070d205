"""Stage 1: turn uploaded bytes into an upright RGB page, refusing what would hurt the worker."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from translations.pipeline.contracts import PipelineError

# Formats a page may arrive in; each is encoded back in kind (GIF as PNG).
OUTPUT_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "GIF": "PNG"}
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_PIXELS = 60_000_000


@dataclass(frozen=True)
class LoadedPage:
    image: np.ndarray  # uint8 RGB (H, W, 3), EXIF orientation applied
    format: str  # the format to encode the result in
    frames: int  # >1 for an animated image, of which only the first frame is used


def load_page(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedPage:
    if not data:
        raise PipelineError("load", "the image is empty")
    if len(data) > max_bytes:
        raise PipelineError("load", f"the image is {len(data)} bytes, more than the limit of {max_bytes}")
    try:
        with warnings.catch_warnings():
            # Our own pixel limit is checked from the header below, before anything is decoded.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in OUTPUT_FORMATS:
                    allowed = ", ".join(sorted(OUTPUT_FORMATS))
                    raise PipelineError("load", f"format {image.format or 'unknown'} is not supported ({allowed})")
                width, height = image.size
                if width * height > max_pixels:
                    raise PipelineError(
                        "load", f"{width}x{height} is more pixels than the limit of {max_pixels} (decompression bomb?)"
                    )
                frames = getattr(image, "n_frames", 1)
                image.seek(0)  # an animated GIF or WebP: the first frame is the page
                image.load()
                return LoadedPage(image=_to_rgb(image), format=OUTPUT_FORMATS[image.format], frames=frames)
    except PipelineError:
        raise
    except Image.DecompressionBombError:
        raise PipelineError("load", "the image declares too many pixels (decompression bomb)") from None
    except UnidentifiedImageError:
        raise PipelineError("load", "the data is not an image in a readable format") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise PipelineError("load", f"the image is corrupt or truncated ({exc})") from None


def _to_rgb(image: Image.Image) -> np.ndarray:
    upright = ImageOps.exif_transpose(image)
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
        # Transparent areas of scans are page background: put them on white.
        rgba = upright.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        upright = Image.alpha_composite(background, rgba)
    elif upright.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits rather than clipping everything to white.
        array = np.asarray(upright, dtype=np.float64)
        peak = array.max() or 1.0
        upright = Image.fromarray((array * (255.0 / peak)).astype(np.uint8), mode="L")
    return np.asarray(upright.convert("RGB"), dtype=np.uint8).copy()


def encode_page(image: np.ndarray, fmt: str) -> bytes:
    """Stage 8: the result in the input's format (JPEG at high quality: lettering must stay crisp)."""
    buffer = io.BytesIO()
    picture = Image.fromarray(image)
    if fmt == "JPEG":
        picture.save(buffer, format="JPEG", quality=92, subsampling=0)
    elif fmt == "WEBP":
        picture.save(buffer, format="WEBP", quality=92)
    else:
        picture.save(buffer, format="PNG", optimize=False, compress_level=3)
    return buffer.getvalue()
