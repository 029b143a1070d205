"""Score the reading half of the pipeline against ground-truth boxes: detection recall/precision, CER, exact share.

Rules (issue 3):
- a truth box is found when one counted block covers ≥ 50 % of it, or overlaps it with IoU ≥ 0.3, or lies ≥ 50 %
  inside it while being ≥ 10 % of its area (truth boxes include balloon margins);
- precision: counted blocks matched one-to-one to truth boxes at IoU ≥ 0.3 (greedy, best IoU first);
- a truth box's text is what was read in the counted lines whose centre lies in it (a line goes to the truth box
  holding most of it), in block order; after NFKC with whitespace removed and dot runs folded, the character
  error rate is micro-averaged over all truth boxes, and a missed box counts all its characters wrong;
- reading order (`order_accuracy`): each found truth box takes the position, in the page's block order, of the
  counted block that finds it (by the rule above) with the largest overlap. Over the found truth boxes of a page in
  truth order (missed ones skipped), a consecutive pair is in order when the second one's position is not before
  the first one's, so boxes that share one block count as the same position and in order. The share of pairs in
  order is micro-averaged over all pairs of all pages; a page with fewer than two found boxes has no pairs. Each
  wrong pair is one jump back a reader sees, so one misplaced block costs at most two pairs.

Counted blocks are those without the `sfx` flag: sound effects are not annotated, so a correct SFX block would
otherwise lower precision, and the pipeline leaves SFX blocks untouched, so a box wrongly taken for SFX is rightly
a miss. Flagging doubtful text as SFX to lift precision costs recall, which keeps the choice honest.
"""

from __future__ import annotations

import itertools
import json
import re
import resource
import statistics
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from translations.pipeline.contracts import Box, Flag, TextBlock

_DOT_RUN = re.compile(r"[.・]{2,}")
_SPACE = re.compile(r"\s+")

PageReader = Callable[[np.ndarray, str], Sequence[TextBlock]]  # (RGB page, language) → blocks in reading order


@dataclass(frozen=True)
class TruthBox:
    box: Box
    text: str


@dataclass
class BoxResult:
    truth: TruthBox
    found: bool
    read: str
    errors: int  # edit distance after normalisation; all characters when missed
    position: int | None = None  # index of the holding block among the counted blocks, None when missed

    @property
    def exact(self) -> bool:
        return self.found and self.errors == 0


@dataclass
class PageResult:
    image: str
    boxes: list[BoxResult]
    predicted: int  # counted (non-SFX) blocks
    matched: int  # counted blocks matched one-to-one at IoU ≥ 0.3
    sfx_blocks: int
    overflow_regions: int
    seconds: float
    peak_rss_mb: float
    blocks: list[TextBlock] = field(default_factory=list, repr=False)

    @property
    def chars(self) -> int:
        return sum(len(normalise(b.truth.text)) for b in self.boxes)

    @property
    def errors(self) -> int:
        return sum(b.errors for b in self.boxes)

    @property
    def order_pairs(self) -> tuple[int, int]:
        """(pairs in order, pairs) over consecutive found truth boxes, see the module docstring."""
        return pairs_in_order([b.position for b in self.boxes])


def normalise(text: str) -> str:
    """NFKC, whitespace removed, every run of two or more dots (`…`, `...`, `・・・`) folded to `...`."""
    text = unicodedata.normalize("NFKC", text.replace("…", "..."))
    return _DOT_RUN.sub("...", _SPACE.sub("", text))


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def box_found(truth: Box, block: Box) -> bool:
    inter = truth.intersection(block)
    if not inter:
        return False
    if inter >= 0.5 * truth.area or truth.iou(block) >= 0.3:
        return True
    return block.area > 0 and inter >= 0.5 * block.area and block.area >= 0.1 * truth.area


def match_one_to_one(truths: Sequence[Box], predicted: Sequence[Box], threshold: float = 0.3) -> int:
    pairs = sorted(
        ((t.iou(p), ti, pi) for ti, t in enumerate(truths) for pi, p in enumerate(predicted)),
        reverse=True,
    )
    used_t, used_p = set(), set()
    for iou, ti, pi in pairs:
        if iou < threshold:
            break
        if ti not in used_t and pi not in used_p:
            used_t.add(ti)
            used_p.add(pi)
    return len(used_t)


def pairs_in_order(positions: Sequence[int | None]) -> tuple[int, int]:
    """(in order, all) consecutive pairs of the found positions (None = missed, skipped), ties in order."""
    found = [p for p in positions if p is not None]
    pairs = list(itertools.pairwise(found))
    return sum(b >= a for a, b in pairs), len(pairs)


