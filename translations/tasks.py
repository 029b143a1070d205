"""django-q2 task entrypoints: each takes ids, calls one service, and is safe to deliver twice."""

from __future__ import annotations

from translations.services.execution import job_run
from translations.services.sweeper import jobs_sweep


def translate_job(job_id: int) -> str:
    return str(job_run(job_id=job_id))


def sweep_jobs() -> dict:
    report = jobs_sweep()
    return {
        "requeued_pages": len(report.requeued_pages),
        "failed_pages": len(report.failed_pages),
        "requeued_jobs": len(report.requeued_jobs),
        "audit_pruned": report.audit_pruned,
    }
