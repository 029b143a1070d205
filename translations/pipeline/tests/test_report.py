"""The page report: JSON there and back, refusals of what it does not know, and the properties callers ask."""

from __future__ import annotations

import json

import pytest

from translations.pipeline.report import PageReport, RegionReport, flags_from_json, regions_from_json


def region(id: int = 1, translation: str | None = "Hi", flags: list[str] | None = None) -> RegionReport:
    return RegionReport(id=id, box=[1, 2, 3, 4], source_text="こんにちは", translation=translation, flags=flags or [])


def page(regions: list[RegionReport], mode: str = "translate", models: dict[str, str] | None = None) -> PageReport:
    return PageReport(
        width=80,
        height=120,
        source_language="ja",
        target_language="en",
        translator="gemini_hq",
        mode=mode,
        regions=regions,
        timings_ms={"load": 3, "detect": 7},
        models=models or {},
        usage={"requests": 1},
        frames=2,
    )


def test_a_report_survives_json_there_and_back():
    report = page([region(1, "A"), region(2, None, ["untranslated"])])

    assert PageReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report


@pytest.mark.parametrize(
    "change",
    [
        lambda data: data.pop("width"),
        lambda data: data.update(colour="red"),
        lambda data: data.update(regions={"id": 1}),
        lambda data: data["regions"][0].update(size=3),
        lambda data: data["regions"][0].pop("box"),
        lambda data: data["regions"].append("not a region"),
    ],
)
def test_a_malformed_report_is_refused(change):
    data = page([region()]).to_dict()
    change(data)

    with pytest.raises((TypeError, KeyError)):
        PageReport.from_dict(data)


def test_a_report_that_is_not_an_object_is_refused():
    with pytest.raises(TypeError, match="not list"):
        PageReport.from_dict([])


def test_sound_effects_are_not_regions_the_page_must_handle():
    report = page([region(1), region(2, None, ["sfx"]), region(3, None, ["untranslated"])])

    assert [r.id for r in report.handled_regions] == [1, 3]
    assert [r.id for r in report.translated_regions] == [1]
    assert [r.id for r in report.flagged_regions] == [2, 3]


def test_the_mode_says_whether_the_page_was_only_cleaned():
    assert page([], mode="cleaning").cleaning is True
    assert page([], mode="translate").cleaning is False


def test_the_models_say_which_translator_model_answered_and_whether_the_fallback_did():
    primary = page([], models={"translator": "m1", "translator_primary": "m1", "translator_fallback": "none"})
    assert (primary.fallback_used, primary.primary_model, primary.fallback_model) == (False, "m1", None)
    assert primary.selected_model == "m1"

    fell_back = page(
        [],
        models={
            "translator": "m2",
            "translator_primary": "m1",
            "translator_fallback": "m2",
            "translator_fallback_reason": "m1: 404",
        },
    )
    assert (fell_back.fallback_used, fell_back.fallback_model, fell_back.selected_model) == (True, "m2", "m2")


def test_the_elapsed_time_is_the_sum_of_the_stages():
    assert page([]).elapsed_ms == 10


def test_stored_regions_read_back_and_skip_what_is_not_a_region():
    report = page([region(1), region(2, None)])

    stored = [*report.regions_to_json(), {"text": "from an older shape"}, "junk"]

    assert regions_from_json(stored) == report.regions
    assert regions_from_json(None) == []


def test_a_stored_region_from_an_older_shape_reads_with_neutral_values_for_what_it_lacks():
    stored = [
        {"source_text": "原文", "translation": None},
        {"id": 7, "box": [1, 2, "x", 4], "flags": "sfx", "font_size": True, "confidence": 0.5, "extra": 1},
    ]

    first, second = regions_from_json(stored)

    assert first == RegionReport(id=1, box=[], source_text="原文", translation=None, flags=[])
    assert second == RegionReport(id=7, box=[], source_text="", translation=None, flags=[], confidence=0.5)


def test_the_flags_of_stored_regions_are_collected_once_and_junk_is_skipped():
    stored = [{"flags": ["sfx", "overflow"]}, {"flags": ["sfx"]}, {"flags": "sfx"}, "junk", {"flags": [3, "collision"]}]

    assert flags_from_json(stored) == {"sfx", "overflow", "collision"}
    assert flags_from_json(None) == set()
