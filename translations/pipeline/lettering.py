"""Typeset translations inside their balloons' shapes with the bundled open fonts, flagging what does not fit."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import pyphen
from PIL import Image, ImageDraw, ImageFont, features

from translations.pipeline.contracts import Box, Flag, LetteredRegion, TextBlock
from translations.pipeline.fonts import LATIN_FONT, FontChoice, find_font, language_key

# Japanese and Chinese are lettered in columns; Korean comics (manhwa, webtoons) and Korean
# editions of manga set dialogue horizontally, so Korean wraps in lines at spaces.
VERTICAL_LANGUAGES = frozenset({"ja", "zh", "zh-hant"})  # keys of fonts.language_key

# Readable floor: 1.7 % of the page width (14 px on an 830 px page) reads at phone size; 10 px Comic
# Neue Bold (a ~5 px x-height, the least that survives JPEG at 1:1) is the floor on small pages.
MIN_SIZE_PX = 10
MIN_SIZE_SHARE = 0.017
MAX_SIZE_SHARE = 0.05  # no dialogue letters bigger than this, however empty the balloon
_LINE_PITCH = 1.12  # em; comics set lines tight
_CJK_LINE_PITCH = 1.3
_COLUMN_PITCH = 1.3
_MORE_LINES = 12  # line counts tried above the lower bound the widest row gives
_LOOSENESS = (1.0, 0.5, 0.0)  # margins off the outline tried, in turn, before text is shrunk below `wanted`
_LOUD = 1.4  # source glyphs this many times the page's usual are shouting: the size is theirs
_EVEN = 0.85  # regions under this share of the page's usual size try for more room
_HYPHEN_MIN_WORD = 7
_MEASURE_CACHE = 4096  # measured strings kept per font size
_HYPHEN_BELOW = 1.6  # × the minimum size: above it, a balloon is roomy enough to shrink instead
_NO_LINE_START = frozenset("、。，．,.!?！？」』）)】〕〉》ーぁぃぅぇぉっゃゅょァィゥェォッャュョ…‥〜～")
_NO_LINE_END = frozenset("「『（(【〔［[〈《")
_ROTATED = frozenset("ー－—―…‥〜～~-「」『』（）()【】〔〕［］[]〈〉《》<>＜＞")
_TOP_RIGHT = frozenset("、。，．")


class BalloonLetterer:
    """Fits each translation inside its balloon mask (or its box, with a white stroke, over art).

    Three passes over the page: lay every region out, even out the sizes of similar balloons, then check every
    pair of regions for overlapping ink before anything is drawn; what still overlaps is reported as a collision.
    """

    def __init__(self, *, raqm: bool | None = None) -> None:
        # Raqm (HarfBuzz) gives the font's own vertical forms; without it columns are built by hand.
        self.raqm = bool(features.check("raqm")) if raqm is None else raqm

    def letter(
        self, image: np.ndarray, blocks: tuple[TextBlock, ...], texts: dict[int, str], target_language: str
    ) -> tuple[np.ndarray, tuple[LetteredRegion, ...]]:
        width = image.shape[1]
        min_size = floor_size(width)
        layouts = []
        for block in blocks:
            text = " ".join((texts.get(block.id) or "").split())
            if not text or Flag.SFX in block.flags:
                continue
            layouts.append(self._layout(image, block, text, target_language, min_size))
        layouts = self._harmonise(image, layouts, target_language, min_size)
        colliding = collisions([layout.ink_boxes() for layout in layouts])
        page = Image.fromarray(image)
        draw = ImageDraw.Draw(page)
        regions = []
        for index, layout in enumerate(layouts):
            layout.draw(draw)
            regions.append(
                LetteredRegion(
                    block_id=layout.block.id,
                    font_size=layout.size,
                    overflow=layout.overflow,
                    letter_box=layout.letter_box(),
                    collision=index in colliding,
                )
            )
        return np.asarray(page).copy(), tuple(regions)

    def _layout(
        self,
        image: np.ndarray,
        block: TextBlock,
        text: str,
        language: str,
        min_size: int,
        *,
        cap: int | None = None,
        wanted: int | None = None,
    ) -> Layout:
        """The largest layout up to `cap` (the source's size by default). The shape is loosened (less margin
        off the outline) only while the text does not fit at `wanted` (the floor by default)."""
        max_size = _max_size(block, min_size, image.shape[1])
        if cap is not None:
            max_size = max(min_size, min(max_size, cap))
        wanted = min(wanted or min_size, max_size)
        font = find_font(language, text)
        vertical = language_key(language) in VERTICAL_LANGUAGES and (block.vertical or block.box.h > block.box.w)
        stroke = 0 if block.balloon else max(2, round(min_size / 5))
        ink, outline = _colours(image, block)
        best: Layout | None = None
        for looseness in _LOOSENESS if block.balloon is not None else (1.0,):
            origin, shape = _text_shape(block, image.shape[:2], vertical, looseness)
            typeset = Typesetter(font, shape, text, language, vertical, stroke, self.raqm)
            size, placed, overflow = typeset.best(min_size, max_size)
            layout = Layout(block, text, typeset, size, placed, overflow, origin, ink, outline)
            if best is None or (best.overflow and not overflow) or (not overflow and size > best.size):
                best = layout
            if not best.overflow and best.size >= wanted:
                break
        assert best is not None
        if best.overflow:
            # Text spilling out of its balloon lands on art: outline it to stay readable there.
            best.typeset.stroke = max(best.typeset.stroke, 2)
        return best

    def _harmonise(self, image: np.ndarray, layouts: list[Layout], language: str, min_size: int) -> list[Layout]:
        """One dialogue size per page, as a letterer sets it: regions above the page's usual size come down to
        it, regions below it try the balloon's whole room to come up; loud text (large source glyphs) keeps its
        size, and text that does not fit at the floor keeps its overflow layout."""
        fitted = [layout for layout in layouts if not layout.overflow]
        if len(fitted) < 2:
            return layouts
        median = statistics.median_low(layout.size for layout in fitted)
        # The page's size is the smallest of those near the median: the near ones then all get exactly it.
        usual = min(layout.size for layout in fitted if layout.size >= _EVEN * median)
        glyph = statistics.median(_source_size(layout.block) for layout in layouts)
        out = []
        for layout in layouts:
            loud = _source_size(layout.block) >= _LOUD * glyph
            if layout.overflow or (loud and layout.size > usual):
                out.append(layout)
            elif layout.size > usual:
                out.append(self._layout(image, layout.block, layout.text, language, min_size, cap=usual))
            elif layout.size < _EVEN * usual:
                wider = self._layout(
                    image, layout.block, layout.text, language, min_size, cap=usual, wanted=round(_EVEN * usual)
                )
                out.append(wider if not wider.overflow and wider.size > layout.size else layout)
            else:
                out.append(layout)
        return out


def floor_size(page_width: int) -> int:
    """The smallest letters a page gets: a share of its width, never under the absolute floor."""
    return max(MIN_SIZE_PX, round(MIN_SIZE_SHARE * page_width))


@dataclass
class Layout:
    """One region laid out: what to draw where, not drawn yet."""

    block: TextBlock
    text: str
    typeset: Typesetter
    size: int
    placed: list[Placed]
    overflow: bool
    origin: tuple[int, int]
    ink: tuple
    outline: tuple

    def ink_boxes(self) -> list[Box]:
        """Page-pixel bounds of each drawn line (column), stroke included."""
        return self.typeset.ink_boxes(self.size, self.placed, self.origin)

    def letter_box(self) -> Box | None:
        boxes = [box for box in self.ink_boxes() if box.area]
        if not boxes:
            return None
        union = boxes[0]
        for box in boxes[1:]:
            union = union.union(box)
        return union

    def draw(self, draw: ImageDraw.ImageDraw) -> None:
        self.typeset.draw(draw, self.size, self.placed, self.origin, self.ink, self.outline)


def collisions(regions: list[list[Box]]) -> set[int]:
    """Indices of the regions whose ink boxes overlap another region's (touching edges do not count)."""
    hit: set[int] = set()
    for i, j in itertools.combinations(range(len(regions)), 2):
        if any(a.intersection(b) for a in regions[i] for b in regions[j]):
            hit |= {i, j}
    return hit


