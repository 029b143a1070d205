"""Manga, chapters and pages: read by readers (what they may read), written by staff."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery
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
    ChapterSerializer,
    ChapterUploadSerializer,
    MangaSerializer,
    MangaWriteSerializer,
    PageSerializer,
)
from translations.api.views.common import AnyAccept, ETagMixin, choice_param, int_param, stored_file
from translations.models import SOURCE_LANGUAGES, Chapter, Language, Manga, Page, PageResult
from translations.services.audit import audit_record
from translations.services.chapters import chapter_delete
from translations.services.jobs import JobConflict
from translations.services.uploads import import_upload

NOT_MODIFIED = {304: OpenApiResponse(description="Not modified: the If-None-Match ETag is current")}


def readable_chapters(user) -> QuerySet[Chapter]:
    return Chapter.objects.filter(manga__in=access.readable_manga(user))


def readable_pages(user) -> QuerySet[Page]:
    return Page.objects.filter(chapter__manga__in=access.readable_manga(user))


@extend_schema_view(
    list=extend_schema(
        summary="List manga",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="part of the title, any case"),
            OpenApiParameter("source_language", OpenApiTypes.STR, enum=[lang.value for lang in SOURCE_LANGUAGES]),
            OpenApiParameter("target_language", OpenApiTypes.STR, enum=Language.values),
        ],
        responses={200: MangaSerializer(many=True), **errors(400)},
    ),
    retrieve=extend_schema(
        summary="One manga", parameters=[IF_NONE_MATCH], responses={200: MangaSerializer, **NOT_MODIFIED, **errors(404)}
    ),
    create=extend_schema(
        summary="Add a manga (staff)",
        request=MangaWriteSerializer,
        responses={201: MangaSerializer, **errors(400, 403, 415)},
    ),
)
class MangaViewSet(ETagMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    pagination_class = pagination.BySlug
    serializer_class = MangaSerializer

    def get_queryset(self) -> QuerySet[Manga]:
        first_page = Page.objects.filter(chapter__manga=OuterRef("pk")).order_by("chapter__number", "index")
        manga = access.readable_manga(self.request.user).annotate(
            chapter_count=Count("chapters"), cover_page_id=Subquery(first_page.values("pk")[:1])
        )
        if self.action != "list":
            return manga
        params = self.request.query_params
        if params.get("q"):
            manga = manga.filter(title__icontains=params["q"])
        source = choice_param(self.request, "source_language", [lang.value for lang in SOURCE_LANGUAGES])
        if source:
            manga = manga.filter(source_language=source)
        target = choice_param(self.request, "target_language", Language.values)
        if target:
            manga = manga.filter(target_language=target)
        return manga

    def create(self, request, *args, **kwargs) -> Response:
        write = MangaWriteSerializer(data=request.data)
        write.is_valid(raise_exception=True)
        manga = write.save()
        audit_record(actor=request.user, action="manga.create", obj=manga, message=f"Added manga {manga.title}.")
        created = self.get_queryset().get(pk=manga.pk)
        return Response(MangaSerializer(created, context={"request": request}).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        summary="List chapters",
        parameters=[
            OpenApiParameter("manga", OpenApiTypes.INT, description="only this manga's chapters"),
            OpenApiParameter("manga_slug", OpenApiTypes.STR, description="only this manga's chapters"),
        ],
        responses={200: ChapterSerializer(many=True), **errors(400)},
    ),
    retrieve=extend_schema(
        summary="One chapter",
        parameters=[IF_NONE_MATCH],
        responses={200: ChapterSerializer, **NOT_MODIFIED, **errors(404)},
    ),
    create=extend_schema(
        summary="Upload a chapter (staff): page images in reading order, or one .zip / .cbz",
        description="Checked like `import_chapter`: every page is validated before anything is stored, and a "
        "refusal (`import_refused`) changes nothing. Uploading the same pages again answers 200 with the chapter.",
        request={"multipart/form-data": ChapterUploadSerializer},
        responses={
            201: ChapterSerializer,
            200: OpenApiResponse(ChapterSerializer, description="the same pages were uploaded before"),
            **errors(400, 403, 404, 413, 415),
        },
    ),
    destroy=extend_schema(
        summary="Delete a chapter with its pages and finished jobs (staff)",
        responses={204: None, **errors(403, 404, 409)},
    ),
)
class ChapterViewSet(ETagMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    pagination_class = pagination.ById
    serializer_class = ChapterSerializer

    def get_queryset(self) -> QuerySet[Chapter]:
        chapters = readable_chapters(self.request.user).select_related("manga").annotate(page_count=Count("pages"))
        if self.action != "list":
            return chapters
        manga = int_param(self.request, "manga")
        if manga is not None:
            chapters = chapters.filter(manga_id=manga)
        if self.request.query_params.get("manga_slug"):
            chapters = chapters.filter(manga__slug=self.request.query_params["manga_slug"])
        return chapters

    def create(self, request, *args, **kwargs) -> Response:
        upload = ChapterUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        fields = upload.validated_data
        manga = get_object_or_404(access.readable_manga(request.user), pk=fields["manga"])
        existed = manga.chapters.filter(number=fields["number"]).exists()
        chapter = import_upload(
            manga=manga,
            number=fields["number"],
            title=fields["title"],
            files=fields["files"],
            requested_by=request.user,
        )
        data = ChapterSerializer(self.get_queryset().get(pk=chapter.pk), context={"request": request}).data
        return Response(data, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs) -> Response:
        chapter = self.get_object()
        try:
            chapter_delete(chapter=chapter, requested_by=request.user)
        except JobConflict as exc:
            active_job = exc.job.pk if exc.job is not None else None
            raise ApiError(
                status_code=409, code="chapter_busy", message=str(exc), details={"active_job": active_job}
            ) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="List pages",
        parameters=[OpenApiParameter("chapter", OpenApiTypes.INT, description="only this chapter's pages")],
        responses={200: PageSerializer(many=True), **errors(400)},
    ),
    retrieve=extend_schema(
        summary="One page, with its translations",
        parameters=[IF_NONE_MATCH],
        responses={200: PageSerializer, **NOT_MODIFIED, **errors(404)},
    ),
)
class PageViewSet(ETagMixin, viewsets.ReadOnlyModelViewSet):
    pagination_class = pagination.ById
    serializer_class = PageSerializer

    def get_queryset(self) -> QuerySet[Page]:
        # Only what the translations list shows: a result's regions and timings can be large.
        done = (
            PageResult.objects.filter(status=PageResult.Status.SUCCEEDED)
            .select_related("job")
            .only("id", "page_id", "job_id", "job__target_language", "job__translator")
            .order_by("job_id")
        )
        pages = readable_pages(self.request.user).prefetch_related(Prefetch("results", done, to_attr="done_results"))
        if self.action == "list":
            chapter = int_param(self.request, "chapter")
            if chapter is not None:
                pages = pages.filter(chapter_id=chapter)
        return pages

    @extend_schema(
        summary="The page's raw image",
        responses={**binary("the image as imported", *IMAGE_TYPES), **errors(404)},
    )
    @action(detail=True, methods=["get"], url_path="image", content_negotiation_class=AnyAccept)
    def image(self, request, pk=None):
        return stored_file(self.get_object().image)
