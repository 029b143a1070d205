"""Panel detection (panels.py) and panel-aware reading order (grouping.py) on drawn pages, without the ONNX models."""

from __future__ import annotations

import time

import numpy as np
from PIL import Image, ImageDraw

from translations.pipeline import grouping
from translations.pipeline.contracts import Balloon, Box, TextLine
from translations.pipeline.grouping import group_lines
from translations.pipeline.panels import assign, detect_panels

WIDTH, HEIGHT = 830, 1170

# Three rows: one wide panel; two panels; three panels (right, middle, left), like a real manga page.
FRAMES = {
    "top": (20, 20, 810, 420),
    "mid-right": (320, 440, 810, 690),
    "mid-left": (20, 440, 300, 690),
    "low-right": (450, 710, 810, 1150),
    "low-middle": (285, 710, 435, 1150),
    "low-left": (20, 710, 270, 1150),
}
READING = ["top", "mid-right", "mid-left", "low-right", "low-middle", "low-left"]

# Text columns (x, y, w, h), in the right reading order. The low-right panel's second column sits below the
# low-left panel's first ones, so bands of blocks alone read the low-left panel in the middle of the low-right one.
COLUMNS = {
    "a": (700, 50, 30, 200),
    "b": (100, 60, 30, 150),
    "c": (700, 460, 30, 150),
    "k": (330, 480, 30, 60),  # in the balloon that crosses the mid-row gutter, mostly on the right panel's side
    "d": (150, 470, 30, 100),
    "e": (700, 730, 30, 120),
    "f": (500, 960, 30, 150),
    "g": (330, 980, 30, 80),
    "h": (200, 725, 30, 120),
    "i": (60, 740, 30, 150),
    "j": (60, 960, 30, 140),
}
CROSSING = (280, 465, 400, 560)  # the balloon's ellipse: over the mid-left frame, the gutter and the mid-right frame


def page(*, crossing: bool = True, mirror: bool = False) -> tuple[np.ndarray, list[Balloon]]:
    """White paper, black frames with some art inside, and a balloon drawn over the mid-row gutter."""
    img = Image.new("L", (WIDTH, HEIGHT), 255)
    draw = ImageDraw.Draw(img)
    rng = np.random.default_rng(7)
    for x0, y0, x1, y1 in FRAMES.values():
        draw.rectangle((x0, y0, x1, y1), outline=0, width=4)
        for _ in range(6):  # hatching and blobs: art inside the frame
            cx, cy = rng.integers(x0 + 20, x1 - 20), rng.integers(y0 + 20, y1 - 20)
            draw.ellipse((cx - 15, cy - 10, cx + 15, cy + 10), fill=int(rng.integers(0, 120)))  # type: ignore[arg-type]
    balloons = []
    if crossing:
        draw.ellipse(CROSSING, outline=0, width=3, fill=255)
        balloons.append(_balloon(CROSSING))
    image = np.asarray(img.convert("RGB"))
    if mirror:
        image = np.ascontiguousarray(image[:, ::-1])
        balloons = [_balloon(_mirror_xyxy(CROSSING))] if crossing else []
    return image, balloons


def _mirror_xyxy(xyxy: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = xyxy
    return WIDTH - x1, y0, WIDTH - x0, y1


def _balloon(xyxy: tuple[int, int, int, int]) -> Balloon:
    x0, y0, x1, y1 = xyxy
    mask = Image.new("L", (x1 - x0 + 1, y1 - y0 + 1), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, x1 - x0, y1 - y0), fill=1)
    return Balloon(Box(x0, y0, x1 - x0 + 1, y1 - y0 + 1), np.asarray(mask, dtype=bool))


def lines(*, mirror: bool = False) -> list[TextLine]:
    made = []
    for name, (x, y, w, h) in COLUMNS.items():
        if mirror:
            x = WIDTH - x - w
        box = Box(x, y, w, h)
        corners = ((x, y), (x + w, y), (x + w, y + h), (x, y + h))
        made.append(TextLine(box, corners, vertical=True, text=f"{name}のせりふです", confidence=0.95))
    return made


def names(blocks) -> list[str]:
    return [block.source_text[0] for block in blocks]


def inside(cell: Box, frame: tuple[int, int, int, int]) -> bool:
    x0, y0, x1, y1 = frame
    return cell.x <= x0 and cell.y <= y0 and cell.right >= x1 and cell.bottom >= y1


