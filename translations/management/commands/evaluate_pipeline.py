"""`manage.py evaluate_pipeline`: score detection and OCR against a ground-truth folder (issue 3's rules)."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from translations.pipeline import evaluation
from translations.pipeline.contracts import PipelineError
from translations.pipeline.registry import ModelMissing

RIGHT_TO_LEFT = {"ja"}


def default_model_dir() -> Path:
    return Path(getattr(settings, "MANGA_MODEL_DIR", Path(settings.BASE_DIR) / "data" / "models"))


def onnx_reader(model_dir: Path) -> evaluation.PageReader:
    """The pipeline's reading half with the registry's models: detection, OCR, grouping."""
    from translations.pipeline.detection import OnnxDetector
    from translations.pipeline.grouping import read_page
    from translations.pipeline.ocr import OnnxRecognizer

    detector, recognizer = OnnxDetector(model_dir), OnnxRecognizer(model_dir)
    return lambda image, language: read_page(
        image, detector=detector, recognizer=recognizer, language=language, rtl=language in RIGHT_TO_LEFT
    )


class Command(BaseCommand):
    # Runs at install time and on compute hosts, before the site itself is configured.
    requires_system_checks: list[str] = []
    help = (
        "Evaluate detection recall/precision, OCR character error rate, reading order (order_accuracy) and speed "
        "against ground-truth JSON files."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--gt", type=Path, required=True, help="folder of <image>.json ground truth and images")
        parser.add_argument("--json", type=Path, help="write the overall figures to this JSON file")
        parser.add_argument("--boxes", action="store_true", help="also print every truth box with what was read")
        parser.add_argument(
            "--letter",
            type=Path,
            metavar="OUT_DIR",
            help="also letter each page's ref_en through the whole pipeline, report collisions, overflow, sizes, "
            "dialogue flagged SFX, and save the lettered pages and their reports in OUT_DIR",
        )

    def handle(self, *args, gt: Path, json: Path | None, boxes: bool, letter: Path | None, **options) -> None:
        if not gt.is_dir() or not any(gt.glob("*.json")):
            raise CommandError(f"--gt {gt} is not a folder of ground-truth .json files")
        try:
            reader = onnx_reader(default_model_dir())
            pages = evaluation.evaluate_dir(gt, reader)
        except (ModelMissing, PipelineError) as exc:
            raise CommandError(str(exc)) from exc
        for page in pages:
            self.stdout.write(f"{page.image}: {_figures(evaluation.page_summary(page))}")
            if boxes:
                for result in page.boxes:
                    mark = "=" if result.exact else ("~" if result.found else "MISSED")
                    at = "" if result.position is None else f" @{result.position + 1}"  # the block's reading place
                    box, text = result.truth.box.as_list(), result.truth.text
                    self.stdout.write(f"    {mark}{at} {box} {text} | {result.read}")
        overall: dict = evaluation.summary(pages)
        self.stdout.write(f"overall: {_figures(overall)}")
        if letter is not None:
            overall["lettering"] = self._letter(gt, letter)
        if json is not None:
            json.write_text(_dumps(overall), encoding="utf-8")

    def _letter(self, gt: Path, out_dir: Path) -> dict:
        from translations.pipeline.factory import build_pipeline
        from translations.pipeline.lettering_evaluation import letter_dir, lettering_summary

        try:
            pages = letter_dir(gt, build_pipeline(default_model_dir()), out_dir)
        except (ModelMissing, PipelineError) as exc:
            raise CommandError(str(exc)) from exc
        for page in pages:
            self.stdout.write(f"lettered {page.image}: {_figures(page.figures())}")
        figures = lettering_summary(pages)
        self.stdout.write(f"lettering: {_figures(figures)} → {out_dir}")
        return figures


def _figures(figures: dict) -> str:
    return " ".join(f"{key}={value}" for key, value in figures.items())


def _dumps(figures: dict) -> str:
    return json.dumps(figures, indent=2) + "\n"
