"""A job's chapter as files: the CBZ and the script (JSON and text), the same files as the reader's."""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView, get_object_or_404
from rest_framework.response import Response

from translations.api.schema import errors
from translations.api.views.common import AnyAccept
from translations.api.views.jobs import readable_jobs
from translations.models import TranslationJob
from translations.services.exports import cbz_filename, chapter_cbz, chapter_script, script_filename

JOB_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="the job's id")


class ScriptRegionSerializer(serializers.Serializer):
    region = serializers.IntegerField()
    source = serializers.CharField(allow_blank=True)
    translation = serializers.CharField(allow_null=True, allow_blank=True)
    flags = serializers.ListField(child=serializers.CharField())


class ScriptPageSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.CharField()
    regions = ScriptRegionSerializer(many=True)


class ScriptSerializer(serializers.Serializer):
    manga = serializers.CharField()
    manga_slug = serializers.CharField()
    chapter = serializers.CharField()
    chapter_title = serializers.CharField(allow_blank=True)
    source_language = serializers.CharField()
    target_language = serializers.CharField()
    translator = serializers.CharField()
    mode = serializers.ChoiceField(choices=["translate", "cleaning"])
    job = serializers.IntegerField()
    pages = ScriptPageSerializer(many=True)


class _JobFile(GenericAPIView):
    queryset = TranslationJob.objects.none()

    def job(self, request, id: int) -> TranslationJob:
        return get_object_or_404(readable_jobs(request.user).select_related("chapter__manga"), pk=id)


class ScriptJsonView(_JobFile):
    @extend_schema(
        summary="The chapter's script as JSON: per page, per region, source and translation",
        parameters=[JOB_ID],
        responses={200: ScriptSerializer, **errors(404)},
    )
    def get(self, request, id: int) -> Response:
        job = self.job(request, id)
        filename = script_filename(job, "json")
        return Response(
            chapter_script(job).as_json(), headers={"Content-Disposition": f'inline; filename="{filename}"'}
        )


class ScriptTextView(_JobFile):
    content_negotiation_class = AnyAccept

    @extend_schema(
        summary="The chapter's script as plain text, for letterers",
        parameters=[JOB_ID],
        responses={(200, "text/plain"): OpenApiResponse(OpenApiTypes.STR), **errors(404)},
    )
    def get(self, request, id: int) -> HttpResponse:
        job = self.job(request, id)
        response = HttpResponse(chapter_script(job).as_text(), content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{script_filename(job, "txt")}"'
        return response


class CbzView(_JobFile):
    content_negotiation_class = AnyAccept

    @extend_schema(
        summary="The chapter as a CBZ (translated pages where there are some, originals otherwise)",
        parameters=[JOB_ID],
        responses={(200, "application/vnd.comicbook+zip"): OpenApiResponse(OpenApiTypes.BINARY), **errors(404)},
    )
    def get(self, request, id: int) -> StreamingHttpResponse:
        job = self.job(request, id)
        response = StreamingHttpResponse(chapter_cbz(job), content_type="application/vnd.comicbook+zip")
        response["Content-Disposition"] = f'attachment; filename="{cbz_filename(job)}"'
        return response
