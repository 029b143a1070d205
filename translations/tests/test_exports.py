"""Chapter exports (services/exports.py): the streamed CBZ with ComicInfo.xml, and the script."""

from __future__ import annotations

import io
import json
import os
import tracemalloc
import zipfile
from xml.etree import ElementTree

import pytest
from PIL import Image

from translations import storage
from translations.models import Chapter, PageResult, TranslationJob
from translations.services.execution import job_run
from translations.services.exports import (
    cbz_entries,
    cbz_filename,
    chapter_cbz,
    chapter_script,
    script_filename,
)
from translations.services.jobs import chapter_request_translation
from translations.tests.job_helpers import ScriptedExecutor, make_chapter
from translations.tests.library import store_page

pytestmark = pytest.mark.django_db


def finished_job(pages: int = 3, script: dict[int, str] | None = None, translator: str = "test") -> TranslationJob:
    chapter = make_chapter(pages)
    Chapter.objects.filter(pk=chapter.pk).update(title="The Start")
    job = chapter_request_translation(chapter=chapter, translator=translator, enqueue=False)
    job_run(job_id=job.pk, executor=ScriptedExecutor(script or {}))
    job.refresh_from_db()
    return job


def read_cbz(job: TranslationJob) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(b"".join(chapter_cbz(job))))


def test_the_cbz_holds_comic_info_then_the_translated_pages_in_order():
    job = finished_job(3)

    archive = read_cbz(job)

    assert archive.testzip() is None
    assert archive.namelist() == ["ComicInfo.xml", "001.png", "002.png", "003.png"]
    for result in job.page_results.select_related("page"):
        stored = storage.resolve_path(result.output_path).read_bytes()
        assert archive.read(f"{result.page.index:03d}.png") == stored
        assert stored.endswith(b"changed")


def test_comic_info_names_series_number_title_language_page_count_and_translator():
    job = finished_job(3)

    info = ElementTree.fromstring(  # noqa: S314 (our own output)
        read_cbz(job).read("ComicInfo.xml")
    )

    assert info.tag == "ComicInfo"
    assert info.findtext("Series") == "Blue-Sky"
    assert info.findtext("Number") == "1"
    assert info.findtext("Title") == "The Start"
    assert info.findtext("LanguageISO") == "en"
    assert info.findtext("PageCount") == "3"
    assert info.findtext("Translator") == "Mangasite machine translation (Test lettering (offline))"
    assert info.findtext("Manga") == "YesAndRightToLeft"
    assert [page.get("Image") for page in info.find("Pages")] == ["0", "1", "2"]


def test_a_page_without_text_or_a_failed_page_goes_in_as_the_original_and_is_named_in_the_notes():
    job = finished_job(3, {2: "no_text", 3: "fail"})

    archive = read_cbz(job)

    originals = {r.page.index: r.page for r in job.page_results.select_related("page")}
    assert archive.read("002.png") == storage.resolve_path(originals[2].image).read_bytes()
    assert archive.read("003.png") == storage.resolve_path(originals[3].image).read_bytes()
    assert archive.read("001.png").endswith(b"changed")
    notes = ElementTree.fromstring(archive.read("ComicInfo.xml")).findtext("Notes")  # noqa: S314
    assert "Original pages: 2 (no text), 3 (failed)." in notes


def test_a_missing_output_file_falls_back_to_the_original():
    job = finished_job(2)
    result = job.page_results.get(page__index=2)
    storage.resolve_path(result.output_path).unlink()

    entries = cbz_entries(job)

    assert [(e.index, e.translated, e.reason) for e in entries] == [(1, True, "succeeded"), (2, False, "missing")]
    assert read_cbz(job).read("002.png") == storage.resolve_path(result.page.image).read_bytes()


def test_the_cbz_is_streamed_in_chunks_without_holding_the_chapter():
    # Three pages of 3 MB noise: the stream must never hold much more than one chunk of them.
    chapter = make_chapter(0)
    buffer = io.BytesIO()
    Image.frombytes("L", (1800, 1800), os.urandom(1800 * 1800)).save(buffer, format="PNG", compress_level=0)
    for index in (1, 2, 3):
        store_page(chapter, index, buffer.getvalue())
    job = chapter_request_translation(chapter=chapter, translator="test", enqueue=False)
    PageResult.objects.filter(job=job).update(status=PageResult.Status.NO_TEXT)

    tracemalloc.start()
    sizes = [len(chunk) for chunk in chapter_cbz(job)]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert sum(sizes) > 3 * len(buffer.getvalue())
    assert max(sizes) < 1024 * 1024
    assert peak < 2 * 1024 * 1024


def test_file_names_carry_manga_chapter_and_language_or_cleaning():
    job = finished_job(1)
    assert cbz_filename(job) == "blue-sky-ch1-en.cbz"
    assert script_filename(job, "json") == "blue-sky-ch1-en.script.json"
    job.translator = "none"
    assert cbz_filename(job) == "blue-sky-ch1-cleaned.cbz"
    with pytest.raises(ValueError):
        script_filename(job, "../x")


def test_the_script_lists_every_page_and_region_in_reading_order_with_source_and_translation():
    job = finished_job(2, {2: "no_text"})
    PageResult.objects.filter(job=job, page__index=1).update(
        regions=[
            {"id": 1, "source_text": "こんにちは", "translation": "Hello", "flags": []},
            {"id": 2, "source_text": "ドン", "translation": None, "flags": ["sfx"]},
        ]
    )

    script = chapter_script(job)

    data = json.loads(script.as_json_text())
    assert data == script.as_json()
    assert data["mode"] == "translate"
    assert data["pages"] == [
        {
            "index": 1,
            "status": "succeeded",
            "regions": [
                {"region": 1, "source": "こんにちは", "translation": "Hello", "flags": []},
                {"region": 2, "source": "ドン", "translation": None, "flags": ["sfx"]},
            ],
        },
        {"index": 2, "status": "no_text", "regions": []},
    ]
    text = script.as_text()
    assert text.splitlines()[:2] == ["Blue-Sky — chapter 1: The Start", "ja → en, translator: test"]
    assert "== Page 1 ==\n[1] こんにちは\n    → Hello\n[2] ドン  [sfx]\n    → (untranslated)" in text
    assert "== Page 2 (no text) ==" in text


def test_in_cleaning_mode_the_script_is_the_source_text_without_translations():
    job = finished_job(1, translator="none")
    PageResult.objects.filter(job=job).update(regions=[{"id": 1, "source_text": "原文", "translation": None}])

    script = chapter_script(job)

    assert script.mode == "cleaning"
    assert "cleaning mode: no translation" in script.as_text()
    assert "→" not in script.as_text().split("\n", 2)[2]
    assert script.as_json()["pages"][0]["regions"][0] == {
        "region": 1,
        "source": "原文",
        "translation": None,
        "flags": [],
    }