@dataclass(frozen=True)
class Placed:
    """One line (or column) of text and the top-left corner of its box, shape-local."""

    text: str
    x: int
    y: int


class TextShape:
    """Where text may go: for each row and each column, the longest run of the mask."""

    def __init__(self, mask: np.ndarray) -> None:
        self.rows, self.cols = _runs(mask), _runs(mask.T)
        ys, xs = np.nonzero(mask)
        self.cx, self.cy = float(xs.mean()), float(ys.mean())
        self.top, self.bottom = int(ys.min()), int(ys.max())
        self.left, self.right = int(xs.min()), int(xs.max())
        self.widest = int((self.rows[:, 1] - self.rows[:, 0] + 1).max())
        self.tallest = int((self.cols[:, 1] - self.cols[:, 0] + 1).max())

    def span(self, runs: np.ndarray, start: int, stop: int) -> tuple[int, int]:
        """The run every row (column) in [start, stop) shares; empty (0, -1) outside the mask."""
        if start < 0 or stop > len(runs) or stop <= start:
            return 0, -1
        return int(runs[start:stop, 0].max()), int(runs[start:stop, 1].min())


class Typesetter:
    """Size search and line breaking for one block's text in one shape."""

    def __init__(
        self, font: FontChoice, shape: TextShape, text: str, language: str, vertical: bool, stroke: int, raqm: bool
    ):
        self.font, self.shape, self.vertical, self.stroke, self.raqm = font, shape, vertical, stroke, raqm
        # Script by word: one `ー` or `!?` mark in an English line keeps it wrapping at spaces.
        chars = written_in_cjk(text) and language_key(language) != "ko"
        self.joiner = "" if chars or vertical else " "
        self.tokens = [c for c in text if not c.isspace()] if self.joiner == "" else text.split()
        self.pitch = _CJK_LINE_PITCH if chars or vertical else _LINE_PITCH
        self._names = names(self.tokens) if self.joiner else set()
        self.hyphenator = _hyphenator(language) if not chars else None
        self._tails: set[str] = set()  # second halves of split words, never split again

    def best(self, min_size: int, max_size: int) -> tuple[int, list[Placed], bool]:
        """The largest size whose layout fits: (size, placed lines, overflow)."""
        size, placed = self._search(min_size, max_size, hyphenate=False)
        long_words = any(self._may_split(t) for t in self.tokens)
        small = size is None or size < _HYPHEN_BELOW * min_size
        if self.hyphenator and long_words and not self.vertical and small:
            # Hyphens are a cost, paid only where the letters get small: for clearly bigger ones (or to fit at all).
            h_size, h_placed = self._search(min_size, max_size, hyphenate=True)
            if h_size is not None and (size is None or h_size >= 1.1 * size):
                size, placed = h_size, h_placed
        if size is not None:
            return size, placed, False
        return min_size, self._overflow_layout(min_size), True

    def _search(self, low: int, high: int, *, hyphenate: bool) -> tuple[int | None, list[Placed]]:
        found: tuple[int | None, list[Placed]] = (None, [])
        while low <= high:
            size = (low + high) // 2
            placed = self._fit(size, hyphenate)
            if placed is None:
                high = size - 1
            else:
                found, low = (size, placed), size + 1
        return found

    def _fit(self, size: int, hyphenate: bool) -> list[Placed] | None:
        if self.vertical:
            return self._fit_columns(size)
        face = _face(self.font, size, self.stroke)
        pitch = round(size * self.pitch) + 2 * self.stroke
        measure = face.measure
        total = measure(self.joiner.join(self.tokens))
        first = max(1, math.ceil(total / max(self.shape.widest, 1)))
        last = (self.shape.bottom - self.shape.top + 1 - face.ink_height) // pitch + 1
        hyphen = self._hyphenate if hyphenate else self._at_own_hyphen
        for count in range(first, min(first + _MORE_LINES, last) + 1):
            # Centre the ink, not the line boxes: the last line's leading below it is no ink.
            top = _centred(self.shape.cy, (count - 1) * pitch + face.ink_height, self.shape.top, self.shape.bottom)
            top -= face.ink_top
            bands = [
                (top + i * pitch + face.ink_top, top + i * pitch + face.ink_top + face.ink_height) for i in range(count)
            ]
            spans = [self.shape.span(self.shape.rows, a, b) for a, b in bands]
            lines = _wrap(self.tokens, self.joiner, [r - lt + 1 for lt, r in spans], measure, hyphen)
            if lines is not None:
                return [
                    Placed(t, (lt + r + 1 - measure(t)) // 2, top + i * pitch)
                    for i, (t, (lt, r)) in enumerate(zip(lines, spans, strict=False))
                ]
        return None

    def _fit_columns(self, size: int) -> list[Placed] | None:
        pitch = round(size * _COLUMN_PITCH)
        first = max(1, math.ceil(len(self.tokens) * size / max(self.shape.tallest, 1)))
        last = (self.shape.right - self.shape.left + 1 - size) // pitch + 1
        for count in range(first, min(first + _MORE_LINES, last) + 1):
            left = _centred(self.shape.cx, (count - 1) * pitch + size, self.shape.left, self.shape.right)
            xs = [left + (count - 1 - i) * pitch for i in range(count)]  # right to left
            spans = [self.shape.span(self.shape.cols, x, x + size) for x in xs]
            columns = _wrap(
                self.tokens, "", [(b - t + 1) // size * size for t, b in spans], lambda s: len(s) * size, None
            )
            if columns is not None:
                return [
                    Placed(c, x, (t + b + 1 - len(c) * size) // 2)
                    for c, x, (t, b) in zip(columns, xs, spans, strict=False)
                ]
        return None

    def _overflow_layout(self, size: int) -> list[Placed]:
        """At the minimum size, ignore the shape's height: every word is drawn, centred, flagged by the caller."""
        shape = self.shape
        if self.vertical:
            per_column = max(1, shape.tallest // size)
            columns = [self.tokens[i : i + per_column] for i in range(0, len(self.tokens), per_column)]
            pitch = round(size * _COLUMN_PITCH)
            left = round(shape.cx - ((len(columns) - 1) * pitch + size) / 2)
            top = round(shape.cy - per_column * size / 2)
            return [Placed("".join(c), left + (len(columns) - 1 - i) * pitch, top) for i, c in enumerate(columns)]
        face = _face(self.font, size, self.stroke)
        # Wide enough for any single character, so every word gets drawn somewhere.
        width = max(shape.widest, 3 * size)
        lines = (
            _wrap(self.tokens, self.joiner, [width] * sum(map(len, self.tokens)), face.measure, self._hard_break) or []
        )
        pitch = round(size * self.pitch) + 2 * self.stroke
        top = round(shape.cy - len(lines) * pitch / 2)
        return [Placed(t, round(shape.cx - face.measure(t) / 2), top + i * pitch) for i, t in enumerate(lines)]

    def _at_own_hyphen(self, word: str, line: str, width: int, measure: Callable[[str], int]) -> tuple[str, str] | None:
        """A word's own hyphen ("Karasuma-san") is a free place to break it: no second hyphen is added."""
        if not self.joiner:
            return None
        prefix = f"{line}{self.joiner}" if line else ""
        own = [k + 1 for k in range(1, len(word) - 1) if word[k] == "-" and measure(prefix + word[: k + 1]) <= width]
        return (word[: own[-1]], word[own[-1] :]) if own else None

    def _hyphenate(self, word: str, line: str, width: int, measure: Callable[[str], int]) -> tuple[str, str] | None:
        if own := self._at_own_hyphen(word, line, width, measure):
            return own
        # Only long words, and only when they would leave the line empty or less than half full.
        # A word is split once at most: "Incom-prehens-ibly" reads worse than smaller letters.
        if not self._may_split(word) or (line and measure(line) > width / 2):
            return None
        if self.hyphenator is None:
            return None
        for head, tail in self.hyphenator.iterate(word):
            candidate = f"{line}{self.joiner if line else ''}{head}-"
            if len(head) >= 3 and len(tail) >= 3 and measure(candidate) <= width:
                self._tails.add(tail)
                return f"{head}-", tail
        return None

    def _may_split(self, word: str) -> bool:
        """Hyphenation rules: words of at least `_HYPHEN_MIN_WORD` letters, never a name, never twice."""
        letters = sum(ch.isalpha() for ch in word)
        return letters >= _HYPHEN_MIN_WORD and word not in self._names and word not in self._tails

    def _hard_break(self, word: str, line: str, width: int, measure: Callable[[str], int]) -> tuple[str, str] | None:
        if line:
            return None
        split = self._hyphenate(word, line, width, measure) if self.hyphenator else None
        if split:
            return split
        mark = "-" if self.joiner else ""
        cut = max([k for k in range(1, len(word)) if measure(word[:k] + mark) <= width], default=1)
        return (word[:cut] + mark, word[cut:]) if cut < len(word) else None

    def ink_boxes(self, size: int, placed: list[Placed], origin: tuple[int, int]) -> list[Box]:
        """Where `draw` puts ink for each placed line, in page pixels."""
        face = _face(self.font, size, self.stroke)
        ox, oy = origin
        boxes = []
        for item in placed:
            x, y = ox + item.x, oy + item.y
            if self.vertical:
                boxes.append(Box(x, y, size, len(item.text) * size))
                continue
            left, top, right, bottom = face.font.getbbox(item.text, anchor="ls", stroke_width=self.stroke)
            bx, by = x + self.stroke, y + self.stroke + face.ascent
            boxes.append(Box(int(bx + left), int(by + top), int(right - left), int(bottom - top)))
        return boxes

    def draw(
        self,
        draw: ImageDraw.ImageDraw,
        size: int,
        placed: list[Placed],
        origin: tuple[int, int],
        ink: tuple,
        outline: tuple,
    ) -> None:
        face = _face(self.font, size, self.stroke)
        ox, oy = origin
        for item in placed:
            x, y = ox + item.x, oy + item.y
            if not self.vertical:
                draw.text(
                    (x + self.stroke, y + self.stroke + face.ascent),
                    item.text,
                    font=face.font,
                    anchor="ls",
                    fill=ink,
                    stroke_width=self.stroke,
                    stroke_fill=outline,
                )
            elif self.raqm:
                # HarfBuzz applies the font's 'vert' forms in a top-to-bottom run: upright punctuation, turned brackets.
                draw.text((x, y), item.text, font=_face(self.font, size, 0, raqm=True).font, direction="ttb", fill=ink)
            else:
                for k, ch in enumerate(item.text):
                    _draw_upright(draw, ch, face.font, x, y + k * size, size, ink)


class _Face:
    """A font at one size with the metrics the layout needs; measurements are cached."""

    def __init__(self, choice: FontChoice, size: int, stroke: int, raqm: bool) -> None:
        engine = ImageFont.Layout.RAQM if raqm else ImageFont.Layout.BASIC
        self.font = ImageFont.truetype(str(choice.path), size, index=choice.index, layout_engine=engine)
        self.stroke = stroke
        self.ascent = self.font.getmetrics()[0]
        # The probe spans ascenders and descenders (and a CJK glyph's full em where the font has one).
        probe = "Hgjy" if choice.path.name == LATIN_FONT else "Hgjy国"
        _, top, _, bottom = self.font.getbbox(probe, anchor="ls")
        self.ink_top = int(self.ascent + top)  # from the line's top to where ink starts
        self.ink_height = int(bottom - top + 2 * stroke)
        self._widths: dict[str, int] = {}

    def measure(self, text: str) -> int:
        if len(self._widths) > _MEASURE_CACHE:
            self._widths.clear()  # a long-lived worker measures every translation it letters: keep it bounded
        if text not in self._widths:
            self._widths[text] = math.ceil(self.font.getlength(text)) + 2 * self.stroke
        return self._widths[text]


@lru_cache(maxsize=256)
def _face(choice: FontChoice, size: int, stroke: int, raqm: bool = False) -> _Face:
    return _Face(choice, size, stroke, raqm)


def _wrap(
    tokens: list[str], joiner: str, widths: list[int], measure: Callable[[str], int], split: Callable | None
) -> list[str] | None:
    """Greedy line breaking into lines of the given widths; None when the tokens do not all fit."""
    queue, lines = list(tokens), []
    for width in widths:
        if not queue:
            break
        line: list[str] = []
        while queue:
            if measure(joiner.join([*line, queue[0]])) <= width:
                line.append(queue.pop(0))
                continue
            parts = split(queue[0], joiner.join(line), width, measure) if split else None
            if parts:
                line.append(parts[0])
                queue[0] = parts[1]
            break
        if not line:
            return None
        # Kinsoku: an opening bracket never ends a CJK line, it moves down to what it opens.
        while not joiner and len(line) > 1 and line[-1] in _NO_LINE_END:
            queue.insert(0, line.pop())
        # Closing punctuation and small kana never start one: push the last character down with
        # them (it then starts the next line), or hang them after a run of them.
        if not joiner and queue and queue[0] in _NO_LINE_START:
            if len(line) > 1 and line[-1] not in _NO_LINE_START:
                queue.insert(0, line.pop())
            else:
                while queue and queue[0] in _NO_LINE_START:
                    line.append(queue.pop(0))
        lines.append(joiner.join(line))
    return None if queue else lines


def _draw_upright(
    draw: ImageDraw.ImageDraw, ch: str, font: ImageFont.FreeTypeFont, x: int, y: int, size: int, ink: tuple
) -> None:
    """One cell of a column without HarfBuzz: turn dashes and brackets, move commas and stops top right."""
    cx, cy = x + size / 2, y + size / 2
    if ch in _ROTATED:
        cell = Image.new("L", (size, size), 0)
        ImageDraw.Draw(cell).text((size / 2, size / 2), ch, font=font, anchor="mm", fill=255)
        draw.bitmap((x, y), cell.rotate(-90), fill=ink)
    elif ch in _TOP_RIGHT:
        draw.text((cx + 0.6 * size, cy - 0.6 * size), ch, font=font, anchor="mm", fill=ink)
    else:
        draw.text((cx, cy), ch, font=font, anchor="mm", fill=ink)


def _text_shape(
    block: TextBlock, page_shape: tuple[int, int], vertical: bool, looseness: float = 1.0
) -> tuple[tuple[int, int], TextShape]:
    """The shape-local mask text may fill, and its origin on the page; `looseness` scales the margin."""
    if block.balloon is not None and block.balloon.mask.any():
        mask = block.balloon.mask.astype(np.uint8)
        # Keep letters off the outline: a margin that grows with the balloon, halved for tiny ones.
        margin = max(1.0, looseness * max(2.0, 0.07 * min(block.balloon.box.w, block.balloon.box.h)))
        depth = cv2.distanceTransform(np.pad(mask, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
        inner = depth > margin
        if inner.sum() < 0.2 * mask.sum():
            inner = depth > margin / 2
        return (block.balloon.box.x, block.balloon.box.y), TextShape(inner if inner.any() else mask.astype(bool))
    # Over art: the block's box, grown a little, and widened for horizontal text in a tall narrow box.
    box = block.box
    grow_x = max(round(0.1 * box.w), 0 if vertical else round((0.7 * box.h - box.w) / 2))
    height, width = page_shape
    x0, y0 = max(box.x - grow_x, 0), max(box.y - round(0.05 * box.h), 0)
    x1, y1 = min(box.right + grow_x, width), min(box.bottom + round(0.05 * box.h), height)
    grown = Box(x0, y0, max(x1 - x0, 1), max(y1 - y0, 1))
    return (grown.x, grown.y), TextShape(np.ones((grown.h, grown.w), dtype=bool))


def _max_size(block: TextBlock, min_size: int, page_width: int) -> int:
    """About the source's glyph size: a translation should not shout louder than the original."""
    source = _source_size(block) or 0.03 * page_width
    return max(min_size, min(round(1.2 * source), round(MAX_SIZE_SHARE * page_width)))


def _source_size(block: TextBlock) -> float:
    """The source's glyph size: the median short side of its lines (0 when it has none)."""
    sides = [min(line.box.w, line.box.h) for line in block.lines if line.box.area]
    return float(np.median(sides)) if sides else 0.0


def _colours(image: np.ndarray, block: TextBlock) -> tuple[tuple, tuple]:
    """(ink, outline): dark on light paper, light on dark balloons; dark with a white outline over art."""
    if block.balloon is None:
        return (0, 0, 0), (255, 255, 255)
    b = block.balloon.box
    paper = image[b.y : b.bottom, b.x : b.right][block.balloon.mask[: image.shape[0] - b.y, : image.shape[1] - b.x]]
    light = paper.size == 0 or float(np.median(paper.mean(axis=-1))) >= 110
    return ((0, 0, 0), (255, 255, 255)) if light else ((255, 255, 255), (0, 0, 0))


def _runs(mask: np.ndarray) -> np.ndarray:
    """Per row, the [start, end] (inclusive) of the longest run of True; (0, -1) for empty rows."""
    runs = np.tile(np.array([0, -1]), (mask.shape[0], 1))
    edges = np.diff(np.pad(mask.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    # Every run of the mask at once (row-major, so the i-th start and the i-th end are one run); per row the
    # longest, the leftmost of equals.
    rows, starts = np.nonzero(edges == 1)
    ends = np.nonzero(edges == -1)[1]
    if not len(rows):
        return runs
    lengths = ends - starts
    row_firsts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    longest = np.maximum.reduceat(lengths, row_firsts)
    candidates = np.flatnonzero(lengths == np.repeat(longest, np.diff(np.r_[row_firsts, len(rows)])))
    chosen = candidates[np.r_[True, rows[candidates[1:]] != rows[candidates[:-1]]]]
    runs[rows[chosen], 0] = starts[chosen]
    runs[rows[chosen], 1] = ends[chosen] - 1
    return runs


def _centred(centre: float, extent: int, low: int, high: int) -> int:
    """Start of an extent centred on `centre`, moved inside [low, high] when there is room."""
    start = round(centre - extent / 2)
    return max(low, min(start, high + 1 - extent)) if extent <= high - low + 1 else round((low + high + 1 - extent) / 2)


def written_in_cjk(text: str) -> bool:
    """True when most words are CJK: a word counts as CJK when it has more CJK characters than letters of
    other scripts; punctuation and marks shared by both (ー, …, !?) count for neither."""
    cjk = latin = 0
    for word in text.split():
        han = sum(_is_cjk_letter(ch) for ch in word)
        other = sum(ch.isalpha() and not _is_cjk_letter(ch) for ch in word)
        if han > other:
            cjk += han
        elif other:
            latin += other
    return cjk > latin


def _is_cjk_letter(ch: str) -> bool:
    # Kana, ideographs and Hangul; the prolonged-sound mark and CJK punctuation are no evidence either way.
    return ch.isalpha() and ("\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af") and ch != "ー"


def names(words: list[str]) -> set[str]:
    """Capitalised words that do not start a sentence: names, which are never hyphenated ("Kur-eha")."""
    found = set()
    for previous, word in itertools.pairwise(["", *words]):
        first = next((ch for ch in word if ch.isalpha()), "")
        sentence_start = not previous or previous.rstrip("\"'”’)")[-1:] in ".!?…"
        if first.isupper() and not sentence_start:
            found.add(word)
    return found


@lru_cache(maxsize=32)
def _hyphenator(language: str) -> pyphen.Pyphen | None:
    lang = pyphen.language_fallback(language.replace("-", "_"))
    return pyphen.Pyphen(lang=lang) if lang else None
