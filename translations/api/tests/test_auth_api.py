"""Who may call the API: tokens (valid, revoked, expired, another user's), sessions with CSRF, anonymous visitors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from translations.api.tests.conftest import bearer
from translations.models import ApiToken, Manga, TranslationJob
from translations.services.tokens import token_create
from translations.tests.job_helpers import make_chapter

pytestmark = pytest.mark.django_db


def test_anonymous_callers_are_refused_before_any_work(anonymous):
    chapter = make_chapter(1)

    for method, path in [
        ("get", "/api/v1/manga/"),
        ("post", "/api/v1/jobs/"),
        ("get", f"/api/v1/chapters/{chapter.pk}/"),
    ]:
        response = getattr(anonymous, method)(path, {"chapter": chapter.pk}, format="json")
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "not_authenticated"
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert not TranslationJob.objects.exists()


def test_anonymous_visitors_read_a_public_library_but_not_private_manga(anonymous, settings):
    settings.MANGA_PUBLIC_LIBRARY = True
    make_chapter(1, slug="open")
    hidden = make_chapter(1, slug="closed")
    Manga.objects.filter(slug="closed").update(private=True)

    listed = anonymous.get("/api/v1/manga/").json()["results"]

    assert [m["slug"] for m in listed] == ["open"]
    assert anonymous.get(f"/api/v1/chapters/{hidden.pk}/").status_code == 404
    assert anonymous.post("/api/v1/jobs/", {"chapter": hidden.pk}, format="json").status_code == 401


def test_a_revoked_token_is_refused_and_says_so(revoked_client):
    response = revoked_client.get("/api/v1/manga/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_revoked"


def test_an_expired_token_is_refused_and_not_marked_used(expired_client):
    response = expired_client.get("/api/v1/manga/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"
    assert ApiToken.objects.get(name="short").last_used_at is None


def test_an_unknown_or_malformed_token_is_refused():
    for header in ("Bearer msk_not-a-token", "Bearer two words", "Bearer"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get("/api/v1/manga/")
        assert response.status_code == 401, header
        assert response.json()["error"]["code"] == "token_invalid", header


def test_a_token_of_a_disabled_user_is_refused(reader):
    issued = token_create(user=reader, name="script")
    reader.is_active = False
    reader.save()

    response = bearer(issued.secret).get("/api/v1/manga/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_invalid"


def test_a_token_acts_as_its_own_user_only(reader, staff):
    """A reader's token reads like the reader: another user's (staff's) rights do not come with it."""
    make_chapter(1, slug="secret")
    Manga.objects.filter(slug="secret").update(private=True)
    readers = bearer(token_create(user=reader, name="mine").secret)
    staffs = bearer(token_create(user=staff, name="theirs").secret)

    assert readers.get("/api/v1/manga/").json()["results"] == []
    assert [m["slug"] for m in staffs.get("/api/v1/manga/").json()["results"]] == ["secret"]


def test_a_used_token_records_when_at_most_once_a_minute(reader, settings):
    settings.MANGA_API_TOKEN_TOUCH_SEC = 60
    issued = token_create(user=reader, name="script")
    client = bearer(issued.secret)

    client.get("/api/v1/manga/")
    first = ApiToken.objects.get(pk=issued.token.pk).last_used_at
    client.get("/api/v1/manga/")
    second = ApiToken.objects.get(pk=issued.token.pk).last_used_at
    ApiToken.objects.filter(pk=issued.token.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    client.get("/api/v1/manga/")
    third = ApiToken.objects.get(pk=issued.token.pk).last_used_at

    assert first is not None
    assert second == first
    assert third > first


def test_tokens_are_stored_hashed():
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("someone")
    issued = token_create(user=user, name="script")

    row = ApiToken.objects.get()
    assert issued.secret.startswith("msk_")
    assert issued.secret not in (row.key_hash, row.prefix)
    assert row.prefix == issued.secret[:12]
    assert len(row.key_hash) == 64


def test_a_session_reads_and_writes_with_csrf_only(staff):
    chapter = make_chapter(1)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff)

    assert client.get("/api/v1/manga/").status_code == 200
    refused = client.post("/api/v1/jobs/", {"chapter": chapter.pk, "translator": "test"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert "CSRF" in refused.json()["error"]["message"]
    assert not TranslationJob.objects.exists()

    client.get("/account/tokens/")  # any page that renders a form sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    accepted = client.post(
        "/api/v1/jobs/", {"chapter": chapter.pk, "translator": "test"}, format="json", HTTP_X_CSRFTOKEN=csrf
    )
    assert accepted.status_code == 201
