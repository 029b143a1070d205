"""URLs of the translations app."""

from __future__ import annotations

from django.urls import path

from translations.views import health, media, tokens

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("media/pages/<int:page_id>/image", media.page_image, name="page-image"),
    path("media/pages/<int:page_id>/thumbnail", media.page_thumbnail, name="page-thumbnail"),
    path("account/tokens/", tokens.token_list, name="account-tokens"),
    path("account/tokens/<int:token_id>/revoke", tokens.token_revoke_view, name="account-token-revoke"),
]
