"""`manage.py compute_check`: the rollout preflight against the configured compute service.

Exit 0 and "safe" when switching MANGA_TRANSLATE_EXECUTION_BACKEND to `cloudrun` is safe, else
exit 1 with each failed check and why (translations/services/compute_check.py).
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from translations.pipeline.registry import gpu_required
from translations.services.compute_check import compute_preflight


class Command(BaseCommand):
    help = "Check the compute service (health, providers, token, one sample page, headers) before using cloudrun."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default=None, help="default: MANGA_CLOUDRUN_EXEC_URL")
        parser.add_argument(
            "--require-gpu", action="store_true", help="CUDA must be in use (default: MANGA_REQUIRE_GPU)"
        )
        parser.add_argument("--translator", default="test", help="translator for the sample page (default: test)")
        parser.add_argument("--timeout", type=float, default=None, help="default: MANGA_CLOUDRUN_TIMEOUT_SEC")
        parser.add_argument("--warmup-wait", type=float, default=120, help="seconds to wait while it warms up")

    def handle(self, *args, **options) -> None:
        url = options["url"] or settings.MANGA_CLOUDRUN_EXEC_URL
        result = compute_preflight(
            url=url,
            token=settings.MANGA_INTERNAL_API_TOKEN,
            require_gpu=options["require_gpu"] or gpu_required(),
            translator=options["translator"],
            timeout=options["timeout"] or settings.MANGA_CLOUDRUN_TIMEOUT_SEC,
            warmup_wait=options["warmup_wait"],
        )
        for check in result.checks:
            self.stdout.write(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
        if not result.safe:
            raise CommandError(f"not safe to switch MANGA_TRANSLATE_EXECUTION_BACKEND to cloudrun ({url or 'no URL'})")
        self.stdout.write(f"safe: MANGA_TRANSLATE_EXECUTION_BACKEND=cloudrun may use {url}")
