"""`manage.py models list|fetch|verify|quantize`: the pipeline's model weights in MANGA_MODEL_DIR."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from translations.pipeline import quantize, registry


def model_dir() -> Path:
    return Path(getattr(settings, "MANGA_MODEL_DIR", Path(settings.BASE_DIR) / "data" / "models"))


class Command(BaseCommand):
    # Runs at install time and on compute hosts, before the site itself is configured.
    requires_system_checks: list[str] = []
    help = (
        "List, fetch or verify the pipeline's model weights (sha256-pinned; see docs/models.md), or make the INT8 "
        "copies of the detection models from them (quantize)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["list", "fetch", "verify", "quantize"])
        parser.add_argument("names", nargs="*", help="models to fetch (default: every required model)")

    def handle(self, *args, action: str, names: list[str], **options) -> None:
        specs = registry.default_manifest()
        unknown = [name for name in names if name not in specs]
        if unknown:
            raise CommandError(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(sorted(specs))}")
        directory = model_dir()
        chosen = [specs[name] for name in names] or [spec for spec in specs.values() if not spec.optional]
        if action == "list":
            for spec in specs.values():
                state = registry.state_of(spec, directory)
                size = f"{spec.size}" if spec.size is not None else "?"
                kind = "optional" if spec.optional else "required"
                self.stdout.write(f"{spec.name}\t{size}\t{kind}\t{state}\t{spec.source.describe()}")
        elif action == "quantize":
            for name in names or list(quantize.QUANTIZED):
                try:
                    written = quantize.ensure_int8(specs[name], directory)
                except (quantize.QuantizeRefused, registry.ModelMissing) as exc:
                    raise CommandError(str(exc)) from exc
                self.stdout.write(
                    f"{name}: INT8 copy written ({written})" if written else f"{name}: INT8 copy already present"
                )
        elif action == "fetch":
            for spec in chosen:
                try:
                    written = registry.fetch(spec, directory)  # type: ignore[assignment]
                except registry.FetchRefused as exc:
                    raise CommandError(str(exc)) from exc
                verb = "fetched" if written else "already present"
                self.stdout.write(f"{spec.name}: {verb} ({directory / spec.filename})")
        else:
            bad = []
            for spec in chosen:
                state = registry.state_of(spec, directory)
                self.stdout.write(f"{spec.name}: {state}")
                if state is not registry.ModelState.PRESENT and not spec.optional:
                    bad.append(spec.name)
            if bad:
                raise CommandError(f"missing or bad: {', '.join(bad)}; run `python manage.py models fetch`")
