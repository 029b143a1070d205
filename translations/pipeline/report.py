"""Stage 8's second product: the page report (regions in reading order, timings, models)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class RegionReport:
    id: int
    box: list[int]  # [x, y, w, h]
    source_text: str
    translation: str | None  # None: not translated (cleaning mode, or flagged untranslated)
    flags: list[str]
    font_size: int | None = None
    confidence: float | None = None
    letter_box: list[int] | None = None  # [x, y, w, h]: bounds of the lettering's ink, None when nothing was drawn


@dataclass(frozen=True)
class PageReport:
    width: int
    height: int
    source_language: str
    target_language: str
    translator: str
    mode: str  # "translate", or "cleaning" for the none translator: never shown as a translation
    regions: list[RegionReport]
    timings_ms: dict[str, int]
    models: dict[str, str]
    usage: dict[str, int] = field(default_factory=dict)
    frames: int = 1
    # New glossary terms the translator suggests ({source, target, kind}); the job stores them for staff.
    proposed_terms: list[dict[str, str]] = field(default_factory=list)
    collisions: int = 0  # lettered regions whose ink overlaps another's (each also flagged `collision`)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def script(self) -> str:
        """The extracted source text, one region per line in reading order (cleaning mode's export)."""
        return "\n".join(f"{region.id}\t{region.source_text}" for region in self.regions)
