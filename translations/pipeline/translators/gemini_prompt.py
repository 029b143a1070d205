"""What a Gemini request says: the page image with numbered boxes, the numbered lines, context, glossary and schema."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

import numpy as np
from google.genai import types
from PIL import Image, ImageDraw, ImageFont

from translations.pipeline.contracts import TextBlock
from translations.pipeline.translators.dictionaries import Glossary
from translations.pipeline.translators.terms import TERMS_SCHEMA

LANGUAGE_NAMES = {
    "ja": "Japanese",
    "ko": "Korean",
    "zh": "Chinese",
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "pt": "Portuguese",
    "it": "Italian",
    "ru": "Russian",
    "id": "Indonesian",
    "vi": "Vietnamese",
    "th": "Thai",
}
MAX_SIDE = 1600  # an ordinary page is shrunk to this; Gemini reads balloon text well at this size
MAX_WIDTH = 1280  # a tall strip keeps its width up to this; its height is cut into segments instead
TALL_RATIO = 2.0  # pages taller than this many widths are sent as several images
SEGMENT_RATIO = 1.6  # segment height, in widths: close to a page, so text keeps a page's size
OVERLAP_RATIO = 0.35  # overlap between segments, in widths: a balloon up to this tall is whole in one
BOX_COLOUR = (230, 20, 20)
JPEG_QUALITY = 90
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


@dataclass(frozen=True)
class PageImage:
    """One image sent for a page: the whole page, or one segment of a tall strip."""

    data: bytes  # JPEG
    top: int  # page rows covered, in original page pixels
    bottom: int
    block_ids: tuple[int, ...]  # the blocks this image shows whole (each block is listed under one image)


def page_images(image: np.ndarray, blocks: tuple[TextBlock, ...]) -> list[PageImage]:
    """The page with each block boxed and tagged with its id; tall strips cut in overlapping segments."""
    height, width = image.shape[:2]
    tall = height > TALL_RATIO * width
    scale = min(1.0, MAX_WIDTH / width) if tall else min(1.0, MAX_SIDE / max(height, width))
    picture = Image.fromarray(image).convert("RGB")
    if scale < 1.0:
        picture = picture.resize((round(width * scale), round(height * scale)), Image.Resampling.LANCZOS)
    _draw_boxes(picture, blocks, scale)
    bounds = segment_bounds(picture.height, picture.width) if tall else [(0, picture.height)]
    owner = _owners(blocks, bounds, scale)
    images = []
    for index, (top, bottom) in enumerate(bounds):
        buffer = io.BytesIO()
        picture.crop((0, top, picture.width, bottom)).save(buffer, format="JPEG", quality=JPEG_QUALITY)
        ids = tuple(block.id for block in blocks if owner[block.id] == index)
        images.append(PageImage(buffer.getvalue(), round(top / scale), round(bottom / scale), ids))
    return images


def segment_bounds(height: int, width: int) -> list[tuple[int, int]]:
    size = max(round(SEGMENT_RATIO * width), 1)
    stride = max(size - round(OVERLAP_RATIO * width), 1)
    bounds, top = [], 0
    while True:
        bottom = min(top + size, height)
        bounds.append((max(bottom - size, 0), bottom))  # the last segment is full height, not a sliver
        if bottom == height:
            return bounds
        top += stride


def _owners(blocks: tuple[TextBlock, ...], bounds: list[tuple[int, int]], scale: float) -> dict[int, int]:
    """Each block belongs to the first segment holding it whole, else to the one showing most of it."""
    owners = {}
    for block in blocks:
        top, bottom = block.box.y * scale, block.box.bottom * scale
        shown = [min(bottom, b) - max(top, t) for t, b in bounds]
        whole = [i for i, (t, b) in enumerate(bounds) if t <= top and bottom <= b]
        owners[block.id] = whole[0] if whole else int(np.argmax(shown))
    return owners


def _draw_boxes(picture: Image.Image, blocks: tuple[TextBlock, ...], scale: float) -> None:
    draw = ImageDraw.Draw(picture)
    size = max(14, min(picture.width, MAX_SIDE) // 32)  # the tag stays legible whatever the page size
    font = ImageFont.load_default(size=size)
    line = max(2, picture.width // 400)
    for block in blocks:
        x0, y0 = round(block.box.x * scale), round(block.box.y * scale)
        x1, y1 = round(block.box.right * scale), round(block.box.bottom * scale)
        draw.rectangle((x0, y0, x1, y1), outline=BOX_COLOUR, width=line)
        label = str(block.id)
        left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
        tag_w, tag_h = right - left + 8, bottom - top + 6
        # The tag sits above the box's corner so it hides none of the text the model has to read.
        tag_y = y0 - tag_h if y0 >= tag_h else y0
        tag_x = min(max(x0, 0), max(picture.width - tag_w, 0))
        draw.rectangle((tag_x, tag_y, tag_x + tag_w, tag_y + tag_h), fill=BOX_COLOUR)
        draw.text((tag_x + 4 - left, tag_y + 3 - top), label, font=font, fill=(255, 255, 255))


def system_prompt(dict_dir: Path, name: str, *, source: str, target: str) -> str:
    """`dict/prompts/<name>.md`, with `$source_language` and `$target_language` filled in."""
    text = (dict_dir / "prompts" / f"{name}.md").read_text(encoding="utf-8")
    return Template(text).safe_substitute(source_language=language_name(source), target_language=language_name(target))


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def page_parts(
    *,
    sources: dict[int, str],
    source: str,
    target: str,
    context: tuple[str, ...],
    glossary: Glossary,
    images: list[PageImage] | None,
    asked: tuple[int, ...] | None = None,
    done: dict[int, str] | None = None,
) -> list[types.Part]:
    """The user turn. `asked` (a repair) narrows the ids to answer; `done` lists what was already translated."""
    asked = tuple(sources) if asked is None else asked
    parts = [types.Part.from_text(text=_preamble(source, target, context, glossary))]
    where: dict[int, str] = {}
    for index, page_image in enumerate(images or []):
        if len(images or []) > 1:
            caption = f"Image {index + 1} of {len(images or [])}: page rows {page_image.top}-{page_image.bottom}."
            parts.append(types.Part.from_text(text=caption))
            where.update({block_id: f" (image {index + 1})" for block_id in page_image.block_ids})
        parts.append(types.Part.from_bytes(data=page_image.data, mime_type="image/jpeg"))
    lines = [f"Source lines ({language_name(source)}), in reading order, as [id] text:"]
    lines += [f"[{block_id}]{where.get(block_id, '')} {text}" for block_id, text in sources.items()]
    if done:
        lines.append("\nAlready translated (keep them; do not answer these ids again):")
        lines += [f"[{block_id}] {text}" for block_id, text in done.items()]
    ids = ", ".join(str(block_id) for block_id in asked)
    lines.append(
        f'\nAnswer with JSON {{"translations": [{{"id": <id>, "text": <{language_name(target)} text>}}]}}'
        f", exactly one item for each of these ids: {ids}."
    )
    parts.append(types.Part.from_text(text="\n".join(lines)))
    return parts


def _preamble(source: str, target: str, context: tuple[str, ...], glossary: Glossary) -> str:
    lines = [f"Translate this page from {language_name(source)} to {language_name(target)}."]
    if context:
        lines.append(
            "\nThe previous pages of this chapter, already translated (oldest first), for continuity only; "
            "do not translate them again:"
        )
        for back, page in zip(range(len(context), 0, -1), context, strict=True):
            label = "previous page" if back == 1 else f"{back} pages back"
            lines.append(f"--- {label} ---\n{page.strip()}")
    lines.append(f"\nGlossary and style for this manga:\n{glossary.prompt_text()}")
    return "\n".join(lines)


def response_schema(ids: tuple[int, ...]) -> dict:
    """Exactly one item per asked id; the schema fixes the count, the parser checks the ids. `new_terms` (optional):
    names and terms the glossary lacks (translators/terms.py)."""
    return {
        "type": "object",
        "properties": {
            "translations": {
                "type": "array",
                "minItems": len(ids),
                "maxItems": len(ids),
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "integer"}, "text": {"type": "string"}},
                    "required": ["id", "text"],
                },
            },
            "new_terms": TERMS_SCHEMA,
        },
        "required": ["translations"],
    }


def parse_translations(text: str | None, ids: tuple[int, ...]) -> dict[int, str]:
    """The usable items of an answer: known ids, non-empty text, first answer per id. Malformed JSON gives none."""
    try:
        data = json.loads(_FENCE.sub("", (text or "").strip()))
    except json.JSONDecodeError:
        return {}
    items = data.get("translations") if isinstance(data, dict) else data
    found: dict[int, str] = {}
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            continue
        try:
            block_id = int(item.get("id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if block_id in ids and block_id not in found and item["text"].strip():
            found[block_id] = item["text"].strip()
    return found
