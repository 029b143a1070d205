"""URLs of the translations app: the reader site, staff actions, exports, media, health."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path, register_converter

from mangasite.login_throttle import ThrottledAuthenticationForm
from translations.views import accounts, dashboard, exports, health, library, media, metrics, reader, staff, tokens


class ChapterConverter:
    """A chapter's slug: `1`, `10.5` (Chapter.slug); anything else is not a chapter URL."""

    regex = r"[0-9]{1,6}(?:\.[0-9]{1,2})?"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


register_converter(ChapterConverter, "chapter")

urlpatterns = [
    path("", library.library, name="library"),
    path("upload", staff.upload_new_manga, name="manga-upload"),
    path("manga/<str:slug>/", library.manga_detail, name="manga-detail"),
    path("manga/<str:slug>/upload", staff.upload, name="chapter-upload"),
    path("manga/<str:slug>/<chapter:chapter>/translate", staff.translate, name="chapter-translate"),
    path("manga/<str:slug>/<chapter:chapter>/delete", staff.delete_chapter, name="chapter-delete"),
    path("read/<str:slug>/<chapter:chapter>/", reader.read_chapter, name="reader"),
    path("read/<str:slug>/<chapter:chapter>/position", reader.save_position, name="reader-position"),
    path("jobs/<int:job_id>/retry-failed", staff.retry_failed, name="job-retry-failed"),
    path("jobs/<int:job_id>/cancel", staff.cancel, name="job-cancel"),
    path("jobs/<int:job_id>/chapter.cbz", exports.job_cbz, name="job-cbz"),
    path("jobs/<int:job_id>/script.txt", exports.job_script, {"extension": "txt"}, name="job-script-text"),
    path("jobs/<int:job_id>/script.json", exports.job_script, {"extension": "json"}, name="job-script-json"),
    path("results/<int:result_id>/", staff.page_result, name="page-result"),
    path("results/<int:result_id>/retry", staff.retry_page, name="result-retry"),
    path("setup", accounts.setup, name="setup"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="accounts/login.html",
            redirect_authenticated_user=True,
            authentication_form=ThrottledAuthenticationForm,  # says "locked" after too many wrong passwords
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("staff/dashboard/", dashboard.dashboard, name="staff-dashboard"),
    path("media/pages/<int:page_id>/image", media.page_image, name="page-image"),
    path("media/pages/<int:page_id>/thumbnail", media.page_thumbnail, name="page-thumbnail"),
    path("account/tokens/", tokens.token_list, name="account-tokens"),
    path("account/tokens/<int:token_id>/revoke", tokens.token_revoke_view, name="account-token-revoke"),
    path("media/results/<int:result_id>/image", media.result_image, name="result-image"),
    path("media/manga/<int:manga_id>/cover", media.manga_cover, name="manga-cover"),
]
