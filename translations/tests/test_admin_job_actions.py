"""Admin actions on jobs: translate chapters, retry failed pages, retry pages, cancel — audited and reported."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django_q.brokers import get_broker

from translations.models import AuditEntry, PageResult, TranslationJob
from translations.services.jobs import chapter_request_translation
from translations.tests.job_helpers import make_chapter

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_queue():
    get_broker().purge_queue()
    yield
    get_broker().purge_queue()


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def act(client, model: str, action: str, ids: list[int]):
    return client.post(
        reverse(f"admin:translations_{model}_changelist"),
        {"action": action, "_selected_action": [str(i) for i in ids]},
        follow=True,
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def finished_job(pages: int, failed: list[int], slug: str = "blue-sky") -> TranslationJob:
    job = chapter_request_translation(chapter=make_chapter(pages, slug=slug), translator="test", enqueue=False)
    for result in job.page_results.select_related("page"):
        if result.page.index in failed:
            result.status = PageResult.Status.FAILED
        else:
            result.status, result.output_path = PageResult.Status.SUCCEEDED, f"output/x/{result.page.index}.png"
        result.save()
    TranslationJob.objects.filter(pk=job.pk).update(status="partial" if failed else "success")
    return job


def test_staff_translate_selected_chapters_and_are_told_which_were_refused(staff_client, admin_user, settings):
    settings.MANGA_DEFAULT_TRANSLATOR = "none"
    one, two = make_chapter(2, slug="one"), make_chapter(1, slug="two")
    chapter_request_translation(chapter=two, translator="test", enqueue=False)

    response = act(staff_client, "chapter", "translate_chapters", [one.pk, two.pk])

    job = TranslationJob.objects.get(chapter=one)
    assert (job.translator, job.requested_by, job.status) == ("none", admin_user, "queued")
    text = messages_of(response)
    assert text[0] == f"Queued job {job.pk} for {one} (2 pages, none)."
    assert text[1].startswith(f"{two} already has an active job")
    entry = AuditEntry.objects.get(object_id=str(job.pk))
    assert (entry.action, entry.actor) == ("job.request", admin_user)


def test_staff_retry_the_failed_pages_of_selected_jobs(staff_client, admin_user):
    job = finished_job(3, failed=[2])
    clean = finished_job(1, failed=[], slug="clean")

    response = act(staff_client, "translationjob", "retry_failed_pages", [job.pk, clean.pk])

    assert messages_of(response) == [
        f"Job {job.pk}: 1 failed page(s) queued again.",
        f"Job {clean.pk} has no failed pages to retry.",
    ]
    assert job.page_results.get(page__index=2).status == "pending"
    assert AuditEntry.objects.filter(action="job.retry_failed", actor=admin_user).count() == 1


def test_staff_retry_selected_pages(staff_client, admin_user):
    job = finished_job(2, failed=[])
    result = job.page_results.get(page__index=2)

    response = act(staff_client, "pageresult", "retry_pages", [result.pk])

    assert messages_of(response) == [f"Page 2 of job {job.pk} queued again."]
    assert TranslationJob.objects.get(pk=job.pk).status == "queued"
    assert AuditEntry.objects.get(action="page.retry").actor == admin_user


def test_staff_cancel_selected_jobs(staff_client, admin_user):
    active = chapter_request_translation(chapter=make_chapter(2), translator="test", enqueue=False)
    done = finished_job(1, failed=[], slug="done")

    response = act(staff_client, "translationjob", "cancel_jobs", [active.pk, done.pk])

    assert messages_of(response) == [f"Job {active.pk} cancelled.", f"Job {done.pk} had already finished (success)."]
    assert TranslationJob.objects.get(pk=active.pk).status == "cancelled"
    assert AuditEntry.objects.get(action="job.cancel").actor == admin_user


def test_staff_without_the_job_permission_see_no_job_actions(client):
    viewer = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_translationjob"))
    client.force_login(viewer)

    response = client.get(reverse("admin:translations_translationjob_changelist"))

    assert response.status_code == 200
    assert "cancel_jobs" not in response.content.decode()


def test_the_audit_log_is_listed_read_only(staff_client):
    chapter_request_translation(chapter=make_chapter(1), translator="test", enqueue=False)

    response = staff_client.get(reverse("admin:translations_auditentry_changelist"))

    assert response.status_code == 200
    assert "job.request" in response.content.decode()
