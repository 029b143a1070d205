"""The seams, checked on the source: one owner for events, page reports, names and the compute contract.

- every job event is written by a `record_*` constructor in translations/progress.py, so no
  payload is built as a literal dict anywhere else;
- a page report is read by its properties outside translations/pipeline/report.py, never by key;
- the web side imports only the wire contract from compute_service/;
- the translator and language names the models, contract, commands and checks use are the pipeline's.
"""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest

from compute_service import contract
from mangasite import checks
from translations import models, progress
from translations.management.commands import translate_chapter, translate_page
from translations.pipeline import languages, report, translators

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("translations", "mangasite", "compute_service", "scraper")
PROGRESS = "translations/progress.py"
REPORT = "translations/pipeline/report.py"


def production_modules() -> list[Path]:
    """Every module of the apps but tests and migrations."""
    paths = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts:
                continue
            paths.append(path)
    return paths


def parsed() -> list[tuple[str, ast.Module]]:
    return [(str(path.relative_to(ROOT)), ast.parse(path.read_text(), str(path))) for path in production_modules()]


def string_keys(node: ast.Dict) -> set[str]:
    return {key.value for key in node.keys if isinstance(key, ast.Constant) and isinstance(key.value, str)}


def payload_key_sets() -> list[tuple[str, frozenset[str], frozenset[str]]]:
    # (scraper/progress.py owns the download events, a vocabulary of its own: not checked here.)
    """(name, required keys, all keys) of every payload with two or more keys (one-key dicts are too common to tell)."""
    found = []
    for name in typing.get_args(progress.Payload):
        keys = frozenset(name.__required_keys__)
        if len(keys) >= 2:
            found.append((name.__name__, keys, keys | frozenset(name.__optional_keys__)))
    return found


def payloads_built_by(keys: set[str]) -> list[str]:
    """The payloads a dict literal with these keys is: every required key, and none the payload lacks.

    (An API job has a finished payload's keys among twenty others: that is a representation, not an event.)
    """
    return [name for name, needed, allowed in payload_key_sets() if needed <= keys <= allowed]


def test_only_progress_writes_job_events():
    offenders = []
    for path, tree in parsed():
        if path == PROGRESS:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                owner = func.value if isinstance(func, ast.Attribute) else None
                if name in ("_write_event", "event_record"):
                    offenders.append(f"{path}:{node.lineno} calls {name}")
                if name == "create" and isinstance(owner, ast.Attribute) and ast.unparse(owner) == "JobEvent.objects":
                    offenders.append(f"{path}:{node.lineno} creates a JobEvent")
    assert offenders == []


