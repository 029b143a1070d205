"""Builders for the reader-site tests: a translated chapter with results on disk, readers and staff."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from translations.models import Chapter, TranslationJob
from translations.services.execution import job_run
from translations.services.jobs import chapter_request_translation
from translations.tests.job_helpers import ScriptedExecutor, make_chapter


def make_reader(username: str = "reader"):
    return get_user_model().objects.create_user(username=username, password="a password")


def translated_chapter(
    pages: int = 3, *, script: dict[int, str] | None = None, slug: str = "blue-sky", number: str = "1"
) -> tuple[Chapter, TranslationJob]:
    """A chapter of `pages` pages and a finished `test` job over it (ScriptedExecutor answers)."""
    chapter = make_chapter(pages, slug=slug, number=number)
    manga = chapter.manga
    if not manga.cover:
        manga.cover = chapter.pages.order_by("index").first().image  # type: ignore[union-attr]
        manga.save(update_fields=["cover"])
    job = chapter_request_translation(chapter=chapter, translator="test", enqueue=False)
    job_run(job_id=job.pk, executor=ScriptedExecutor(script or {}))
    job.refresh_from_db()
    return chapter, job