def holder(truth: Box, blocks: Sequence[TextBlock]) -> int | None:
    """Index of the block that finds `truth` with the largest overlap (then IoU), or None."""
    finders = [i for i, block in enumerate(blocks) if box_found(truth, block.box)]
    return max(finders, key=lambda i: (truth.intersection(blocks[i].box), truth.iou(blocks[i].box)), default=None)


def counted(blocks: Sequence[TextBlock]) -> list[TextBlock]:
    return [block for block in blocks if Flag.SFX not in block.flags]


def score_page(truths: Sequence[TruthBox], blocks: Sequence[TextBlock]) -> tuple[list[BoxResult], int]:
    """Per-truth-box results and the number of one-to-one matches, from the counted blocks."""
    blocks = counted(blocks)
    texts: list[list[str]] = [[] for _ in truths]
    for block in blocks:
        for line in block.lines:
            home = _home(line.box, truths)
            if home is not None:
                texts[home].append(line.text)
    results = []
    for truth, parts in zip(truths, texts, strict=True):
        position = holder(truth.box, blocks)
        found = position is not None
        read = normalise("".join(parts))
        expected = normalise(truth.text)
        errors = edit_distance(read, expected) if found else len(expected)
        results.append(BoxResult(truth=truth, found=found, read=read, errors=errors, position=position))
    matched = match_one_to_one([t.box for t in truths], [b.box for b in blocks])
    return results, matched


def _home(line: Box, truths: Sequence[TruthBox]) -> int | None:
    cx, cy = line.x + line.w / 2, line.y + line.h / 2
    holders = [i for i, t in enumerate(truths) if t.box.x <= cx < t.box.right and t.box.y <= cy < t.box.bottom]
    return max(holders, key=lambda i: truths[i].box.intersection(line), default=None)


def load_truth(path: Path) -> tuple[str, str, list[TruthBox]]:
    """(image file name, language, boxes) from one ground-truth JSON file."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    boxes = [TruthBox(Box(int(b["x"]), int(b["y"]), int(b["w"]), int(b["h"])), b["text"]) for b in data["boxes"]]
    return data["image"], data.get("lang", "ja"), boxes


def evaluate_page(image_path: Path, language: str, truths: list[TruthBox], read: PageReader) -> PageResult:
    from PIL import Image, ImageOps  # the evaluator decodes pages itself so it needs no engine around it

    with Image.open(image_path) as img:
        page = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    _reset_peak_rss()
    started = time.perf_counter()
    blocks = list(read(page, language))
    seconds = time.perf_counter() - started
    results, matched = score_page(truths, blocks)
    return PageResult(
        image=image_path.name,
        boxes=results,
        predicted=len(counted(blocks)),
        matched=matched,
        sfx_blocks=sum(Flag.SFX in b.flags for b in blocks),
        overflow_regions=sum(Flag.OVERFLOW in b.flags for b in blocks),
        seconds=seconds,
        peak_rss_mb=peak_rss_mb(),
        blocks=blocks,
    )


def evaluate_dir(gt_dir: Path, read: PageReader) -> list[PageResult]:
    pages = []
    for truth_path in sorted(Path(gt_dir).glob("*.json")):
        image_name, language, truths = load_truth(truth_path)
        pages.append(evaluate_page(truth_path.with_name(image_name), language, truths, read))
    return pages


def summary(pages: Sequence[PageResult]) -> dict[str, float | int | None]:
    boxes = [b for p in pages for b in p.boxes]
    chars = sum(p.chars for p in pages)
    predicted = sum(p.predicted for p in pages)
    order = [p.order_pairs for p in pages]
    in_order, pairs = sum(o[0] for o in order), sum(o[1] for o in order)
    return {
        "pages": len(pages),
        "recall": _ratio(sum(b.found for b in boxes), len(boxes)),
        "precision": _ratio(sum(p.matched for p in pages), predicted),
        "cer": _ratio(sum(p.errors for p in pages), chars),
        "exact_share": _ratio(sum(b.exact for b in boxes), len(boxes)),
        "order_accuracy": _ratio(in_order, pairs),
        "overflow_regions": sum(p.overflow_regions for p in pages),
        "seconds_median": round(statistics.median(p.seconds for p in pages), 3) if pages else None,
        "peak_rss_mb": round(max((p.peak_rss_mb for p in pages), default=peak_rss_mb()), 1),
    }


def page_summary(page: PageResult) -> dict[str, float | int | None]:
    return {**summary([page]), "truth_boxes": len(page.boxes), "blocks": page.predicted, "sfx_blocks": page.sfx_blocks}


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def peak_rss_mb() -> float:
    try:
        for row in Path("/proc/self/status").read_text().splitlines():
            if row.startswith("VmHWM:"):
                return int(row.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _reset_peak_rss() -> None:
    # Linux lets a process reset its own high-water mark, so each page's peak is its own.
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
