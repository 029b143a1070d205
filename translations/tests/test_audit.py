"""The audit log: sign-ins, failed sign-ins, admin edits and deploys are recorded, shown in the admin,
and pruned after MANGA_AUDIT_RETENTION_DAYS."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from translations.models import AuditEntry, Manga
from translations.services.sweeper import jobs_sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser(username="boss", password="a long password 1")


def test_a_sign_in_is_recorded_with_the_user_and_address(client, superuser):
    response = client.post(
        reverse("admin:login"), {"username": "boss", "password": "a long password 1"}, REMOTE_ADDR="203.0.113.7"
    )

    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="auth.sign_in")
    assert entry.actor == superuser
    assert entry.details["ip"] == "203.0.113.7"


def test_a_failed_sign_in_is_recorded_with_the_name_tried_and_never_the_password(client, superuser):
    client.post(reverse("admin:login"), {"username": "boss", "password": "guess-123456"}, REMOTE_ADDR="198.51.100.9")

    entry = AuditEntry.objects.get(action="auth.sign_in_failed")
    assert entry.actor is None
    assert entry.details == {"username": "boss", "ip": "198.51.100.9", "user_agent": ""}
    assert "guess-123456" not in str(entry.details) + entry.message
    assert not AuditEntry.objects.filter(action="auth.sign_in").exists()


def test_an_admin_edit_is_recorded_with_what_changed(client, superuser):
    client.force_login(superuser)
    manga = Manga.objects.create(slug="blue-sky", title="Blue Sky")
    url = reverse("admin:translations_manga_change", args=[manga.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(title="Blue Sky (revised)", **_empty_inlines(client.get(url).context))

    response = client.post(url, data)

    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    entry = AuditEntry.objects.get(action="admin.change")
    assert entry.actor == superuser
    assert "Blue Sky (revised)" in entry.message
    assert "Title" in entry.message


def _empty_inlines(context) -> dict:
    data = {}
    for formset in context.get("inline_admin_formsets", []):
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management[name].value()
    return data


def test_record_deploy_writes_the_version_and_note():
    out = io.StringIO()

    call_command("record_deploy", "--version", "v1.4.2-3-gabc1234", "--note", "new letterer", stdout=out)

    entry = AuditEntry.objects.get(action="deploy")
    assert entry.message == "deployed v1.4.2-3-gabc1234: new letterer"
    assert entry.details["version"] == "v1.4.2-3-gabc1234"
    assert entry.details["note"] == "new letterer"
    assert f"audit entry {entry.pk}" in out.getvalue()


def test_record_deploy_refuses_an_empty_version():
    with pytest.raises(CommandError, match="--version must not be empty"):
        call_command("record_deploy", "--version", "  ")
    assert not AuditEntry.objects.exists()


def test_the_audit_log_is_visible_in_the_admin(client, superuser):
    call_command("record_deploy", "--version", "v9", stdout=io.StringIO())
    client.force_login(superuser)

    response = client.get(reverse("admin:translations_auditentry_changelist"))

    assert response.status_code == 200
    assert "deployed v9" in response.content.decode()


def test_entries_older_than_the_retention_are_pruned_by_the_sweeper(settings):
    settings.MANGA_AUDIT_RETENTION_DAYS = 30
    old = AuditEntry.objects.create(action="deploy", created_at=timezone.now() - timedelta(days=31))
    recent = AuditEntry.objects.create(action="deploy", created_at=timezone.now() - timedelta(days=29))

    report = jobs_sweep()

    assert report.audit_pruned == 1
    assert list(AuditEntry.objects.values_list("pk", flat=True)) == [recent.pk]
    assert old.pk != recent.pk
