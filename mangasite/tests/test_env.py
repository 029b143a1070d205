from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from mangasite.env import env_bool, env_int, env_list, env_secret


@pytest.mark.parametrize("raw, expected", [("1", True), ("yes", True), ("ON", True), ("0", False), ("off", False)])
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG") is expected


def test_env_bool_rejects_junk_with_the_variable_name(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG='maybe' is not a boolean"):
        env_bool("FLAG")


def test_env_bool_uses_the_default_when_unset(monkeypatch):
    monkeypatch.delenv("FLAG", raising=False)
    assert env_bool("FLAG", True) is True


def test_env_int_rejects_junk_and_values_below_the_minimum(monkeypatch):
    monkeypatch.setenv("COUNT", "ten")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("COUNT", 1)
    monkeypatch.setenv("COUNT", "0")
    with pytest.raises(ImproperlyConfigured, match="below the minimum of 1"):
        env_int("COUNT", 5, minimum=1)
    monkeypatch.setenv("COUNT", " 7 ")
    assert env_int("COUNT", 5, minimum=1) == 7


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example, b.example,,")
    assert env_list("HOSTS") == ["a.example", "b.example"]


def test_env_secret_reads_the_file_named_by_name_file(monkeypatch, tmp_path):
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")
    monkeypatch.delenv("API_KEY", raising=False)
    monkeypatch.setenv("API_KEY_FILE", str(secret))
    assert env_secret("API_KEY") == "s3cret"


def test_env_secret_refuses_both_the_value_and_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("API_KEY", "a")
    monkeypatch.setenv("API_KEY_FILE", str(tmp_path / "key"))
    with pytest.raises(ImproperlyConfigured, match="not both"):
        env_secret("API_KEY")


def test_env_secret_names_an_unreadable_file(monkeypatch, tmp_path):
    monkeypatch.delenv("API_KEY", raising=False)
    monkeypatch.setenv("API_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match=r"API_KEY_FILE=.* cannot be read"):
        env_secret("API_KEY")
