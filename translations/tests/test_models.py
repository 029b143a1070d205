"""Library constraints and status transitions, as the database enforces them (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from translations.models import Chapter, Manga, Page, PageResult, TranslationJob, chapter_slug

pytestmark = pytest.mark.django_db

Status = TranslationJob.Status


@pytest.fixture
def manga() -> Manga:
    return Manga.objects.create(slug="blue-sky", title="Blue Sky")


@pytest.fixture
def chapter(manga) -> Chapter:
    return Chapter.objects.create(manga=manga, number=Decimal("1"))


@pytest.fixture
def page(chapter) -> Page:
    return make_page(chapter, 1)


def make_page(chapter: Chapter, index: int) -> Page:
    return Page.objects.create(
        chapter=chapter,
        index=index,
        image=f"raw/blue-sky/{chapter.slug}/{index:03d}.jpg",
        width=800,
        height=1200,
        size_bytes=1000,
        sha256="0" * 64,
    )


def make_job(chapter: Chapter, status: str = Status.QUEUED) -> TranslationJob:
    return TranslationJob.objects.create(
        chapter=chapter, target_language="en", translator="gemini", backend="local", status=status
    )


def test_a_manga_needs_a_source_language_the_pipeline_can_read(db):
    Manga.objects.create(slug="korean", title="Korean", source_language="ko")

    with pytest.raises(IntegrityError), transaction.atomic():
        Manga.objects.create(slug="french", title="French", source_language="fr")


def test_a_manga_cannot_have_the_same_chapter_number_twice(manga, chapter):
    with pytest.raises(IntegrityError), transaction.atomic():
        Chapter.objects.create(manga=manga, number=Decimal("1.00"))


def test_two_manga_may_each_have_a_chapter_1(chapter):
    other = Manga.objects.create(slug="red-sea", title="Red Sea")

    Chapter.objects.create(manga=other, number=Decimal("1"))


def test_a_chapter_number_cannot_be_negative(manga):
    with pytest.raises(IntegrityError), transaction.atomic():
        Chapter.objects.create(manga=manga, number=Decimal("-1"))


def test_a_chapter_cannot_have_the_same_page_index_twice(chapter, page):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_page(chapter, 1)


def test_page_indexes_start_at_one(chapter):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_page(chapter, 0)


def test_a_page_needs_pixels(chapter):
    with pytest.raises(IntegrityError), transaction.atomic():
        Page.objects.create(chapter=chapter, index=1, image="raw/x/1/001.jpg", width=0, height=5, size_bytes=1)


@pytest.mark.parametrize("active", [Status.QUEUED, Status.RUNNING])
def test_a_chapter_refuses_a_second_active_job(chapter, active):
    make_job(chapter, active)

    for status in (Status.QUEUED, Status.RUNNING):
        with pytest.raises(IntegrityError), transaction.atomic():
            make_job(chapter, status)


def test_a_chapter_takes_a_new_job_once_the_last_one_finished(chapter):
    make_job(chapter, Status.SUCCESS)
    make_job(chapter, Status.ERROR)

    make_job(chapter, Status.QUEUED)

    assert chapter.jobs.count() == 3


def test_job_counters_stay_within_the_page_total(chapter):
    with pytest.raises(IntegrityError), transaction.atomic():
        TranslationJob.objects.create(
            chapter=chapter, target_language="en", translator="gemini", backend="local", pages_succeeded=1
        )


def test_a_succeeded_page_result_needs_an_output_path(chapter, page):
    job = make_job(chapter)

    with pytest.raises(IntegrityError), transaction.atomic():
        PageResult.objects.create(job=job, page=page, status=PageResult.Status.SUCCEEDED)

    PageResult.objects.create(job=job, page=page, status=PageResult.Status.SUCCEEDED, output_path="output/a/1/001.jpg")


def test_a_job_has_one_result_per_page(chapter, page):
    job = make_job(chapter)
    PageResult.objects.create(job=job, page=page)

    with pytest.raises(IntegrityError), transaction.atomic():
        PageResult.objects.create(job=job, page=page)


def test_moving_a_queued_job_to_running_sets_started_at(chapter):
    job = make_job(chapter)

    assert job.move_to(Status.RUNNING) is True

    job.refresh_from_db()
    assert job.status == Status.RUNNING
    assert job.started_at is not None
    assert job.finished_at is None


def test_moving_a_running_job_to_success_sets_finished_at(chapter):
    job = make_job(chapter)
    job.move_to(Status.RUNNING)

    assert job.move_to(Status.SUCCESS, pages_total=3, pages_succeeded=3) is True

    job.refresh_from_db()
    assert job.status == Status.SUCCESS
    assert job.finished_at is not None
    assert job.finished_at >= job.started_at
    assert job.pages_succeeded == 3


def test_a_finished_job_can_be_queued_again_for_a_retry(chapter):
    job = make_job(chapter)
    job.move_to(Status.RUNNING)
    job.move_to(Status.PARTIAL)

    assert job.move_to(Status.QUEUED) is True
    assert TranslationJob.objects.get(pk=job.pk).status == Status.QUEUED


def test_an_undocumented_transition_returns_false_and_changes_nothing(chapter):
    job = make_job(chapter)

    assert job.move_to(Status.SUCCESS) is False

    assert job.status == Status.QUEUED
    assert job.finished_at is None
    stored = TranslationJob.objects.get(pk=job.pk)
    assert stored.status == Status.QUEUED
    assert stored.finished_at is None


def test_a_worker_holding_a_stale_row_loses_the_race(chapter):
    mine = make_job(chapter)
    theirs = TranslationJob.objects.get(pk=mine.pk)
    assert theirs.move_to(Status.RUNNING) is True

    assert mine.move_to(Status.RUNNING) is False

    assert mine.started_at is None
    assert TranslationJob.objects.get(pk=mine.pk).started_at == theirs.started_at


def test_moving_to_an_unknown_status_raises(chapter):
    job = make_job(chapter)

    with pytest.raises(ValueError, match="not a status"):
        job.move_to("done")


def test_a_page_result_moves_to_succeeded_with_its_output(chapter, page):
    result = PageResult.objects.create(job=make_job(chapter), page=page)
    assert result.move_to(PageResult.Status.RUNNING) is True

    assert result.move_to(PageResult.Status.SUCCEEDED, output_path="output/blue-sky/1/001.jpg") is True

    result.refresh_from_db()
    assert result.status == PageResult.Status.SUCCEEDED
    assert result.started_at is not None
    assert result.finished_at is not None


def test_a_page_result_cannot_succeed_without_its_output(chapter, page):
    result = PageResult.objects.create(job=make_job(chapter), page=page, status=PageResult.Status.RUNNING)

    with pytest.raises(IntegrityError), transaction.atomic():
        result.move_to(PageResult.Status.SUCCEEDED)


@pytest.mark.parametrize(
    ("number", "slug"),
    [(Decimal("10.50"), "10.5"), (Decimal("100"), "100"), (Decimal("1.00"), "1"), (Decimal("0"), "0")],
)
def test_chapter_slug_drops_trailing_zeros_only(number, slug):
    assert chapter_slug(number) == slug


def test_a_chapter_read_back_from_the_database_has_the_short_slug(manga):
    Chapter.objects.create(manga=manga, number=Decimal("10.5"))

    assert Chapter.objects.get(manga=manga).slug == "10.5"


def test_transport_ratio_is_none_without_translate_time(chapter):
    job = make_job(chapter)

    assert job.transport_ratio is None


def test_transport_ratio_is_remote_time_over_translate_time(chapter):
    job = TranslationJob(remote_elapsed_ms_total=300, translate_elapsed_ms_total=1200)

    assert job.transport_ratio == 0.25
