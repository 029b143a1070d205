"""`manage.py scrape` against the local site."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from scraper.models import Download, Source
from scraper.tests.helpers import make_source
from translations.models import Chapter

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("scrape", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_search_prints_title_and_url(site):
    make_source(site)
    out, err = run("search", site.url, "night")
    assert out == f"Night Sea\t{site.url}manga/night-sea/\n"
    assert "1 result(s)" in err


def test_an_unknown_host_gets_the_generic_provider_and_says_so(site):
    out, err = run("chapters", f"{site.url}manga/night-sea/")
    assert "generic Madara preset" in err
    assert Source.objects.get().host == "127.0.0.1"
    assert out.splitlines() == [
        f"7\tThe Sea\t{site.url}manga/night-sea/chapter-7/\tnew",
        f"8\tSlow Tide\t{site.url}manga/night-sea/chapter-8/\tnew",
    ]


def test_download_sync_imports_the_chosen_chapters(site):
    make_source(site)
    out, _ = run("download", f"{site.url}manga/blue-sky/", "--chapters", "1-2,2.5", "--sync")
    assert [str(n) for n in Chapter.objects.order_by("number").values_list("number", flat=True)] == [
        "1.00",
        "2.00",
        "2.50",
    ]
    assert "chapter 2.5: success" in out
    out, _ = run("chapters", f"{site.url}manga/blue-sky/")
    assert [line.rsplit("\t", 1)[1] for line in out.splitlines()] == ["in library", "in library", "in library", "new"]


def test_download_exits_non_zero_unless_every_chapter_was_imported(site):
    make_source(site)
    with pytest.raises(CommandError, match="1 of 4 chapter"):
        run("download", f"{site.url}manga/blue-sky/", "--chapters", "new", "--sync")  # 3 has an HTML image
    assert Download.objects.get(chapter_number=3).status == Download.Status.PARTIAL
    assert Chapter.objects.count() == 3  # 1, 2 and 2.5; nothing of 3


def test_a_bad_selection_is_refused_with_the_expected_form(site):
    make_source(site)
    with pytest.raises(CommandError, match=r"write e\.g\. 1-3,7"):
        run("download", f"{site.url}manga/blue-sky/", "--chapters", "three", "--sync")


def test_a_blocked_address_is_an_error_with_its_code(settings):
    settings.MANGA_SCRAPER_ALLOWED_NETWORKS = []
    with pytest.raises(CommandError, match=r"\[blocked_address\]"):
        run("search", "http://localhost:9/", "x")
