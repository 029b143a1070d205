"""API tokens made and revoked: by the user under /account/tokens/, by staff in the admin, by `manage.py api_token`."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from translations.api.tests.conftest import bearer
from translations.models import ApiToken, AuditEntry
from translations.services.tokens import token_create

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_user_makes_a_token_that_is_shown_once_and_works(reader):
    client = signed_in(reader)

    page = client.post("/account/tokens/", {"name": "my script", "expires_in_days": "30"})

    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    secret = re.search(r"<code>(msk_[A-Za-z0-9_-]+)</code>", page.content.decode()).group(1)
    token = ApiToken.objects.get(user=reader)
    assert token.name == "my script"
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert bearer(secret).get("/api/v1/manga/").status_code == 200
    later = client.get("/account/tokens/").content.decode()
    assert secret not in later
    assert token.prefix in later
    assert AuditEntry.objects.filter(action="token.create", actor=reader).exists()


def test_a_user_revokes_their_token_and_it_stops_working(reader):
    issued = token_create(user=reader, name="old")
    client = signed_in(reader)

    response = client.post(f"/account/tokens/{issued.token.pk}/revoke")

    assert response.status_code == 302
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is not None
    assert bearer(issued.secret).get("/api/v1/manga/").json()["error"]["code"] == "token_revoked"
    assert "revoked" in client.get("/account/tokens/").content.decode()


def test_a_user_cannot_revoke_another_users_token(reader, staff):
    theirs = token_create(user=staff, name="staff script")

    response = signed_in(reader).post(f"/account/tokens/{theirs.token.pk}/revoke")

    assert response.status_code == 404
    assert ApiToken.objects.get(pk=theirs.token.pk).revoked_at is None


def test_the_token_page_needs_a_sign_in(db):
    assert Client().get("/account/tokens/").status_code == 302
    assert not ApiToken.objects.exists()


def test_a_nameless_token_is_refused_on_the_page(reader):
    page = signed_in(reader).post("/account/tokens/", {"name": ""})

    assert page.status_code == 200
    assert "This field is required" in page.content.decode()
    assert not ApiToken.objects.exists()


def test_staff_make_a_token_for_a_user_in_the_admin_and_see_it_once(reader):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("boss", password="a long password")
    client = signed_in(admin)

    response = client.post(
        "/admin/translations/apitoken/add/",
        {"user": reader.pk, "name": "from admin", "expires_in_days": ""},
        follow=True,
    )

    token = ApiToken.objects.get(user=reader)
    secret = re.search(r"(msk_[A-Za-z0-9_-]+)", response.content.decode()).group(1)
    assert token.expires_at is None
    assert bearer(secret).get("/api/v1/manga/").status_code == 200
    listing = client.get("/admin/translations/apitoken/").content.decode()
    assert secret not in listing
    client.post(
        "/admin/translations/apitoken/", {"action": "revoke_tokens", "_selected_action": [token.pk]}, follow=True
    )
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert AuditEntry.objects.filter(action="token.revoke", actor=admin).exists()


def test_the_api_token_command_prints_only_the_token(reader):
    out, err = StringIO(), StringIO()

    call_command("api_token", "reader", "--name", "backup", "--expires-days", "7", stdout=out, stderr=err)

    secret = out.getvalue().strip()
    token = ApiToken.objects.get(user=reader)
    assert secret.startswith("msk_") and "\n" not in secret
    assert token.name == "backup"
    assert token.expires_at is not None
    assert "not shown again" in err.getvalue()
    assert bearer(secret).get("/api/v1/manga/").status_code == 200


def test_the_api_token_command_refuses_unknown_or_disabled_users(reader):
    with pytest.raises(CommandError, match="No user 'nobody'"):
        call_command("api_token", "nobody", stdout=StringIO())
    reader.is_active = False
    reader.save()
    with pytest.raises(CommandError, match="disabled"):
        call_command("api_token", "reader", stdout=StringIO())
    assert not ApiToken.objects.exists()
