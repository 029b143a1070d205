"""Group read lines into text blocks (one per balloon or caption), flag sound effects, order blocks for reading."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from translations.pipeline import panels
from translations.pipeline.balloon_parts import is_balloon, split_balloon
from translations.pipeline.contracts import Balloon, Box, Detector, Flag, Recognizer, TextBlock, TextLine


@dataclass(frozen=True)
class GroupingSettings:
    low_confidence: float = 0.6  # mean OCR confidence under which a block is flagged for review
    join_gap: float = 0.9  # lines closer than this many line thicknesses belong together
    sfx_size: float = 1.8  # free text this many times the usual lettering size is a sound effect
    sfx_page_share: float = 0.06  # ... and so is any line this thick relative to the page's short side
    sfx_max_chars: int = 6
    min_chars_free: int = 1
    margin: float = 0.3  # block boxes reach this many line thicknesses past their glyphs, like a balloon's margin
    paper_ring: float = 0.6  # free text on plain paper: the ring looked at, in line thicknesses ...
    paper_level: int = 200  # ... pixels at least this light ...
    paper_share: float = 0.97  # ... make up this share of it, and their region is closed and at most
    paper_max_share: float = 0.15  # this share of the page


DEFAULT = GroupingSettings()


def read_page(
    image: np.ndarray, *, detector: Detector, recognizer: Recognizer, language: str, rtl: bool = True
) -> tuple[TextBlock, ...]:
    """Detect, read and group one RGB page: the blocks in reading order, ids from 1 (the engine's entry point)."""
    detection = detector.detect(image)
    lines = recognizer.read(image, detection.lines, language)
    return group_lines(lines, detection.balloons, image=image, rtl=rtl)


def group_lines(
    lines: Sequence[TextLine],
    balloons: Sequence[Balloon],
    *,
    image: np.ndarray | None = None,
    rtl: bool = True,
    settings: GroupingSettings = DEFAULT,
) -> tuple[TextBlock, ...]:
    lines = [line for line in lines if line.text.strip()]
    if not lines:
        return ()
    if image is not None:
        balloons = [balloon for balloon in balloons if is_balloon(balloon, image.shape)]
    owner = [_balloon_of(line, balloons) for line in lines]
    lettered = [_thickness(line) for line, o in zip(lines, owner, strict=True) if o is not None]
    # The usual lettering size: dialogue in balloons; without balloons, all text (capped by the page's scale).
    thickness = float(np.median(lettered or [_thickness(line) for line in lines]))
    if image is not None:
        thickness = min(thickness, settings.sfx_page_share * min(image.shape[:2]) / settings.sfx_size)
    groups: list[tuple[list[TextLine], Balloon | None]] = []
    for b_index in sorted({o for o in owner if o is not None}):
        members = [line for line, o in zip(lines, owner, strict=True) if o == b_index]
        clusters = _clusters(members, settings.join_gap)
        # Several blocks in one mask (joined balloons, or two blocks in one): each letters in its own part.
        for cluster, part in zip(clusters, split_balloon(balloons[b_index], clusters), strict=True):
            groups.append((cluster, part))
    free = [line for line, o in zip(lines, owner, strict=True) if o is None]
    for cluster in _clusters(free, settings.join_gap):
        groups.append((cluster, None))

    paper = _Paper(image, settings.paper_level) if image is not None else None
    drafts = []
    for members, balloon in groups:
        flags = _flags(members, balloon, thickness, settings, paper)
        if flags is None:
            continue
        vertical = sum(line.vertical for line in members) * 2 >= len(members)
        ordered = _order_lines(members, vertical, rtl)
        box = _padded(ordered, balloon, image, settings.margin)
        drafts.append((box, tuple(ordered), vertical, balloon, flags))
    order = _page_order([d[0] for d in drafts], balloons, image, rtl)
    ordered_drafts = [drafts[i] for i in order]
    return tuple(
        TextBlock(id=n, box=box, lines=members, vertical=vertical, balloon=balloon, flags=flags)
        for n, (box, members, vertical, balloon, flags) in enumerate(ordered_drafts, start=1)
    )


def _padded(lines: list[TextLine], balloon: Balloon | None, image: np.ndarray | None, margin: float) -> Box:
    """The lines' union grown by `margin` thicknesses, kept inside the balloon's box and the page."""
    box = lines[0].box
    for line in lines[1:]:
        box = box.union(line.box)
    pad = round(margin * float(np.median([_thickness(line) for line in lines])))
    x0, y0, x1, y1 = box.x - pad, box.y - pad, box.right + pad, box.bottom + pad
    if balloon is not None:
        b = balloon.box
        x0, y0, x1, y1 = (
            max(x0, min(b.x, box.x)),
            max(y0, min(b.y, box.y)),
            min(x1, max(b.right, box.right)),
            min(y1, max(b.bottom, box.bottom)),
        )
    if image is not None:
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, image.shape[1]), min(y1, image.shape[0])
    return Box(x0, y0, x1 - x0, y1 - y0)


