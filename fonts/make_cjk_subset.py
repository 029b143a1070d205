"""Rebuild NotoSansCJKjp-Regular-subset.otf from Debian's full Noto Sans CJK collection.

Run with fontTools (Debian python3-fonttools, or pip), for example:
    apt-get install -y fonts-noto-cjk python3-fonttools
    python3 fonts/make_cjk_subset.py /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc \
        fonts/NotoSansCJKjp-Regular-subset.otf
"""

from __future__ import annotations

import sys

from fontTools import subset

# Latin (with Vietnamese), Greek, Cyrillic, general punctuation, arrows, enclosed numbers, box drawing,
# CJK symbols, kana, Hangul compatibility jamo, fullwidth and vertical forms.
RANGES = [
    (0x20, 0x7F), (0xA0, 0x250), (0x370, 0x460), (0x1E00, 0x1F00), (0x2000, 0x2070),
    (0x2150, 0x2200), (0x2460, 0x2700), (0x3000, 0x3100), (0x3130, 0x3190), (0x31F0, 0x3200),
    (0xFE10, 0xFE20), (0xFE30, 0xFE50), (0xFF00, 0xFFF0),
    (0xAC00, 0xD7A4),  # every modern Hangul syllable
]  # fmt: skip


def double_byte(codec: str) -> set[int]:
    """Every character of a two-byte legacy charset: JIS X 0208 (levels 1-2), GB 2312, KS X 1001."""
    found: set[int] = set()
    for lead in range(0xA1, 0xFF):
        for trail in range(0xA1, 0xFF):
            try:
                found.update(map(ord, bytes([lead, trail]).decode(codec)))
            except UnicodeDecodeError:
                pass
    return found


def codepoints() -> set[int]:
    points = {c for start, stop in RANGES for c in range(start, stop)}
    points |= double_byte("euc_jp") | double_byte("gb2312")
    # KS X 1001's symbols and Hangul, not its 4,888 hanja: modern Korean rarely prints them.
    points |= {c for c in double_byte("euc_kr") if not 0x4E00 <= c <= 0x9FFF}
    return points


def main(source: str, target: str) -> None:
    options = subset.Options()
    options.font_number = 0  # the Japanese face of the collection
    # Vertical forms (upright punctuation, turned brackets) and kerning; no 'locl', whose
    # other-region glyphs would double the size.
    options.layout_features = ["vert", "vrt2", "kern", "vkrn", "halt", "vhal"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    font = subset.load_font(source, options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codepoints())
    subsetter.subset(font)
    subset.save_font(font, target, options)


if __name__ == "__main__":
    main(*sys.argv[1:3])
