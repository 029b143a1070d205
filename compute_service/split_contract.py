"""The split compute path's wire format (docs/compute-service.md, *Split path*), imported by both sides.

    POST /internal/translate/detect   multipart: image, source_language → JSON: key, ttl_s, blocks, timings
    POST /internal/translate/render   JSON: key, translations (+ flags, models, usage) → as /internal/translate/page

Detection (load → detect → OCR → group) runs on the service and is kept there under an opaque key for `ttl_s`
seconds; the worker translates the blocks itself, then asks the service to erase, letter and encode. A render
whose key the service no longer has answers 410 `read_expired`: the worker falls back to the unified path.
Same token, headers, limits and contract version as `/internal/translate/page`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from compute_service.contract import TRANSLATORS, ContractError, ErrorCode
from compute_service.multipart import media_type
from translations.pipeline.contracts import Box, Flag, TextBlock, TextLine, TranslationResult

DETECT_PATH = "/internal/translate/detect"
RENDER_PATH = "/internal/translate/render"
READ_EXPIRED = "read_expired"  # code of the 410 a render gets when its key expired or was evicted
KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")
MAX_TEXT_CHARS = 2_000  # per block: far above a balloon of dialogue
MAX_BLOCKS = 2_000


@dataclass(frozen=True)
class DetectedBlock:
    """What the worker's translator needs of a text block: its id, box, direction, text and flags."""

    id: int
    box: list[int]  # [x, y, w, h]
    vertical: bool
    source_text: str
    flags: list[str]

    def to_text_block(self) -> TextBlock:
        """A TextBlock with one line holding the whole text: same id, box, source text and flags as the service's."""
        box = Box(*self.box)
        polygon = ((box.x, box.y), (box.right, box.y), (box.right, box.bottom), (box.x, box.bottom))
        line = TextLine(box=box, polygon=polygon, vertical=self.vertical, text=self.source_text)
        flags = frozenset(Flag(flag) for flag in self.flags)
        return TextBlock(id=self.id, box=box, lines=(line,), vertical=self.vertical, flags=flags)


@dataclass(frozen=True)
class DetectResult:
    key: str
    ttl_s: int
    blocks: list[DetectedBlock]
    timings_ms: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> bytes:
        payload = {
            "key": self.key,
            "ttl_s": self.ttl_s,
            "blocks": [block.__dict__ for block in self.blocks],
            "timings_ms": self.timings_ms,
        }
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, body: bytes) -> DetectResult:
        try:
            data = json.loads(body)
            blocks = [DetectedBlock(**block) for block in data["blocks"]]
            return cls(key=str(data["key"]), ttl_s=int(data["ttl_s"]), blocks=blocks, timings_ms=data["timings_ms"])
        except (ValueError, TypeError, KeyError) as exc:
            raise ContractError(ErrorCode.INTERNAL, f"malformed detect answer: {exc}", status=502) from None


@dataclass(frozen=True)
class RenderRequest:
    key: str
    target_language: str
    translator: str  # the name in the report (and whether it letters: `none` only cleans)
    result: TranslationResult  # what the worker's translator answered
    translate_ms: int = 0  # how long it took, for the report's timings

    def to_json(self) -> bytes:
        payload = {
            "key": self.key,
            "target_language": self.target_language,
            "translator": self.translator,
            "texts": {str(i): text for i, text in self.result.texts.items()},
            "flags": {str(i): sorted(flags) for i, flags in self.result.flags.items()},
            "models": self.result.models,
            "usage": self.result.usage,
            "proposed_terms": [term.__dict__ for term in self.result.proposed_terms],
            "translate_ms": self.translate_ms,
        }
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def parse_render_request(content_type: str, body: bytes) -> RenderRequest:
    """The service's side: a validated RenderRequest, or ContractError (400)."""
    from translations.pipeline.contracts import TermProposal
    from translations.pipeline.languages import TARGET_LANGUAGES

    if media_type(content_type) != "application/json":
        raise ContractError(ErrorCode.BAD_REQUEST, "a render request is application/json")
    try:
        data = json.loads(body)
        key, target, translator = str(data["key"]), str(data["target_language"]), str(data["translator"])
        texts = {int(i): (None if text is None else str(text)) for i, text in dict(data["texts"]).items()}
        flags = {int(i): frozenset(Flag(flag) for flag in values) for i, values in dict(data.get("flags", {})).items()}
        models = {str(k): str(v) for k, v in dict(data.get("models", {})).items()}
        usage = {str(k): int(v) for k, v in dict(data.get("usage", {})).items()}
        terms = tuple(TermProposal(**term) for term in data.get("proposed_terms", []))
        translate_ms = int(data.get("translate_ms", 0))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ContractError(ErrorCode.BAD_REQUEST, f"malformed render request: {exc}") from None
    if not KEY_PATTERN.match(key):
        raise ContractError(ErrorCode.BAD_REQUEST, "key is not one this service hands out")
    if target not in TARGET_LANGUAGES:
        raise ContractError(ErrorCode.UNKNOWN_LANGUAGE, f"unknown target language {target!r}")
    if translator not in TRANSLATORS:
        raise ContractError(ErrorCode.UNKNOWN_TRANSLATOR, f"unknown translator {translator!r}")
    if len(texts) > MAX_BLOCKS or any(text is not None and len(text) > MAX_TEXT_CHARS for text in texts.values()):
        raise ContractError(ErrorCode.BAD_REQUEST, f"at most {MAX_BLOCKS} texts of ≤ {MAX_TEXT_CHARS} characters")
    result = TranslationResult(texts=texts, flags=flags, models=models, usage=usage, proposed_terms=terms)
    return RenderRequest(key, target, translator, result, translate_ms)
