"""Find the lettering font for a target language: the repository's fonts/, `$MANGA_FONT_DIR`, or Debian's."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIR_ENV = "MANGA_FONT_DIR"
REPO_FONT_DIR = Path(__file__).resolve().parents[2] / "fonts"
SYSTEM_FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/opentype/comic-neue"))
LATIN_FONT = "ComicNeue-Bold.otf"
CJK_FONT_FULL = "NotoSansCJK-Regular.ttc"  # Debian fonts-noto-cjk: every glyph, regional forms
CJK_FONT_SUBSET = "NotoSansCJKjp-Regular-subset.otf"  # bundled: JIS X 0208 + GB 2312 + Hangul
_TTC_FACE = {"ja": 0, "ko": 1, "zh": 2, "zh-hant": 3}  # face order inside NotoSansCJK-Regular.ttc


class FontMissing(RuntimeError):
    """No font for a language was found on the search path."""


@dataclass(frozen=True)
class FontChoice:
    path: Path
    index: int = 0  # face inside a .ttc collection


def font_search_dirs() -> list[Path]:
    """`$MANGA_FONT_DIR`, then the repository's fonts/, then where Debian installs the same fonts."""
    env = os.environ.get(FONT_DIR_ENV)
    return ([Path(env)] if env else []) + [REPO_FONT_DIR, *SYSTEM_FONT_DIRS]


def find_font(language: str, text: str = "") -> FontChoice:
    """Comic Neue for languages in Latin script, Noto Sans CJK for CJK and whatever Comic Neue lacks."""
    lang = language_key(language)
    dirs = font_search_dirs()
    if lang not in _TTC_FACE:
        for d in dirs:
            choice = FontChoice(d / LATIN_FONT)
            if choice.path.is_file() and all(ch.isspace() or _has_glyph(choice, ch) for ch in set(text)):
                return choice
    # Noto Sans CJK also carries Latin, Greek and Cyrillic. The full system collection, where
    # installed, has every glyph and each region's forms; the bundled subset has the common ones.
    for name, index in ((CJK_FONT_FULL, _TTC_FACE.get(lang, 0)), (CJK_FONT_SUBSET, 0)):
        for d in dirs:
            if (d / name).is_file():
                return FontChoice(d / name, index)
    raise FontMissing(
        f"no font for {language!r} in {', '.join(map(str, dirs))}: restore the repository's fonts/ "
        f"or set {FONT_DIR_ENV} (see fonts/README.md)"
    )


def language_key(code: str) -> str:
    """'ja', 'ko', 'zh' (simplified), 'zh-hant' (traditional), or the base code of any other language."""
    code = code.lower().replace("_", "-")
    if code.startswith("zh"):
        return "zh-hant" if any(tag in code for tag in ("hant", "tw", "hk", "mo")) else "zh"
    return code.split("-")[0]


@lru_cache(maxsize=4096)
def _has_glyph(choice: FontChoice, ch: str) -> bool:
    # Pillow cannot ask for a glyph index; a missing character renders as .notdef, like a noncharacter.
    font = ImageFont.truetype(str(choice.path), 24, index=choice.index, layout_engine=ImageFont.Layout.BASIC)
    return _render(font, ch) != _render(font, "\U0010fffd")


def _render(font: ImageFont.FreeTypeFont, ch: str) -> bytes:
    cell = Image.new("L", (48, 48), 0)
    ImageDraw.Draw(cell).text((8, 8), ch, font=font, fill=255)
    return cell.tobytes()
