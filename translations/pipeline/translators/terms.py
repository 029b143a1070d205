"""New glossary terms a translator's answer proposes (`new_terms`), checked the same way for every translator.

The answer schema asks for `new_terms: [{source, target, kind}]` beside the translations (gemini_prompt.py); a
proposal is kept only if its source occurs in the page's OCR text, is new to the glossary, differs from its
target, and appears once; at most `MAX_PROPOSALS` per page. Staff decide on them (docs/glossary.md).
"""

from __future__ import annotations

import json
import re

from translations.pipeline.contracts import TermProposal
from translations.pipeline.translators.dictionaries import Glossary

MAX_PROPOSALS = 20  # per page: a model that lists every word is not building a glossary
TERM_KINDS = ("character", "term")
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")

TERMS_SCHEMA = {
    "type": "array",
    "maxItems": MAX_PROPOSALS,
    "items": {
        "type": "object",
        "properties": {
            "source": {"type": "string"},
            "target": {"type": "string"},
            "kind": {"type": "string", "enum": list(TERM_KINDS)},
        },
        "required": ["source", "target", "kind"],
    },
}


def page_proposals(answers: list[str], *, page_text: str, glossary: Glossary) -> tuple[TermProposal, ...]:
    """The usable `new_terms` of every answer of one page, first proposal per source."""
    seen: dict[str, TermProposal] = {}
    for answer in answers:
        for item in _new_terms(answer):
            source, target = item.source.strip(), item.target.strip()
            if not source or not target or source == target or source not in page_text:
                continue
            if source in seen or glossary.knows(source):
                continue
            seen[source] = TermProposal(source=source, target=target, kind=item.kind)
    return tuple(seen.values())[:MAX_PROPOSALS]


def _new_terms(answer: str) -> list[TermProposal]:
    try:
        data = json.loads(_FENCE.sub("", answer.strip()))
    except json.JSONDecodeError:
        return []
    items = data.get("new_terms") if isinstance(data, dict) else None
    terms = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("source"), str) and isinstance(item.get("target"), str):
            kind = item.get("kind") if item.get("kind") in TERM_KINDS else "term"
            terms.append(TermProposal(source=item["source"], target=item["target"], kind=str(kind)))
    return terms
