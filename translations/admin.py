"""Django admin for the library (Manga → Chapter → Page) and the translation history.

Jobs and page results are written only by the pipeline, so staff can look at them but not
add or edit them, and cannot delete what a worker may still be using. Staff act on them
through actions (translate, retry, cancel) that call the job services, which write the
audit log; each action tells the user what happened to every row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html

from translations.models import ApiToken, AuditEntry, Chapter, GlossaryTerm, Manga, Page, PageResult, TranslationJob
from translations.services.glossary import glossary_decide, glossary_export
from translations.services.jobs import (
    JobError,
    chapter_request_translation,
    default_translator,
    job_cancel,
    job_retry_failed,
    page_retry,
)
from translations.services.tokens import token_create, token_revoke

admin.site.site_header = "Mangasite administration"
admin.site.site_title = "Mangasite"

# Source links are typed without a scheme as often as not; https is Django 6's default too.
URL_FIELDS_ASSUME_HTTPS: Mapping[type[models.Field], Mapping[str, Any]] = {models.URLField: {"assume_scheme": "https"}}


def page_thumbnail(page_id: int | None, *, max_height: int = 96) -> str | None:
    if page_id is None:
        return None
    url = reverse("page-thumbnail", args=[page_id])
    return format_html('<img src="{}" loading="lazy" alt="" style="max-height: {}px">', url, max_height)


def pretty_json(value) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return format_html('<pre style="margin: 0; max-height: 24em; overflow: auto">{}</pre>', text)


class JobActions:
    """The permission behind every job action: staff who may create translation jobs."""

    message_user: Callable[..., None]  # from the ModelAdmin this mixes into

    def has_run_jobs_permission(self, request) -> bool:
        return request.user.has_perm("translations.add_translationjob")

    def report(self, request, done: list[str], refused: list[str]) -> None:
        if done:
            self.message_user(request, " ".join(done), messages.SUCCESS)
        if refused:
            self.message_user(request, " ".join(refused), messages.WARNING)


class PageColumns:
    """Columns shared by the page changelist and the page inline of a chapter."""

    thumbnail_height = 96

    @admin.display(description="image")
    def thumbnail(self, page: Page) -> str | None:
        return page_thumbnail(page.pk, max_height=self.thumbnail_height)

    @admin.display(description="size", ordering="size_bytes")
    def size(self, page: Page) -> str:
        return filesizeformat(page.size_bytes)

    @admin.display(description="dimensions")
    def dimensions(self, page: Page) -> str:
        return f"{page.width}\N{MULTIPLICATION SIGN}{page.height}"


class ReadOnlyInline(admin.TabularInline):
    """Rows listed beside their parent; each one is opened from its own change page."""

    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ChapterInline(ReadOnlyInline):
    model = Chapter
    fields = ("number", "title", "page_count")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("manga").annotate(page_count=Count("pages"))

    @admin.display(description="pages")
    def page_count(self, chapter: Chapter) -> int:
        return chapter.page_count  # type: ignore[attr-defined]  # annotated by get_queryset  # type: ignore[attr-defined]  # annotated by get_queryset


class PageInline(PageColumns, ReadOnlyInline):
    model = Page
    fields = ("thumbnail", "index", "size", "dimensions")
    thumbnail_height = 160

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("chapter__manga")


class JobInline(ReadOnlyInline):
    model = TranslationJob
    fields = ("status", "target_language", "translator", "backend", "pages_succeeded", "pages_failed", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("chapter__manga")


class PageResultInline(ReadOnlyInline):
    model = PageResult
    fields = ("status", "attempts", "failure_stage", "fallback_used", "finished_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("page__chapter__manga")


@admin.register(Manga)
class MangaAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "source_language", "target_language", "chapter_count", "cover_thumbnail")
    search_fields = ("title", "slug")
    list_filter = ("source_language", "target_language")
    prepopulated_fields = {"slug": ("title",)}
    formfield_overrides = URL_FIELDS_ASSUME_HTTPS
    inlines = (ChapterInline,)
    actions = ("export_glossary",)

    @admin.action(description="Export the accepted glossary terms (JSON, dict/ format)")
    def export_glossary(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choose one manga to export its glossary.", messages.WARNING)
            return None
        manga = queryset.get()
        body = json.dumps(glossary_export(manga=manga), ensure_ascii=False, indent=2)
        response = HttpResponse(body + "\n", content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{manga.slug}.json"'
        return response

    def get_queryset(self, request):
        # The cover is shown from the page it names, else from the first page of the manga.
        pages = Page.objects.filter(chapter__manga=OuterRef("pk"))
        named = pages.filter(image=OuterRef("cover")).values("pk")[:1]
        first = pages.order_by("chapter__number", "index").values("pk")[:1]
        return (
            super()
            .get_queryset(request)
            .annotate(chapter_count=Count("chapters"), cover_page_id=Coalesce(Subquery(named), Subquery(first)))
        )

    @admin.display(description="chapters", ordering="chapter_count")
    def chapter_count(self, manga: Manga) -> int:
        return manga.chapter_count  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="cover")
    def cover_thumbnail(self, manga: Manga) -> str | None:
        return page_thumbnail(manga.cover_page_id, max_height=64)  # type: ignore[attr-defined]


@admin.register(GlossaryTerm)
class GlossaryTermAdmin(admin.ModelAdmin):
    """Staff decide on the translator's proposals: accept (the term goes into later prompts), edit, or reject."""

    list_display = ("source", "target", "kind", "status", "manga", "proposed_on", "updated_at")
    list_editable = ("target", "kind")
    list_filter = ("status", "kind", "manga")
    search_fields = ("source", "target", "manga__title")
    fields = ("manga", "source", "target", "kind", "notes", "status", "proposed_on", "created_at", "updated_at")
    readonly_fields = ("proposed_on", "created_at", "updated_at")
    raw_id_fields = ("manga",)
    actions = ("accept_terms", "reject_terms")

    @admin.action(description="Accept: use in every later page's prompt")
    def accept_terms(self, request, queryset) -> None:
        changed = glossary_decide(
            term_ids=list(queryset.values_list("pk", flat=True)), status="accepted", actor=request.user
        )
        self.message_user(request, f"{changed} term(s) accepted.", messages.SUCCESS)

    @admin.action(description="Reject: never send to the translator")
    def reject_terms(self, request, queryset) -> None:
        changed = glossary_decide(
            term_ids=list(queryset.values_list("pk", flat=True)), status="rejected", actor=request.user
        )
        self.message_user(request, f"{changed} term(s) rejected.", messages.SUCCESS)


