"""Chapter labels as sites write them → the library's decimal chapter numbers.

"Chapter 10.5", "Ch. 7 - The Sea", "الفصل 3", "第12話", "제 5 화", "Episode 12 [END]", and URL slugs
such as "chapter-10-5". Digits of any script count (Arabic-Indic ٣ is 3).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

# A keyword, then the number: the number that follows a keyword wins over any other in the label.
_KEYWORD = re.compile(
    r"(?:chapter|chap|ch|episode|ep|capitulo|capítulo|cap|chapitre|kapitel|глава|bölüm|chương|ตอนที่|الفصل|فصل"
    r"|第|제|话|話)\s*[.:#-]?\s*(\d+(?:[.,]\d+)?)",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_SLUG = re.compile(r"(?:chapter|chap|ch|episode|ep)[-_]?(\d+)(?:[-_.](\d{1,2}))?(?:[-_/]|$)", re.IGNORECASE)
_SEPARATOR = re.compile(r"^\s*[-–—:|.]\s*")


def normalise_digits(text: str) -> str:
    """Every decimal digit of any script as its ASCII digit."""
    return "".join(str(unicodedata.digit(char)) if char.isdigit() and not char.isascii() else char for char in text)


def parse_chapter_number(label: str, url: str = "") -> Decimal | None:
    """The chapter number in `label` (else in the URL's last path segments), or None."""
    text = normalise_digits(unicodedata.normalize("NFKC", label))
    match = _KEYWORD.search(text) or _NUMBER.search(text)
    if match:
        return _decimal(match.group(1) if match.re is _KEYWORD else match.group(0))
    if url:
        path = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
        slug = _SLUG.search(path + "/")
        if slug:
            return _decimal(slug.group(1) + (f".{slug.group(2)}" if slug.group(2) else ""))
    return None


def chapter_title(label: str) -> str:
    """The title after the number: "Ch. 7 - The Sea" → "The Sea"; "" when there is none."""
    text = normalise_digits(unicodedata.normalize("NFKC", label))
    match = _KEYWORD.search(text) or _NUMBER.search(text)
    if not match:
        return ""
    rest = text[match.end() :]
    rest = re.sub(r"^\s*(?:화|話|话|章)", "", rest)
    return _SEPARATOR.sub("", rest).strip()


def _decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None
    if not number.is_finite() or number < 0 or number >= Decimal(10) ** 6:
        return None
    return number.quantize(Decimal("0.01")).normalize() if number != number.to_integral() else number.to_integral()
