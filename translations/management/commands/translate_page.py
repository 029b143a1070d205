"""`manage.py translate_page IN -o OUT`: one page through the pipeline, with its report and a debug overlay.

The translator defaults to MANGA_DEFAULT_TRANSLATOR, else `gemini_hq` when GEMINI_API_KEY is set, else `none`
(cleaning mode: the text is erased and nothing is lettered).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from translations.gemini_settings import gemini_config, llm_config
from translations.pipeline.contracts import PipelineError
from translations.pipeline.debug import overlay
from translations.pipeline.factory import get_translator, shared_pipeline
from translations.pipeline.languages import SOURCE_LANGUAGES, TARGET_LANGUAGES
from translations.pipeline.loading import load_page
from translations.pipeline.registry import ModelMissing
from translations.pipeline.translators import TRANSLATORS
from translations.pipeline.translators.dictionaries import DictionaryError
from translations.services.jobs import default_translator

OUTPUT_SUFFIXES = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP"}


class Command(BaseCommand):
    help = "Translate (or clean) one page image and write the result, its JSON report and debug images."

    def add_arguments(self, parser) -> None:
        parser.add_argument("input", type=Path)
        parser.add_argument("-o", "--output", type=Path, required=True)
        parser.add_argument("--source", default="ja", choices=SOURCE_LANGUAGES)
        parser.add_argument("--target", default="en", choices=TARGET_LANGUAGES)
        parser.add_argument(
            "--translator",
            choices=TRANSLATORS,
            help="default: gemini_hq when GEMINI_API_KEY is set, else none (cleaning: erase, letter nothing)",
        )
        parser.add_argument("--text", help="with --translator test: the string lettered into every block")
        parser.add_argument("--glossary", type=Path, help="the manga's glossary (JSON, dict/README.md)")
        parser.add_argument(
            "--context",
            type=Path,
            action="append",
            default=[],
            help="a previous page's translations (text file), oldest first; repeatable, the last 3 are used",
        )
        parser.add_argument("--include-sfx", action="store_true", help="also erase and letter sound effects")
        parser.add_argument("--report", type=Path, help="write the page report here (JSON)")
        parser.add_argument("--debug-dir", type=Path, help="write overlay.png (boxes, order, balloons) here")

    def handle(self, *args, **options) -> None:
        source: Path = options["input"]
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {source}: {exc.strerror}") from None
        name = options["translator"] or default_translator()
        try:
            context = tuple(path.read_text(encoding="utf-8") for path in options["context"])
        except OSError as exc:
            raise CommandError(f"cannot read a --context file: {exc.strerror}") from None
        try:
            translator = get_translator(
                name,
                text=options["text"],
                gemini=gemini_config(glossary=options["glossary"]),
                llm=llm_config(glossary=options["glossary"]),
            )
            outcome = shared_pipeline(str(settings.MANGA_MODEL_DIR)).run(
                data,
                translator=translator,
                source_language=options["source"],
                target_language=options["target"],
                context_translations=context,
                include_sfx=options["include_sfx"],
                output_format=OUTPUT_SUFFIXES.get(options["output"].suffix.lower()),
            )
        except ModelMissing as exc:
            raise CommandError(str(exc)) from None
        except PipelineError as exc:
            raise CommandError(f"{exc.stage}: {exc}") from None
        except DictionaryError as exc:
            raise CommandError(str(exc)) from None

        options["output"].write_bytes(outcome.image)
        report = outcome.report
        if options["report"]:
            options["report"].write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        if options["debug_dir"]:
            options["debug_dir"].mkdir(parents=True, exist_ok=True)
            overlay(load_page(data).image, outcome.blocks).save(options["debug_dir"] / "overlay.png")
        self.stdout.write(
            f"{len(report.regions)} regions ({len(report.flagged_regions)} flagged), {report.mode} mode, "
            f"{report.elapsed_ms} ms → {options['output']}"
        )
        if report.cleaning:
            why = "" if settings.GEMINI_API_KEY else " (no GEMINI_API_KEY: set it to translate)"
            self.stdout.write(f"cleaning mode{why}: text erased, nothing lettered, the script is in the report")
        self.stdout.write(describe_models(report.models, report.usage))


def describe_models(models: dict[str, str], usage: dict[str, int]) -> str:
    line = "models: " + ", ".join(f"{key}={value}" for key, value in models.items())
    if usage:
        line += (
            f"\ntokens: {usage.get('prompt_tokens', 0)} prompt, {usage.get('output_tokens', 0)} output, "
            f"{usage.get('thinking_tokens', 0)} thinking in {usage.get('requests', 0)} request(s), "
            f"{usage.get('latency_ms', 0)} ms"
        )
    return line