@admin.register(Chapter)
class ChapterAdmin(JobActions, admin.ModelAdmin):
    list_display = ("manga", "number", "title", "page_count", "latest_job_status")
    list_display_links = ("manga", "number")
    list_select_related = ("manga",)
    search_fields = ("manga__title", "title")
    list_filter = ("manga",)
    autocomplete_fields = ("manga",)
    formfield_overrides = URL_FIELDS_ASSUME_HTTPS
    inlines = (PageInline, JobInline)
    actions = ("translate_chapters",)

    @admin.action(description="Translate selected chapters (default translator)", permissions=["run_jobs"])
    def translate_chapters(self, request, queryset) -> None:
        translator = default_translator()
        done, refused = [], []
        for chapter in queryset.select_related("manga").order_by("manga__title", "number"):
            try:
                job = chapter_request_translation(chapter=chapter, translator=translator, requested_by=request.user)
            except JobError as exc:
                refused.append(str(exc))
            else:
                done.append(f"Queued job {job.pk} for {chapter} ({job.pages_total} pages, {translator}).")
        self.report(request, done, refused)

    def get_queryset(self, request):
        latest = TranslationJob.objects.filter(chapter=OuterRef("pk")).order_by("-created_at", "-pk")
        return (
            super()
            .get_queryset(request)
            .annotate(page_count=Count("pages"), latest_job_status=Subquery(latest.values("status")[:1]))
        )

    @admin.display(description="pages", ordering="page_count")
    def page_count(self, chapter: Chapter) -> int:
        return chapter.page_count  # type: ignore[attr-defined]

    @admin.display(description="latest job")
    def latest_job_status(self, chapter: Chapter) -> str | None:
        status = chapter.latest_job_status  # type: ignore[attr-defined]  # annotated by get_queryset
        return TranslationJob.Status(status).label if status else None


