"""`/account/tokens/`: a signed-in user makes and revokes their own API tokens; a new one is shown once."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from translations.models import ApiToken
from translations.services.tokens import token_create, token_revoke


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. “backup script”.")
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=3650, required=False, help_text="Leave empty for a token that does not expire."
    )


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in_days"]
        issued = token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            expires_in=timedelta(days=days) if days else None,
            created_by=request.user,
        )
        form = TokenForm()
    tokens = ApiToken.objects.filter(user=request.user)  # type: ignore[misc]
    response = render(request, "account/tokens.html", {"form": form, "tokens": tokens, "issued": issued})
    # The page may show a secret: keep it out of every cache.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=token_id, user=request.user)
    if token_revoke(token=token, revoked_by=request.user):
        messages.success(request, f"Token {token.prefix}… ({token.name}) revoked.")
    return redirect("account-tokens")