def test_no_event_payload_is_built_as_a_literal_dict_outside_progress():
    shapes = payload_key_sets()
    assert len(shapes) >= 5  # the check sees the payload types
    offenders = []
    for path, tree in parsed():
        if path == PROGRESS or path.startswith("scraper/"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                offenders += [f"{path}:{node.lineno} builds a {name}" for name in payloads_built_by(string_keys(node))]
    assert offenders == []


def test_a_payload_dict_written_elsewhere_would_be_found():
    # The checks above only mean something if they notice the thing they forbid.
    source = 'event_record(job_id=1, type="page.stage", payload={"page_result": 1, "page": 2, "stage": "ocr"})'
    tree = ast.parse(source)
    (call,) = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    (literal,) = [node for node in ast.walk(tree) if isinstance(node, ast.Dict)]
    assert call.func.id == "event_record"
    assert payloads_built_by(string_keys(literal)) == ["PageStagePayload"]
    # One key more than the payload has, and it is not that payload.
    assert payloads_built_by(string_keys(literal) | {"websocket_url"}) == []


REPORT_KEYS = {
    *(field for field in report.PageReport.__dataclass_fields__ if field not in ("width", "height")),
    *report.RegionReport.__dataclass_fields__,
    report.MODEL_SELECTED,
    report.MODEL_PRIMARY,
    report.MODEL_FALLBACK,
    report.MODEL_FALLBACK_REASON,
} - {"id", "source_language", "target_language", "translator"}  # names too common to tell apart

# Reads that look like report keys but read something else (path, key) → what they read.
NOT_A_REPORT = {
    ("translations/management/commands/translate_chapter.py", "regions"): "the page.succeeded event's region count",
    ("translations/views/reader.py", "mode"): "the reader's reading-mode request body",
    ("translations/pipeline/translators/openai_client.py", "usage"): "the OpenAI-compatible server's answer",
    **{("compute_service/split_contract.py", key): "the split contract's own JSON" for key in REPORT_KEYS},
}


def report_key_reads(tree: ast.Module) -> list[tuple[int, str]]:
    reads: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value in REPORT_KEYS:
                reads.append((node.lineno, key.value))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value in REPORT_KEYS:
                reads.append((node.lineno, first.value))
    return sorted(reads)


def test_no_page_report_is_read_by_string_key_outside_the_report_module():
    assert {"regions", "translation", "flags", "mode", "timings_ms"} <= REPORT_KEYS
    offenders = [
        f"{path}:{line} reads [{key!r}]"
        for path, tree in parsed()
        if path != REPORT
        for line, key in report_key_reads(tree)
        if (path, key) not in NOT_A_REPORT
    ]
    assert offenders == []


def test_a_report_read_by_key_would_be_found():
    tree = ast.parse('regions = execution.report.get("regions") or []\nflags = region["flags"]')
    assert report_key_reads(tree) == [(1, "regions"), (2, "flags")]


def test_the_web_side_imports_only_the_wire_contract_from_the_compute_service():
    offenders = []
    for path, tree in parsed():
        if path.startswith("compute_service/"):
            continue
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
                if node.module == "compute_service":
                    names = [f"compute_service.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                wire = name.startswith(("compute_service.contract", "compute_service.split_contract"))
                if name.startswith("compute_service") and not wire:
                    if name != "compute_service":
                        offenders.append(f"{path}:{node.lineno} imports {name}")
    assert offenders == []


def test_the_model_choices_label_exactly_the_pipelines_translators_and_languages():
    assert tuple(models.Translator.values) == translators.TRANSLATORS
    assert set(models.Language.values) == set(languages.SOURCE_LANGUAGES) | set(languages.TARGET_LANGUAGES)
    assert tuple(models.SOURCE_LANGUAGES) == languages.SOURCE_LANGUAGES


def test_the_contract_checks_and_commands_take_the_pipelines_names():
    assert contract.TRANSLATORS is translators.TRANSLATORS
    assert contract.SOURCE_LANGUAGES is languages.SOURCE_LANGUAGES
    assert contract.TARGET_LANGUAGES is languages.TARGET_LANGUAGES
    assert checks.TRANSLATORS is translators.TRANSLATORS
    grouped = {*translators.GEMINI_TRANSLATORS, translators.OPENAI_COMPAT, *translators.OFFLINE_TRANSLATORS}
    assert grouped == set(translators.TRANSLATORS)


@pytest.mark.parametrize(
    ("command", "option", "names"),
    [
        (translate_page.Command, "translator", translators.TRANSLATORS),
        (translate_page.Command, "source", languages.SOURCE_LANGUAGES),
        (translate_page.Command, "target", languages.TARGET_LANGUAGES),
        (translate_chapter.Command, "translator", translators.TRANSLATORS),
        (translate_chapter.Command, "target", languages.TARGET_LANGUAGES),
    ],
)
def test_the_commands_offer_the_pipelines_names(command, option, names):
    parser = command().create_parser("manage.py", "command")
    (action,) = [action for action in parser._actions if action.dest == option]
    assert tuple(action.choices) == tuple(names)


def test_every_event_type_has_one_message_shape():
    messages = typing.get_args(progress.EventMessage)
    shapes = {typing.get_args(typing.get_type_hints(message)["type"])[0] for message in messages}
    assert len(shapes) == len(messages)
    assert shapes == set(models.JobEvent.Type.values)
