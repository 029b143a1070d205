"""Admin for the scraper: sources (presets, access check, cookie import) and downloads (retry, cancel).

Downloads and their pages are written by the workers, so staff look at them and act through
actions that call the download services.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from scraper.models import Download, DownloadPage, Source
from scraper.selectors import source_health

# The download and source services import the HTTP client and the HTML parser (about 0.25 s): the actions below
# import them when staff use them, not every process that sets Django up (admin autodiscovery: a worker, a
# translate_page).


class CookiesForm(forms.Form):
    storage_state = forms.FileField(
        help_text="A browser storage-state JSON (Playwright's context.storage_state(), or an exported cookie list)."
    )


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("name", "host", "language", "catalog_path", "enabled", "access", "health", "cookies")
    list_filter = ("enabled", "language")
    search_fields = ("name", "host")
    check_fields = ("last_check_at", "last_check_ok", "last_check_code", "last_check_message")
    preset_fields = ("catalog_path", "chapter_list", "search_item_selector", "catalog_item_selector")
    readonly_fields = ("host", "cookies_imported_at", *check_fields)
    fieldsets = (
        (None, {"fields": ("name", "base_url", "host", "language", "enabled")}),
        ("Preset", {"fields": (*preset_fields, "chapter_item_selector", "image_selector")}),
        ("Politeness", {"fields": ("requests_per_second", "concurrency", "user_agent", "cookies_imported_at")}),
        ("Last access check", {"fields": check_fields}),
    )
    actions = ["check_access"]

    @admin.display(description="access")
    def access(self, source: Source) -> str:
        if source.last_check_at is None:
            return "not checked"
        return "ok" if source.last_check_ok else f"failed ({source.last_check_code})"

    @admin.display(description="last day")
    def health(self, source: Source) -> str:
        health = source_health(source)
        if not health["downloads"]:
            return "no downloads"
        return f"{health['failed']} of {health['downloads']} failed"

    @admin.display(description="cookies")
    def cookies(self, source: Source) -> str:
        url = reverse("admin:scraper_source_cookies", args=[source.pk])
        label = "replace" if source.cookies_file else "import"
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.action(description="Check access (fetch catalog page 1)")
    def check_access(self, request: HttpRequest, queryset) -> None:
        from scraper.services.sources import source_check_access

        for source in queryset:
            ok, message = source_check_access(source=source, requested_by=request.user)
            self.message_user(request, f"{source}: {message}", messages.SUCCESS if ok else messages.ERROR)

    def get_urls(self):
        custom = [
            path(
                "<int:source_id>/cookies/",
                self.admin_site.admin_view(self.import_cookies),
                name="scraper_source_cookies",
            )
        ]
        return custom + super().get_urls()

    def import_cookies(self, request: HttpRequest, source_id: int) -> HttpResponse:
        source = get_object_or_404(Source, pk=source_id)
        if not self.has_change_permission(request, source):
            return HttpResponse(status=403)
        from scraper.services.sources import CookiesRefused, source_import_cookies

        form = CookiesForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["storage_state"]
            try:
                # One byte past the limit tells the service the file is too big, without reading all of it.
                data = upload.read(settings.MANGA_SCRAPER_COOKIES_MAX_BYTES + 1)
                count = source_import_cookies(source=source, data=data, requested_by=request.user)
            except CookiesRefused as exc:
                form.add_error("storage_state", str(exc))
            else:
                self.message_user(request, f"Imported {count} cookie(s) for {source}.", messages.SUCCESS)
                return redirect("admin:scraper_source_change", source.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Import cookies for {source}",
            "form": form,
            "source": source,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "scraper/admin_cookies.html", context)


class DownloadPageInline(admin.TabularInline):
    model = DownloadPage
    extra = 0
    can_delete = False
    fields = ("index", "status", "error_code", "error", "size_bytes", "fetches", "url")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Download)
class DownloadAdmin(admin.ModelAdmin):
    list_display = ("id", "manga_title", "chapter_number", "source", "status", "pages", "error_code", "created_at")
    list_filter = ("status", "error_code", "source")
    search_fields = ("manga_title", "chapter_url")
    inlines = [DownloadPageInline]
    actions = ["retry", "cancel"]
    readonly_fields = [field.name for field in Download._meta.fields]

    @admin.display(description="pages")
    def pages(self, download: Download) -> str:
        return f"{download.pages_stored}/{download.pages_total}"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Retry (fetch the pages not stored yet)")
    def retry(self, request: HttpRequest, queryset) -> None:
        from scraper.services.downloads import DownloadRefused, download_retry

        done, refused = 0, []
        for download in queryset:
            try:
                download_retry(download=download, requested_by=request.user)
                done += 1
            except DownloadRefused as exc:
                refused.append(str(exc))
        if done:
            self.message_user(request, f"Queued {done} download(s) again.", messages.SUCCESS)
        if refused:
            self.message_user(request, " ".join(refused), messages.WARNING)

    @admin.action(description="Cancel")
    def cancel(self, request: HttpRequest, queryset) -> None:
        from scraper.services.downloads import download_cancel

        cancelled = sum(download_cancel(download=download, requested_by=request.user) for download in queryset)
        self.message_user(request, f"Cancelled {cancelled} download(s).", messages.SUCCESS)
