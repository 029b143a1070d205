"""The openai_compat translator through `requests`, against the local Chat Completions server on loopback."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from translations.pipeline.contracts import (
    Box,
    Flag,
    PipelineError,
    TermProposal,
    TextBlock,
    TextLine,
    TranslationRequest,
)
from translations.pipeline.translators.dictionaries import Glossary, Term
from translations.pipeline.translators.gemini_prompt import response_schema
from translations.pipeline.translators.openai_compat import OpenAICompatTranslator
from translations.pipeline.translators.openai_config import LLMConfig
from translations.testing.chat_server import ChatServer

PRIMARY = "qwen2.5vl:7b"
FALLBACK = "llama3.2:3b"
CONTEXT = ("Page one.", "Page two.", "Page three.", "Page four.")
GLOSSARY = {
    "title": "Harbor Days",
    "honorifics": "drop",
    "characters": [{"source": "ウィキペたん", "target": "Wikipe-tan"}],
    "terms": [{"source": "係船柱", "target": "bollard", "notes": "the post ships are tied to"}],
}
TABLE = {"こんにちは": "Hello", "ありがとう": "Thanks", "係船柱！": "A bollard!"}


@pytest.fixture
def server():
    with ChatServer(table=TABLE, api_key="sk-local-test") as running:
        yield running


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def config(server, tmp_path) -> LLMConfig:
    glossary = tmp_path / "glossary.json"
    glossary.write_text(json.dumps(GLOSSARY), encoding="utf-8")
    return LLMConfig(
        base_url=server.url,
        api_key="sk-local-test",
        model=PRIMARY,
        fallback_model=FALLBACK,
        timeout_s=5,
        max_attempts=3,
        glossary=glossary,
    )


def translator(config: LLMConfig, sleeps: list[float], **changes) -> OpenAICompatTranslator:
    from dataclasses import replace

    return OpenAICompatTranslator(replace(config, **changes), sleep=sleeps.append, random=lambda: 0.5)


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


def test_it_sends_the_model_image_numbered_lines_context_glossary_and_schema(server, config, sleeps):
    result = translator(config, sleeps).translate(page("こんにちは", "ありがとう"))

    [sent] = server.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.authorization == "Bearer sk-local-test"
    assert sent.model == PRIMARY
    assert sent.body["stream"] is False
    [image_bytes] = sent.images
    image = np.asarray(Image.open(io.BytesIO(image_bytes)).convert("RGB"))
    assert image.shape == (600, 420, 3)
    red = (image[:, :, 0] > 180) & (image[:, :, 1] < 80) & (image[:, :, 2] < 80)
    assert red[60:260, 38:44].sum() > 100  # block 1's box is drawn where the block is
    assert "[1] こんにちは\n[2] ありがとう" in sent.text
    assert "exactly one item for each of these ids: 1, 2." in sent.text
    assert "Page one." not in sent.text  # only the last three pages travel
    assert "--- 3 pages back ---\nPage two." in sent.text
    assert "--- previous page ---\nPage four." in sent.text
    assert "- ウィキペたん → Wikipe-tan" in sent.text
    assert "- 係船柱 → bollard (the post ships are tied to)" in sent.text
    assert "Honorifics: Drop honorifics" in sent.text
    assert "from Japanese into English" in sent.system and "boxed in red" in sent.system
    assert "$" not in sent.system
    assert sent.response_format["type"] == "json_schema"
    assert sent.schema == response_schema((1, 2))
    assert sent.schema["properties"]["new_terms"]["items"]["required"] == ["source", "target", "kind"]
    assert sent.schema["properties"]["translations"]["minItems"] == 2
    assert result.texts == {1: "Hello", 2: "Thanks"}
    assert result.flags == {}
    assert result.models["translator"] == PRIMARY
    assert result.models["translator_input"] == "page image"
    assert result.models["translator_requests"] == f"{PRIMARY} 200"
    assert result.usage["requests"] == 1 and result.usage["prompt_tokens"] > 0


def test_vision_off_sends_text_only_as_a_plain_string(server, config, sleeps):
    translator(config, sleeps, vision="off").translate(page("こんにちは"))

    [sent] = server.requests
    assert sent.images == []
    assert isinstance(sent.messages[1]["content"], str)
    assert "You do not see the page" in sent.system


def test_vision_auto_drops_the_image_when_the_server_takes_none(server, config, sleeps):
    server.script("no_image")
    chosen = translator(config, sleeps)
    result = chosen.translate(page("こんにちは"))
    chosen.translate(page("ありがとう"))

    first, retry, next_page = server.requests
    assert first.images and not retry.images and not next_page.images  # not asked again by this translator
    assert result.texts == {1: "Hello"}
    assert result.models["translator_input"] == "text only (the model takes no images)"


def test_vision_on_fails_the_page_instead_of_dropping_the_image(server, config, sleeps):
    server.script("no_image")
    with pytest.raises(PipelineError, match="image input is not supported") as raised:
        translator(config, sleeps, vision="on").translate(page("こんにちは"))
    assert raised.value.stage == "translate"
    assert len(server.requests) == 1


def test_a_server_without_schemas_gets_json_mode_and_the_answer_is_still_validated(server, config, sleeps):
    server.script("no_schema", "missing:2")
    result = translator(config, sleeps).translate(page("こんにちは", "ありがとう"))

    schema_try, json_mode, repair = server.requests
    assert schema_try.response_format["type"] == "json_schema"
    assert json_mode.response_format == {"type": "json_object"}
    assert repair.response_format == {"type": "json_object"}
    assert repair.asked == [2]
    assert result.texts == {1: "Hello", 2: "Thanks"}
    assert result.models["translator_format"] == "json mode"


def test_a_count_mismatch_gets_one_repair_for_the_missing_ids(server, config, sleeps):
    server.script("missing:2", "missing:2")
    result = translator(config, sleeps).translate(page("こんにちは", "ありがとう"))

    first, repair = server.requests
    assert first.asked == [1, 2]
    assert repair.asked == [2]
    assert "Already translated (keep them; do not answer these ids again):\n[1] Hello" in repair.text
    assert repair.schema["properties"]["translations"]["maxItems"] == 1
    assert result.texts == {1: "Hello", 2: None}
    assert result.flags == {2: frozenset({Flag.UNTRANSLATED})}  # one repair round, then untranslated


def test_malformed_json_is_repaired_once_then_untranslated(server, config, sleeps):
    server.script("malformed", "malformed")
    result = translator(config, sleeps).translate(page("こんにちは"))

    assert len(server.requests) == 2
    assert result.texts == {1: None}
    assert result.flags == {1: frozenset({Flag.UNTRANSLATED})}


def test_an_echo_of_the_source_is_never_a_translation(server, config, sleeps):
    server.script("echo", "echo")
    result = translator(config, sleeps).translate(page("こんにちは"))

    assert result.texts == {1: None}
    assert result.flags == {1: frozenset({Flag.UNTRANSLATED})}


def test_an_unknown_model_falls_back_at_once(config, sleeps, tmp_path):
    with ChatServer(table=TABLE, unknown_models=(PRIMARY,)) as server:
        result = translator(config, sleeps, base_url=server.url).translate(page("こんにちは"))

    first, second = server.requests
    assert (first.model, second.model) == (PRIMARY, FALLBACK)
    assert sleeps == []
    assert result.texts == {1: "Hello"}
    assert result.models["translator"] == FALLBACK
    assert result.models["translator_fallback_reason"].startswith(f"{PRIMARY}: 404 The model")
    assert result.models["translator_requests"] == f"{PRIMARY} 404; {FALLBACK} 200"


def test_429_waits_the_retry_after_then_retries_the_same_model(server, config, sleeps):
    server.script("rate_limited:7")
    result = translator(config, sleeps).translate(page("こんにちは"))

    assert [r.model for r in server.requests] == [PRIMARY, PRIMARY]
    assert sleeps == [7.0]
    assert result.usage["request_1_http_status"] == 429
    assert result.texts == {1: "Hello"}


def test_a_retry_after_longer_than_we_wait_goes_to_the_fallback(server, config, sleeps):
    server.script("rate_limited:600")
    result = translator(config, sleeps).translate(page("こんにちは"))

    assert [r.model for r in server.requests] == [PRIMARY, FALLBACK]
    assert sleeps == []
    assert "Retry-After 600 s is longer than we wait" in result.models["translator_fallback_reason"]


def test_5xx_backs_off_with_jitter_then_the_fallback_answers(server, config, sleeps):
    server.script("unavailable", "server_error", "unavailable")
    result = translator(config, sleeps).translate(page("こんにちは"))

    assert [r.model for r in server.requests] == [PRIMARY] * 3 + [FALLBACK]
    assert sleeps == [0.75, 1.5]  # 1 s then 2 s, equal jitter at random() = 0.5
    assert result.models["translator"] == FALLBACK
    assert result.models["translator_requests"] == f"{PRIMARY} 503; {PRIMARY} 500; {PRIMARY} 503; {FALLBACK} 200"


def test_the_fallback_failing_too_fails_the_page_at_translate(server, config, sleeps):
    server.script(*["unavailable"] * 6)
    with pytest.raises(PipelineError, match=f"{FALLBACK}: 503") as raised:
        translator(config, sleeps).translate(page("こんにちは"))
    assert raised.value.stage == "translate"


def test_a_timeout_is_retried(server, config, sleeps):
    server.script("slow:2")
    result = translator(config, sleeps, timeout_s=0.3).translate(page("こんにちは"))

    assert result.usage["request_1_http_status"] == 0
    assert result.texts == {1: "Hello"}


def test_a_refusal_with_the_image_is_asked_again_without_it(server, config, sleeps):
    server.script("refusal_if_image")
    result = translator(config, sleeps).translate(page("こんにちは"))

    with_image, without = server.requests
    assert with_image.images and not without.images
    assert result.texts == {1: "Hello"}
    assert result.models["translator_input"] == "dropped after refusal: I can't help with that."


def test_a_refusal_without_the_image_too_marks_the_regions_blocked(server, config, sleeps):
    server.script("refusal", "content_filter")
    result = translator(config, sleeps).translate(page("こんにちは", "ありがとう"))

    assert len(server.requests) == 2
    assert result.texts == {1: None, 2: None}
    assert result.flags == {1: frozenset({Flag.BLOCKED}), 2: frozenset({Flag.BLOCKED})}
    assert result.models["translator_input"].endswith("; refused: content_filter")


def test_a_wrong_key_fails_the_page_without_retry_or_fallback(server, config, sleeps):
    with pytest.raises(PipelineError, match="401: Incorrect API key") as raised:
        translator(config, sleeps, api_key="sk-wrong").translate(page("こんにちは"))
    assert raised.value.stage == "translate"
    assert len(server.requests) == 1


def test_new_terms_from_the_page_are_proposed_and_the_rest_ignored(server, config, sleeps):
    # On the page and new → proposed; not on the page, already in the glossary, or the source echoed → dropped.
    server.script("terms:港=the harbor;鉄のキノコ=iron mushroom;ウィキペたん=Wiki;係船柱=bollard;港=again;あれ=あれ")
    result = translator(config, sleeps).translate(page("港に生えてる", "ウィキペたんと係船柱", "あれ？"))

    assert result.proposed_terms == (TermProposal(source="港", target="the harbor", kind="term"),)


def test_learned_terms_go_into_the_prompt_and_replace_file_entries(server, config, sleeps):
    learned = Glossary(characters=(Term("ウィキペたん", "Wikipe"),), terms=(Term("港", "port"),))
    translator(config, sleeps, learned=learned).translate(page("こんにちは"))

    [sent] = server.requests
    assert "- 港 → port" in sent.text
    assert "- ウィキペたん → Wikipe\n" in sent.text
    assert "Wikipe-tan" not in sent.text


def test_config_from_values_reads_the_settings_names(tmp_path):
    values = {
        "MANGA_LLM_BASE_URL": "http://127.0.0.1:11434/v1/",
        "MANGA_LLM_MODEL": "qwen2.5vl:7b",
        "MANGA_LLM_FALLBACK_MODEL": "qwen2.5vl:7b",
        "MANGA_LLM_VISION": "off",
        "MANGA_LLM_TIMEOUT_SEC": "30",
    }
    config = LLMConfig.from_values(values.get)
    assert config is not None
    assert config.base_url == "http://127.0.0.1:11434/v1"
    assert config.fallback_model is None  # the same as the primary: no fallback
    assert (config.vision, config.timeout_s, config.api_key) == ("off", 30.0, "")
    assert LLMConfig.from_values({"MANGA_LLM_MODEL": "x"}.get) is None
    with pytest.raises(ValueError, match="MANGA_LLM_VISION"):
        LLMConfig.from_values({**values, "MANGA_LLM_VISION": "maybe"}.get)


def test_the_factory_builds_it_and_says_what_is_missing(config):
    from translations.pipeline.factory import get_translator

    assert isinstance(get_translator("openai_compat", llm=config), OpenAICompatTranslator)
    with pytest.raises(PipelineError, match="MANGA_LLM_BASE_URL and MANGA_LLM_MODEL"):
        get_translator("openai_compat")
