"""Replacement dictionaries applied around translation, and the per-manga glossary (`dict/`, see its README)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

# A comment starts at a `#` that opens the line or follows whitespace, so `#1` inside a term survives.
_COMMENT = re.compile(r"(^|\s+)#.*$")
HONORIFIC_POLICIES = {
    "keep": "Keep Japanese honorifics as romanised suffixes (-san, -chan, -kun, -sama, -senpai).",
    "translate": "Render honorifics as natural forms of address in the target language (Mr., Ms., sir), or omit them.",
    "drop": "Drop honorifics; use bare names.",
}


class DictionaryError(ValueError):
    """A dictionary or glossary file that cannot be used; the message names the file and the line or field."""


@dataclass(frozen=True)
class ReplacementDict:
    """Ordered plain-text replacements (`source<TAB>target  # comment`), applied in file order."""

    pairs: tuple[tuple[str, str], ...] = ()

    def apply(self, text: str) -> str:
        for source, target in self.pairs:
            text = text.replace(source, target)
        return text

    @classmethod
    def parse(cls, text: str, *, name: str = "<dict>") -> ReplacementDict:
        pairs = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = _COMMENT.sub("", raw)
            if not line.strip():
                continue
            source, tab, target = line.partition("\t")
            if not tab or not source:
                raise DictionaryError(f"{name}:{number}: expected `source<TAB>target`, got {raw!r}")
            # Trailing whitespace is editor noise; leading spaces in the target are kept on purpose.
            pairs.append((source, target.rstrip()))
        return cls(tuple(pairs))

    @classmethod
    def load(cls, path: Path | None) -> ReplacementDict:
        """An absent file is an empty dictionary: both files are optional."""
        if path is None or not path.is_file():
            return cls()
        return cls.parse(path.read_text(encoding="utf-8"), name=str(path))


@dataclass(frozen=True)
class Term:
    source: str
    target: str
    notes: str = ""


@dataclass(frozen=True)
class Glossary:
    """What the translator must keep consistent across a manga: names, terms, honorifics and style."""

    title: str = ""
    characters: tuple[Term, ...] = ()
    terms: tuple[Term, ...] = ()
    honorifics: str = "keep"
    style: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.title or self.characters or self.terms or self.style)

    def merged(self, learned: Glossary) -> Glossary:
        """This glossary plus the terms staff accepted for the manga (the database's part); a learned entry replaces
        a file entry with the same source, wherever it stood."""
        if learned.empty:
            return self
        sources = {term.source for term in (*learned.characters, *learned.terms)}
        return replace(
            self,
            characters=tuple(t for t in self.characters if t.source not in sources) + learned.characters,
            terms=tuple(t for t in self.terms if t.source not in sources) + learned.terms,
        )

    def knows(self, source: str) -> bool:
        return any(term.source == source for term in (*self.characters, *self.terms))

    def prompt_text(self) -> str:
        """The glossary as the prompt states it; honorific policy always included."""
        lines = [f"Title: {self.title}"] if self.title else []
        if self.characters:
            lines.append("Character names (use exactly these spellings):")
            lines += [_term_line(term) for term in self.characters]
        if self.terms:
            lines.append("Terms (use these translations consistently):")
            lines += [_term_line(term) for term in self.terms]
        lines.append(f"Honorifics: {HONORIFIC_POLICIES[self.honorifics]}")
        if self.style:
            lines.append("Style notes:")
            lines += [f"- {note}" for note in self.style]
        return "\n".join(lines)

    @classmethod
    def from_dict(cls, data: object, *, name: str = "<glossary>") -> Glossary:
        if not isinstance(data, dict):
            raise DictionaryError(f"{name}: a glossary is a JSON object")
        unknown = set(data) - {"title", "characters", "terms", "honorifics", "style", "source_language", "comment"}
        if unknown:
            raise DictionaryError(f"{name}: unknown field(s) {', '.join(sorted(unknown))}")
        honorifics = data.get("honorifics", "keep")
        if honorifics not in HONORIFIC_POLICIES:
            raise DictionaryError(f"{name}: honorifics must be one of {', '.join(HONORIFIC_POLICIES)}")
        style = data.get("style", [])
        if isinstance(style, str):
            style = [style]
        if not isinstance(style, list) or not all(isinstance(note, str) for note in style):
            raise DictionaryError(f"{name}: style is a string or a list of strings")
        return cls(
            title=str(data.get("title", "")),
            characters=_terms(data.get("characters", []), f"{name}: characters"),
            terms=_terms(data.get("terms", []), f"{name}: terms"),
            honorifics=honorifics,
            style=tuple(style),
        )

    @classmethod
    def load(cls, path: Path | None) -> Glossary:
        if path is None:
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise DictionaryError(f"{path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise DictionaryError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
        return cls.from_dict(data, name=str(path))


def _terms(items: object, where: str) -> tuple[Term, ...]:
    if not isinstance(items, list):
        raise DictionaryError(f"{where} is a list of {{source, target, notes}} objects")
    terms = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("source") or not item.get("target"):
            raise DictionaryError(f"{where}[{index}] needs a non-empty source and target")
        terms.append(Term(str(item["source"]), str(item["target"]), str(item.get("notes", ""))))
    return tuple(terms)


def _term_line(term: Term) -> str:
    return f"- {term.source} → {term.target}" + (f" ({term.notes})" if term.notes else "")
