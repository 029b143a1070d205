from __future__ import annotations

from decimal import Decimal

import pytest

from scraper.providers.chapter_numbers import chapter_title, parse_chapter_number


@pytest.mark.parametrize(
    ("label", "number"),
    [
        ("Chapter 10.5", "10.5"),
        ("Ch. 7 - The Sea", "7"),
        ("الفصل 3", "3"),
        ("الفصل ١٢", "12"),
        ("第12話", "12"),
        ("제 5 화", "5"),
        ("Episode 12 [END]", "12"),
        ("Chapter 0", "0"),
        ("Vol. 2 Chapter 15", "15"),
        ("Chapter 3,5", "3.5"),
        ("  chapter   004  ", "4"),
    ],
)
def test_it_reads_the_chapter_number_as_sites_write_it(label, number):
    assert parse_chapter_number(label) == Decimal(number)


def test_it_falls_back_to_the_url_slug():
    assert parse_chapter_number("Bonus", "https://s.example/manga/x/chapter-10-5/") == Decimal("10.5")
    assert parse_chapter_number("Special", "https://s.example/manga/x/extra/") is None


def test_it_refuses_numbers_the_library_cannot_hold():
    assert parse_chapter_number("Chapter 12345678") is None


@pytest.mark.parametrize(
    ("label", "title"),
    [("Ch. 7 - The Sea", "The Sea"), ("Chapter 2", ""), ("Chapter 4: Home", "Home"), ("제 5 화 바다", "바다")],
)
def test_it_keeps_the_title_after_the_number(label, title):
    assert chapter_title(label) == title
