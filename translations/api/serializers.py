"""What the API sends and accepts: one serializer per shape, read shapes separate from write shapes."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from translations.models import (
    ApiToken,
    Chapter,
    ExecutionBackend,
    Language,
    Manga,
    Page,
    PageResult,
    TranslationJob,
    Translator,
)
from translations.pipeline.languages import TARGET_LANGUAGES
from translations.pipeline.report import RegionReport, flags_from_json, regions_from_json
from translations.services.imports import SOURCE_LANGUAGE_CODES


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="stable, machine-readable (docs/api.md lists them)")
    message = serializers.CharField(help_text="for people")
    details = serializers.DictField(child=serializers.JSONField(), help_text="what the code needs, e.g. active_job")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# --- Library ------------------------------------------------------------------------------------


_DATETIME = serializers.DateTimeField()


def when(value) -> str | None:
    """A date and time as every DRF field of ours writes it (ISO 8601, `Z` for UTC), or None."""
    return None if value is None else _DATETIME.to_representation(value)


class MangaSerializer(serializers.ModelSerializer):
    chapter_count = serializers.IntegerField(read_only=True)
    cover_url = serializers.SerializerMethodField()

    class Meta:
        model = Manga
        fields = [
            "id",
            "slug",
            "title",
            "source_language",
            "target_language",
            "source_url",
            "private",
            "chapter_count",
            "cover_url",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_cover_url(self, manga: Manga) -> str | None:
        page_id = getattr(manga, "cover_page_id", None)
        return reverse("api:page-image", args=[page_id]) if page_id else None


class MangaWriteSerializer(serializers.ModelSerializer):
    source_language = serializers.ChoiceField(choices=SOURCE_LANGUAGE_CODES, default=Language.JAPANESE)
    target_language = serializers.ChoiceField(choices=list(TARGET_LANGUAGES), default=Language.ENGLISH)

    class Meta:
        model = Manga
        fields = ["slug", "title", "source_language", "target_language", "source_url", "private"]


class ChapterSerializer(serializers.ModelSerializer):
    manga_slug = serializers.CharField(source="manga.slug", read_only=True)
    slug = serializers.CharField(read_only=True, help_text="the chapter number as written in URLs: '10.5'")
    page_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Chapter
        fields = ["id", "manga", "manga_slug", "number", "slug", "title", "source_url", "page_count", "created_at"]


class ChapterUploadSerializer(serializers.Serializer):
    manga = serializers.IntegerField(min_value=1, help_text="id of the manga the chapter belongs to")
    number = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0)
    title = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    files = serializers.ListField(
        child=serializers.FileField(),
        allow_empty=False,
        help_text="the page images in reading order, or one .zip / .cbz",
    )


class PageTranslationSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    target_language = serializers.CharField()
    translator = serializers.CharField()
    image_url = serializers.CharField()


class PageSerializer(serializers.ModelSerializer):
    image_url = serializers.SerializerMethodField()
    translations = serializers.SerializerMethodField()

    class Meta:
        model = Page
        fields = ["id", "chapter", "index", "width", "height", "size_bytes", "sha256", "image_url", "translations"]

    @extend_schema_field(OpenApiTypes.STR)
    def get_image_url(self, page: Page) -> str:
        return reverse("api:page-image", args=[page.pk])

    @extend_schema_field(PageTranslationSerializer(many=True))
    def get_translations(self, page: Page) -> list[dict[str, Any]]:
        # `done_results` is prefetched by the view: one query for the whole list.
        return [
            {
                "job": result.job_id,
                "target_language": result.job.target_language,
                "translator": result.job.translator,
                "image_url": reverse("api:job-page-image", args=[result.job_id, page.index]),
            }
            for result in getattr(page, "done_results", ())
        ]


# --- Jobs ---------------------------------------------------------------------------------------


class JobCreateSerializer(serializers.Serializer):
    chapter = serializers.IntegerField(min_value=1)
    target_language = serializers.ChoiceField(
        choices=list(TARGET_LANGUAGES), required=False, help_text="default: the manga's target language"
    )
    translator = serializers.ChoiceField(
        choices=Translator.choices, required=False, help_text="default: MANGA_DEFAULT_TRANSLATOR"
    )
    backend = serializers.ChoiceField(
        choices=ExecutionBackend.choices, required=False, help_text="default: MANGA_TRANSLATE_EXECUTION_BACKEND"
    )


class JobSerializer(serializers.ModelSerializer):
    manga = serializers.IntegerField(source="chapter.manga_id", read_only=True)
    transport_ratio = serializers.FloatField(read_only=True, allow_null=True)
    websocket_url = serializers.SerializerMethodField(help_text="live progress (docs/api.md, 'WebSocket')")
    events_url = serializers.SerializerMethodField()

    class Meta:
        model = TranslationJob
        fields = [
            "id",
            "chapter",
            "manga",
            "status",
            "target_language",
            "translator",
            "backend",
            "pages_total",
            "pages_succeeded",
            "pages_failed",
            "pages_no_text",
            "request_bytes_total",
            "response_bytes_total",
            "remote_elapsed_ms_total",
            "translate_elapsed_ms_total",
            "transport_ratio",
            "error",
            "last_event_seq",
            "created_at",
            "started_at",
            "finished_at",
            "websocket_url",
            "events_url",
        ]

    def to_representation(self, job: TranslationJob) -> dict[str, Any]:
        # Written out rather than walked field by field: job lists are among the API's most requested
        # answers, and DRF's generic walk cost more than the rest of the request. The fields above stay
        # the schema; test_api_representations pins this equal to DRF's own walk.
        return {
            "id": job.pk,
            "chapter": job.chapter_id,
            "manga": job.chapter.manga_id,
            "status": job.status,
            "target_language": job.target_language,
            "translator": job.translator,
            "backend": job.backend,
            "pages_total": job.pages_total,
            "pages_succeeded": job.pages_succeeded,
            "pages_failed": job.pages_failed,
            "pages_no_text": job.pages_no_text,
            "request_bytes_total": job.request_bytes_total,
            "response_bytes_total": job.response_bytes_total,
            "remote_elapsed_ms_total": job.remote_elapsed_ms_total,
            "translate_elapsed_ms_total": job.translate_elapsed_ms_total,
            "transport_ratio": job.transport_ratio,
            "error": job.error,
            "last_event_seq": job.last_event_seq,
            "created_at": when(job.created_at),
            "started_at": when(job.started_at),
            "finished_at": when(job.finished_at),
            "websocket_url": self.get_websocket_url(job),
            "events_url": self.get_events_url(job),
        }

    @extend_schema_field(OpenApiTypes.STR)
    def get_websocket_url(self, job: TranslationJob) -> str:
        request = self.context.get("request")
        path = f"/ws/jobs/{job.pk}/"
        if request is None:
            return path
        scheme = "wss" if request.is_secure() else "ws"
        return f"{scheme}://{request.get_host()}{path}"

    @extend_schema_field(OpenApiTypes.STR)
    def get_events_url(self, job: TranslationJob) -> str:
        return reverse("api:job-events", args=[job.pk])


class RegionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    box = serializers.ListField(child=serializers.IntegerField(), help_text="[x, y, width, height]")
    source_text = serializers.CharField(allow_blank=True)
    translation = serializers.CharField(allow_null=True, allow_blank=True)
    flags = serializers.ListField(child=serializers.CharField())
    font_size = serializers.IntegerField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)


def region_view(region: RegionReport) -> dict[str, Any]:
    """A stored region with every field present (`regions_from_json` fills what older reports lack)."""
    return {
        "id": region.id,
        "box": region.box,
        "source_text": region.source_text,
        "translation": region.translation,
        "flags": region.flags,
        "font_size": region.font_size,
        "confidence": region.confidence,
    }


def result_flags(result: PageResult) -> list[str]:
    """The page's flags: every region flag once, plus `fallback_used`."""
    flags = flags_from_json(result.regions)
    if result.fallback_used:
        flags.add("fallback_used")
    return sorted(flags)


