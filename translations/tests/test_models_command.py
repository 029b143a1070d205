"""The models command: list, verify and the refusals of fetch."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command


def test_the_command_lists_and_verify_fails_on_missing_models(tmp_path, settings, capsys):
    settings.MANGA_MODEL_DIR = tmp_path

    call_command("models", "list")
    listing = capsys.readouterr().out
    assert "ppocr-v6-rec-small\t21234383\trequired\tmissing\trapidocr==3.10.0:" in listing

    with pytest.raises(CommandError, match=r"missing or bad: .*run `python manage\.py models fetch`"):
        call_command("models", "verify")
    with pytest.raises(CommandError, match="unknown model"):
        call_command("models", "fetch", "no-such-model")
    with pytest.raises(CommandError, match="refusing to download it unverified"):
        call_command("models", "fetch", "manga-ocr")
