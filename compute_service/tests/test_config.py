"""The service's settings from the environment: tokens, files, limits."""

from __future__ import annotations

import pytest

from compute_service.config import ConfigError, gemini_values, load_config

TOKEN = "a-token-of-sixteen+chars"


def test_the_current_token_comes_first_and_the_previous_one_after_it():
    config = load_config({"MANGA_INTERNAL_API_TOKEN": TOKEN, "MANGA_INTERNAL_API_TOKEN_PREVIOUS": "p" * 16})
    assert config.tokens == (TOKEN, "p" * 16)
    assert config.concurrency == 1
    assert TOKEN not in repr(config)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, r"MANGA_INTERNAL_API_TOKEN \(or MANGA_INTERNAL_API_TOKEN_FILE\) is required"),
        ({"MANGA_INTERNAL_API_TOKEN": "short"}, "at least 16 characters"),
        ({"MANGA_INTERNAL_API_TOKEN": TOKEN, "MANGA_INTERNAL_API_TOKEN_FILE": "/x"}, "not both"),
        ({"MANGA_INTERNAL_API_TOKEN_FILE": "/nonexistent/token"}, "cannot be read"),
        ({"MANGA_INTERNAL_API_TOKEN": TOKEN, "MANGA_COMPUTE_CONCURRENCY": "0"}, "below the minimum"),
        ({"MANGA_INTERNAL_API_TOKEN": TOKEN, "MANGA_COMPUTE_MAX_BODY_BYTES": "lots"}, "not an integer"),
    ],
)
def test_it_refuses_a_bad_configuration_naming_the_variable(environ, message):
    with pytest.raises(ConfigError, match=message):
        load_config(environ)


def test_the_gemini_key_may_come_from_a_file(tmp_path):
    (tmp_path / "key").write_text("gemini-key\n")
    get = gemini_values({"GEMINI_API_KEY_FILE": str(tmp_path / "key"), "GEMINI_MODEL": "gemini-2.5-pro"})
    assert (get("GEMINI_API_KEY"), get("GEMINI_MODEL"), get("GEMINI_API_BASE")) == (
        "gemini-key",
        "gemini-2.5-pro",
        None,
    )
