"""Builders shared by the job tests: a chapter of small distinct pages on disk, a staff user, a scripted executor."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from PIL import Image, ImageDraw

from translations.executors import ExecutorError, PageExecution, PageWork
from translations.models import Chapter, Manga
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
    """Answers per page index: ok, no_text, same (a copy of the input), untranslated, fail, crash."""

    script: dict[int, str] = field(default_factory=dict)
    name: str = "scripted"
    seen: list[PageWork] = field(default_factory=list)
    before: object = None  # called with the work before answering (to cancel or race mid-page)

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
            translation = None if step == "untranslated" else f"line of page {index}"
            regions = [{"id": 1, "box": [0, 0, 5, 5], "source_text": "原文", "translation": translation, "flags": []}]
        image = work.image if step in ("same", "no_text") else work.image + b"changed"
        report = {
            "regions": regions,
            "timings_ms": {"detect": 1},
            "models": {"detector": "scripted"},
            "mode": "translate",
        }
        return PageExecution(image=image, image_format="PNG", report=report, changed=step != "no_text")