class PageResultSerializer(serializers.ModelSerializer):
    page = serializers.IntegerField(source="page.index", read_only=True, help_text="the page index, from 1")
    page_id = serializers.IntegerField(source="page.pk", read_only=True)
    flags = serializers.SerializerMethodField()
    image_url = serializers.SerializerMethodField(help_text="the translated image, once the page succeeded")
    timings = serializers.DictField(child=serializers.IntegerField(), help_text="stage → milliseconds")
    models_used = serializers.DictField(child=serializers.CharField())

    class Meta:
        model = PageResult
        fields = [
            "id",
            "page",
            "page_id",
            "status",
            "attempts",
            "failure_stage",
            "error",
            "flags",
            "fallback_used",
            "timings",
            "models_used",
            "request_bytes",
            "response_bytes",
            "remote_elapsed_ms",
            "translate_elapsed_ms",
            "started_at",
            "finished_at",
            "image_url",
        ]

    def to_representation(self, result: PageResult) -> dict[str, Any]:
        # Written out, as JobSerializer's is: a job's detail lists every page (test_api_representations).
        return {
            "id": result.pk,
            "page": result.page.index,
            "page_id": result.page_id,
            "status": result.status,
            "attempts": result.attempts,
            "failure_stage": result.failure_stage,
            "error": result.error,
            "flags": self.get_flags(result),
            "fallback_used": result.fallback_used,
            "timings": {str(stage): int(ms) for stage, ms in (result.timings or {}).items()},
            "models_used": {str(role): str(name) for role, name in (result.models_used or {}).items()},
            "request_bytes": result.request_bytes,
            "response_bytes": result.response_bytes,
            "remote_elapsed_ms": result.remote_elapsed_ms,
            "translate_elapsed_ms": result.translate_elapsed_ms,
            "started_at": when(result.started_at),
            "finished_at": when(result.finished_at),
            "image_url": self.get_image_url(result),
        }

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_flags(self, result: PageResult) -> list[str]:
        return result_flags(result)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_image_url(self, result: PageResult) -> str | None:
        if result.status != PageResult.Status.SUCCEEDED:
            return None
        return reverse("api:job-page-image", args=[result.job_id, result.page.index])


