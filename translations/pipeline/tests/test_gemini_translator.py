"""The Gemini translators through the real google-genai client, against the local Gemini server on loopback."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from translations.pipeline.contracts import Box, Flag, PipelineError, TextBlock, TextLine, TranslationRequest
from translations.pipeline.translators.gemini import GeminiTranslator
from translations.pipeline.translators.gemini_config import DEFAULT_DICT_DIR, GeminiConfig
from translations.pipeline.translators.gemini_prompt import response_schema
from translations.testing.gemini_server import GeminiServer

PRIMARY = "gemini-3-flash-preview"
FALLBACK = "gemini-2.5-flash"
CONTEXT = ("Page one.", "Page two.", "Page three.", "Page four.")
GLOSSARY = {
    "title": "Harbor Days",
    "honorifics": "drop",
    "characters": [{"source": "ウィキペたん", "target": "Wikipe-tan"}],
    "terms": [{"source": "係船柱", "target": "bollard", "notes": "the post ships are tied to"}],
    "style": ["Short, bouncy lines."],
}
TABLE = {"こんにちは": "Hello", "ありがとう": "Thanks", "係船柱！": "A bollard!"}


@pytest.fixture
def server():
    with GeminiServer(table=TABLE) as running:
        yield running


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def config(server, tmp_path) -> GeminiConfig:
    glossary = tmp_path / "glossary.json"
    glossary.write_text(json.dumps(GLOSSARY), encoding="utf-8")
    return GeminiConfig(api_key="config-key", base_url=server.url, timeout_s=5, max_attempts=3, glossary=glossary)


def translator(config: GeminiConfig, sleeps: list[float], *, with_image: bool = True) -> GeminiTranslator:
    return GeminiTranslator(config, with_image=with_image, sleep=sleeps.append, random=lambda: 0.5)


def block(block_id: int, text: str, box: Box) -> TextBlock:
    polygon = ((box.x, box.y), (box.right, box.y), (box.right, box.bottom), (box.x, box.bottom))
    line = TextLine(box=box, polygon=polygon, vertical=True, text=text)
    return TextBlock(id=block_id, box=box, lines=(line,), vertical=True)


def page(*texts: str, context: tuple[str, ...] = CONTEXT) -> TranslationRequest:
    blocks = tuple(block(i, text, Box(40 + 120 * (i - 1), 60, 80, 200)) for i, text in enumerate(texts, start=1))
    image = np.full((600, 420, 3), 255, dtype=np.uint8)
    return TranslationRequest(
        image=image, blocks=blocks, source_language="ja", target_language="en", context_translations=context
    )


def test_it_sends_one_request_with_the_page_image_numbered_lines_context_glossary_and_schema(server, config, sleeps):
    translator(config, sleeps).translate(page("こんにちは", "ありがとう"))

    [sent] = server.requests
    assert sent.path == f"/v1beta/models/{PRIMARY}:generateContent"
    assert sent.api_key == "config-key"
    [image_bytes] = sent.images
    image = np.asarray(Image.open(io.BytesIO(image_bytes)).convert("RGB"))
    assert image.shape == (600, 420, 3)
    red = (image[:, :, 0] > 180) & (image[:, :, 1] < 80) & (image[:, :, 2] < 80)
    assert red[60:260, 38:44].sum() > 100  # block 1's box is drawn where the block is
    assert "[1] こんにちは\n[2] ありがとう" in sent.text
    assert "exactly one item for each of these ids: 1, 2." in sent.text
    assert "Page one." not in sent.text  # only the last three pages travel
    assert "--- 3 pages back ---\nPage two.\n--- 2 pages back ---\nPage three.\n--- previous page ---\nPage four." in (
        sent.text
    )
    assert "Title: Harbor Days" in sent.text
    assert "- ウィキペたん → Wikipe-tan" in sent.text
    assert "- 係船柱 → bollard (the post ships are tied to)" in sent.text
    assert "Honorifics: Drop honorifics" in sent.text
    assert "- Short, bouncy lines." in sent.text
    assert sent.system.startswith("You are the translator of a manga scanlation team.")
    assert "from Japanese into English" in sent.system
    assert sent.body["generationConfig"]["responseMimeType"] == "application/json"
    assert sent.schema == response_schema((1, 2))
    assert sent.schema["properties"]["translations"]["minItems"] == 2


def test_it_returns_one_translation_per_block_and_reports_models_and_usage(server, config, sleeps):
    result = translator(config, sleeps).translate(page("こんにちは", "ありがとう"))

    assert result.texts == {1: "Hello", 2: "Thanks"}
    assert result.flags == {}
    assert result.models["translator"] == PRIMARY
    assert result.models["translator_primary"] == PRIMARY
    assert result.models["translator_fallback"] == FALLBACK
    assert "translator_fallback_reason" not in result.models
    assert result.usage["requests"] == 1
    assert result.usage["prompt_tokens"] > 258  # the image and the prompt were counted
    assert result.usage["output_tokens"] > 0
    assert result.usage["request_1_http_status"] == 200
    assert result.usage["request_1_latency_ms"] >= 0
    assert result.usage["latency_ms"] == result.usage["request_1_latency_ms"]


def test_the_text_only_translator_sends_no_image_and_its_own_prompt(server, config, sleeps):
    result = translator(config, sleeps, with_image=False).translate(page("こんにちは"))

    [sent] = server.requests
    assert sent.images == []
    assert "You do not see the page" in sent.system
    assert result.texts == {1: "Hello"}


def test_the_key_comes_from_the_config_never_from_the_environment(server, config, sleeps, monkeypatch):
    monkeypatch.setenv("GOOGLE_API_KEY", "env-google-key")
    monkeypatch.setenv("GEMINI_API_KEY", "env-gemini-key")
    server.api_key = "config-key"  # any other key is refused like the real API does

    result = translator(config, sleeps).translate(page("こんにちは"))

    assert [sent.api_key for sent in server.requests] == ["config-key"]
    assert result.texts == {1: "Hello"}


def test_a_page_without_blocks_sends_nothing(server, config, sleeps):
    assert translator(config, sleeps).translate(page()).texts == {}
    assert server.requests == []


def test_a_missing_id_gets_one_repair_request_for_that_id_only(server, config, sleeps):
    server.script("missing:2")

    result = translator(config, sleeps).translate(page("こんにちは", "ありがとう"))

    first, repair = server.requests
    assert "these ids: 1, 2." in first.text
    assert "these ids: 2." in repair.text
    assert "Already translated (keep them; do not answer these ids again):\n[1] Hello" in repair.text
    assert repair.schema == response_schema((2,))
    assert len(repair.images) == 1  # the repair still shows the page
    assert result.texts == {1: "Hello", 2: "Thanks"}
    assert result.flags == {}


def test_an_id_still_missing_after_the_repair_is_flagged_untranslated(server, config, sleeps):
    server.script("missing:2", "missing:2")

    result = translator(config, sleeps).translate(page("こんにちは", "ありがとう"))

    assert len(server.requests) == 2  # one repair, not a loop
    assert result.texts == {1: "Hello", 2: None}
    assert result.flags == {2: frozenset({Flag.UNTRANSLATED})}


def test_an_echo_of_the_source_is_repaired_and_never_returned_as_a_translation(server, config, sleeps):
    server.script("echo", "echo")

    result = translator(config, sleeps).translate(page("こんにちは"))

    assert len(server.requests) == 2
    assert result.texts == {1: None}
    assert result.flags == {1: frozenset({Flag.UNTRANSLATED})}


def test_malformed_json_from_the_model_is_repaired(server, config, sleeps):
    server.script("malformed")

    result = translator(config, sleeps).translate(page("こんにちは", "ありがとう"))

    assert len(server.requests) == 2
    repair = server.requests[1]
    assert "these ids: 1, 2." in repair.text
    assert result.texts == {1: "Hello", 2: "Thanks"}


def test_a_safety_block_is_retried_without_the_image(server, config, sleeps):
    server.script("safety_if_image")

    result = translator(config, sleeps).translate(page("こんにちは"))

    with_image, without = server.requests
    assert len(with_image.images) == 1
    assert without.images == []
    assert "[1] こんにちは" in without.text
    assert result.texts == {1: "Hello"}
    assert result.models["translator_input"] == "dropped after SAFETY"


def test_an_empty_candidate_is_retried_without_the_image(server, config, sleeps):
    server.script("empty")

    result = translator(config, sleeps).translate(page("こんにちは"))

    assert [len(sent.images) for sent in server.requests] == [1, 0]
    assert result.texts == {1: "Hello"}


def test_a_refusal_without_the_image_too_flags_every_region_blocked(server, config, sleeps):
    server.script("safety", "finish_safety")

    result = translator(config, sleeps).translate(page("こんにちは", "ありがとう"))

    assert len(server.requests) == 2
    assert result.texts == {1: None, 2: None}
    assert result.flags == {1: frozenset({Flag.BLOCKED}), 2: frozenset({Flag.BLOCKED})}
    assert result.models["translator_input"] == "dropped after SAFETY; refused: SAFETY"


def test_the_text_only_translator_flags_a_refusal_blocked_without_another_request(server, config, sleeps):
    server.script("safety")

    result = translator(config, sleeps, with_image=False).translate(page("こんにちは"))

    assert len(server.requests) == 1
    assert result.flags == {1: frozenset({Flag.BLOCKED})}


def test_an_unknown_model_falls_back_and_the_report_says_why(server, config, sleeps):
    server.unknown_models = {PRIMARY}

    result = translator(config, sleeps).translate(page("こんにちは"))

    assert [sent.model for sent in server.requests] == [PRIMARY, FALLBACK]
    assert sleeps == []  # a missing model is not waited for
    assert result.texts == {1: "Hello"}
    assert result.models["translator"] == FALLBACK
    assert result.models["translator_fallback_reason"] == f"{PRIMARY}: 404 NOT_FOUND"
    assert result.models["translator_requests"] == f"{PRIMARY} 404; {FALLBACK} 200"
    assert result.usage["request_1_http_status"] == 404


def test_a_retired_model_name_is_normalised_before_it_is_sent(server, config, sleeps):
    from dataclasses import replace

    result = translator(replace(config, model="gemini-2.0-flash"), sleeps).translate(page("こんにちは"))

    assert [sent.model for sent in server.requests] == [FALLBACK]
    assert result.models["translator_fallback"] == "none"  # the fallback is the primary now


def test_the_page_fails_at_the_translate_stage_when_the_fallback_is_missing_too(server, config, sleeps):
    server.unknown_models = {PRIMARY, FALLBACK}

    with pytest.raises(PipelineError) as failure:
        translator(config, sleeps).translate(page("こんにちは"))

    assert failure.value.stage == "translate"
    assert f"{FALLBACK}: 404" in str(failure.value)


def test_a_503_is_retried_with_jittered_exponential_backoff_then_succeeds(server, config, sleeps):
    server.script("unavailable", "unavailable", "good")

    result = translator(config, sleeps).translate(page("こんにちは"))

    assert [sent.model for sent in server.requests] == [PRIMARY] * 3
    assert sleeps == [0.75, 1.5]  # 1 s then 2 s, each half fixed and half jitter (random() = 0.5 here)
    assert result.texts == {1: "Hello"}
    assert result.usage["requests"] == 3


def test_the_backoff_never_exceeds_the_configured_maximum(config):
    from dataclasses import replace

    from translations.pipeline.translators.gemini_client import GeminiClient

    client = GeminiClient(replace(config, backoff_max_s=4.0), random=lambda: 1.0)

    assert [client._backoff(attempt) for attempt in (1, 2, 3, 10)] == [1.0, 2.0, 4.0, 4.0]


def test_a_retry_after_header_is_honoured(server, config, sleeps):
    server.script("rate_limited:7", "good")

    result = translator(config, sleeps).translate(page("こんにちは"))

    assert sleeps == [7.0]
    assert result.texts == {1: "Hello"}


def test_a_retry_delay_in_the_error_body_is_honoured(server, config, sleeps):
    server.script("retry_info:3", "good")

    translator(config, sleeps).translate(page("こんにちは"))

    assert sleeps == [3.0]


def test_a_retry_after_longer_than_we_wait_moves_to_the_fallback_at_once(server, config, sleeps):
    server.script("rate_limited:600")

    result = translator(config, sleeps).translate(page("こんにちは"))

    assert sleeps == []
    assert [sent.model for sent in server.requests] == [PRIMARY, FALLBACK]
    assert "Retry-After 600 s is longer than we wait" in result.models["translator_fallback_reason"]


def test_a_model_unavailable_for_every_attempt_moves_to_the_fallback(server, config, sleeps):
    server.script("unavailable", "unavailable", "unavailable")

    result = translator(config, sleeps).translate(page("こんにちは"))

    assert [sent.model for sent in server.requests] == [PRIMARY] * 3 + [FALLBACK]
    assert len(sleeps) == 2  # bounded: no sleep after the last attempt
    assert result.models["translator_fallback_reason"] == f"{PRIMARY}: 503 UNAVAILABLE after 3 attempt(s)"


def test_a_request_that_times_out_is_retried(server, config, sleeps):
    from dataclasses import replace

    server.script("slow:5", "good")

    result = translator(replace(config, timeout_s=0.3), sleeps).translate(page("こんにちは"))

    assert len(server.requests) == 2
    assert result.usage["request_1_http_status"] == 0  # no response
    assert result.usage["request_1_latency_ms"] < 3000
    assert result.texts == {1: "Hello"}


def test_a_model_that_keeps_timing_out_moves_to_the_fallback_and_the_report_says_so(server, config, sleeps):
    from dataclasses import replace

    server.script("slow:5", "slow:5", "good")

    result = translator(replace(config, timeout_s=0.3, max_attempts=2), sleeps).translate(page("こんにちは"))

    assert [sent.model for sent in server.requests] == [PRIMARY, PRIMARY, FALLBACK]
    assert result.models["translator_fallback_reason"] == f"{PRIMARY}: timeout after 0.3 s after 2 attempt(s)"
    assert result.texts == {1: "Hello"}


def test_an_unparseable_response_body_is_retried(server, config, sleeps):
    server.script("malformed_body", "good")

    result = translator(config, sleeps).translate(page("こんにちは"))

    assert len(server.requests) == 2
    assert len(sleeps) == 1
    assert result.texts == {1: "Hello"}


def test_a_refused_key_fails_the_page_without_retries_or_fallback(server, config, sleeps):
    server.api_key = "the-right-key"

    with pytest.raises(PipelineError) as failure:
        translator(config, sleeps).translate(page("こんにちは"))

    assert len(server.requests) == 1
    assert "400 INVALID_ARGUMENT" in str(failure.value)
    assert "config-key" not in str(failure.value)


def test_pre_and_post_dictionaries_apply_around_the_translation(server, config, sleeps, tmp_path):
    from dataclasses import replace

    dict_dir = tmp_path / "dict"
    (dict_dir / "prompts").mkdir(parents=True)
    for prompt in (DEFAULT_DICT_DIR / "prompts").iterdir():
        (dict_dir / "prompts" / prompt.name).write_text(prompt.read_text(encoding="utf-8"), encoding="utf-8")
    (dict_dir / "pre_dict.txt").write_text("こんにちわ\tこんにちは  # a common misspelling\n", encoding="utf-8")
    (dict_dir / "post_dict.txt").write_text("Hello\tHi there\n", encoding="utf-8")

    result = translator(replace(config, dict_dir=dict_dir), sleeps).translate(page("こんにちわ"))

    assert "[1] こんにちは" in server.requests[0].text
    assert result.texts == {1: "Hi there"}


def test_new_terms_in_the_answer_become_proposals_and_the_schema_asks_for_them(server, config, sleeps):
    server.script("terms:こんにちは=Hello there;ウィキペたん=Wiki;ありがとう=ありがとう;港=harbour")
    result = translator(config, sleeps).translate(page("こんにちは", "ありがとう"))

    [sent] = server.requests
    assert sent.schema["properties"]["new_terms"]["maxItems"] == 20
    assert "new_terms" in sent.system
    # On the page and new: proposed; in the glossary, the source echoed, or not on the page: dropped.
    assert [(t.source, t.target, t.kind) for t in result.proposed_terms] == [("こんにちは", "Hello there", "term")]