def test_it_finds_the_panels_in_japanese_reading_order():
    image, balloons = page()

    cells = detect_panels(image, rtl=True, balloons=balloons)

    assert len(cells) == len(READING)
    for cell, name in zip(cells, READING, strict=True):
        assert inside(cell, FRAMES[name]), (name, cell)
    # The cells tile the page: every pixel is in exactly one of them.
    assert sum(cell.area for cell in cells) == WIDTH * HEIGHT


def test_a_balloon_over_a_gutter_does_not_hide_it_when_its_mask_is_given():
    image, balloons = page()

    assert len(detect_panels(image, balloons=balloons)) == 6
    assert len(detect_panels(image)) == 5  # the balloon's outline closes the mid-row gutter: one cell for the row


def test_blocks_are_read_panel_by_panel_right_to_left():
    image, balloons = page()

    blocks = group_lines(lines(), balloons, image=image, rtl=True)

    assert names(blocks) == list(COLUMNS)
    assert [block.id for block in blocks] == list(range(1, len(COLUMNS) + 1))
    assert blocks[3].balloon is not None  # "k", in the balloon over the gutter, reads with the panel it mostly lies in


def test_block_bands_alone_interleave_the_bottom_row():
    # What the page looked like before panels were found: the low-left panel read inside the low-right one.
    _, balloons = page()

    blocks = group_lines(lines(), balloons, rtl=True)  # no image: blocks alone

    assert names(blocks)[5:] == ["e", "h", "i", "f", "g", "j"]


def test_left_to_right_pages_read_panels_left_to_right():
    image, balloons = page(mirror=True)

    cells = detect_panels(image, rtl=False, balloons=balloons)
    blocks = group_lines(lines(mirror=True), balloons, image=image, rtl=False)

    assert len(cells) == 6
    assert inside(cells[1], _mirror_xyxy(FRAMES["mid-right"]))
    assert names(blocks) == list(COLUMNS)


def test_a_page_without_gutters_is_one_panel_and_keeps_the_block_order():
    rng = np.random.default_rng(3)
    splash = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)  # art to every edge
    blank = np.full((HEIGHT, WIDTH, 3), 255, dtype=np.uint8)
    text = lines()

    for image in (splash, blank):
        assert detect_panels(image) == [Box(0, 0, WIDTH, HEIGHT)]
        with_image = group_lines(text, [], image=image, rtl=True)
        assert names(with_image) == names(group_lines(text, [], rtl=True))


def test_a_single_framed_panel_and_a_page_number_are_not_split():
    img = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle((40, 40, 790, 1100), outline="black", width=5)
    draw.rectangle((300, 320, 520, 330), fill="black")  # a white band inside the frame is not a gutter
    draw.text((405, 1130), "12", fill="black", font_size=20)  # a page number under the frame is no panel

    assert detect_panels(np.asarray(img)) == [Box(0, 0, WIDTH, HEIGHT)]


def test_a_webtoon_strip_is_cut_into_its_panels_top_to_bottom():
    img = Image.new("RGB", (700, 9000), "white")
    draw = ImageDraw.Draw(img)
    tops = [100, 2500, 5200]
    for top in tops:
        draw.rectangle((0, top, 699, top + 1600), fill=(90, 120, 160))  # full-width, frameless

    cells = detect_panels(np.asarray(img), rtl=True)

    assert len(cells) == 3
    assert [cell.y < top < cell.bottom for cell, top in zip(cells, tops, strict=True)] == [True] * 3
    assert cells[-1].bottom == 9000 and all(cell.w == 700 for cell in cells)


def test_each_box_goes_to_the_panel_holding_most_of_it():
    cells = [Box(400, 0, 400, 500), Box(0, 0, 400, 500)]

    assert assign([Box(380, 10, 100, 50), Box(340, 10, 100, 50), Box(900, 600, 10, 10)], cells) == [0, 1, 0]


def test_the_order_without_an_image_or_with_one_block_is_the_block_order():
    boxes = [Box(0, 0, 10, 10), Box(100, 0, 10, 10)]
    assert grouping._page_order(boxes, [], None, True) == grouping._reading_order(boxes, True)
    assert grouping._page_order(boxes[:1], [], np.zeros((50, 50, 3), np.uint8), True) == [0]


def test_panel_detection_is_fast():
    image, balloons = page()
    boxes = [Box(*c) for c in COLUMNS.values()]
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        detect_panels(image, balloons=balloons, boxes=boxes)
        timings.append(time.perf_counter() - started)

    assert min(timings) < 0.05
