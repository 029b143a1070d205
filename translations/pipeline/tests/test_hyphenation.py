"""Hyphenation and wrapping rules: long common words may break, short words and names never; script by word."""

from __future__ import annotations

import cv2
import numpy as np

from translations.pipeline.fonts import find_font
from translations.pipeline.lettering import TextShape, Typesetter, names, written_in_cjk


def narrow_shape(w: int = 70, h: int = 220) -> TextShape:
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, h // 2), (w // 2 - 2, h // 2 - 2), 0, 0, 360, 1, -1)
    return TextShape(mask.astype(bool))


def set_text(text: str, shape: TextShape | None = None, low: int = 10, high: int = 30):
    setter = Typesetter(find_font("en"), shape or narrow_shape(), text, "en", False, 0, False)
    return setter.best(low, high)


def test_a_long_common_word_in_a_narrow_balloon_is_hyphenated():
    size, placed, overflow = set_text("It was incomprehensibly complicated!")
    assert not overflow and size >= 10
    assert any(p.text.endswith("-") for p in placed)


def test_words_under_seven_letters_are_never_hyphenated():
    # Narrow enough that splitting would allow bigger letters: the words stay whole and the size gives way.
    # "around," and "beyond," are seven characters but six letters.
    size, placed, overflow = set_text("Wonder around, listen, follow, beyond, oh!", narrow_shape(60, 260))
    assert not overflow and size >= 10
    assert not any(p.text.endswith("-") for p in placed), [p.text for p in placed]
    words = {w for p in placed for w in p.text.split()}
    assert {"Wonder", "around,", "listen,", "follow,", "beyond,", "oh!"} == words


def test_names_are_never_hyphenated_but_a_sentences_first_word_may_be():
    assert names(["thank", "you,", "Kurehashiro!", "Incredible."]) == {"Kurehashiro!"}
    assert names(["Incomprehensibly", "complicated.", "Absolutely."]) == set()
    size, placed, overflow = set_text("thank you, Kurehashiro, for everything", narrow_shape(84, 300), high=40)
    assert not overflow
    assert "Kurehashiro," in [w for p in placed for w in p.text.split()], [p.text for p in placed]
    # The same letters, not a name: hyphenated to set the text larger.
    size_common, placed_common, _ = set_text("thank you, kurehashiro, for everything", narrow_shape(84, 300), high=40)
    assert any(p.text.endswith("-") for p in placed_common) and size_common > size


def test_a_hyphenated_name_breaks_at_its_own_hyphen_and_nowhere_else():
    size, placed, overflow = set_text("i can do it, Karasuma-san!", narrow_shape(80, 200), low=14, high=14)
    assert not overflow and size == 14
    assert [p.text for p in placed][-2:] == ["Karasuma-", "san!"]


def test_one_cjk_mark_in_an_english_line_does_not_turn_it_into_per_character_wrapping():
    assert not written_in_cjk("Don't go ー please, wait for me")
    assert not written_in_cjk("Hiroya-kun!? 焼")  # one ideograph in an English sentence
    assert written_in_cjk("焼いたーー!? 本当に")
    setter = Typesetter(
        find_font("en", "wait ー"), narrow_shape(160, 160), "Don't go ー please, wait", "en", False, 0, False
    )
    size, placed, overflow = setter.best(10, 30)
    assert setter.joiner == " " and not overflow and size > 10
    assert all(" " in p.text or p.text in {"Don't", "go", "ー", "please,", "wait"} for p in placed)
