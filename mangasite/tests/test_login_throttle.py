"""Sign-in throttling: wrong passwords lock the account, the right one is refused while locked, staff unlock it."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

from mangasite.login_throttle import login_unlock

pytestmark = pytest.mark.django_db

PASSWORD = "the right password 81"


@pytest.fixture
def staff():
    user = get_user_model().objects.create_user("editor", password=PASSWORD, is_staff=True)
    login_unlock("editor")  # the cache outlives a test's database
    yield user
    login_unlock("editor")


def sign_in(client, password: str, username: str = "editor"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_thirty_wrong_passwords_lock_the_account_and_then_the_right_one_is_refused_with_a_clear_message(client, staff):
    for _ in range(30):
        assert sign_in(client, "guess").status_code == 200

    response = sign_in(client, PASSWORD)

    assert response.status_code == 200  # the form again, not the redirect into the admin
    assert "_auth_user_id" not in client.session
    page = response.content.decode()
    assert "Too many failed sign-ins for this account: it is locked for 15 more minute(s)." in page
    assert authenticate(username="editor", password=PASSWORD) is None  # every other sign-in path too


def test_fewer_failures_than_the_limit_do_not_lock(client, staff, settings):
    settings.MANGA_LOGIN_MAX_FAILURES = 3
    for _ in range(2):
        sign_in(client, "guess")

    assert sign_in(client, PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_the_username_is_matched_without_regard_to_case(client, staff, settings):
    settings.MANGA_LOGIN_MAX_FAILURES = 2
    sign_in(client, "guess", username="EDITOR")
    sign_in(client, "guess", username="Editor")

    assert "Too many failed sign-ins" in sign_in(client, PASSWORD).content.decode()


def test_a_staff_member_unlocks_the_account_with_a_command(client, staff, settings):
    settings.MANGA_LOGIN_MAX_FAILURES = 2
    sign_in(client, "guess")
    sign_in(client, "guess")
    out = io.StringIO()

    call_command("unlock_login", "editor", stdout=out)

    assert out.getvalue().strip() == "editor may sign in again."
    assert sign_in(client, PASSWORD).status_code == 302


def test_the_lock_ends_after_the_lockout_time(client, staff, settings, monkeypatch):
    import time

    settings.MANGA_LOGIN_MAX_FAILURES = 1
    sign_in(client, "guess")
    assert "Too many failed sign-ins" in sign_in(client, PASSWORD).content.decode()

    later = time.time() + settings.MANGA_LOGIN_LOCKOUT_SEC + 1
    monkeypatch.setattr("mangasite.login_throttle.time.time", lambda: later)

    assert sign_in(client, PASSWORD).status_code == 302
