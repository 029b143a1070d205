"""schemathesis on a live server: no 5xx, no response outside the schema, no undocumented status code.

Runs the `st` command line (pinned in requirements.lock) against pytest-django's live server (a
real HTTP server on an ephemeral loopback port, on this setup's database), once with a staff
token and once with a reader token. The example budget per operation is small on purpose: the
suite runs twice in CI; raise SCHEMATHESIS_EXAMPLES locally for a deeper run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from translations.models import Manga
from translations.services.execution import job_run
from translations.services.jobs import chapter_request_translation
from translations.services.tokens import token_create
from translations.tests.job_helpers import ScriptedExecutor, make_chapter

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "6"))
# The coverage phase (boundary values of every parameter, ~40 s) runs with the staff token, which
# reaches every operation's body; the reader's run checks the read paths and the 403s by fuzzing.
PHASES = {"staff": "examples,coverage,fuzzing", "reader": "examples,fuzzing"}
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


@pytest.fixture
def library():
    """A chapter with a finished job (so that ids 1… name real rows) and a private manga."""
    chapter = make_chapter(2)
    job = chapter_request_translation(chapter=chapter, translator="test", enqueue=False)
    job_run(job_id=job.pk, executor=ScriptedExecutor({2: "fail"}))
    make_chapter(1, slug="hidden")
    Manga.objects.filter(slug="hidden").update(private=True)


@pytest.fixture
def generous_throttles(settings):
    # The fuzzer sends hundreds of requests a minute; the throttles are tested on their own.
    settings.MANGA_API_THROTTLE_RATES = {"anon": "100000/minute", "user": "100000/minute", "token": "100000/minute"}


@pytest.mark.parametrize("role", ["staff", "reader"])
def test_the_api_keeps_to_its_schema_under_fuzzing(
    role, request, live_server, library, generous_throttles, broker, tmp_path
):
    user = request.getfixturevalue(role)
    secret = token_create(user=user, name="schemathesis").secret
    command = [
        str(Path(sys.executable).parent / "st"),
        "run",
        f"{live_server.url}/api/v1/schema/",
        "--checks",
        CHECKS,
        "--header",
        f"Authorization: Bearer {secret}",
        "--max-examples",
        str(EXAMPLES),
        "--phases",
        PHASES[role],
        "--seed",
        "12",
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--no-color",
    ]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-15000:]
    assert "passed" in output.lower(), output[-3000:]
