"""`/api/v1/`: the REST API (docs/api.md), its OpenAPI schema and docs page; JSON 404 for the rest of /api/."""

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from translations.api import schema  # noqa: F401  (registers the Bearer scheme with drf-spectacular)
from translations.api.errors import api_not_found
from translations.api.views import exports
from translations.api.views.common import AnyAccept
from translations.api.views.jobs import JobPageViewSet, JobViewSet
from translations.api.views.library import ChapterViewSet, MangaViewSet, PageViewSet

app_name = "api"

router = SimpleRouter()
router.register("manga", MangaViewSet, basename="manga")
router.register("chapters", ChapterViewSet, basename="chapter")
router.register("pages", PageViewSet, basename="page")
router.register("jobs", JobViewSet, basename="job")

job_page = "jobs/<int:id>/pages/<int:index>/"
job_page_image = JobPageViewSet.as_view({"get": "image"}, content_negotiation_class=AnyAccept)
v1 = [
    *router.urls,
    path(job_page, JobPageViewSet.as_view({"get": "retrieve"}), name="job-page"),
    path(
        f"{job_page}image/",
        JobPageViewSet.as_view({"get": "image"}, content_negotiation_class=AnyAccept),
        name="job-page-image",
    ),
    path(f"{job_page}retry/", JobPageViewSet.as_view({"post": "retry"}), name="job-page-retry"),
    path("jobs/<int:id>/script/", exports.ScriptJsonView.as_view(), name="job-script"),
    path("jobs/<int:id>/script/text/", exports.ScriptTextView.as_view(), name="job-script-text"),
    path("jobs/<int:id>/cbz/", exports.CbzView.as_view(), name="job-cbz"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
]

urlpatterns = [
    path("api/v1/", include(v1)),
    re_path(r"^api/", api_not_found, name="not-found"),
]
