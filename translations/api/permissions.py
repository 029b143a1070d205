"""Roles (translations/access.py): readers read what they may read, staff write.

Object-level checks are the views' querysets: a reader's querysets hold only readable manga,
so a private manga (or its chapters, pages, jobs) answers 404, as if it did not exist.
"""

from __future__ import annotations

from rest_framework import permissions

from translations import access


class ReadersReadStaffWrite(permissions.BasePermission):
    message = "Only staff may change the library or run jobs."
    code = "staff_required"

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return access.may_browse(request.user)
        return access.is_staff_user(request.user)


class SignedIn(permissions.BasePermission):
    """Any active signed-in user, staff or not (their own tokens)."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_active)
