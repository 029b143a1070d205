"""Downloads of a job's chapter: the CBZ (streamed) and the script as text or JSON (services/exports.py)."""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse

from translations.services.exports import cbz_filename, chapter_cbz, chapter_script, script_filename
from translations.views.lookups import login_needed, readable_job_or_404


def job_cbz(request, job_id: int) -> HttpResponse:
    if (redirect := login_needed(request)) is not None:
        return redirect
    job = readable_job_or_404(request, job_id)
    response = StreamingHttpResponse(chapter_cbz(job), content_type="application/vnd.comicbook+zip")
    response["Content-Disposition"] = f'attachment; filename="{cbz_filename(job)}"'
    response["Cache-Control"] = "private, no-cache"
    return response  # type: ignore[return-value]


def job_script(request, job_id: int, extension: str) -> HttpResponse:
    if (redirect := login_needed(request)) is not None:
        return redirect
    job = readable_job_or_404(request, job_id)
    script = chapter_script(job)
    if extension == "json":
        response = HttpResponse(script.as_json_text(), content_type="application/json; charset=utf-8")
    else:
        response = HttpResponse(script.as_text(), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{script_filename(job, extension)}"'
    response["Cache-Control"] = "private, no-cache"
    return response
