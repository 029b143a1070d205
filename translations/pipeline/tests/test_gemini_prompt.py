"""What a Gemini request carries: page images (tall strips in readable segments), numbered lines, schema, parsing."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from translations.pipeline.contracts import Box, TextBlock, TextLine
from translations.pipeline.translators.dictionaries import Glossary
from translations.pipeline.translators.gemini_prompt import (
    MAX_SIDE,
    SEGMENT_RATIO,
    page_images,
    page_parts,
    parse_translations,
    response_schema,
)


def block(block_id: int, box: Box, text: str = "テキスト") -> TextBlock:
    polygon = ((box.x, box.y), (box.right, box.y), (box.right, box.bottom), (box.x, box.bottom))
    return TextBlock(id=block_id, box=box, lines=(TextLine(box, polygon, True, text),), vertical=True)


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def red_mask(image: np.ndarray) -> np.ndarray:
    return (image[:, :, 0] > 180) & (image[:, :, 1] < 80) & (image[:, :, 2] < 80)


def test_a_tall_webtoon_strip_is_sent_as_page_wide_segments_not_a_sliver():
    strip = np.full((14000, 720, 3), 255, dtype=np.uint8)
    blocks = tuple(block(i, Box(200, 300 + 1100 * (i - 1), 300, 250)) for i in range(1, 13))

    images = page_images(strip, blocks)

    assert len(images) > 5
    for image in images:
        height, width = decode(image.data).shape[:2]
        assert width == 720  # full width: the text keeps its size
        assert height <= round(SEGMENT_RATIO * 720)
    assert images[0].top == 0 and images[-1].bottom == 14000
    listed = [block_id for image in images for block_id in image.block_ids]
    assert sorted(listed) == list(range(1, 13))  # every block under exactly one image
    for image in images:
        for block_id in image.block_ids:
            box = blocks[block_id - 1].box
            assert image.top <= box.y and box.bottom <= image.bottom  # shown whole in its image


def test_an_ordinary_page_is_one_image_shrunk_to_the_maximum_side():
    scan = np.full((4000, 3000, 3), 255, dtype=np.uint8)

    [image] = page_images(scan, (block(1, Box(100, 100, 400, 800)),))

    assert decode(image.data).shape[:2] == (MAX_SIDE, 1200)
    assert image.block_ids == (1,)


def test_each_block_is_boxed_in_red_with_its_id_tag_above_it():
    blank = np.full((800, 600, 3), 255, dtype=np.uint8)

    [image] = page_images(blank, (block(1, Box(100, 200, 150, 300)), block(2, Box(350, 200, 150, 300))))

    red = red_mask(decode(image.data))
    assert red[200:500, 98:104].any(axis=1).mean() > 0.9  # block 1's left edge, every row
    assert red[200:500, 348:354].any(axis=1).mean() > 0.9  # block 2's left edge
    assert red[190:198, 100:104].all()  # the filled id tag sits above the box
    assert red[260:440, 140:210].sum() == 0  # the block's inside (its text) stays clear


def test_a_tall_strip_tells_the_model_which_image_shows_each_block():
    strip = np.full((6000, 600, 3), 255, dtype=np.uint8)
    blocks = (block(1, Box(100, 100, 200, 200), "上"), block(2, Box(100, 5500, 200, 200), "下"))
    images = page_images(strip, blocks)

    parts = page_parts(
        sources={1: "上", 2: "下"}, source="ja", target="en", context=(), glossary=Glossary(), images=images
    )

    text = "\n".join(part.text for part in parts if part.text)
    assert f"Image 1 of {len(images)}: page rows 0-" in text
    assert "[1] (image 1) 上" in text
    assert f"[2] (image {len(images)}) 下" in text
    assert sum(1 for part in parts if part.inline_data) == len(images)


def test_the_schema_asks_for_exactly_one_item_per_id():
    schema = response_schema((3, 4, 5))

    translations = schema["properties"]["translations"]
    assert (translations["minItems"], translations["maxItems"]) == (3, 3)
    assert translations["items"]["required"] == ["id", "text"]
    assert schema["required"] == ["translations"]


def test_parsing_keeps_asked_ids_with_text_and_the_first_answer_per_id():
    answer = (
        '{"translations": [{"id": 1, "text": " Hi "}, {"id": 1, "text": "again"}, {"id": 2, "text": ""},'
        ' {"id": 9, "text": "not asked"}, {"id": "3", "text": "string id"}, {"text": "no id"}]}'
    )

    assert parse_translations(answer, (1, 2, 3)) == {1: "Hi", 3: "string id"}


def test_parsing_accepts_a_fenced_answer_and_turns_malformed_json_into_nothing():
    assert parse_translations('```json\n{"translations": [{"id": 1, "text": "Hi"}]}\n```', (1,)) == {1: "Hi"}
    assert parse_translations('{"translations": [{"id": 1, "te', (1,)) == {}
    assert parse_translations(None, (1,)) == {}
