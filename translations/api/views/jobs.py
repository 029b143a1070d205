"""Translation jobs: create, read with per-page results, retry, cancel, events; one page's report, image, retry."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from translations import access
from translations.api import pagination
from translations.api.errors import ApiError
from translations.api.schema import IF_NONE_MATCH, IMAGE_TYPES, binary, errors
from translations.api.serializers import (
    EventListSerializer,
    JobCreateSerializer,
    JobDetailSerializer,
    JobSerializer,
    PageReportSerializer,
    RetryResultSerializer,
)
from translations.api.views.common import ETagMixin, choice_param, int_param, stored_file
from translations.models import Chapter, PageResult, TranslationJob
from translations.selectors import job_events_after
from translations.services.jobs import chapter_request_translation, job_cancel, job_retry_failed, page_retry

EVENTS_PER_CALL = 500
NOT_MODIFIED = {304: OpenApiResponse(description="Not modified: the If-None-Match ETag is current")}
JOB_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="the job's id")
PAGE_INDEX = OpenApiParameter("index", OpenApiTypes.INT, OpenApiParameter.PATH, description="the page index, from 1")


def readable_jobs(user) -> QuerySet[TranslationJob]:
    return TranslationJob.objects.filter(chapter__manga__in=access.readable_manga(user))


@extend_schema_view(
    list=extend_schema(
        summary="List jobs, newest first",
        parameters=[
            OpenApiParameter("chapter", OpenApiTypes.INT, description="only this chapter's jobs"),
            OpenApiParameter("status", OpenApiTypes.STR, enum=TranslationJob.Status.values),
        ],
        responses={200: JobSerializer(many=True), **errors(400)},
    ),
    retrieve=extend_schema(
        summary="One job with its per-page results",
        parameters=[JOB_ID, IF_NONE_MATCH],
        responses={200: JobDetailSerializer, **NOT_MODIFIED, **errors(404)},
    ),
)
class JobViewSet(ETagMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    pagination_class = pagination.NewestFirst

    def get_queryset(self) -> QuerySet[TranslationJob]:
        jobs = readable_jobs(self.request.user).select_related("chapter")
        if self.action == "retrieve":
            results = PageResult.objects.select_related("page").order_by("page__index")
            return jobs.prefetch_related(Prefetch("page_results", results))
        if self.action == "list":
            chapter = int_param(self.request, "chapter")
            if chapter is not None:
                jobs = jobs.filter(chapter_id=chapter)
            job_status = choice_param(self.request, "status", TranslationJob.Status.values)
            if job_status:
                jobs = jobs.filter(status=job_status)
        return jobs

    def get_serializer_class(self):
        return JobDetailSerializer if self.action == "retrieve" else JobSerializer

    @extend_schema(
        summary="Translate a chapter (staff)",
        description="201 with the job and its WebSocket URL. 409 `job_conflict` names the chapter's active job in "
        "`details.active_job`; 429 `queue_full` comes with `Retry-After`.",
        request=JobCreateSerializer,
        responses={201: JobSerializer, **errors(400, 403, 404, 409, 415)},
    )
    def create(self, request, *args, **kwargs) -> Response:
        body = JobCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        chapter = get_object_or_404(
            Chapter.objects.filter(manga__in=access.readable_manga(request.user)).select_related("manga"),
            pk=body.validated_data["chapter"],
        )
        job = chapter_request_translation(
            chapter=chapter,
            target_language=body.validated_data.get("target_language"),
            translator=body.validated_data.get("translator"),
            backend=body.validated_data.get("backend"),
            requested_by=request.user,
        )
        job.refresh_from_db()
        return Response(JobSerializer(job, context={"request": request}).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Retry the failed and cancelled pages of a finished job (staff)",
        parameters=[JOB_ID],
        request=None,
        responses={202: RetryResultSerializer, **errors(400, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None) -> Response:
        job = self.get_object()
        queued = job_retry_failed(job=job, requested_by=request.user)
        job.refresh_from_db()
        data = {"pages_queued": queued, "job": JobSerializer(job, context={"request": request}).data}
        return Response(data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Cancel a queued or running job (staff)",
        parameters=[JOB_ID],
        request=None,
        responses={200: JobSerializer, **errors(403, 404, 409)},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None) -> Response:
        job = self.get_object()
        if not job_cancel(job=job, requested_by=request.user):
            raise ApiError(
                status_code=409, code="job_finished", message=f"Job {job.pk} had already finished ({job.status})."
            )
        job.refresh_from_db()
        return Response(JobSerializer(job, context={"request": request}).data)

    @extend_schema(
        summary="The job's progress events after a sequence number",
        description=f"At most {EVENTS_PER_CALL} events a call; when `more` is true, call again with "
        "`after=last_seq` straight away.",
        parameters=[
            JOB_ID,
            OpenApiParameter("after", OpenApiTypes.INT, description="the last seq the client has (default 0)"),
        ],
        responses={200: EventListSerializer, **errors(400, 404)},
    )
    @action(detail=True, methods=["get"])
    def events(self, request, pk=None) -> Response:
        job = self.get_object()
        raw = request.query_params.get("after", "0") or "0"
        try:
            after = int(raw)
        except ValueError:
            after = -1
        if after < 0 or after > 2**31:
            raise ApiError(
                status_code=400, code="invalid_filter", message="after must be a sequence number (0 or more)."
            )
        events = job_events_after(job_id=job.pk, after_seq=after, limit=EVENTS_PER_CALL + 1)
        more = len(events) > EVENTS_PER_CALL
        events = events[:EVENTS_PER_CALL]
        last_seq = events[-1]["seq"] if events else after
        return Response({"events": events, "last_seq": last_seq, "more": more})


def _result(request, job_id: int, index: int) -> PageResult:
    return get_object_or_404(
        PageResult.objects.filter(job__in=readable_jobs(request.user)).select_related("page", "job"),
        job_id=job_id,
        page__index=index,
    )


class JobPageViewSet(viewsets.GenericViewSet):
    """`/jobs/{id}/pages/{index}/`: one page of one job."""

    serializer_class = PageReportSerializer
    queryset = PageResult.objects.none()

    @extend_schema(
        summary="One page's result and report: regions, translations, flags",
        parameters=[JOB_ID, PAGE_INDEX],
        responses={200: PageReportSerializer, **errors(404)},
    )
    def retrieve(self, request, id: int, index: int) -> Response:
        return Response(PageReportSerializer(_result(request, id, index), context={"request": request}).data)

    @extend_schema(
        summary="The translated image of one page",
        parameters=[JOB_ID, PAGE_INDEX],
        responses={**binary("the translated image", *IMAGE_TYPES), **errors(404)},
    )
    def image(self, request, id: int, index: int):
        result = _result(request, id, index)
        if result.status != PageResult.Status.SUCCEEDED:
            raise ApiError(
                status_code=404,
                code="not_found",
                message=f"Page {index} of job {id} has no translation ({result.status}).",
            )
        return stored_file(result.output_path)

    @extend_schema(
        summary="Translate one page again (staff)",
        parameters=[JOB_ID, PAGE_INDEX],
        request=None,
        responses={202: PageReportSerializer, **errors(400, 403, 404, 409)},
    )
    def retry(self, request, id: int, index: int) -> Response:
        result = page_retry(page_result=_result(request, id, index), requested_by=request.user)
        result.refresh_from_db()
        return Response(
            PageReportSerializer(result, context={"request": request}).data, status=status.HTTP_202_ACCEPTED
        )
