"""Reads for jobs and progress: queue size, page context, snapshots and missed events."""

from __future__ import annotations

from django.db.models import QuerySet

from translations import access
from translations.models import GlossaryTerm, JobEvent, PageResult, TranslationJob
from translations.pipeline.report import regions_from_json
from translations.progress import EventMessage, SnapshotMessage, event_message, snapshot_message

CONTEXT_PAGES = 3  # DESIGN §5: the previous 3 pages' translations


def active_job_count() -> int:
    return TranslationJob.objects.filter(status__in=TranslationJob.ACTIVE).count()


def page_context_translations(*, job_id: int, before_index: int, limit: int = CONTEXT_PAGES) -> tuple[str, ...]:
    """The translations of the last `limit` succeeded pages of the job before `before_index`, oldest first.

    Read from the stored regions, so a page retried days later gets the context it had.
    """
    rows = (
        PageResult.objects.filter(job_id=job_id, status=PageResult.Status.SUCCEEDED, page__index__lt=before_index)
        .order_by("-page__index")
        .values_list("regions", flat=True)[:limit]
    )
    texts = []
    for regions in reversed(list(rows)):
        texts.append("\n".join(region.translation for region in regions_from_json(regions) if region.translation))
    return tuple(texts)


def manga_learned_glossary(*, manga_id: int) -> dict:
    """The manga's accepted glossary terms in the `dict/` glossary format: what the translator gets, what export writes.

    Proposed and rejected terms never leave the database.
    """
    accepted = GlossaryTerm.objects.filter(manga_id=manga_id, status=GlossaryTerm.Status.ACCEPTED).order_by("source")
    characters, terms = [], []  # type: ignore[var-annotated]
    for term in accepted:
        entry = {"source": term.source, "target": term.target} | ({"notes": term.notes} if term.notes else {})
        (characters if term.kind == GlossaryTerm.Kind.CHARACTER else terms).append(entry)
    return {"characters": characters, "terms": terms}


def job_results(*, job_id: int) -> QuerySet[PageResult]:
    return PageResult.objects.filter(job_id=job_id).select_related("page").order_by("page__index")


def job_snapshot(*, job_id: int) -> SnapshotMessage | None:
    """The job and its pages as they stand (the WebSocket's first message), or None if it is gone."""
    job = TranslationJob.objects.filter(pk=job_id).select_related("chapter__manga").first()
    if job is None:
        return None
    return snapshot_message(job, job_results(job_id=job_id))


def job_events_after(*, job_id: int, after_seq: int, limit: int = 500) -> list[EventMessage]:
    events = JobEvent.objects.filter(job_id=job_id, seq__gt=after_seq).order_by("seq")[:limit]
    return [event_message(event) for event in events]


def may_watch_jobs(user) -> bool:
    """Whether the user may watch job progress at all, before the per-manga check: staff, as in the
    admin, only with the view permission on jobs. Pages use it to decide whether to open a socket."""
    return not (user.is_authenticated and user.is_staff and not user.has_perm("translations.view_translationjob"))


def may_watch_job(user, *, requested_by_id: int | None) -> bool:
    """`job_visible_to` for a job of a manga the user already reads, without a query: staff without
    the view permission still watch the jobs they requested."""
    return may_watch_jobs(user) or (requested_by_id is not None and requested_by_id == user.pk)


def job_visible_to(*, job_id: int, user) -> bool:
    """Who may watch a job: whoever may read its manga (translations/access.py), anonymous readers of a
    public library too; staff, as in the admin, only with the view permission on jobs (without it, the
    jobs they requested)."""
    job = TranslationJob.objects.filter(pk=job_id).select_related("chapter__manga").first()
    if job is None:
        return False
    return access.can_read(user, job.chapter.manga) and may_watch_job(user, requested_by_id=job.requested_by_id)
