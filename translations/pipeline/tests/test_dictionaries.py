"""Pre/post replacement dictionaries and the per-manga glossary: file formats, errors, the shipped examples."""

from __future__ import annotations

import json

import pytest

from translations.pipeline.translators.dictionaries import DictionaryError, Glossary, ReplacementDict
from translations.pipeline.translators.gemini_config import DEFAULT_DICT_DIR


def test_rules_apply_in_file_order_and_comments_are_ignored():
    rules = ReplacementDict.parse("# header\n\nab\tx  # first\nxc\ty\n")

    assert rules.pairs == (("ab", "x"), ("xc", "y"))
    assert rules.apply("abc abc") == "y y"  # the second rule sees the first one's output


def test_an_empty_target_deletes_and_leading_spaces_in_a_target_are_kept():
    rules = ReplacementDict.parse("(笑)\t\n!\t !  # French spacing\n")

    assert rules.apply("ok(笑)!") == "ok !"


def test_a_hash_inside_a_term_is_not_a_comment():
    assert ReplacementDict.parse("No.#1\tNumber one\n").apply("No.#1") == "Number one"


def test_a_line_without_a_tab_is_refused_with_its_file_and_line():
    with pytest.raises(DictionaryError, match=r"pre_dict.txt:2: expected `source<TAB>target`"):
        ReplacementDict.parse("a\tb\nno tab here\n", name="pre_dict.txt")


def test_an_absent_dictionary_file_is_empty(tmp_path):
    assert ReplacementDict.load(tmp_path / "missing.txt").apply("same") == "same"


def test_the_shipped_dictionaries_and_example_glossary_load():
    pre = ReplacementDict.load(DEFAULT_DICT_DIR / "pre_dict.txt")
    post = ReplacementDict.load(DEFAULT_DICT_DIR / "post_dict.txt")
    glossary = Glossary.load(DEFAULT_DICT_DIR / "glossaries" / "example.json")

    assert pre.apply("え・・・") == "え…"
    assert post.apply("What‼") == "What!!"
    assert glossary.characters[0].target == "Wikipe-tan"
    assert "- 係船柱 → bollard (the post ships are tied to)" in glossary.prompt_text()


def test_the_glossary_prompt_states_names_terms_honorifics_and_style():
    glossary = Glossary.from_dict(
        {
            "title": "T",
            "honorifics": "translate",
            "characters": [{"source": "太郎", "target": "Taro"}],
            "terms": [{"source": "気", "target": "ki", "notes": "life force"}],
            "style": "Terse.",
        }
    )

    assert glossary.prompt_text() == (
        "Title: T\n"
        "Character names (use exactly these spellings):\n- 太郎 → Taro\n"
        "Terms (use these translations consistently):\n- 気 → ki (life force)\n"
        "Honorifics: Render honorifics as natural forms of address in the target language (Mr., Ms., sir), "
        "or omit them.\n"
        "Style notes:\n- Terse."
    )


def test_no_glossary_still_states_the_default_honorific_policy():
    assert Glossary.load(None).prompt_text().startswith("Honorifics: Keep Japanese honorifics")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "a glossary is a JSON object"),
        ({"honorific": "keep"}, "unknown field"),
        ({"honorifics": "sometimes"}, "honorifics must be one of keep, translate, drop"),
        ({"terms": [{"source": "気"}]}, r"terms\[0\] needs a non-empty source and target"),
        ({"characters": {"太郎": "Taro"}}, "characters is a list"),
        ({"style": [1]}, "style is a string or a list of strings"),
    ],
)
def test_a_broken_glossary_is_refused_with_what_is_wrong(tmp_path, data, message):
    path = tmp_path / "glossary.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(DictionaryError, match=message):
        Glossary.load(path)


def test_a_glossary_that_is_not_json_is_refused_with_its_line(tmp_path):
    path = tmp_path / "glossary.json"
    path.write_text('{\n  "title": "x",\n}', encoding="utf-8")

    with pytest.raises(DictionaryError, match=r"glossary.json:3: invalid JSON"):
        Glossary.load(path)