class PageReportSerializer(PageResultSerializer):
    job = serializers.IntegerField(source="job_id", read_only=True)
    regions = serializers.SerializerMethodField()

    class Meta(PageResultSerializer.Meta):
        fields = ["job", *PageResultSerializer.Meta.fields, "regions"]

    def to_representation(self, result: PageResult) -> dict[str, Any]:
        return {"job": result.job_id, **super().to_representation(result), "regions": self.get_regions(result)}

    @extend_schema_field(RegionSerializer(many=True))
    def get_regions(self, result: PageResult) -> list[dict[str, Any]]:
        return [region_view(region) for region in regions_from_json(result.regions)]


class JobDetailSerializer(JobSerializer):
    pages = PageResultSerializer(source="page_results", many=True, read_only=True)

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "pages"]

    def to_representation(self, job: TranslationJob) -> dict[str, Any]:
        pages = PageResultSerializer(context=self.context)
        return {
            **super().to_representation(job),
            "pages": [pages.to_representation(result) for result in job.page_results.all()],
        }


class RetryResultSerializer(serializers.Serializer):
    pages_queued = serializers.IntegerField()
    job = JobSerializer()


class EventSerializer(serializers.Serializer):
    type = serializers.CharField()
    job = serializers.IntegerField()
    seq = serializers.IntegerField()
    ts = serializers.DateTimeField()
    data = serializers.DictField(child=serializers.JSONField())


class EventListSerializer(serializers.Serializer):
    events = EventSerializer(many=True)
    last_seq = serializers.IntegerField(help_text="pass as ?after= to get what follows")
    more = serializers.BooleanField(help_text="true when more events follow right away")


# --- Tokens -------------------------------------------------------------------------------------


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
