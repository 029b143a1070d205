"""Letter the dev set's professional English as if a translator had returned it, and measure the lettering.

Each truth box's `ref_en` goes to the block that finds it (the reading evaluator's `holder` rule); a block that
finds several truth boxes gets their references joined in truth order, a block that finds none is left
untranslated (so it is neither erased nor lettered). The whole page pipeline runs, so what is measured is what a
reader would see. Per page: regions lettered, collisions (regions whose ink overlaps another's), overflow, regions
below the readable floor (`FLOOR_SHARE` of the page width, fixed here so the letterer cannot move its own goal),
font sizes (min, median, max and their spread max/min), and balloon dialogue flagged as a sound effect (an SFX
block that lies in a balloon or finds a truth box: it would stay in Japanese).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from translations.pipeline.contracts import Box, Flag, TextBlock, TranslationRequest, TranslationResult
from translations.pipeline.engine import PagePipeline
from translations.pipeline.evaluation import holder, peak_rss_mb
from translations.pipeline.report import PageReport

FLOOR_SHARE = 0.017  # 14 px on an 830 px page (issue 13)


@dataclass(frozen=True)
class ReferenceBox:
    box: Box
    text: str  # the source text
    ref_en: str


class ReferenceTranslator:
    """A translator that returns the professional English of the truth boxes each block finds."""

    name = "reference"
    letters = True

    def __init__(self, references: Sequence[ReferenceBox]) -> None:
        self.references = list(references)

    def translate(self, request: TranslationRequest) -> TranslationResult:
        texts = reference_texts(self.references, request.blocks)
        return TranslationResult(texts=texts, models={"translator": "ref_en"})


def reference_texts(references: Sequence[ReferenceBox], blocks: Sequence[TextBlock]) -> dict[int, str | None]:
    """Block id → the joined `ref_en` of the truth boxes it finds (None for a block that finds none)."""
    parts: dict[int, list[str]] = {block.id: [] for block in blocks}
    for reference in references:
        position = holder(reference.box, blocks)
        if position is not None and reference.ref_en.strip():
            parts[blocks[position].id].append(reference.ref_en.strip())
    return {block_id: " ".join(texts) or None for block_id, texts in parts.items()}


@dataclass
class LetteringPage:
    image: str
    width: int
    lettered: int  # regions with lettering drawn
    collisions: int
    overflow: int
    below_floor: int
    font_sizes: list[int]
    balloon_sfx: int  # dialogue (in a balloon, or holding a truth box) flagged as a sound effect
    unlettered_truths: int  # truth boxes whose English was lettered nowhere
    seconds: float
    peak_rss_mb: float
    report: PageReport = field(repr=False)

    def figures(self) -> dict[str, float | int | None]:
        sizes = self.font_sizes
        return {
            "lettered": self.lettered,
            "collisions": self.collisions,
            "overflow": self.overflow,
            "below_floor": self.below_floor,
            "size_min": min(sizes, default=None),
            "size_median": statistics.median(sizes) if sizes else None,
            "size_max": max(sizes, default=None),
            "size_spread": round(max(sizes) / min(sizes), 2) if sizes else None,
            "balloon_sfx": self.balloon_sfx,
            "unlettered_truths": self.unlettered_truths,
            "seconds": round(self.seconds, 3),
        }


def load_references(path: Path) -> tuple[str, str, list[ReferenceBox]]:
    """(image file name, language, boxes with their English) from one ground-truth JSON file."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    boxes = [
        ReferenceBox(Box(int(b["x"]), int(b["y"]), int(b["w"]), int(b["h"])), b["text"], b.get("ref_en") or "")
        for b in data["boxes"]
    ]
    return data["image"], data.get("lang", "ja"), boxes


def letter_page(
    pipeline: PagePipeline, image_path: Path, language: str, references: list[ReferenceBox]
) -> tuple[LetteringPage, bytes]:
    """Run the page through `pipeline` with its references as the translation: (figures, lettered image bytes)."""
    data = Path(image_path).read_bytes()
    started = time.perf_counter()
    outcome = pipeline.run(
        data, translator=ReferenceTranslator(references), source_language=language, target_language="en"
    )
    seconds = time.perf_counter() - started
    report = outcome.report
    drawn = [region for region in report.regions if region.letter_box is not None]
    floor = round(FLOOR_SHARE * report.width)
    texts = reference_texts(references, outcome.blocks)
    lettered_ids = {region.id for region in drawn}
    holders = [holder(reference.box, outcome.blocks) for reference in references if reference.ref_en.strip()]
    unlettered = sum(i is None or outcome.blocks[i].id not in lettered_ids for i in holders)
    page = LetteringPage(
        image=Path(image_path).name,
        width=report.width,
        lettered=len(drawn),
        collisions=report.collisions,
        overflow=sum(Flag.OVERFLOW.value in region.flags for region in drawn),
        below_floor=sum(region.font_size is not None and region.font_size < floor for region in drawn),
        font_sizes=sorted(region.font_size for region in drawn if region.font_size is not None),
        balloon_sfx=sum(
            Flag.SFX in block.flags and (block.balloon is not None or texts.get(block.id) is not None)
            for block in outcome.blocks
        ),
        unlettered_truths=unlettered,
        seconds=seconds,
        peak_rss_mb=peak_rss_mb(),
        report=report,
    )
    return page, outcome.image


def letter_dir(gt_dir: Path, pipeline: PagePipeline, out_dir: Path | None = None) -> list[LetteringPage]:
    """Letter every ground-truth page of `gt_dir`; with `out_dir`, save each lettered page and its report there."""
    pages = []
    for truth_path in sorted(Path(gt_dir).glob("*.json")):
        image_name, language, references = load_references(truth_path)
        page, image = letter_page(pipeline, truth_path.with_name(image_name), language, references)
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / image_name).write_bytes(image)
            report = json.dumps(page.report.to_dict(), ensure_ascii=False, indent=2)
            (out_dir / f"{Path(image_name).stem}.report.json").write_text(report, encoding="utf-8")
        pages.append(page)
    return pages


def lettering_summary(pages: Sequence[LetteringPage]) -> dict[str, float | int | None]:
    lettered = sum(p.lettered for p in pages)
    below = sum(p.below_floor for p in pages)
    spreads = [p.figures()["size_spread"] for p in pages if p.font_sizes]
    return {
        "lettered": lettered,
        "collisions": sum(p.collisions for p in pages),
        "pages_with_collisions": sum(p.collisions > 0 for p in pages),
        "overflow": sum(p.overflow for p in pages),
        "below_floor": below,
        "below_floor_share": round(below / lettered, 4) if lettered else None,
        "size_spread_max": max(spreads, default=None),  # type: ignore[type-var]
        "balloon_sfx": sum(p.balloon_sfx for p in pages),
        "unlettered_truths": sum(p.unlettered_truths for p in pages),
        "seconds_median": round(statistics.median(p.seconds for p in pages), 3) if pages else None,
    }
