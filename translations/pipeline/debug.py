"""Debug overlay for `translate_page --debug-dir`: balloons, lines, blocks and their reading order."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from translations.pipeline.contracts import Flag, TextBlock

BALLOON_TINT = np.array([80, 200, 255], dtype=np.float32)  # light blue over balloon masks
LINE_COLOUR = (0, 90, 255)
BLOCK_COLOUR = (230, 20, 20)
SFX_COLOUR = (150, 150, 150)


def overlay(image: np.ndarray, blocks: tuple[TextBlock, ...]) -> Image.Image:
    canvas = image.astype(np.float32)
    for block in blocks:
        balloon = block.balloon
        if balloon is None:
            continue
        box = balloon.box
        region = canvas[box.y : box.bottom, box.x : box.right]
        mask = balloon.mask[: region.shape[0], : region.shape[1]]
        region[mask] = region[mask] * 0.6 + BALLOON_TINT * 0.4
    picture = Image.fromarray(canvas.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(picture)
    for block in blocks:
        colour = SFX_COLOUR if Flag.SFX in block.flags else BLOCK_COLOUR
        for line in block.lines:
            draw.polygon(list(line.polygon), outline=LINE_COLOUR)
        box = block.box
        draw.rectangle((box.x, box.y, box.right, box.bottom), outline=colour, width=2)
        label = str(block.id)
        draw.rectangle((box.x, box.y, box.x + 8 * len(label) + 6, box.y + 14), fill=colour)
        draw.text((box.x + 3, box.y + 1), label, fill=(255, 255, 255))
    return picture