def _thickness(line: TextLine) -> float:
    """The glyph size of a line: its width for a column, its height for a row."""
    return float(line.box.w if line.vertical else line.box.h)


def _centre(box: Box) -> tuple[float, float]:
    return box.x + box.w / 2, box.y + box.h / 2


def _balloon_of(line: TextLine, balloons: Sequence[Balloon]) -> int | None:
    """The balloon whose mask holds most of the line (at least half of its centre strip)."""
    best, best_share = None, 0.5
    for index, balloon in enumerate(balloons):
        if balloon.box.intersection(line.box) == 0:
            continue
        # The line's central half, so a column whose ends poke out of a tight mask still counts.
        cx, cy = _centre(line.box)
        x0, x1 = int(cx - line.box.w / 4) - balloon.box.x, int(np.ceil(cx + line.box.w / 4)) - balloon.box.x
        y0, y1 = int(cy - line.box.h / 4) - balloon.box.y, int(np.ceil(cy + line.box.h / 4)) - balloon.box.y
        area = max(x1 - x0, 1) * max(y1 - y0, 1)
        inside = balloon.mask[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)].sum()
        share = inside / area
        if share > best_share:
            best, best_share = index, share
    return best


def _clusters(lines: list[TextLine], join_gap: float) -> list[list[TextLine]]:
    """Connected groups of lines whose gap is under `join_gap` × their thickness (union-find)."""
    parent = list(range(len(lines)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(lines):
        for j in range(i + 1, len(lines)):
            b = lines[j]
            if _gap(a.box, b.box) <= join_gap * min(_thickness(a), _thickness(b)):
                parent[find(i)] = find(j)
    groups: dict[int, list[TextLine]] = {}
    for i, line in enumerate(lines):
        groups.setdefault(find(i), []).append(line)
    return list(groups.values())


def _gap(a: Box, b: Box) -> float:
    dx = max(a.x - b.right, b.x - a.right, 0)
    dy = max(a.y - b.bottom, b.y - a.bottom, 0)
    return float(np.hypot(dx, dy))


def _flags(
    members: list[TextLine],
    balloon: Balloon | None,
    thickness: float,
    settings: GroupingSettings,
    paper: _Paper | None = None,
) -> frozenset[Flag] | None:
    """The block's flags, or None when it is no region at all (page numbers, stray fragments).

    Text in a balloon is dialogue, never a sound effect. Outside balloons, large or unreadable text is SFX, unless
    it stands on plain paper: that is dialogue whose balloon the segmenter missed, or a caption.
    """
    text = "".join(line.text for line in members)
    chars = len(text.replace(" ", ""))
    confidence = float(np.mean([line.confidence for line in members]))
    flags = set()
    if balloon is None:
        if text.strip().isdigit() and chars <= 4:
            return None  # page numbers and panel numbers are not regions
        size = max(_thickness(line) for line in members)
        stylised = (size >= settings.sfx_size * thickness and chars <= settings.sfx_max_chars) or (
            size >= 1.3 * thickness and confidence < settings.low_confidence  # larger than lettering, unreadable
        )
        if stylised and not _on_paper(members, paper, settings):
            flags.add(Flag.SFX)
        elif chars <= settings.min_chars_free and confidence < settings.low_confidence:
            return None
    if confidence < settings.low_confidence:
        flags.add(Flag.LOW_CONFIDENCE)
    return frozenset(flags)


class _Paper:
    """A page's light pixels and their 4-connected regions, each computed once per page when first needed (every
    free block that looks like SFX asks; the page-sized passes used to be repeated for each)."""

    def __init__(self, image: np.ndarray, level: int) -> None:
        self.shape = image.shape[:2]
        self._image, self._level = image, level
        self._light: np.ndarray | None = None
        self._regions: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def light(self) -> np.ndarray:
        if self._light is None:
            self._light = self._image.min(axis=2) >= self._level
        return self._light

    @property
    def regions(self) -> tuple[np.ndarray, np.ndarray]:
        """(labels, stats) of cv2.connectedComponentsWithStats over the light pixels."""
        if self._regions is None:
            _, labels, stats, _ = cv2.connectedComponentsWithStats(self.light.astype(np.uint8), connectivity=4)
            self._regions = labels, stats
        return self._regions


def _on_paper(members: list[TextLine], paper: _Paper | None, settings: GroupingSettings) -> bool:
    """True when the lines stand on a small enclosed patch of light paper: a balloon without a mask.

    The light pixels around the lines must be nearly all of their ring, and the light region they belong to must
    be closed (not reaching the page's edge) and balloon-sized; an SFX drawn on a blank panel is not.
    """
    if paper is None:
        return False
    box = members[0].box
    for line in members[1:]:
        box = box.union(line.box)
    pad = max(3, round(settings.paper_ring * max(_thickness(line) for line in members)))
    height, width = paper.shape
    x0, y0 = max(box.x - pad, 0), max(box.y - pad, 0)
    x1, y1 = min(box.right + pad, width), min(box.bottom + pad, height)
    # The ring in the padded crop's coordinates (the box less its inside); the box starts inside the crop.
    ring = np.ones((max(y1 - y0, 0), max(x1 - x0, 0)), bool)
    ring[max(box.y - y0, 0) : max(box.bottom - y0, 0), max(box.x - x0, 0) : max(box.right - x0, 0)] = False
    light = paper.light[y0:y1, x0:x1]
    if not ring.any() or float(light[ring].mean()) < settings.paper_share:
        return False
    labels, stats = paper.regions
    region = int(np.bincount(labels[y0:y1, x0:x1][ring & light]).argmax())
    x, y, w, h, area = stats[region]
    closed = x > 0 and y > 0 and x + w < width and y + h < height
    return bool(closed and area <= settings.paper_max_share * height * width)


def _order_lines(members: list[TextLine], vertical: bool, rtl: bool) -> list[TextLine]:
    if vertical:
        # Columns: right to left for Japanese; a column split in two reads top first.
        return sorted(members, key=lambda line: ((-_centre(line.box)[0]) if rtl else _centre(line.box)[0], line.box.y))
    return sorted(members, key=lambda line: (_centre(line.box)[1], line.box.x))


def _page_order(boxes: list[Box], balloons: Sequence[Balloon], image: np.ndarray | None, rtl: bool) -> list[int]:
    """Panels in reading order (found in the page image, see panels.py), then the blocks of each panel."""
    if image is None or len(boxes) < 2:
        return _reading_order(boxes, rtl)
    cells = panels.detect_panels(image, rtl=rtl, balloons=balloons, boxes=boxes)
    if len(cells) < 2:
        return _reading_order(boxes, rtl)  # no gutter: a splash page or a strip, the blocks alone decide
    homes = panels.assign(boxes, cells)
    order = []
    for cell in range(len(cells)):
        members = [i for i, home in enumerate(homes) if home == cell]
        order += [members[j] for j in _reading_order([boxes[i] for i in members], rtl)]
    return order


def _reading_order(boxes: list[Box], rtl: bool) -> list[int]:
    """Recursive XY-cut: bands top to bottom, then columns (right to left when `rtl`), then by position."""

    def cut(indices: list[int]) -> list[int]:
        if len(indices) <= 1:
            return indices
        bands = _split(indices, lambda i: (boxes[i].y, boxes[i].bottom))
        if len(bands) > 1:
            return [i for band in bands for i in cut(band)]
        columns = _split(indices, lambda i: (boxes[i].x, boxes[i].right))
        if len(columns) > 1:
            return [i for column in (reversed(columns) if rtl else columns) for i in cut(column)]
        return sorted(indices, key=lambda i: (boxes[i].y, -boxes[i].right if rtl else boxes[i].x))

    return cut(list(range(len(boxes))))


def _split(indices: list[int], span) -> list[list[int]]:
    """Indices grouped by gaps along one axis, in increasing order of that axis."""
    ordered = sorted(indices, key=lambda i: span(i)[0])
    groups: list[list[int]] = []
    end = None
    for i in ordered:
        start, stop = span(i)
        if end is None or start >= end:
            groups.append([i])
            end = stop
        else:
            groups[-1].append(i)
            end = max(end, stop)
    return groups
