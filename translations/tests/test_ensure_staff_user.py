from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command


@pytest.mark.django_db
def test_it_creates_a_superuser_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "staff")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long demo password")
    call_command("ensure_staff_user")
    user = get_user_model().objects.get(username="staff")
    assert user.is_staff and user.is_superuser
    assert user.check_password("a long demo password")
    assert "Created staff user 'staff'" in capsys.readouterr().out


@pytest.mark.django_db
def test_it_never_changes_an_existing_users_password(monkeypatch, capsys):
    get_user_model().objects.create_superuser(username="staff", email="", password="chosen in admin")
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "staff")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "another password")
    call_command("ensure_staff_user")
    assert get_user_model().objects.get(username="staff").check_password("chosen in admin")
    assert "password is unchanged" in capsys.readouterr().out


@pytest.mark.django_db
def test_it_says_how_to_make_a_user_when_the_environment_has_none(monkeypatch, capsys):
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    call_command("ensure_staff_user")
    assert not get_user_model().objects.exists()
    assert "manage.py createsuperuser" in capsys.readouterr().out