@admin.register(Page)
class PageAdmin(PageColumns, admin.ModelAdmin):
    list_display = ("thumbnail", "chapter", "index", "dimensions", "size", "short_sha256")
    list_display_links = ("thumbnail", "index")
    list_select_related = ("chapter__manga",)
    search_fields = ("chapter__manga__title",)
    list_filter = ("chapter__manga",)
    autocomplete_fields = ("chapter",)
    fields = ("chapter", "index", "image", "width", "height", "size_bytes", "sha256", "preview")
    # Everything about the file comes from the file; pages are added by an import.
    readonly_fields = ("image", "width", "height", "size_bytes", "sha256", "preview")

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="sha256")
    def short_sha256(self, page: Page) -> str:
        return page.sha256[:12]

    @admin.display(description="preview")
    def preview(self, page: Page) -> str:
        url = reverse("page-image", args=[page.pk])
        return format_html('<img src="{}" alt="" style="max-height: 70vh; max-width: 100%">', url)


class HistoryAdmin(admin.ModelAdmin):
    """Rows written by the pipeline: staff may look, never add or edit."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TranslationJob)
class TranslationJobAdmin(JobActions, HistoryAdmin):
    list_display = (
        "id",
        "chapter",
        "status",
        "translator",
        "backend",
        "pages",
        "transport",
        "created_at",
        "finished_at",
    )
    list_select_related = ("chapter__manga",)
    list_filter = ("status", "translator", "backend", "target_language")
    search_fields = ("chapter__manga__title",)
    date_hierarchy = "created_at"
    fieldsets = (
        (None, {"fields": ("chapter", "target_language", "translator", "backend", "status", "requested_by", "error")}),
        ("Pages", {"fields": ("pages_total", "pages_succeeded", "pages_failed", "pages_no_text")}),
        (
            "Audit",
            {
                "fields": (
                    "request_bytes_total",
                    "response_bytes_total",
                    "remote_elapsed_ms_total",
                    "translate_elapsed_ms_total",
                    "transport",
                )
            },
        ),
        ("Times", {"fields": ("created_at", "started_at", "finished_at")}),
    )
    readonly_fields = ("created_at", "transport")
    inlines = (PageResultInline,)
    actions = ("retry_failed_pages", "cancel_jobs")

    @admin.action(description="Retry the failed pages of selected jobs", permissions=["run_jobs"])
    def retry_failed_pages(self, request, queryset) -> None:
        done, refused = [], []
        for job in queryset.order_by("pk"):
            try:
                count = job_retry_failed(job=job, requested_by=request.user)
            except JobError as exc:
                refused.append(str(exc))
            else:
                done.append(f"Job {job.pk}: {count} failed page(s) queued again.")
        self.report(request, done, refused)

    @admin.action(description="Cancel selected jobs", permissions=["run_jobs"])
    def cancel_jobs(self, request, queryset) -> None:
        done, refused = [], []
        for job in queryset.order_by("pk"):
            if job_cancel(job=job, requested_by=request.user):
                done.append(f"Job {job.pk} cancelled.")
            else:
                refused.append(f"Job {job.pk} had already finished ({job.status}).")
        self.report(request, done, refused)

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.status in TranslationJob.ACTIVE:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="pages ok/failed/all", ordering="pages_total")
    def pages(self, job: TranslationJob) -> str:
        return f"{job.pages_succeeded}/{job.pages_failed}/{job.pages_total}"

    @admin.display(description="transport")
    def transport(self, job: TranslationJob) -> str | None:
        ratio = job.transport_ratio
        return None if ratio is None else f"{ratio:.1%}"


@admin.register(PageResult)
class PageResultAdmin(JobActions, HistoryAdmin):
    list_display = ("job_chapter", "page_index", "status", "attempts", "failure_stage", "fallback_used")
    list_display_links = ("page_index",)
    list_select_related = ("job__chapter__manga", "page__chapter__manga")  # __str__ goes through page
    list_filter = ("status", "failure_stage", "fallback_used")
    search_fields = ("job__chapter__manga__title",)
    fieldsets = (
        (None, {"fields": ("page_view", "job", "page", "status", "attempts", "failure_stage", "error", "output_path")}),
        ("Transport", {"fields": ("request_bytes", "response_bytes", "remote_elapsed_ms", "translate_elapsed_ms")}),
        ("Pipeline", {"fields": ("fallback_used", "models_used_json", "timings_json", "regions_json")}),
        ("Times", {"fields": ("started_at", "finished_at")}),
    )
    readonly_fields = ("page_view", "models_used_json", "timings_json", "regions_json")
    actions = ("retry_pages",)

    @admin.display(description="page view")
    def page_view(self, result: PageResult) -> str:
        # The staff page (translations/views/staff.py): output image, debug overlay and the regions table.
        url = reverse("page-result", args=[result.pk])
        return format_html('<a href="{}">Output, debug overlay and regions</a>', url)

    @admin.action(description="Retry selected pages", permissions=["run_jobs"])
    def retry_pages(self, request, queryset) -> None:
        done, refused = [], []
        for result in queryset.select_related("page").order_by("job", "page__index"):
            try:
                page_retry(page_result=result, requested_by=request.user)
            except JobError as exc:
                refused.append(str(exc))
            else:
                done.append(f"Page {result.page.index} of job {result.job_id} queued again.")
        self.report(request, done, refused)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Asked for each result when its job is deleted: the same rule as for the job.
        if obj is not None and obj.job.status in TranslationJob.ACTIVE:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="job", ordering="job")
    def job_chapter(self, result: PageResult) -> str:
        return f"Job {result.job_id}: {result.job.chapter}"

    @admin.display(description="page", ordering="page__index")
    def page_index(self, result: PageResult) -> int:
        return result.page.index

    @admin.display(description="models used")
    def models_used_json(self, result: PageResult) -> str:
        return pretty_json(result.models_used)

    @admin.display(description="timings (ms)")
    def timings_json(self, result: PageResult) -> str:
        return pretty_json(result.timings)

    @admin.display(description="regions")
    def regions_json(self, result: PageResult) -> str:
        return pretty_json(result.regions)


@admin.register(AuditEntry)
class AuditEntryAdmin(HistoryAdmin):
    list_display = ("created_at", "actor", "action", "object_type", "object_id", "message")
    list_filter = ("action",)
    search_fields = ("message", "object_id", "actor__username")
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "actor", "action", "object_type", "object_id", "message", "details")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the sweeper prunes entries after MANGA_AUDIT_RETENTION_DAYS; staff do not


class ApiTokenAddForm(forms.ModelForm):
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=3650, required=False, help_text="Leave empty for a token that does not expire."
    )

    class Meta:
        model = ApiToken
        fields = ["user", "name"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Staff make tokens for any user (the secret is shown once, in the message) and revoke them."""

    list_display = ["prefix", "name", "user", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    actions = ["revoke_tokens"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return ["user", "name", "expires_in_days"] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        days = form.cleaned_data.get("expires_in_days")
        issued = token_create(
            user=form.cleaned_data["user"],
            name=form.cleaned_data["name"],
            expires_in=timedelta(days=days) if days else None,
            created_by=request.user,
        )
        obj.pk = issued.token.pk
        messages.warning(request, f"The new token, shown only this once: {issued.secret}")

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a token is made and revoked, never edited: staff see it read-only

    @admin.action(description="Revoke the selected tokens")
    def revoke_tokens(self, request, queryset) -> None:
        revoked = sum(token_revoke(token=token, revoked_by=request.user) for token in queryset.select_related("user"))
        self.message_user(request, f"{revoked} token(s) revoked.")
