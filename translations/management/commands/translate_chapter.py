"""`manage.py translate_chapter <chapter-id>`: request a chapter translation, and optionally follow it to the end.

`--wait` enqueues the job for the workers and prints its progress events until it ends;
`--sync` runs the same job in this process through the same executor (debugging, scripts).
Either exits non-zero unless the job ends `success`.
"""

from __future__ import annotations

import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from translations.models import Chapter, ExecutionBackend, TranslationJob
from translations.pipeline.languages import TARGET_LANGUAGES
from translations.pipeline.translators import TRANSLATORS
from translations.progress import EventMessage
from translations.selectors import job_events_after
from translations.services.execution import job_run
from translations.services.jobs import JobError, chapter_request_translation

POLL_SECONDS = 0.2


class Command(BaseCommand):
    help = "Translate one chapter: enqueue a job, and with --wait or --sync follow it until it ends."

    def add_arguments(self, parser) -> None:
        parser.add_argument("chapter_id", type=int)
        parser.add_argument("--target", choices=TARGET_LANGUAGES, help="target language (default: the manga's)")
        parser.add_argument("--translator", choices=TRANSLATORS, help="default: MANGA_DEFAULT_TRANSLATOR")
        parser.add_argument("--backend", choices=ExecutionBackend.values, help="default: the configured backend")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--wait", action="store_true", help="enqueue, then print progress until the job ends")
        mode.add_argument("--sync", action="store_true", help="run the job in this process (no worker needed)")

    def handle(self, *args, **options) -> None:
        chapter = Chapter.objects.select_related("manga").filter(pk=options["chapter_id"]).first()
        if chapter is None:
            raise CommandError(f"There is no chapter with id {options['chapter_id']}.")
        try:
            job = chapter_request_translation(
                chapter=chapter,
                target_language=options["target"],
                translator=options["translator"],
                backend=options["backend"],
                requested_by=None,
                enqueue=not options["sync"],
            )
        except JobError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"job {job.pk}: {chapter}, {job.pages_total} pages, {job.translator} → {job.target_language} "
            f"on {job.backend}"
        )
        if not (options["wait"] or options["sync"]):
            self.stdout.write("queued; follow it in the admin or with --wait")
            return
        worker = None
        if options["sync"]:
            worker = threading.Thread(target=_run_here, args=(job.pk,), name=f"job-{job.pk}", daemon=True)
            worker.start()
        try:
            job = self._follow(job.pk, worker)
        except KeyboardInterrupt:
            raise CommandError(f"stopped following job {job.pk}; it goes on in the workers") from None
        if job.status != TranslationJob.Status.SUCCESS:
            raise CommandError(f"job {job.pk} ended {job.status}: {job.error or 'no page succeeded'}")

    def _follow(self, job_id: int, worker: threading.Thread | None) -> TranslationJob:
        seq = 0
        while True:
            for event in job_events_after(job_id=job_id, after_seq=seq):
                seq = event["seq"]
                self.stdout.write(describe(event))
                if event["type"] == "job.finished":
                    if worker is not None:
                        worker.join()
                    return TranslationJob.objects.get(pk=job_id)
            if worker is not None and not worker.is_alive():
                job = TranslationJob.objects.get(pk=job_id)
                if job.status in TranslationJob.ACTIVE and not job_events_after(job_id=job_id, after_seq=seq):
                    raise CommandError(f"job {job_id} stopped while {job.status}; see the log above")
                continue
            time.sleep(POLL_SECONDS)


def _run_here(job_id: int) -> None:
    try:
        # No time slices: nothing would pick up a continuation task in this process.
        job_run(job_id=job_id, slice_seconds=float("inf"))
    finally:
        connection.close()


def describe(event: EventMessage) -> str:
    """One line per event; the message types of progress.py say what each one carries."""
    if event["type"] == "job.queued":
        return f"queued pages {', '.join(map(str, event['data']['pages']))}"
    if event["type"] == "job.started":
        return f"started: {event['data']['pages_total']} pages"
    if event["type"] == "page.started":
        started = event["data"]
        return f"page {started['page']}: started (try {started['attempt']})"
    if event["type"] == "page.stage":
        return f"page {event['data']['page']}: {event['data']['stage']}"
    if event["type"] == "page.succeeded":
        done = event["data"]
        if done["status"] == "no_text":
            return f"page {done['page']}: no text, kept as the original"
        return f"page {done['page']}: done, {done['regions']} regions, {done['elapsed_ms']} ms → {done['output_path']}"
    if event["type"] == "page.failed":
        failed = event["data"]
        return f"page {failed['page']}: FAILED at {failed['failure_stage']}: {failed['error']}"
    if event["type"] == "job.finished":
        finished = event["data"]
        return (
            f"finished {finished['status']}: {finished['pages_succeeded']} translated, "
            f"{finished['pages_no_text']} without text, {finished['pages_failed']} failed, "
            f"of {finished['pages_total']}"
        )
    return f"{event['type']}: {event['data']}"  # a type this command does not know yet
