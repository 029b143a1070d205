"""Stage 8's second product: the page report (regions in reading order, timings, models).

One typed shape from the engine to the database: executors, the compute contract and the job
services pass a `PageReport` along and ask its properties; it becomes JSON only where it is
stored (`to_dict`, `regions_to_json`) or sent (`to_dict`), and comes back through `from_dict`.
This module is the only place that knows the JSON keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, TypeGuard

CLEANING_MODE = "cleaning"  # the none translator: erased, nothing lettered, never shown as a translation
TRANSLATE_MODE = "translate"
SFX_FLAG = "sfx"
# Keys of `models` the Gemini translator writes (translators/gemini.py).
MODEL_SELECTED = "translator"  # the model that answered
MODEL_PRIMARY = "translator_primary"
MODEL_FALLBACK = "translator_fallback"  # "none" when no fallback model is configured
MODEL_FALLBACK_REASON = "translator_fallback_reason"  # present only when the fallback answered


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

    @property
    def sfx(self) -> bool:
        """A sound effect: left as drawn, so not a region the page must handle."""
        return SFX_FLAG in self.flags

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RegionReport:
        """The inverse of `to_dict`; TypeError or KeyError on a key it does not know or one it needs."""
        if not isinstance(data, Mapping):
            raise TypeError(f"a region is an object, not {type(data).__name__}")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown region fields {sorted(unknown)}")
        return cls(**data)


@dataclass(frozen=True)
class PageReport:
    width: int
    height: int
    source_language: str
    target_language: str
    translator: str
    mode: str  # TRANSLATE_MODE, or CLEANING_MODE for the none translator: never shown as a translation
    regions: list[RegionReport]
    timings_ms: dict[str, int]
    models: dict[str, str]
    usage: dict[str, int] = field(default_factory=dict)
    frames: int = 1
    # New glossary terms the translator suggests ({source, target, kind}); the job stores them for staff.
    proposed_terms: list[dict[str, str]] = field(default_factory=list)
    collisions: int = 0  # lettered regions whose ink overlaps another's (each also flagged `collision`)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PageReport:
        """The inverse of `to_dict` (the compute service's answer); TypeError, KeyError or ValueError if malformed."""
        if not isinstance(data, Mapping):
            raise TypeError(f"a page report is an object, not {type(data).__name__}")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown page report fields {sorted(unknown)}")
        regions = data["regions"]
        if not isinstance(regions, list):
            raise TypeError("the page report's regions are not a list")
        return cls(**{**data, "regions": [RegionReport.from_dict(region) for region in regions]})

    @property
    def cleaning(self) -> bool:
        """Cleaning mode: text erased, nothing lettered (the none translator)."""
        return self.mode == CLEANING_MODE

    @property
    def handled_regions(self) -> list[RegionReport]:
        """The regions the page must erase and letter: every one but sound effects."""
        return [region for region in self.regions if not region.sfx]

    @property
    def translated_regions(self) -> list[RegionReport]:
        return [region for region in self.handled_regions if region.translation]

    @property
    def fallback_used(self) -> bool:
        """The translator left its primary model for its fallback model (it names why)."""
        return MODEL_FALLBACK_REASON in self.models

    @property
    def primary_model(self) -> str | None:
        return self.models.get(MODEL_PRIMARY)

    @property
    def fallback_model(self) -> str | None:
        """The configured fallback model; None when there is none."""
        value = self.models.get(MODEL_FALLBACK)
        return value if value != "none" else None

    @property
    def selected_model(self) -> str | None:
        return self.models.get(MODEL_SELECTED)

    @property
    def flagged_regions(self) -> list[RegionReport]:
        return [region for region in self.regions if region.flags]

    @property
    def elapsed_ms(self) -> int:
        return sum(self.timings_ms.values())

    @property
    def script(self) -> str:
        """The extracted source text, one region per line in reading order (cleaning mode's export)."""
        return "\n".join(f"{region.id}\t{region.source_text}" for region in self.regions)

    def with_models(self, **extra: str) -> PageReport:
        """The same report with more `models` entries (an executor noting the compute path it took)."""
        return replace(self, models={**self.models, **extra})

    def regions_to_json(self) -> list[dict[str, Any]]:
        """The regions as `PageResult.regions` stores them."""
        return [region.to_dict() for region in self.regions]


def regions_from_json(stored: Iterable[Any]) -> list[RegionReport]:
    """Stored regions (`PageResult.regions`) read back, in reading order.

    Lenient where `RegionReport.from_dict` is strict, because what is stored may come from an older
    shape or a remote report: a missing field takes its neutral value (no box, no text, not
    translated, no flags; the id is the position), a value of the wrong type is dropped the same
    way, and an entry with none of a region's fields is not a region and is skipped.
    """
    regions = []
    for position, item in enumerate(stored or (), start=1):
        if isinstance(item, Mapping) and _REGION_FIELDS & item.keys():
            regions.append(_region_from_stored(item, position))
    return regions


def flags_from_json(stored: Iterable[Any]) -> set[str]:
    """Every flag of the stored regions, once: what a page listing needs, without building the regions."""
    return {flag for item in stored or () if isinstance(item, Mapping) for flag in _flags(item.get("flags"))}


_REGION_FIELDS = {f.name for f in fields(RegionReport)}


def _region_from_stored(item: Mapping[str, Any], position: int) -> RegionReport:
    region_id = item.get("id")
    translation = item.get("translation")
    font_size = item.get("font_size")
    confidence = item.get("confidence")
    return RegionReport(
        id=region_id if _is_int(region_id) else position,
        box=_box(item.get("box")) or [],
        source_text=str(item.get("source_text") or ""),
        translation=translation if isinstance(translation, str) else None,
        flags=_flags(item.get("flags")),
        font_size=font_size if _is_int(font_size) else None,
        confidence=float(confidence) if _is_number(confidence) else None,
        letter_box=_box(item.get("letter_box")),
    )


def _flags(value: Any) -> list[str]:
    """A stored flags list; anything else (a bare string, a number) is no flags."""
    return [flag for flag in value if isinstance(flag, str)] if isinstance(value, list) else []


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _box(value: Any) -> list[int] | None:
    """[x, y, w, h] as ints, or None when the value is not four numbers."""
    if isinstance(value, list) and len(value) == 4 and all(_is_number(v) for v in value):
        return [int(v) for v in value]
    return None
