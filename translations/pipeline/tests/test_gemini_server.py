"""The local Gemini server as documented: `python -m translations.testing.gemini_server --port P`, real client."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from google import genai
from google.genai import types

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_documented_command_serves_generate_content_on_loopback():
    port = free_port()
    command = [sys.executable, "-m", "translations.testing.gemini_server", "--port", str(port), "--script", "not_found"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip().endswith(f"GEMINI_API_BASE=http://127.0.0.1:{port}")
        client = genai.Client(
            vertexai=False, api_key="k", http_options=types.HttpOptions(base_url=f"http://127.0.0.1:{port}")
        )
        try:
            client.models.generate_content(model="gone-model", contents="[1] こんにちは")
        except genai.errors.ClientError as exc:
            assert exc.code == 404  # the scripted first answer
        else:
            raise AssertionError("the scripted 404 did not come")
        answer = client.models.generate_content(model="gemini-2.5-flash", contents="[1] あれ？")
        assert answer.text == '{"translations": [{"id": 1, "text": "Huh?"}]}'  # the demo table's line
        assert answer.usage_metadata.prompt_token_count > 0
    finally:
        process.terminate()
        process.wait(timeout=10)
