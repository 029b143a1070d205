"""Builders shared by the job tests: a chapter of small distinct pages on disk, a staff user, a scripted executor."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from PIL import Image, ImageDraw

from translations.executors import ExecutorError, PageExecution, PageWork
from translations.models import Chapter, Manga
from translations.pipeline.report import PageReport, RegionReport
from translations.tests.library import store_page


def page_image(index: int, *, size: tuple[int, int] = (60, 80)) -> bytes:
    image = Image.new("RGB", size, (250, 250, 250))
    ImageDraw.Draw(image).rectangle([5, 5, 5 + index * 3, 20], fill=(index * 7 % 255, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def make_chapter(pages: int = 3, *, slug: str = "blue-sky", number: str = "1", language: str = "ja") -> Chapter:
    manga, _ = Manga.objects.get_or_create(slug=slug, defaults={"title": slug.title(), "source_language": language})
    chapter = Chapter.objects.create(manga=manga, number=Decimal(number))
    for index in range(1, pages + 1):
        store_page(chapter, index, page_image(index))
    return chapter


def make_staff(username: str = "staff", *, permissions: tuple[str, ...] = ("view_translationjob",)):
    """A staff user who may watch every job (the admin's view permission), unless told otherwise."""
    user = get_user_model().objects.create_user(username=username, password="a password", is_staff=True)
    granted = Permission.objects.filter(content_type__app_label="translations", codename__in=permissions)
    user.user_permissions.add(*granted)
    return user


@dataclass
class ScriptedExecutor:
    """Answers per page index: ok, no_text, same (a copy of the input), untranslated, fail, crash,
    fallback (ok from the fallback model), jpeg (ok as JPEG), unchanged (ok bytes, nothing erased),
    cleaning (the none translator's answer), sfx (only a sound effect found), empty (no image),
    costly (ok, with transport numbers), terms (ok, proposing a glossary term)."""

    script: dict[int, str] = field(default_factory=dict)
    name: str = "scripted"
    seen: list[PageWork] = field(default_factory=list)
    before: Callable[[PageWork], object] | None = None  # called with the work before answering (cancel, race)

    def translate_page(self, work: PageWork, *, on_stage) -> PageExecution:
        self.seen.append(work)
        index = int(work.image_name.split(".")[0])
        on_stage("pipeline")
        if self.before is not None:
            self.before(work)
        step = self.script.get(index, "ok")
        if step == "fail":
            raise ExecutorError("detect", f"page {index} cannot be read", code="pipeline_failed")
        if step == "crash":
            raise RuntimeError("a bug")
        regions = []
        if step != "no_text":
            translation = None if step in ("untranslated", "cleaning") else f"line of page {index}"
            flags = ["sfx"] if step == "sfx" else []
            regions = [RegionReport(id=1, box=[0, 0, 5, 5], source_text="原文", translation=translation, flags=flags)]
        image = work.image if step in ("same", "no_text") else work.image + b"changed"
        report = PageReport(
            width=60,
            height=80,
            source_language=work.source_language,
            target_language=work.target_language,
            translator=work.translator,
            mode="cleaning" if step == "cleaning" else "translate",
            regions=regions,
            timings_ms={"detect": 1},
            models={"detector": "scripted"},
            proposed_terms=[{"source": "原文", "target": f"term of page {index}", "kind": "term"}]
            if step == "terms"
            else [],
        )
        execution = PageExecution(
            image=b"" if step == "empty" else image,
            image_format="JPEG" if step == "jpeg" else "PNG",
            report=report,
            changed=step not in ("no_text", "unchanged"),
            fallback_used=step == "fallback",
        )
        if step == "costly":  # what it reports it spent on the wire
            execution = replace(
                execution,
                request_bytes=100 * index,
                response_bytes=10 * index,
                remote_elapsed_ms=index,
                translate_elapsed_ms=2 * index,
            )
        return execution


@dataclass
class ReadingAheadExecutor(ScriptedExecutor):
    """A ScriptedExecutor that reads ahead (executors.ReadsAhead): it records what each prefetch was handed."""

    read_ahead: int = 2
    prefetched: list[list[str]] = field(default_factory=list)

    def prefetch(self, works) -> None:
        self.prefetched.append([work.image_name for work in works])
        assert all(work.image for work in works)
